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
   * For a state that is a Map of one entry per stream, keyed by the stream's id: one entry as
   * JSON-ready data. A snapshot then packs the entries a few at a time between events (an entry
   * an event is about to change is packed first), and `restore` gets the array of them.
   */
  packEntry?(entry: S extends Map<string, infer V> ? V : never): unknown;
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
