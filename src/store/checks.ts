import { eventData, kindOf, type DomainEvent, type StreamKind } from '../../events/index.js';
import { formatIssues } from '../../events/parse.js';
import { BmoError } from '../errors.js';
import type { ExpectedVersion } from './types.js';

/**
 * Every event parsed against the catalogue and checked to belong to the stream's kind. `decided`:
 * the events come from bmo's own deciders, built from a request already parsed by the same
 * catalogue's fields; their type and kind are checked, their data is not parsed a second time
 * (a test run checks it: `BMO_CHECK_DECIDED=1`, see the pipeline).
 */
export function checkEvents(kind: StreamKind, events: DomainEvent[], decided = false): DomainEvent[] {
  return events.map((event, i) => {
    const schema = eventData[event.type];
    if (!schema) throw new BmoError('bad_request', `events[${i}].type: unknown event type "${event.type}"`);
    if (kindOf(event.type) !== kind) throw new BmoError('bad_request', `events[${i}].type: ${event.type} does not belong in a ${kind} stream`);
    if (decided) return event;
    const result = schema.safeParse(event.data);
    if (!result.success) throw new BmoError('invalid_body', formatIssues(result.error, `events[${i}].data`).message);
    return { type: event.type, data: result.data } as DomainEvent;
  });
}

export function versionMatches(expected: ExpectedVersion, actual: number): boolean {
  if (expected === 'any') return true;
  if (expected === 'no_stream') return actual === 0;
  if (expected === 'stream_exists') return actual > 0;
  return expected === actual;
}

export function noop(): void {}
