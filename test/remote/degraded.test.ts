import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Bmo } from '../../src/app.js';
import { call, runBmoCli, startTestBmo, TOKEN } from '../helpers/bmo.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';
import { TestClock } from '../../src/clock.js';

// The sticky remote-degraded state machine, driven against a remote we control: 3 consecutive
// failures append exactly one remote_degraded; failures while degraded append no more; the next
// success appends exactly one remote_recovered; fewer than 3 failures then a success arm nothing.
// No retries: one request reaches the remote per operation.

type Mode = 'ok' | 'hang' | '500' | 'garbage' | 'refused';

/** A remote teams server that answers as told; `refused` closes the port (connection refused). */
class FlakyRemote {
  mode: Mode = 'ok';
  /** Requests that reached it (a refused connection never does). */
  hits: string[] = [];
  private server: Server;
  private hanging: ServerResponse[] = [];
  port = 0;

  constructor() {
    this.server = this.make();
  }

  private make(): Server {
    return createServer((req: IncomingMessage, res: ServerResponse) => {
      this.hits.push(`${req.method} ${req.url}`);
      req.resume();
      switch (this.mode) {
        case 'hang':
          this.hanging.push(res);
          return;
        case '500':
          res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"internal","message":"boom"}');
          return;
        case 'garbage':
          res.writeHead(200, { 'content-type': 'application/json' }).end('<html>this is not json');
          return;
        default:
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"teams":[]}');
      }
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as { port: number }).port;
  }

  private async shut(): Promise<void> {
    for (const res of this.hanging.splice(0)) res.destroy();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  async set(mode: Mode): Promise<void> {
    if (mode === this.mode) return;
    if (mode === 'refused') await this.shut();
    if (this.mode === 'refused') {
      this.server = this.make();
      await this.start(); // the same port again
    }
    this.mode = mode;
  }

  async close(): Promise<void> {
    if (this.mode !== 'refused') await this.shut();
    this.mode = 'refused';
  }
}

interface Line {
  pos: number;
  type: string;
  data: Record<string, any>;
}

function remoteLog(dir: string): Line[] {
  const file = join(dir, 'system', 'remote', 'events.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}
const count = (dir: string, type: string) => remoteLog(dir).filter((e) => e.type === type).length;

const EXPECTED: Record<Exclude<Mode, 'ok'>, { status: number; error: string; kind: string }> = {
  hang: { status: 504, error: 'remote_timeout', kind: 'timeout' },
  '500': { status: 502, error: 'remote_failed', kind: '5xx' },
  garbage: { status: 502, error: 'remote_failed', kind: 'bad_response' },
  refused: { status: 502, error: 'remote_failed', kind: 'refused' },
};

// The timeout runs on A's TestClock: a hanging remote is given up on when the test moves the clock
// past it, and a remote in 'ok' mode is never given up on however loaded the machine.
const TIMEOUT_MS = 2_000;
const overridesFor = (remote: FlakyRemote) => ({ options: { teams: { server_url: remote.url, timeout_ms: TIMEOUT_MS } } });

/** One team operation through A in the given remote mode; checks the caller's answer and that exactly one request was sent. */
async function operate(a: Bmo, remote: FlakyRemote, mode: Mode) {
  await remote.set(mode);
  const hits = remote.hits.length;
  const answer = call(a, 'GET', '/v1/teams');
  if (mode === 'hang') {
    await until(() => remote.hits.length > hits, 'the request to reach the hanging remote');
    await (a.pipeline.clock as TestClock).advance(TIMEOUT_MS);
  }
  const res = await answer;
  if (mode === 'ok') {
    assert.is(res.status, 200, res.body);
    assert.equal(res.json, { teams: [] });
  } else {
    const expected = EXPECTED[mode];
    assert.is(res.status, expected.status, `${mode}: ${res.body}`);
    assert.is(res.json.error, expected.error, mode);
    assert.is(res.json.details.kind, expected.kind);
    assert.match(res.json.message, /not retried/);
  }
  assert.is(remote.hits.length - hits, mode === 'refused' ? 0 : 1, `${mode}: one request per operation, no retries`);
  return res;
}

async function withRemote(fn: (ctx: { a: Bmo; remote: FlakyRemote; dir: string; restart: (listen?: boolean) => Promise<Bmo> }) => Promise<void>, listen = false) {
  const tmp = tempDir('bmo-remote-');
  const remote = new FlakyRemote();
  const clock = new TestClock(); // one time line across a restart, as the system clock's
  let a: Bmo | undefined;
  try {
    await remote.start();
    a = await startTestBmo(tmp.dir, { overrides: overridesFor(remote), listen, clock });
    const restart = async (again = listen) => {
      await a!.close();
      a = undefined;
      a = await startTestBmo(tmp.dir, { overrides: overridesFor(remote), listen: again, clock });
      return a;
    };
    await fn({ a, remote, dir: tmp.dir, restart });
  } finally {
    await a?.close().catch(() => {});
    await remote.close().catch(() => {});
    tmp.cleanup();
  }
}

test('3 consecutive failures append exactly one remote_degraded; 10 still one; the next success exactly one remote_recovered', () =>
  withRemote(async ({ a, remote, dir }) => {
    await operate(a, remote, 'ok');
    assert.equal(remoteLog(dir), [], 'a success with no failure before it records nothing');

    await operate(a, remote, 'hang');
    await operate(a, remote, '500');
    assert.is(count(dir, 'remote_degraded'), 0, 'two failures are not degraded yet');
    const third = await operate(a, remote, 'garbage');
    assert.is(third.json.details.degraded, true);
    assert.match(third.json.message, /degraded/);
    assert.equal(
      remoteLog(dir).map((e) => [e.type, e.data.kind ?? e.data.reason, e.data.consecutive ?? e.data.failures]),
      [
        ['remote_failed', 'timeout', 1],
        ['remote_failed', '5xx', 2],
        ['remote_failed', 'bad_response', 3],
        ['remote_degraded', 'bad_response', 3],
      ],
    );
    assert.is(a.posture().remote_degraded, true);

    for (const mode of ['refused', '500', 'garbage', 'hang', 'refused', '500', 'garbage'] as const) await operate(a, remote, mode);
    assert.is(count(dir, 'remote_failed'), 10);
    assert.is(count(dir, 'remote_degraded'), 1, 'failures while degraded arm nothing more');
    assert.is(count(dir, 'remote_recovered'), 0);
    const health = await call(a, 'GET', '/v1/teams/remote');
    assert.equal([health.json.degraded, health.json.consecutive_failures, health.json.total_failures], [true, 10, 10]);
    assert.is(health.json.host, `127.0.0.1:${remote.port}`);

    await operate(a, remote, 'ok');
    assert.is(count(dir, 'remote_recovered'), 1);
    assert.equal(remoteLog(dir).at(-1)!.type, 'remote_recovered');
    assert.equal(remoteLog(dir).at(-1)!.data.reason, 'success');
    const healed = await call(a, 'GET', '/v1/teams/remote');
    assert.equal([healed.json.degraded, healed.json.consecutive_failures], [false, 0]);
    assert.is(a.posture().remote_degraded, false);

    // Further successes append nothing; a new failure starts counting from one.
    const lines = remoteLog(dir).length;
    await operate(a, remote, 'ok');
    await operate(a, remote, 'ok');
    assert.is(remoteLog(dir).length, lines);
    await operate(a, remote, '500');
    assert.equal(remoteLog(dir).at(-1)!.data.consecutive, 1);
    assert.is(count(dir, 'remote_degraded'), 1);
  }));

test('2 failures then a success append neither remote_degraded nor remote_recovered, and the count starts over', () =>
  withRemote(async ({ a, remote, dir }) => {
    await operate(a, remote, 'refused');
    await operate(a, remote, 'hang');
    await operate(a, remote, 'ok');
    assert.is(count(dir, 'remote_degraded'), 0);
    assert.is(count(dir, 'remote_recovered'), 0);
    assert.is((await call(a, 'GET', '/v1/teams/remote')).json.consecutive_failures, 0);

    // Two more are failures 1 and 2 again, not 3 and 4: still not degraded.
    await operate(a, remote, '500');
    await operate(a, remote, 'garbage');
    assert.equal(
      remoteLog(dir)
        .filter((e) => e.type === 'remote_failed')
        .map((e) => e.data.consecutive),
      [1, 2, 1, 2],
    );
    assert.is(count(dir, 'remote_degraded'), 0);
    assert.is(count(dir, 'remote_recovered'), 0);
    assert.is(a.posture().remote_degraded, false);
  }));

test('after a restart of A the degraded flag and the failure count are as before (GET /v1/teams/remote and posture.remote)', () =>
  withRemote(async ({ a, remote, dir, restart }) => {
    for (const mode of ['500', '500', 'garbage', 'hang'] as const) await operate(a, remote, mode);
    const health = (await call(a, 'GET', '/v1/teams/remote')).json;
    assert.equal([health.degraded, health.consecutive_failures, health.total_failures], [true, 4, 4]);
    const posture = a.posture();
    assert.is(posture.remote_degraded, true);
    const lines = remoteLog(dir).length;

    const b = await restart();
    assert.equal((await call(b, 'GET', '/v1/teams/remote')).json, health, 'the health reads as before the restart');
    const rebuilt = b.posture();
    assert.is(rebuilt.remote_degraded, true);
    assert.equal(rebuilt.remote, posture.remote);
    assert.is(rebuilt.chip, posture.chip);
    assert.is(rebuilt.chip, 'degraded: timeout', 'the chip says degraded and the kind of the last failure');
    assert.equal(rebuilt.recent, posture.recent);
    assert.is(remoteLog(dir).length, lines, 'the restart appended nothing');

    // Still degraded after the restart: a failure arms nothing, and the HTTP posture says so and why.
    await remote.set('500');
    const view = await call(b, 'GET', '/v1/teams/posture');
    assert.is(view.status, 200);
    assert.is(view.json.remote_degraded, true);
    assert.match(view.json.remote_error, /HTTP 500/);
    assert.is(view.json.remote.consecutive_failures, 5);
    assert.is(count(dir, 'remote_degraded'), 1);
    // And the first success after the restart recovers, once.
    await operate(b, remote, 'ok');
    assert.is(count(dir, 'remote_recovered'), 1);
    assert.is(b.posture().remote_degraded, false);
  }));


test('`bmo team remote reset` clears the degraded flag with one appended remote_recovered (operator_reset); a second reset appends nothing', () =>
  withRemote(async ({ a, remote, dir }) => {
    for (const mode of ['500', '500', '500'] as const) await operate(a, remote, mode);
    assert.is((await call(a, 'GET', '/v1/teams/remote')).json.degraded, true);
    const cliDir = join(dir, 'cli');
    mkdirSync(cliDir);
    const env = { BMO_URL: a.url!, BMO_TOKEN: TOKEN };

    const reset = await runBmoCli(['team', 'remote', 'reset', '--json'], cliDir, env);
    assert.is(reset.code, 0, reset.stderr);
    const result = JSON.parse(reset.stdout);
    assert.equal(
      result.events.map((e: Line) => [e.type, e.data.reason]),
      [['remote_recovered', 'operator_reset']],
    );
    assert.equal([result.degraded, result.consecutive_failures], [false, 0]);
    assert.equal(
      remoteLog(dir)
        .filter((e) => e.type === 'remote_recovered')
        .map((e) => e.data.reason),
      ['operator_reset'],
    );
    assert.is(remote.hits.length, 3, 'the reset is local: it does not call the remote');

    const status = await runBmoCli(['team', 'remote', 'status', '--json'], cliDir, env);
    assert.is(status.code, 0, status.stderr);
    assert.equal([JSON.parse(status.stdout).degraded, JSON.parse(status.stdout).consecutive_failures], [false, 0]);

    // Nothing to reset: POST /v1/teams/remote/reset appends nothing.
    const lines = remoteLog(dir).length;
    const again = await call(a, 'POST', '/v1/teams/remote/reset');
    assert.is(again.status, 200);
    assert.equal(again.json.events, []);
    assert.is(remoteLog(dir).length, lines);
    assert.is(count(dir, 'remote_degraded'), 1);
  }, true));

test.run();
