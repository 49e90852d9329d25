import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Clock } from './clock.js';
import { ConfigError, hostOnly, type Config } from './config/config.js';
import { StoreLockedError } from './errors.js';
import { resolveToken } from './auth-token.js';
import { buildServer } from './http/server.js';
import { closeLostNanites, finishOperations, startLeaseSweeper } from './pipeline/operations.js';
import { teamsTelemetry } from './telemetry/teams.js';
import { Pipeline } from './pipeline/pipeline.js';
import type { SnapshotOptions } from './pipeline/snapshotter.js';
import { FileSnapshots, TableSnapshots } from './pipeline/snapshots.js';
import type { ReadModels } from './pipeline/read-models.js';
import { buildPosture } from '../projections/posture.js';
import type { EventStore } from './store/index.js';
import { createStore } from './store/create.js';
import { Metrics } from './telemetry/metrics.js';
import { PostgresEventStore, describeUrl } from './store/postgres.js';

export interface Bmo {
  pipeline: Pipeline;
  server: FastifyInstance;
  token: string;
  posture: (past?: { models: ReadModels; now: Date }) => ReturnType<typeof buildPosture>;
  url?: string;
  close(): Promise<void>;
}

export interface StartOptions {
  config: Config;
  logger: Logger;
  /** A failed write or sync: by default the process exits, never acknowledging. */
  onFatal?: (error: unknown) => void;
  listen?: boolean;
  /** Write projection snapshots (default: when it listens; a CLI that opens the data directory only reads them). */
  writeSnapshots?: boolean;
  /** The time and timers of the pipeline, the sessions, the lease sweeper and the stream (default: the system clock). */
  clock?: Clock;
  /** What the data directory's LOCK names as its holder: `bmo serve`, or the CLI command that opened it. */
  role?: string;
  /**
   * Another process holds the data directory: resolve to try again, reject to give up (default:
   * give up with the lock's error). The server is built before, so a retry only takes the lock.
   */
  whileLocked?: (error: StoreLockedError) => Promise<void>;
  /** Only what a CLI command that opens the data directory itself calls: /healthz, /metrics and /v1, no page, docs, stream or MCP. */
  apiOnly?: boolean;
}

/** Opens the store, rebuilds the projections and (unless told not to) listens. */
export async function startBmo(options: StartOptions): Promise<Bmo> {
  const { config, logger } = options;
  const onFatal =
    options.onFatal ??
    (() => {
      logger.flush?.();
      setImmediate(() => process.exit(70));
    });
  const metrics = new Metrics();
  const store = createStore(config, logger, onFatal, options.role, metrics.store);
  const pipeline = new Pipeline({ store, logger: logger.child({ component: 'pipeline' }), clock: options.clock, snapshots: snapshotOptions(config, store, options.writeSnapshots ?? options.listen !== false) });
  const token = resolveToken(config.server.token, config.server.data_dir)!;
  const remoteHost = hostOnly(config.options.teams.server_url);
  const postureOf = (models: ReadModels, now: Date) =>
    buildPosture({
      pos: models.pos,
      now,
      teams: models.teams,
      sessions: models.sessions,
      recent: models.recent,
      remote: { ...models.remote, host: remoteHost ?? models.remote.host },
      config: { enabled: config.options.teams.enabled, remote_host: remoteHost },
    });
  let cached: { at: number; snapshot: ReturnType<typeof buildPosture> } | undefined;
  /** Rebuilt when the log moves on, and once a second for liveness, which moves with the clock; a past one from the models as they were. */
  const posture = (past?: { models: ReadModels; now: Date }) => {
    if (past) return postureOf(past.models, past.now);
    const now = pipeline.now();
    if (cached?.snapshot.pos !== pipeline.readModels.pos || now.getTime() - cached.at >= 1000) cached = { at: now.getTime(), snapshot: postureOf(pipeline.readModels, now) };
    return cached.snapshot;
  };
  const telemetry = teamsTelemetry(logger);
  pipeline.hub.subscribe((batch) => telemetry.actions(batch));
  const server = buildServer({ pipeline, config, token, logger, posture, telemetry, metrics, apiOnly: options.apiOnly });
  // Ready (its plugins loaded, its routes compiled) before the data directory is taken: a CLI
  // command that opens it holds it for its one request, not for the server's start.
  await server.ready();
  await openStore(pipeline, metrics, options.whileLocked).catch(async (error) => {
    await server.close();
    throw error;
  });
  // An operation over several streams that a crash left part way is finished before anything is served.
  const finished = await finishOperations(pipeline);
  if (finished > 0) logger.warn({ operations: finished }, 'finished the operations a crash left part way');
  // The next command closes a lane lost while nothing was running, before it answers anything.
  await closeLostNanites(pipeline).catch((error) => logger.error({ err: error }, 'closing lost nanite lanes failed'));
  const stopSweeper = startLeaseSweeper(pipeline, config.sessions.sweep_interval_ms, telemetry, (error) => logger.error({ err: error }, 'lease sweeper failed'));
  let url: string | undefined;
  if (options.listen !== false) {
    try {
      await server.listen({ host: config.server.host, port: config.server.port });
    } catch (error) {
      // Nothing served: let go of everything, the data directory's lock first of all.
      stopSweeper();
      await server.close();
      await pipeline.stop();
      throw listenError(error, config.server.host, config.server.port);
    }
    const address = server.server.address();
    if (address && typeof address === 'object') url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  }
  return {
    pipeline,
    server,
    token,
    posture,
    url,
    async close() {
      stopSweeper();
      await server.close();
      await pipeline.stop();
    },
  };
}

/** Opens the store and replays it into the read models, trying again while `whileLocked` says to wait. */
async function openStore(pipeline: Pipeline, metrics: Metrics, whileLocked?: (error: StoreLockedError) => Promise<void>): Promise<void> {
  for (;;) {
    try {
      const replayStarted = performance.now();
      await pipeline.start();
      metrics.replayed((performance.now() - replayStarted) / 1000);
      break;
    } catch (error) {
      if (!(error instanceof StoreLockedError) || !whileLocked) throw error;
      await whileLocked(error);
    }
  }
  metrics.watch({ head: () => pipeline.store.head(), appliedPos: () => pipeline.readModels.pos, remoteDegraded: () => pipeline.readModels.remote.degraded });
  pipeline.hub.subscribe((batch) => metrics.committed(batch));
}

/** `[snapshots]`: in `<data_dir>/snapshots`, or the PostgreSQL schema's `snapshots` table. */
function snapshotOptions(config: Config, store: EventStore, write: boolean): SnapshotOptions | undefined {
  const { enabled, every_events, every_minutes, keep } = config.snapshots;
  if (!enabled) return undefined;
  const where =
    store instanceof PostgresEventStore ? new TableSnapshots(`PostgreSQL schema ${config.store.schema}, table snapshots`, store, keep) : new FileSnapshots(join(config.server.data_dir, 'snapshots'), keep);
  return { store: where, everyEvents: every_events, everyMs: every_minutes * 60_000, write };
}

/** Where the configured store keeps the events, for people: the data directory, or the database and schema. */
export function describeStore(config: Config): string {
  return config.store.backend === 'postgres' ? `PostgreSQL ${describeUrl(config.store.url ?? '')}, schema ${config.store.schema}` : config.server.data_dir;
}

/** Why `host:port` could not be listened on, and what to do: an error the CLI shows without a stack. */
function listenError(error: unknown, host: string, port: number): unknown {
  const where = `${host}:${port}`;
  const elsewhere = 'serve on another with --port <n> (or [server] port in bmo.toml)';
  switch ((error as NodeJS.ErrnoException).code) {
    case 'EADDRINUSE':
      return new ConfigError(`${where} is already in use (another bmo serve, or another program): stop it, or ${elsewhere}`);
    case 'EACCES':
      return new ConfigError(`no permission to listen on ${where} (ports below 1024 need privileges): ${elsewhere}`);
    case 'EADDRNOTAVAIL':
      return new ConfigError(`${host} is not an address of this machine: listen on another with --host (or [server] host in bmo.toml)`);
    default:
      return error;
  }
}
