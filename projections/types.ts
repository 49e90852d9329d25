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
}

/** `merge` for a projection that is a map of per-stream states: the parts hold other keys. */
export function mergeByKey<V>(state: Map<string, V>, part: Map<string, V>): Map<string, V> {
  for (const [key, value] of part) if (!state.has(key)) state.set(key, value);
  return state;
}
