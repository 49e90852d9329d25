import { STREAM_KINDS } from '../events/index.js';
import { mergeByKey, type Projection } from './types.js';

export interface IdempotentWrite {
  request_hash: string;
  stream: string;
  first_seq: number;
  last_seq: number;
}

/** Idempotency keys live in the events' meta, so what a key answered survives a restart. */
export const idempotencyKeys: Projection<Map<string, IdempotentWrite>> = {
  name: 'idempotency-keys',
  version: 1,
  handles: STREAM_KINDS,
  initialState: () => new Map(),
  merge: mergeByKey,
  evolve(keys, event) {
    const key = event.meta.idempotency_key;
    if (!key) return keys;
    const seen = keys.get(key);
    if (!seen) keys.set(key, { request_hash: event.meta.request_hash ?? '', stream: event.stream, first_seq: event.seq, last_seq: event.seq });
    else if (seen.stream === event.stream) {
      seen.first_seq = Math.min(seen.first_seq, event.seq);
      seen.last_seq = Math.max(seen.last_seq, event.seq);
    }
    return keys;
  },
};
