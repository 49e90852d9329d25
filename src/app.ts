import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { hostOnly, type Config } from './config/config.js';
import { resolveToken } from './auth-token.js';
import { buildServer } from './http/server.js';
import { Pipeline } from './pipeline/pipeline.js';
import { buildPosture } from '../projections/posture.js';
import { JsonlEventStore } from './store/index.js';

export interface Bmo {
  pipeline: Pipeline;
  server: FastifyInstance;
  token: string;
  posture: () => ReturnType<typeof buildPosture>;
  url?: string;
  close(): Promise<void>;
}

export interface StartOptions {
  config: Config;
  logger: Logger;
  /** A failed write or sync: by default the process exits, never acknowledging. */
  onFatal?: (error: unknown) => void;
  listen?: boolean;
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
  const store = new JsonlEventStore({ dataDir: config.server.data_dir, logger: logger.child({ component: 'store' }), onFatal, role: 'bmo serve' });
  const pipeline = new Pipeline({ store, logger: logger.child({ component: 'pipeline' }) });
  await pipeline.start();
  const token = resolveToken(config.server.token, config.server.data_dir)!;
  let cached: ReturnType<typeof buildPosture> | undefined;
  const posture = () => {
    if (cached?.pos !== pipeline.readModels.pos) {
      cached = buildPosture({
        pos: pipeline.readModels.pos,
        teams: pipeline.readModels.teams,
        recent: pipeline.readModels.recent,
        config: { enabled: config.options.teams.enabled, remote_host: hostOnly(config.options.teams.server_url) },
      });
    }
    return cached;
  };
  const server = buildServer({ pipeline, config, token, logger, posture });
  let url: string | undefined;
  if (options.listen !== false) {
    await server.listen({ host: config.server.host, port: config.server.port });
    const address = server.server.address();
    if (address && typeof address === 'object') url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  } else {
    await server.ready();
  }
  return {
    pipeline,
    server,
    token,
    posture,
    url,
    async close() {
      await server.close();
      await pipeline.stop();
    },
  };
}
