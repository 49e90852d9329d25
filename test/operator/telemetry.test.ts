import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fnv from 'fnv-plus';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import { spawnServer, startTestBmo, TOKEN, type ServerProcess } from '../helpers/bmo.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';

// Telemetry field discipline: `teams.fired` (one per invocation) joined to `teams.action` lines by
// invocation_id; identifiers only as 8-hex FNV-1a `*_hash` fields; never goal text, member names,
// message bodies or tokens — in any log line, not only the teams channels.

const GOAL = 'GOAL-zircon-pelican-heist-4412';
const TEAM_NAME = 'TEAMNAME-Mauve-Orchard';
const LEAD_NAME = 'NAME-Ophelia-Quillfeather';
const MEMBER_NAMES = ['NAME-Barnaby-Zorkwell', 'NAME-Cressida-Volemont'];
const BODIES = ['BODY-the-vault-code-is-7731', 'BODY-broadcast-meet-at-dawn'];
const TITLE = 'TITLE-crack-the-safe';
const RESULT = 'RESULT-safe-cracked-open';
const WRONG_TOKEN = 'wrong-token-for-telemetry-77aa';
const SECRETS = [GOAL, TEAM_NAME, LEAD_NAME, ...MEMBER_NAMES, ...BODIES, TITLE, RESULT, TOKEN, WRONG_TOKEN];

const TEAM = 'tel-heist-team';
const LEAD_SESSION = 'sess-ophelia-lead';
const MEMBER_SESSION = 'sess-barnaby-worker';
const IDS = [TEAM, LEAD_SESSION, MEMBER_SESSION, 'mem-ophelia', 'mem-barnaby', 'mem-cressida', 'task-safe', 'msg-vault', 'msg-dawn'];

const hash = (id: string) => fnv.fast1a32hex(id);

async function send(url: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as any };
}

async function must(url: string, status: number, method: string, path: string, body?: unknown, headers?: Record<string, string>) {
  const res = await send(url, method, path, body, headers);
  assert.is(res.status, status, `${method} ${path} → ${res.status} ${JSON.stringify(res.json)}`);
  return res.json;
}

/** A full team life: sessions, a team with a goal, members, a task done, messages, refusals, a stream, a cleanup. */
async function scenario(url: string): Promise<void> {
  const asLead = { 'x-session-id': LEAD_SESSION };
  await must(url, 201, 'POST', '/v1/sessions', { session_id: LEAD_SESSION, agent: 'lead-agent', lease_ms: 60_000 });
  await must(url, 201, 'POST', '/v1/sessions', { session_id: MEMBER_SESSION, lease_ms: 60_000 });
  await must(url, 201, 'POST', '/v1/teams', { id: TEAM, name: TEAM_NAME, goal: GOAL, lead: { member_id: 'mem-ophelia', name: LEAD_NAME, session_id: LEAD_SESSION } }, asLead);
  await must(url, 201, 'POST', `/v1/teams/${TEAM}/members`, { member_id: 'mem-barnaby', name: MEMBER_NAMES[0], session_id: MEMBER_SESSION }, asLead);
  await must(url, 201, 'POST', `/v1/teams/${TEAM}/members`, { member_id: 'mem-cressida', name: MEMBER_NAMES[1] }, asLead);
  await must(url, 201, 'POST', `/v1/teams/${TEAM}/tasks`, { task_id: 'task-safe', title: TITLE, description: GOAL }, asLead);
  const claim = await must(url, 200, 'POST', `/v1/teams/${TEAM}/tasks/task-safe/claim`, { member_id: 'mem-barnaby', session_id: MEMBER_SESSION });
  await must(url, 200, 'POST', `/v1/sessions/${MEMBER_SESSION}/heartbeat`);
  await must(url, 200, 'POST', `/v1/teams/${TEAM}/tasks/task-safe/complete`, { member_id: 'mem-barnaby', fencing_token: claim.fencing_token, result: RESULT });
  await must(url, 201, 'POST', `/v1/teams/${TEAM}/messages`, { message_id: 'msg-vault', from: 'mem-ophelia', to: 'mem-barnaby', body: BODIES[0] }, asLead);
  await must(url, 201, 'POST', `/v1/teams/${TEAM}/messages`, { message_id: 'msg-dawn', from: 'mem-ophelia', to: '*', body: BODIES[1] }, asLead);
  await must(url, 200, 'POST', `/v1/teams/${TEAM}/messages/msg-vault/read`, { member_id: 'mem-barnaby' });
  await must(url, 200, 'GET', `/v1/teams/${TEAM}/members/mem-barnaby/inbox`);
  await must(url, 200, 'GET', '/v1/teams/posture');
  // Refusals carry the same secrets in their bodies and must not log them either.
  await must(url, 404, 'POST', `/v1/teams/${TEAM}/messages`, { from: 'mem-ophelia', to: 'nobody-here', body: BODIES[0] });
  await must(url, 400, 'POST', '/v1/teams', { name: TEAM_NAME, goal: GOAL, lead: { name: LEAD_NAME }, extra: BODIES[1] });
  const wrong = await fetch(`${url}/v1/teams`, { headers: { authorization: `Bearer ${WRONG_TOKEN}` } });
  assert.is(wrong.status, 401);
  // A browser-style stream subscription with the token in the query string.
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/stream?from=0&token=${TOKEN}`);
  await new Promise<void>((resolve, reject) => {
    ws.on('message', (data) => JSON.parse(data.toString()).op === 'caught_up' && resolve());
    ws.once('error', reject);
  });
  ws.terminate();
  // The lead's session ends: the cleanup removes the team.
  await must(url, 200, 'POST', `/v1/sessions/${LEAD_SESSION}/end`, { reason: 'done' });
  const cleanup = await must(url, 200, 'POST', '/v1/teams/cleanup', { scope: 'all' });
  assert.is(cleanup.removed, 1);
}

/** Every key ending in `_hash` anywhere in a record. */
function hashFields(value: unknown, out: [string, unknown][] = []): [string, unknown][] {
  if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      if (key.endsWith('_hash')) out.push([key, inner]);
      hashFields(inner, out);
    }
  }
  return out;
}

function checkLines(raw: string[]): void {
  assert.ok(raw.length > 20, `the scenario logged (${raw.length} lines)`);
  const records = raw.map((line) => JSON.parse(line) as Record<string, any>);

  // 1. Nothing secret anywhere: not the goal, a name, a body, a title or result, nor a token.
  for (const secret of SECRETS) {
    const leak = raw.find((line) => line.includes(secret));
    assert.is(leak, undefined, `a log line holds "${secret}": ${leak}`);
  }
  // 2. Identifiers only as 8-hex hashes: no raw id in any line, every *_hash is 8 lowercase hex digits.
  for (const id of IDS) {
    const leak = raw.find((line) => line.includes(id));
    assert.is(leak, undefined, `a log line holds the raw id "${id}": ${leak}`);
  }
  for (const record of records) {
    for (const [key, value] of hashFields(record)) if (value !== undefined) assert.match(String(value), /^[0-9a-f]{8}$/, `${key} in ${JSON.stringify(record)}`);
    for (const key of ['team_id', 'session_id', 'member_id', 'task_id', 'message_id', 'goal', 'name', 'body']) {
      assert.not.ok(key in record, `a log line has a raw "${key}" field: ${JSON.stringify(record)}`);
    }
  }

  // 3. One teams.fired per invocation, joined to its teams.action lines by invocation_id.
  const fired = records.filter((r) => r.channel === 'teams.fired');
  const actions = records.filter((r) => r.channel === 'teams.action');
  const actionsOf = (invocation: string) => actions.filter((a) => a.invocation_id === invocation);

  const creates = fired.filter((f) => f.lifecycle === 'POST /v1/teams' && f.outcome === 'ok');
  assert.is(creates.length, 1, 'one teams.fired line for the team creation');
  const create = creates[0];
  assert.is(create.session_id_hash, hash(LEAD_SESSION));
  // Who acted: the admin token's credential id, hashed like every other id.
  assert.is(create.actor_hash, hash('admin'));
  assert.ok(actionsOf(create.invocation_id).every((a) => a.actor_hash === hash('admin')));
  assert.equal(
    actionsOf(create.invocation_id).map((a) => [a.action, a.team_id_hash, a.member_id_hash, a.session_id_hash]),
    [
      ['team_created', hash(TEAM), undefined, hash(LEAD_SESSION)],
      ['member_joined', hash(TEAM), hash('mem-ophelia'), hash(LEAD_SESSION)],
    ],
  );

  const cleanups = fired.filter((f) => f.lifecycle === 'POST /v1/teams/cleanup');
  assert.is(cleanups.length, 1);
  assert.equal(
    actionsOf(cleanups[0].invocation_id).map((a) => [a.action, a.team_id_hash, a.reason, a.removed, a.scope]),
    [
      ['team_removed', hash(TEAM), 'cleanup', undefined, undefined],
      ['cleanup_completed', undefined, undefined, 1, 'all'],
    ],
  );

  const complete = actions.find((a) => a.action === 'task_completed');
  assert.ok(complete, 'task_completed is an action');
  assert.is(complete!.task_id_hash, hash('task-safe'));
  assert.is(fired.filter((f) => f.invocation_id === complete!.invocation_id).length, 1);

  // Every action belongs to exactly one fired invocation.
  for (const action of actions) {
    assert.is(fired.filter((f) => f.invocation_id === action.invocation_id).length, 1, `action ${action.action} (${action.invocation_id}) has one teams.fired line`);
  }
  // Every fired line names its lifecycle and outcome; refusals are fired too.
  assert.ok(fired.some((f) => f.outcome === 'refused' && f.status === 404));
  assert.ok(fired.every((f) => typeof f.lifecycle === 'string' && ['ok', 'refused', 'failed'].includes(f.outcome)));
}

test('in-process: no log line holds the goal, a member name, a message body or the token, and teams.fired joins its teams.action lines', async () => {
  const tmp = tempDir('bmo-operator-');
  const lines: string[] = [];
  const bmo = await startTestBmo(tmp.dir, { listen: true, logLines: lines });
  try {
    await scenario(bmo.url!);
    // teams.fired is written when the response is done: wait for the last one.
    await until(() => lines.some((l) => l.includes('"lifecycle":"POST /v1/teams/cleanup"')), 'the teams.fired line of the cleanup');
    checkLines(lines.map((l) => l.trim()).filter(Boolean));
  } finally {
    await bmo.close().catch(() => {});
    tmp.cleanup();
  }
});

test('a real `bmo serve` at BMO_LOG_LEVEL=debug: no stderr line holds a secret, and teams.fired joins its teams.action lines', async () => {
  const tmp = tempDir('bmo-operator-');
  let server: ServerProcess | undefined;
  try {
    const dataDir = join(tmp.dir, 'data');
    mkdirSync(dataDir);
    writeFileSync(join(tmp.dir, 'bmo.toml'), '[options.teams]\nenabled = true\n');
    server = await spawnServer(dataDir, { BMO_CONFIG: join(tmp.dir, 'bmo.toml'), BMO_LOG_LEVEL: 'debug' });
    await scenario(server.url);
    assert.is(await server.stop('SIGTERM'), 0);
    const raw = server
      .stderr()
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    assert.ok(
      raw.some((l) => JSON.parse(l).level === 20 || JSON.parse(l).level === 30),
      'the server logged at info/debug',
    );
    checkLines(raw);
  } finally {
    await server?.stop('SIGKILL').catch(() => {});
    tmp.cleanup();
  }
});

test.run();
