#!/usr/bin/env node
import { Command, Option } from 'commander';
import { startBmo } from '../app.js';
import { ConfigError, loadConfig } from '../config/config.js';
import { BmoError } from '../errors.js';
import { createLogger } from '../telemetry/logger.js';

const program = new Command('bmo')
  .description('bmo: the durable coordination ledger for agent work (teams and workstreams)')
  .showHelpAfterError()
  .addOption(new Option('--config <file>', 'config file (default: ./bmo.toml, then ~/.config/bmo/bmo.toml)').env('BMO_CONFIG'));

program
  .command('serve')
  .description('serve the HTTP and WebSocket API over the data directory')
  .option('--host <host>', 'address to listen on')
  .option('--port <port>', 'port to listen on (0 picks a free one)', (v) => Number(v))
  .option('--data-dir <dir>', 'where the logs live')
  .action(async (opts: { host?: string; port?: number; dataDir?: string }) => {
    const server: Record<string, unknown> = {};
    if (opts.host) server.host = opts.host;
    if (opts.port !== undefined) server.port = opts.port;
    if (opts.dataDir) server.data_dir = opts.dataDir;
    const { config, files } = loadConfig({ env: { ...process.env, ...(program.opts().config ? { BMO_CONFIG: program.opts().config } : {}) }, overrides: { server } });
    const logger = createLogger();
    const bmo = await startBmo({ config, logger });
    logger.info({ url: bmo.url, data_dir: config.server.data_dir, config_files: files, teams_enabled: config.options.teams.enabled, pos: bmo.pipeline.store.head() }, 'bmo is serving');
    process.stdout.write(`bmo serving on ${bmo.url} (data: ${config.server.data_dir}, token: ${config.server.data_dir}/auth-token)\n`);
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'stopping');
      await bmo.close();
      logger.flush();
      process.exit(0);
    };
    process.on('SIGINT', () => void stop('SIGINT'));
    process.on('SIGTERM', () => void stop('SIGTERM'));
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof BmoError) {
    process.stderr.write(`bmo: ${error.message}\n`);
    process.exit(error instanceof ConfigError ? 78 : 1);
  }
  process.stderr.write(`bmo: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
