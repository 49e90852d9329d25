import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Option, type Command } from 'commander';
import { resolveToken } from '../auth-token.js';
import type { Config } from '../config/config.js';
import { BmoError } from '../errors.js';
import { LOCK_FILE } from '../store/lock.js';
import type { HttpCall } from '../mcp/server.js';
import type { Identity } from '../mcp/tools.js';
import { reachable, retriedOnce, serverUrl, withKey } from './connect.js';
import { sendHttp } from './http.js';
import { configFrom } from './shell.js';
import { makeDataDir } from '../store/data-dir.js';

/** A tool call's request gives up after this long and says the server did not answer. */
const REQUEST_TIMEOUT_MS = 30_000;
/** How long a spawned `bmo serve` may take to answer (it replays the log first). */
const SPAWN_WAIT_MS = 30_000;
const SPAWN_POLL_MS = 100;

interface McpOptions {
  session?: string;
  member?: string;
  agent?: string;
  spawn: boolean;
}

export function registerMcpCommand(program: Command): void {
  program
    .command('mcp')
    .description('an MCP server over stdio for one agent: every team, task, message and workstream operation as a tool, against the running bmo serve')
    .addOption(new Option('--session <id>', 'the session this agent works in (default: a new one, ended when this process ends)').env('BMO_SESSION_ID'))
    .addOption(new Option('--member <id>', 'the member id this agent acts as in teams (default: the one it joins or creates a team as)').env('BMO_MEMBER_ID'))
    .option('--agent <name>', "the agent's name, recorded on its session and used as its member name")
    .option('--no-spawn', 'do not start bmo serve when nothing answers at the local default')
    .action(async (opts: McpOptions) => runMcp(program, opts));
}

async function runMcp(program: Command, opts: McpOptions): Promise<void> {
  const { config } = configFrom(program);
  const url = serverUrl(config);
  if (!(await reachable(url))) {
    if (config.server.url || !opts.spawn) process.stderr.write(`bmo mcp: no bmo answers at ${url}; tools will say so until it does (start it with \`bmo serve\`)\n`);
    else await spawnServe(config, url, program.opts<{ config?: string }>().config);
  }
  const token = () => {
    const found = resolveToken(config.server.token, config.server.data_dir, false);
    if (!found) throw new BmoError('unauthorized', `bmo answers at ${url} but no token was found: set BMO_TOKEN, [server] token, or run where ${config.server.data_dir}/auth-token is readable`);
    return found;
  };
  // As the CLI does: every write keyed, and sent once more with its key when its outcome is unknown.
  const http: HttpCall = async (method, path, body, given) => {
    const headers = withKey(method, path, given);
    return retriedOnce(headers, async () => {
      const { status, text } = await sendHttp(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token()}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        timeoutMs: REQUEST_TIMEOUT_MS,
      });
      return { status, body: text };
    });
  };
  const identity: Identity = { session: opts.session, member: opts.member, agent: opts.agent };
  const credential = await whoami(http);
  // An agent credential says who this agent is: its member, and the session it is bound to.
  if (credential?.role === 'agent') identity.member = credential.member_id ?? identity.member;
  const keeper = new SessionKeeper(http, identity, (line) => process.stderr.write(`bmo mcp: ${line}\n`), credential?.role === 'agent' ? credential.session_id : undefined);
  await keeper.start();
  const head = async () => (JSON.parse((await http('GET', '/healthz', undefined, {})).body) as { pos: number }).pos;
  // Loaded here only: every other verb starts without the MCP SDK.
  const [{ StdioServerTransport }, { streamChanges }, { buildMcpServer }] = await Promise.all([
    import('@modelcontextprotocol/sdk/server/stdio.js'),
    import('../mcp/changes.js'),
    import('../mcp/server.js'),
  ]);
  const server = buildMcpServer({ http, identity, url, changes: streamChanges({ url, token: token(), head }) });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await keeper.stop();
    await server.close().catch(() => {});
    process.exit(0);
  };
  // The agent's client closing our stdin is the end of the agent: end its session rather than let it lapse.
  process.stdin.on('end', () => void stop());
  process.stdin.on('close', () => void stop());
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  await server.connect(new StdioServerTransport());
}

/** The caller's credential as the server resolved it (undefined when it does not answer). */
async function whoami(http: HttpCall): Promise<{ role: string; member_id?: string; session_id?: string } | undefined> {
  try {
    const answer = await http('GET', '/v1/whoami', undefined, {});
    return answer.status === 200 ? JSON.parse(answer.body) : undefined;
  } catch {
    return undefined;
  }
}

/** Starts `bmo serve` detached on the configured data directory and waits until something answers at `url`. */
async function spawnServe(config: Config, url: string, configFile: string | undefined): Promise<void> {
  const dataDir = config.server.data_dir;
  makeDataDir(dataDir);
  const logPath = join(dataDir, 'serve.log');
  const log = openSync(logPath, 'a');
  const args = [fileURLToPath(new URL('./main.js', import.meta.url)), ...(configFile ? ['--config', configFile] : []), 'serve', '--data-dir', dataDir, '--host', config.server.host, '--port', String(config.server.port)];
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  child.unref();
  const deadline = Date.now() + SPAWN_WAIT_MS;
  while (!(await reachable(url))) {
    if (Date.now() > deadline) {
      process.stderr.write(`bmo mcp: started bmo serve (pid ${child.pid}) but nothing answers at ${url} after ${SPAWN_WAIT_MS / 1000} s; see ${logPath}\n`);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, SPAWN_POLL_MS));
  }
  // Two agents starting at once both spawn a server: the data directory's lock lets one run, the other exits.
  const holder = lockHolder(dataDir);
  process.stderr.write(
    holder !== undefined && holder !== child.pid
      ? `bmo mcp: another bmo serve (pid ${holder}), started at the same moment, holds ${dataDir}; the one started here (pid ${child.pid}) stands down, and this agent uses ${url}\n`
      : `bmo mcp: no bmo answered at ${url}, so it started bmo serve (pid ${child.pid}) on ${dataDir}, logging to ${logPath}; it keeps running after this agent ends\n`,
  );
}

/** The pid in the data directory's LOCK (the jsonl store's single writer), if there is one. */
function lockHolder(dataDir: string): number | undefined {
  try {
    return (JSON.parse(readFileSync(join(dataDir, LOCK_FILE), 'utf8')) as { pid?: number }).pid;
  } catch {
    return undefined;
  }
}

/**
 * The agent's session: registered on start (or, named with --session, taken up if it runs already),
 * renewed at a third of its lease, and ended when this process ends if it started it.
 */
class SessionKeeper {
  private timer: NodeJS.Timeout | undefined;
  private started = false;

  constructor(
    private readonly http: HttpCall,
    private readonly identity: Identity,
    private readonly say: (line: string) => void,
    /** The session an agent credential is bound to: taken up when the credential may not start another. */
    private readonly bound?: string,
  ) {}

  async start(): Promise<void> {
    try {
      const answer = await this.http('POST', '/v1/sessions', { ...(this.identity.session ? { session_id: this.identity.session } : {}), ...(this.identity.agent ? { agent: this.identity.agent } : {}) }, {});
      const json = JSON.parse(answer.body);
      if (answer.status === 201) {
        this.identity.session = json.session_id;
        this.started = true;
      } else if (answer.status === 403 && this.bound && !this.identity.session) {
        this.identity.session = this.bound;
      } else if (!(answer.status === 409 && json.field === 'session_id')) {
        this.say(`could not start a session (${json.message ?? answer.status}); tools run without one`);
        return;
      }
      const session = JSON.parse((await this.http('GET', `/v1/sessions/${this.identity.session}`, undefined, {})).body) as { lease_ms: number; state?: string };
      this.timer = setInterval(() => void this.heartbeat(), Math.max(333, Math.floor(session.lease_ms / 3)));
      this.timer.unref();
      if (!this.started) await this.heartbeat();
    } catch (error) {
      this.say(`could not start a session (${(error as Error).message}); tools run without one`);
    }
  }

  private async heartbeat(): Promise<void> {
    try {
      const answer = await this.http('POST', `/v1/sessions/${this.identity.session}/heartbeat`, undefined, {});
      if (answer.status >= 400) this.say(`heartbeat of session ${this.identity.session} refused: ${JSON.parse(answer.body).message}`);
    } catch (error) {
      this.say(`heartbeat of session ${this.identity.session} failed: ${(error as Error).message}`);
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (!this.started) return;
    await this.http('POST', `/v1/sessions/${this.identity.session}/end`, { reason: 'the agent closed bmo mcp' }, {}).catch(() => {});
  }
}
