#!/usr/bin/env node
import { Command, CommanderError, Option } from 'commander';
import { remoteWords } from '../../projections/posture.js';
import { recentEventOf } from '../../projections/recent.js';
import { ConfigError, hostOnly } from '../config/config.js';
import { BmoError } from '../errors.js';
import { ensureOk, requestAll } from './connect.js';
import { cliWords } from './routes.js';
import { tailEvents } from './events.js';
import { eventLine, section, table } from './format.js';
import { fetchTimeline, timelineText } from './timeline.js';
import { asOfFlag, asOfQuery, configFrom, EXIT, exitCodeOf, print, wholeNumber, withConnection } from './shell.js';

// A reader that goes away (`bmo events tail | head`) ends the command quietly, as it does other Unix tools.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(0);
});

const program = new Command('bmo')
  .description('bmo: the durable coordination ledger for agent work (teams and workstreams)')
  .showHelpAfterError()
  // Commander prints its own usage errors; they end with exit code 2 (bad input), not its default 1.
  .exitOverride()
  .addOption(new Option('--config <file>', 'config file (default: ./bmo.toml, then ~/.config/bmo/bmo.toml)'))
  .addOption(new Option('--data-dir <dir>', 'the data directory (default from config: ./data)').env('BMO_DATA_DIR'))
  .addOption(new Option('--url <url>', 'the server to talk to (default from config: http://127.0.0.1:7777)').env('BMO_URL'))
  .addOption(new Option('--wait <seconds>', 'with no server, wait this long for another bmo command to let go of the data directory').argParser(wholeNumber('--wait', 0, 3600)).default(10));

program
  .command('serve')
  .description('serve the HTTP and WebSocket API over the data directory')
  .option('--host <host>', 'address to listen on')
  .option('--port <port>', 'port to listen on (0 picks a free one)', wholeNumber('--port', 0, 65535))
  .action(async (opts: { host?: string; port?: number }) => {
    const server: Record<string, unknown> = {};
    if (opts.host) server.host = opts.host;
    if (opts.port !== undefined) server.port = opts.port;
    const { config, files } = configFrom(program, server);
    const { createLogger } = await import('../telemetry/logger.js');
    const logger = createLogger();
    const { describeStore, startBmo } = await import('../app.js');
    const bmo = await startBmo({ config, logger });
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'stopping');
      await bmo.close();
      logger.flush();
      process.exit(0);
    };
    // Before the line that says it serves: whoever waits for that line may signal at once.
    process.on('SIGINT', () => void stop('SIGINT'));
    process.on('SIGTERM', () => void stop('SIGTERM'));
    logger.info({ url: bmo.url, config_files: files, teams_enabled: config.options.teams.enabled, pos: bmo.pipeline.store.head() }, 'bmo is serving');
    const tokenFrom = config.server.token ? 'the token as configured ([server] token or BMO_TOKEN)' : `token in ${config.server.data_dir}/auth-token`;
    const remoteHost = hostOnly(config.options.teams.server_url);
    const teamsWords = remoteHost ? `; teams forwarded to ${remoteWords(remoteHost, bmo.pipeline.readModels.remote)}` : '';
    process.stdout.write(`bmo serving on ${bmo.url} (events: ${describeStore(config)}; ${tokenFrom}${teamsWords})\n`);
  });

const team = program.command('team').description('teams: list, inspect, clean up');

team
  .command('list')
  .description('active teams, one row per team')
  .option('--json', 'print JSON')
  .option('--all', 'include removed teams')
  .action(async (opts: { json?: boolean; all?: boolean }) =>
    withConnection(program, async (connection) => {
      const result = await requestAll(connection, `/v1/teams${opts.all ? '?all=true' : ''}`, 'teams');
      print(!!opts.json, result, () =>
        result.teams.length === 0
          ? 'no teams (an agent creates one with its team_create tool, through bmo mcp; see README.md)'
          : table(
              ['TEAM', 'NAME', 'STATUS', 'MEMBERS', 'OPEN', 'CLAIMED', 'DONE', 'FAILED', 'MESSAGES'],
              result.teams.map((t: any) => [t.team_id, t.name, t.status, t.members, t.tasks.open, t.tasks.claimed, t.tasks.completed, t.tasks.failed, t.messages.total]),
            ),
      );
    }),
  );

team
  .command('status <id>')
  .description('one team: members, tasks, messages, recent events')
  .option('--json', 'print JSON')
  .addOption(asOfFlag())
  .action(async (id: string, opts: { json?: boolean; asOf?: string }) =>
    withConnection(program, async (connection) => {
      const detail = ensureOk(await connection.request('GET', `/v1/teams/${encodeURIComponent(id)}${asOfQuery(opts.asOf)}`));
      // The team's own last 16 events, from its log (the store-wide ring may hold none of a quiet team's), metadata only.
      const log = ensureOk(await connection.request('GET', `/v1/teams/${encodeURIComponent(id)}/events?from_seq=${Math.max(1, detail.version - 15)}`));
      const events = log.events.filter((e: { seq: number }) => e.seq <= detail.version).map(recentEventOf);
      const value = { ...detail, recent: events };
      print(!!opts.json, value, () =>
        [
          `team ${detail.team_id} "${detail.name}" (${detail.status}, version ${detail.version}, lead ${detail.lead_member_id})${opts.asOf ? ` as of ${opts.asOf}` : ''}`,
          section('members', table(['MEMBER', 'NAME', 'ROLE', 'ACTIVE', 'SESSION'], detail.members.map((m: any) => [m.member_id, m.name, m.role, m.active ? 'yes' : 'no', m.session_id]))),
          section(
            'tasks',
            detail.tasks.length === 0
              ? 'none'
              : table(['TASK', 'STATUS', 'READY', 'OWNER', 'WAITING ON', 'TITLE'], detail.tasks.map((t: any) => [t.task_id, t.status, t.ready ? 'yes' : 'no', t.owner, t.waiting_on.join(',') || undefined, t.title])),
          ),
          section('messages', `${detail.messages.total} in total`),
          section('recent events', events.length === 0 ? 'none' : events.map(eventLine).join('\n')),
        ].join('\n'),
      );
    }),
  );

team
  .command('timeline <id>')
  .description("the team's life from its log: who joined and left, each task's claims, renewals and end with durations, message threads, the lead going gone")
  .option('--json', 'print JSON')
  .action(async (id: string, opts: { json?: boolean }) =>
    withConnection(program, async (connection) => {
      const timeline = await fetchTimeline(connection, id);
      print(!!opts.json, timeline, () => timelineText(timeline));
    }),
  );

team
  .command('posture')
  .description('the posture snapshot: counts, per-team liveness, remote health, the chip and the recent tail')
  .option('--json', 'print JSON')
  .addOption(asOfFlag('the teams as they were (liveness judged at that time)'))
  .action(async (opts: { json?: boolean; asOf?: string }) =>
    withConnection(program, async (connection) => {
      const posture = ensureOk(await connection.request('GET', `/v1/teams/posture${asOfQuery(opts.asOf)}`));
      print(!!opts.json, posture, () =>
        [
          `${posture.chip}  (pos ${posture.pos}; ${posture.team_count} team(s), ${posture.active_count} active, ${posture.blocked_count} blocked)${opts.asOf ? ` as of ${opts.asOf}` : ''}`,
          remoteWords(posture.config.remote_host, posture.remote) + (posture.remote_error ? `; this time: ${posture.remote_error}` : ''),
          posture.teams.length === 0
            ? 'no teams'
            : table(
                ['TEAM', 'LEAD', 'WORKING', 'IDLE', 'STALLED', 'GONE', 'READY', 'BLOCKED', 'UNREAD'],
                posture.teams.map((t: any) => [t.team_id, t.lead, t.member_liveness.working, t.member_liveness.idle, t.member_liveness.stalled, t.member_liveness.gone, t.tasks.ready, t.tasks.blocked, t.messages.unread]),
              ),
          section('recent', posture.recent.length === 0 ? 'none' : posture.recent.map(eventLine).join('\n')),
        ].join('\n'),
      );
    }),
  );

team
  .command('cleanup [id]')
  .description('remove teams whose lead session no longer exists (--all), or check one team')
  .option('--all', 'every team')
  .option('--json', 'print JSON')
  .action(async (id: string | undefined, opts: { all?: boolean; json?: boolean }) => {
    if (!!opts.all === !!id) throw new BmoError('bad_request', 'say which: `bmo team cleanup --all` or `bmo team cleanup <team-id>`');
    await withConnection(program, async (connection) => {
      const result = ensureOk(await connection.request('POST', '/v1/teams/cleanup', opts.all ? { scope: 'all' } : { scope: 'single', team_id: id }));
      print(!!opts.json, result, () => `cleanup (${result.scope}): removed ${result.removed} team(s)${result.team_ids.length ? `: ${result.team_ids.join(', ')}` : ''}; recorded at pos ${result.pos}`);
    });
  });

const remote = team.command('remote').description('the remote teams server ([options.teams] server_url) and its degraded flag');

remote
  .command('status')
  .description('the remote host, the sticky degraded flag, its reason and the failure count')
  .option('--json', 'print JSON')
  .action(async (opts: { json?: boolean }) =>
    withConnection(program, async (connection) => {
      const health = ensureOk(await connection.request('GET', '/v1/teams/remote'));
      print(!!opts.json, health, () =>
        health.configured
          ? `remote ${health.host}: ${health.degraded ? `DEGRADED since ${health.degraded_since} (${health.reason})` : 'healthy'}; ${health.consecutive_failures} consecutive failure(s), ${health.total_failures} in all`
          : 'no remote teams server configured ([options.teams] server_url); teams are served locally',
      );
    }),
  );

remote
  .command('reset')
  .description('clear the degraded flag (an appended remote_recovered), for an operator who knows the remote is back')
  .option('--json', 'print JSON')
  .action(async (opts: { json?: boolean }) =>
    withConnection(program, async (connection) => {
      const result = ensureOk(await connection.request('POST', '/v1/teams/remote/reset'));
      print(!!opts.json, result, () => (result.events.length ? `remote ${result.host}: reset (remote_recovered at pos ${result.pos})` : `remote ${result.host}: nothing to reset`));
    }),
  );

program
  .command('config')
  .description('show configuration')
  .command('show-teams')
  .description('the merged teams config and the recent team events tail')
  .option('--json', 'print JSON')
  .action(async (opts: { json?: boolean }) =>
    withConnection(program, async (connection, loaded) => {
      const teams = loaded.config.options.teams;
      const recent = await connection.request('GET', '/v1/teams/events/recent?limit=16');
      const posture = await connection.request('GET', '/v1/teams/posture');
      const value = {
        files: loaded.files,
        teams: { enabled: teams.enabled, server_host: hostOnly(teams.server_url) ?? null, timeout_ms: teams.timeout_ms },
        connection: { mode: connection.mode, url: connection.url },
        /** What the server itself runs with: it may differ from this shell's files. */
        server: posture.status === 200 ? posture.json.config : { enabled: false, error: cliWords(String(posture.json?.message ?? `HTTP ${posture.status}`)) },
        remote: posture.status === 200 ? { ...posture.json.remote, degraded: posture.json.remote_degraded } : undefined,
        recent: recent.status === 200 ? recent.json.events : [],
      };
      print(!!opts.json, value, () =>
        [
          `config files: ${loaded.files.join(', ') || '(none; defaults)'}`,
          `[options.teams] enabled = ${teams.enabled}${teams.enabled ? '' : '  (set it to true in bmo.toml to turn teams on)'}`,
          `[options.teams] server = ${value.teams.server_host ?? '(local)'}`,
          `the server (${connection.mode === 'local' ? 'opened here' : connection.url}): teams ${value.server.enabled ? 'enabled' : `disabled${value.server.error ? ` (${value.server.error})` : ''}`}`,
          ...(value.server.enabled ? [`the server's teams: ${remoteWords(value.server.remote_host, value.remote)}`] : []),
          section('recent team events', value.recent.length === 0 ? 'none' : value.recent.map(eventLine).join('\n')),
        ].join('\n'),
      );
    }),
  );

program
  .command('events')
  .description('the event log')
  .command('tail')
  .description('print stored events (and with --follow, live ones) over the WebSocket stream')
  .option('--follow', 'keep printing new events as they are committed')
  .option('--from <pos>', 'start after this position', wholeNumber('--from'), 0)
  .option('--stream <prefix>', 'only these streams: teams/<id>, workstreams/*, … (comma-separated)', '*')
  .option('--json', 'print each event as its stored JSON line')
  .action(async (opts: { follow?: boolean; from: number; stream: string; json?: boolean }) =>
    withConnection(program, async (connection) => {
      await tailEvents(connection, { follow: !!opts.follow, from: opts.from, filter: opts.stream, json: !!opts.json, out: process.stdout, err: process.stderr });
    }),
  );

const verbGroup = (name: string) => program.commands.find((c) => c.name() === name)!;
/** The commands registered from their own modules, in the order help lists them, with the top-level words each adds to. */
const MODULES: { words: string[]; register: () => Promise<void> }[] = [
  { words: ['workstream', 'nanite', 'cartography'], register: async () => (await import('./workstreams.js')).registerWorkstreamCommands(program) },
  { words: ['workstream'], register: async () => (await import('./verify.js')).registerRecipeCommands(program, verbGroup('workstream')) },
  { words: ['nanite'], register: async () => (await import('./nanite-lanes.js')).registerLaneCommands(program, verbGroup('nanite')) },
  { words: ['sync'], register: async () => (await import('./deliver.js')).registerSyncCommand(program) },
  { words: ['export', 'import'], register: async () => (await import('./transfer.js')).registerTransferCommands(program) },
  { words: ['token'], register: async () => (await import('./tokens.js')).registerTokenCommands(program) },
  { words: ['mcp'], register: async () => (await import('./mcp.js')).registerMcpCommand(program) },
];
// A command named loads only the modules that add to it (`bmo serve` starts without the workstream
// verbs); anything else (help, no command, a word bmo does not know) loads them all.
const word = commandWord(process.argv.slice(2));
const known = word !== undefined && (program.commands.some((c) => c.name() === word) || MODULES.some((m) => m.words.includes(word)));
for (const module of MODULES) if (!known || module.words.includes(word)) await module.register();

program.parseAsync(commandAfterId(process.argv)).catch((error: unknown) => {
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? EXIT.ok : EXIT.usage); // --help, --version, or already said
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`bmo: ${message}\n`);
  if (!(error instanceof BmoError) && !(error instanceof ConfigError)) process.stderr.write(`${(error as Error).stack ?? ''}\n`);
  process.exit(exitCodeOf(error));
});

/** The command's first word: the first that is not bmo's own option or its value (undefined when there is none). */
function commandWord(args: string[]): string | undefined {
  const takesValue = new Set(['--config', '--data-dir', '--url', '--wait']);
  for (let i = 0; i < args.length; i++) {
    if (takesValue.has(args[i])) i++;
    else if (!args[i].startsWith('-')) return args[i];
  }
  return undefined;
}

/**
 * `bmo workstream verify-run [options] <id> [options] <cmd…>`: from the first word that is neither
 * a bmo option nor the id, every word is the command's, its options and its own `--` too
 * (`pytest --timeout 30`, `npm test -- --grep x`). Commander would take a bmo option anywhere and
 * drop the first `--`, so a `--` goes in where the command starts.
 */
function commandAfterId(argv: string[]): string[] {
  const at = argv.indexOf('verify-run');
  if (at < 0 || argv[at - 1] !== 'workstream') return argv;
  const takesValue = new Map([['--timeout', true], ['--max-output', true], ['--session', true], ['--config', true], ['--data-dir', true], ['--url', true], ['--wait', true], ['--again', false], ['--json', false], ['--help', false], ['-h', false]]);
  const options: string[] = [];
  let id: string | undefined;
  // bmo's own options go before the id, wherever they were given, so commander takes them as bmo's.
  const rebuilt = (rest: string[]) => [...argv.slice(0, at + 1), ...options, ...(id === undefined ? [] : [id]), ...rest];
  for (let i = at + 1; i < argv.length; i++) {
    const word = argv[i];
    if (word === '--') return rebuilt(argv.slice(i)); // set apart already: commander takes it from there
    const option = takesValue.get(word.split('=')[0]);
    if (option !== undefined) {
      options.push(word);
      if (option && !word.includes('=') && i + 1 < argv.length) options.push(argv[++i]);
      continue;
    }
    if (id === undefined) id = word;
    else return rebuilt(['--', ...argv.slice(i)]);
  }
  return rebuilt([]);
}
