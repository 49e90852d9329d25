import { STREAM_KINDS, streamKind, type Envelope, type StreamKind } from '../../events/index.js';
import { cartographyProjection } from '../../projections/cartography.js';
import { credentialsProjection } from '../../projections/credentials.js';
import { idempotencyKeys } from '../../projections/idempotency.js';
import { recentTeamEvents } from '../../projections/recent.js';
import { remoteHealthProjection } from '../../projections/remote.js';
import { sessionsProjection } from '../../projections/session.js';
import { teamsProjection } from '../../projections/team.js';
import { fromPlain, toPlain, type Projection } from '../../projections/types.js';
import { workstreamsProjection } from '../../projections/workstream.js';
import { openOperations } from '../../projections/operations.js';

/** Every read model by the name surfaces read it under: a new projection is one line here. */
export const PROJECTIONS = {
  teams: teamsProjection,
  recent: recentTeamEvents,
  idempotency: idempotencyKeys,
  sessions: sessionsProjection,
  remote: remoteHealthProjection,
  workstreams: workstreamsProjection,
  cartography: cartographyProjection,
  credentials: credentialsProjection,
  operations: openOperations,
} as const;

type ReadModelName = keyof typeof PROJECTIONS;
type StateOf<P> = P extends Projection<infer S> ? S : never;
/** Each read model's state under its name. */
export type ReadModelStates = { -readonly [N in ReadModelName]: StateOf<(typeof PROJECTIONS)[N]> };

const NAMES = Object.keys(PROJECTIONS) as ReadModelName[];
/** The read models each kind of stream goes to, from what each projection says it handles. */
const BY_KIND = Object.fromEntries(STREAM_KINDS.map((kind) => [kind, NAMES.filter((name) => PROJECTIONS[name].handles.includes(kind))])) as Record<StreamKind, ReadModelName[]>;

// The states are own fields of the instance (declared here, set in the constructor): a replay
// worker's ReadModels comes back by structured clone with all of them.
export interface ReadModels extends ReadModelStates {}

/** Every projection's state, folded from committed events only: what every surface reads. */
export class ReadModels {
  /** The highest position folded in. */
  pos = 0;

  constructor() {
    const states = this as unknown as Record<ReadModelName, unknown>;
    for (const name of NAMES) states[name] = PROJECTIONS[name].initialState();
  }

  apply(event: Envelope): void {
    const states = this as unknown as Record<ReadModelName, unknown>;
    for (const name of BY_KIND[streamKind(event.stream)]) states[name] = (PROJECTIONS[name] as Projection<unknown>).evolve(states[name], event);
    if (event.pos > this.pos) this.pos = event.pos;
  }

  /** Every state as JSON-ready data (each projection's `serialize`, or Maps and Sets tagged): what a snapshot writes, in the same turn. */
  serialize(): { pos: number } & Record<ReadModelName, unknown> {
    const states = this as unknown as Record<ReadModelName, unknown>;
    const out = { pos: this.pos } as { pos: number } & Record<ReadModelName, unknown>;
    for (const name of NAMES) {
      const projection = PROJECTIONS[name] as Projection<unknown>;
      out[name] = projection.serialize ? projection.serialize(states[name]) : toPlain(states[name]);
    }
    return out;
  }

  /** Starts from what `serialize` gave, read back from a snapshot. */
  restore(data: { pos: number } & Record<string, unknown>): void {
    const states = this as unknown as Record<ReadModelName, unknown>;
    for (const name of NAMES) {
      const projection = PROJECTIONS[name] as Projection<unknown>;
      states[name] = projection.restore ? projection.restore(data[name]) : fromPlain(data[name]);
    }
    this.pos = data.pos;
  }

  /** Back to the initial states: a snapshot that turned out unusable is dropped. */
  reset(): void {
    Object.assign(this, new ReadModels());
  }

  /** Every state as it is (not a copy). */
  part(): ReadModelsPart {
    return Object.fromEntries([...NAMES.map((name) => [name, this[name]]), ['pos', this.pos]]) as ReadModelsPart;
  }

  /** Takes in what another thread folded from other streams (a parallel replay, `replay-fold.ts`). */
  merge(part: ReadModelsPart): void {
    const states = this as unknown as Record<ReadModelName, unknown>;
    for (const name of NAMES) states[name] = (PROJECTIONS[name] as Projection<unknown>).merge(states[name], part[name]);
    if (part.pos > this.pos) this.pos = part.pos;
  }
}

/** The read models' states as data: what a replay worker sends back (structured clone keeps Maps). */
export type ReadModelsPart = ReadModelStates & { pos: number };

/** Each projection's version: a snapshot taken under other versions is of another shape, and ignored. */
export const PROJECTION_VERSIONS = Object.fromEntries(NAMES.map((name) => [name, PROJECTIONS[name].version])) as Record<ReadModelName, number>;
