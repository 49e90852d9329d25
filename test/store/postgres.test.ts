import { PostgresEventStore } from '../../src/store/postgres.js';
import { testLogger } from '../helpers/bmo.js';
import { PG_URL, dropSchema, randomSchema, runWithPostgres } from '../fixtures/pg-schema.js';
import { storeContract } from './contract.js';

// The contract every backend passes, against a real PostgreSQL: each test on its own schema,
// dropped afterwards. No server is a failure with the reason, never a silent pass.
await runWithPostgres('postgres', () =>
  storeContract('postgres', () => {
    const schema = randomSchema();
    return { create: () => new PostgresEventStore({ url: PG_URL, schema, logger: testLogger(), poolSize: 4 }), remove: () => dropSchema(schema) };
  }),
);
