import type { Logger } from 'pino';
import { ConfigError, type Config } from '../config/config.js';
import { JsonlEventStore, type EventStore, type StoreObserver } from './index.js';
import { PostgresEventStore } from './postgres.js';

/** The backend `[store] backend` names: the jsonl files in the data directory, or a shared PostgreSQL schema. */
export function createStore(config: Config, logger: Logger, onFatal: (error: unknown) => void, role = 'bmo serve', observer?: StoreObserver): EventStore {
  const storeLogger = logger.child({ component: 'store' });
  if (config.store.backend === 'postgres') {
    if (!config.store.url) {
      throw new ConfigError(
        '[store] backend = "postgres" needs the database to use: set [store] url = "postgres://user:password@host:5432/database" in bmo.toml, or BMO_STORE_URL, or --store-url with export and import ([store] schema names the schema, default "bmo")',
      );
    }
    return new PostgresEventStore({ url: config.store.url, schema: config.store.schema, logger: storeLogger, role });
  }
  return new JsonlEventStore({ dataDir: config.server.data_dir, logger: storeLogger, onFatal, role, observer });
}
