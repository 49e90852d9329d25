import type { Envelope, StreamKind } from '../events/index.js';

/**
 * A read model: a fold over the log. `evolve` may update `state` in place and returns it; it does
 * no I/O and reads no clock, so a rebuild from the logs gives the same state.
 *
 * On startup streams are replayed one after another (each in its own order, streams in any order),
 * so a projection's state must not depend on how events of different streams interleave: keep
 * per-stream state apart and order anything global by `pos`.
 */
export interface Projection<S> {
  readonly name: string;
  readonly version: number;
  /** The kinds of stream whose events it folds: the read models hand it no others. */
  readonly handles: readonly StreamKind[];
  initialState(): S;
  evolve(state: S, event: Envelope): S;
  /**
   * Takes in the state folded from other streams (on another thread, in a parallel replay): the
   * result equals one fold over both sets of events. A stream is never split between the two.
   */
  merge(state: S, part: S): S;
  /** The state as JSON-ready data for a snapshot, and back (default: `toPlain` and `fromPlain`). */
  serialize?(state: S): unknown;
  restore?(data: unknown): S;
  /**
   * For a state that is a `LazyMap` of one entry per stream, keyed by the stream's id: one entry as
   * JSON-ready data. A snapshot then packs the entries a few at a time between events (an entry
   * an event is about to change is packed first), and `restore` gets them as `PackedEntries`.
   */
  packEntry?(entry: S extends Map<string, infer V> ? V : never): unknown;
  /** With `packEntry`: whether an entry is one `LazyMap.marked` must see (kept in the snapshot beside the entry, so it need not be decoded to tell). */
  markEntry?(entry: S extends Map<string, infer V> ? V : never): boolean;
}

/**
 * A keyed state as a snapshot holds it: each entry's JSON (what `packEntry` gave), end to end in
 * `text`; the i-th entry's key is `keys[i]`, its JSON ends at byte `ends[i]`, and `marks[i]` is
 * 1 when `markEntry` said so.
 */
export interface PackedEntries {
  keys: string[];
  ends: number[];
  marks: number[];
  text: EntriesText;
}

/** Where a snapshot's entries lie: read a range at a time, and let go once every entry is decoded (a file is closed). */
export interface EntriesText {
  bytes(start: number, end: number): Buffer;
  release(): void;
}

/** An entry not read yet since the snapshot it came from: where its JSON lies, and its mark. */
class Packed {
  constructor(
    readonly start: number,
    readonly end: number,
    readonly mark: number,
  ) {}
}

/**
 * A Map of per-stream entries that a snapshot start fills without decoding them: each entry stays
 * as its JSON until it is first read (`get`, or any way of iterating its values), then is decoded
 * once and kept. `keys`, `has` and `size` decode nothing; `packed` hands a snapshot being written
 * an entry's JSON as it was read, and `marked` goes through the entries marked in the snapshot
 * (and every one decoded since) without decoding the others. A Map filled by events alone is a
 * plain Map in all but name.
 */
export class LazyMap<V> extends Map<string, V> {
  #text: EntriesText | undefined;
  #decode: ((json: string) => V) | undefined;
  /** Entries not decoded yet: at 0 the text is let go and iterating is the Map's own. */
  #left = 0;

  /** Fills an empty map with the entries of a snapshot, to be decoded by `decode` when read. */
  protected fillPacked(entries: PackedEntries, decode: (json: string) => V): void {
    const { keys, ends, marks, text } = entries;
    if (ends.length !== keys.length || marks.length !== keys.length) throw new Error(`${keys.length} keys, ${ends.length} ends and ${marks.length} marks`);
    let start = 0;
    for (let i = 0; i < keys.length; i++) {
      if (!(ends[i] >= start)) throw new Error(`entry ${i} ends at ${ends[i]}, before it starts (${start})`);
      super.set(keys[i], new Packed(start, ends[i], marks[i]) as V);
      start = ends[i];
    }
    this.#left = keys.length;
    this.#text = text;
    this.#decode = decode;
    if (this.#left === 0) this.release();
  }

  #unpack(key: string, packed: Packed): V {
    const value = this.#decode!(this.#text!.bytes(packed.start, packed.end).toString('utf8'));
    super.set(key, value);
    if (--this.#left === 0) this.release();
    return value;
  }

  /** Lets go of the snapshot the undecoded entries are in: once all are decoded, or when the map is dropped (a snapshot refused after all). */
  release(): void {
    this.#text?.release();
    this.#text = this.#decode = undefined;
  }

  override get(key: string): V | undefined {
    const value = super.get(key);
    return value instanceof Packed ? this.#unpack(key, value) : value;
  }

  /** An entry's JSON as the snapshot it came from holds it, and its mark, while it is not decoded. */
  packed(key: string): { json: Buffer; mark: boolean } | undefined {
    const value = super.get(key);
    return value instanceof Packed ? { json: this.#text!.bytes(value.start, value.end), mark: value.mark === 1 } : undefined;
  }

  /** Every decoded entry, and those not decoded yet that their snapshot marked (decoded now). */
  *marked(): IterableIterator<V> {
    for (const [key, value] of super.entries()) {
      if (!(value instanceof Packed)) yield value;
      else if (value.mark === 1) yield this.#unpack(key, value);
    }
  }

  override entries(): IterableIterator<[string, V]> {
    return this.#left === 0 ? super.entries() : this.#decodedEntries();
  }

  *#decodedEntries(): IterableIterator<[string, V]> {
    for (const [key, value] of super.entries()) yield [key, value instanceof Packed ? this.#unpack(key, value) : value];
  }

  override values(): IterableIterator<V> {
    return this.#left === 0 ? super.values() : this.#decodedValues();
  }

  *#decodedValues(): IterableIterator<V> {
    for (const [key, value] of super.entries()) yield value instanceof Packed ? this.#unpack(key, value) : value;
  }

  override [Symbol.iterator](): IterableIterator<[string, V]> {
    return this.entries();
  }

  override forEach(fn: (value: V, key: string, map: Map<string, V>) => void, thisArg?: unknown): void {
    for (const [key, value] of this.entries()) fn.call(thisArg, value, key, this);
  }
}

/** `merge` for a projection that is a map of per-stream states: the parts hold other keys. */
export function mergeByKey<V>(state: Map<string, V>, part: Map<string, V>): Map<string, V> {
  for (const [key, value] of part) if (!state.has(key)) state.set(key, value);
  return state;
}

/** Maps and Sets as tagged arrays, undefined fields left out: a state goes through JSON and comes back the same. */
export function toPlain(value: unknown): unknown {
  if (value instanceof Map) return { $m: [...value].map(([k, v]) => [k, toPlain(v)]) };
  if (value instanceof Set) return { $s: [...value].map(toPlain) };
  if (Array.isArray(value)) return value.map(toPlain);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = toPlain(v);
    }
    return out;
  }
  return value;
}

/** What `toPlain` gave, back to Maps and Sets (in place: the parsed JSON is not kept). */
export function fromPlain(value: unknown): unknown {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = fromPlain(value[i]);
    return value;
  }
  if (value === null || typeof value !== 'object') return value;
  const object = value as Record<string, unknown>;
  if (Array.isArray(object.$m)) return new Map((object.$m as [string, unknown][]).map(([k, v]) => [k, fromPlain(v)]));
  if (Array.isArray(object.$s)) return new Set((object.$s as unknown[]).map(fromPlain));
  for (const key of Object.keys(object)) object[key] = fromPlain(object[key]);
  return object;
}
