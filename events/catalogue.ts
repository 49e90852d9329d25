import { z } from 'zod';
import { ID_PATTERN } from './fields.js';
import { sessionEvents } from './sessions.js';
import { systemEvents } from './system.js';
import { teamEvents } from './teams.js';
import { workstreamEvents } from './workstreams.js';

/** The stream kinds of the store: one directory each under the data directory. */
export const STREAM_KINDS = ['teams', 'workstreams', 'sessions', 'system'] as const;
export type StreamKind = (typeof STREAM_KINDS)[number];

const byKind = {
  teams: teamEvents,
  workstreams: workstreamEvents,
  sessions: sessionEvents,
  system: systemEvents,
} as const;

/** Every event's data schema, by type: the one place an event is defined. */
export const eventData = { ...teamEvents, ...workstreamEvents, ...sessionEvents, ...systemEvents } as const;

export type EventType = keyof typeof eventData;
export type EventDataOf<T extends EventType> = z.output<(typeof eventData)[T]>;
/** A domain event before the store gives it a place: `{ type, data }`, discriminated by type. */
export type DomainEvent = { [T in EventType]: { type: T; data: EventDataOf<T> } }[EventType];
export type EventOf<T extends EventType> = Extract<DomainEvent, { type: T }>;

export const EVENT_TYPES = Object.keys(eventData) as EventType[];

const kindOfType = new Map<EventType, StreamKind>();
for (const kind of STREAM_KINDS) for (const type of Object.keys(byKind[kind])) kindOfType.set(type as EventType, kind);

/** The stream kind an event type belongs to: a team event never lands in a workstream's log. */
export function kindOf(type: EventType): StreamKind {
  return kindOfType.get(type)!;
}

export const DomainEventSchema = z.discriminatedUnion(
  'type',
  EVENT_TYPES.map((type) => z.strictObject({ type: z.literal(type), data: eventData[type] })) as unknown as [
    z.ZodObject,
    ...z.ZodObject[],
  ],
);

/** `teams/<id>`: a stream names its kind and its entity id. */
export type StreamName = `${StreamKind}/${string}`;

export function streamName(kind: StreamKind, id: string): StreamName {
  return `${kind}/${id}`;
}

/** A stream name taken apart: `teams/docs` is `{ kind: 'teams', id: 'docs' }`. */
export interface StreamRef {
  kind: StreamKind;
  id: string;
}

/** Takes apart a name from outside (a route, a filter, a file): undefined unless its kind and id are valid. */
export function parseStreamName(stream: string): StreamRef | undefined {
  const slash = stream.indexOf('/');
  if (slash < 0) return undefined;
  const kind = stream.slice(0, slash) as StreamKind;
  const id = stream.slice(slash + 1);
  if (!STREAM_KINDS.includes(kind) || !ID_PATTERN.test(id)) return undefined;
  return { kind, id };
}

/** The kind and id of a name the store holds (checked when it was written, so not again). */
export function streamRef(stream: string): StreamRef {
  const slash = stream.indexOf('/');
  return { kind: stream.slice(0, slash) as StreamKind, id: stream.slice(slash + 1) };
}

/** The kind of a name the store holds. */
export function streamKind(stream: string): StreamKind {
  return stream.slice(0, stream.indexOf('/')) as StreamKind;
}

/** The id in `stream` when it names a `kind` stream, else undefined: `idIn('teams', 'teams/docs')` is `docs`. */
export function idIn(kind: StreamKind, stream: string): string | undefined {
  return stream.charCodeAt(kind.length) === 47 /* '/' */ && stream.startsWith(kind) ? stream.slice(kind.length + 1) : undefined;
}
