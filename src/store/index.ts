export type { AppendOptions, EventStore, ExpectedVersion, OpenOptions, ReplayProgress, StoreCheckpoint, StoreObserver, StoredEvent, StreamFilter } from './types.js';
export { JsonlEventStore, LOG_FILE, type JsonlStoreOptions } from './jsonl.js';
export { encodeLine, decodeLine, isoOf } from './line.js';
export { badPattern, streamFilter } from './filter.js';
