/**
 * Work shared between threads without a plan: each takes the next `size` items of a shared count
 * (an Int32Array over a SharedArrayBuffer, slot 0) until none are left, so that whichever runs
 * faster, or starts sooner, takes more, and all finish together.
 */
export function* claims(next: Int32Array, total: number, size: number): Generator<[from: number, to: number]> {
  for (let from = Atomics.add(next, 0, size); from < total; from = Atomics.add(next, 0, size)) yield [from, Math.min(from + size, total)];
}

/** A fresh shared count, for `claims`. */
export const sharedCount = (): Int32Array => new Int32Array(new SharedArrayBuffer(4));
