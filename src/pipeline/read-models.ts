import { STREAM_KINDS, streamKind, type Envelope, type StreamKind } from '../../events/index.js';
import { cartographyProjection } from '../../projections/cartography.js';
import { credentialsProjection } from '../../projections/credentials.js';
import { idempotencyKeys } from '../../projections/idempotency.js';
import { recentTeamEvents } from '../../projections/recent.js';
import { remoteHealthProjection } from '../../projections/remote.js';
import { sessionsProjection } from '../../projections/session.js';
import { teamsProjection } from '../../projections/team.js';
import { fromPlain, LazyMap, toPlain, type Projection } from '../../projections/types.js';
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

  /** A snapshot being packed: it sees each event before the read models do. */
  private packing: ModelsPacking | undefined;

  apply(event: Envelope): void {
    this.packing?.beforeApply(event);
    const states = this as unknown as Record<ReadModelName, unknown>;
    for (const name of BY_KIND[streamKind(event.stream)]) states[name] = (PROJECTIONS[name] as Projection<unknown>).evolve(states[name], event);
    if (event.pos > this.pos) this.pos = event.pos;
  }

  /**
   * The read models as they are now, for a snapshot written over several turns: the small states
   * are taken as JSON at once, the entries of the maps (`packEntry`) a few at a time by `step`;
   * until they all are, an event is applied only after the entry it changes was packed.
   */
  pack(): ModelsPacking {
    if (this.packing) throw new Error('a snapshot is being packed already');
    const states = this as unknown as Record<ReadModelName, unknown>;
    const whole: string[] = [`"pos":${this.pos}`];
    const keyed: KeyedPacking[] = [];
    for (const name of NAMES) {
      const projection = PROJECTIONS[name] as Projection<unknown>;
      if (projection.packEntry) {
        const state = states[name] as Map<string, unknown>;
        keyed.push({ name, kinds: projection.handles, pack: projection.packEntry as (entry: unknown) => unknown, mark: projection.markEntry as ((entry: unknown) => boolean) | undefined, state, waiting: new Set(state.keys()), keys: [], parts: [], marks: [] });
      }
      else whole.push(`${JSON.stringify(name)}:${JSON.stringify(projection.serialize ? projection.serialize(states[name]) : toPlain(states[name]))}`);
    }
    const packing = new ModelsPacking(this.pos, whole, keyed, () => (this.packing = undefined));
    this.packing = packing;
    return packing;
  }

  /** Starts from what `pack` gave, read back from a snapshot. */
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
    for (const name of NAMES) if (this[name] instanceof LazyMap) this[name].release();
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

interface KeyedPacking {
  name: ReadModelName;
  kinds: readonly StreamKind[];
  pack: (entry: unknown) => unknown;
  mark: ((entry: unknown) => boolean) | undefined;
  state: Map<string, unknown>;
  /** The keys there were when the packing began, not packed yet. */
  waiting: Set<string>;
  /** Each packed entry's key, JSON and mark, in the order they were packed. */
  keys: string[];
  parts: Buffer[];
  marks: number[];
}

/** One entry packed as it is now: an entry a snapshot start left undecoded goes as the JSON it came as. */
function packOne(keyed: KeyedPacking, key: string): void {
  const packed = keyed.state instanceof LazyMap ? keyed.state.packed(key) : undefined;
  keyed.keys.push(key);
  if (packed) {
    keyed.parts.push(packed.json);
    keyed.marks.push(packed.mark ? 1 : 0);
    return;
  }
  const entry = keyed.state.get(key);
  keyed.parts.push(Buffer.from(JSON.stringify(keyed.pack(entry))));
  keyed.marks.push(keyed.mark?.(entry) ? 1 : 0);
}

/** The read models at one pos as JSON, packed over several turns: see `ReadModels.pack`. */
export class ModelsPacking {
  constructor(
    readonly pos: number,
    /** `"name":json` of the pos and of each state taken whole. */
    private readonly whole: string[],
    private readonly keyed: KeyedPacking[],
    private readonly detach: () => void,
  ) {}

  /** Before an event is applied: the entry of its stream is packed as it still is. */
  beforeApply(event: Envelope): void {
    const kind = streamKind(event.stream);
    for (const keyed of this.keyed) {
      if (!keyed.kinds.includes(kind)) continue;
      const key = event.stream.slice(kind.length + 1);
      if (keyed.waiting.delete(key)) packOne(keyed, key);
    }
  }

  /** Packs entries until `deadline` (a `performance.now()`) or `maxEntries` of them; true once all are packed (and events no longer wait on it). */
  step(deadline: number, maxEntries = Infinity): boolean {
    let packed = 0;
    for (const keyed of this.keyed) {
      for (const key of keyed.waiting) {
        if (packed >= maxEntries || (packed % 16 === 0 && performance.now() >= deadline && packed > 0)) return false;
        keyed.waiting.delete(key);
        packOne(keyed, key);
        packed++;
      }
    }
    this.detach();
    return true;
  }

  /** Stops packing (a failed write): events no longer wait on it. */
  abandon(): void {
    this.detach();
  }

  /** How many states are packed by entry: each has its entries' text (`entriesText`), a binary part of the snapshot. */
  get keyedCount(): number {
    return this.keyed.length;
  }

  /**
   * The models' JSON once every entry is packed: each state packed by entry is its keys, the ends
   * of their JSON and their marks (`PackedEntries`), its text named `{"$bin": firstPart + j}`.
   */
  json(firstPart: number): string {
    const keyed = this.keyed.map((k, j) => {
      const ends: number[] = [];
      let end = 0;
      for (const part of k.parts) ends.push((end += part.length));
      return `${JSON.stringify(k.name)}:{"keys":${JSON.stringify(k.keys)},"ends":${JSON.stringify(ends)},"marks":${JSON.stringify(k.marks)},"text":{"$bin":${firstPart + j}}}`;
    });
    return `{${[...this.whole, ...keyed].join(',')}}`;
  }

  /** The j-th keyed state's entries' JSON end to end, in pieces of `entries` entries. */
  *entriesText(j: number, entries: number): Iterable<Buffer> {
    const { parts } = this.keyed[j];
    for (let i = 0; i < parts.length; i += entries) yield Buffer.concat(parts.slice(i, i + entries));
  }
}
