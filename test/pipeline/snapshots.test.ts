import { appendFileSync, cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sessionEntity } from '../../src/domain/sessions.js';
import { teamEntity, type TeamCommand } from '../../src/domain/teams.js';
import { workstreamEntity, type WorkstreamCommand } from '../../src/domain/workstreams.js';
import { BmoError } from '../../src/errors.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { ReadModels } from '../../src/pipeline/read-models.js';
import { decodeSnapshot, FileSnapshots, TableSnapshots } from '../../src/pipeline/snapshots.js';
import { PostgresEventStore } from '../../src/store/postgres.js';
import { JsonlEventStore } from '../../src/store/index.js';
import { spawnServer, testLogger, TOKEN } from '../helpers/bmo.js';
import { tempDir } from '../helpers/tmp.js';
import { writeReplayData } from '../../bench/replay-data.js';
import { PG_URL, dropSchema, pgProblem, randomSchema, sql } from '../fixtures/pg-schema.js';

/** One step of a history: a command on an entity, maybe under an Idempotency-Key. */
type Step = { kind: 'team'; id: string; command: TeamCommand; key?: string } | { kind: 'workstream'; id: string; command: WorkstreamCommand } | { kind: 'session'; id: string; command: { type: 'start_session'; lease_ms: number } | { type: 'heartbeat' } | { type: 'end_session' } };

const TEAMS = ['t1', 't2', 't3'];
const MEMBERS = ['lead', 'ann', 'bob'];
const TASKS = ['a', 'b', 'c'];
const SESSIONS = ['s1', 's2'];

const teamCommand: fc.Arbitrary<TeamCommand> = fc.oneof(
  fc.constant<TeamCommand>({ type: 'create_team', team_id: '', name: 'T', lead: { member_id: 'lead', name: 'Lead', session_id: 's1' } }),
  fc.constantFrom(...MEMBERS.slice(1)).map((m): TeamCommand => ({ type: 'join_team', member_id: m, name: m, role: 'member', session_id: 's2' })),
  fc.constantFrom(...MEMBERS.slice(1)).map((m): TeamCommand => ({ type: 'leave_team', member_id: m })),
  fc.tuple(fc.constantFrom(...TASKS), fc.subarray(TASKS, { maxLength: 1 })).map(([t, deps]): TeamCommand => ({ type: 'create_task', task_id: t, title: `task ${t}`, blocked_by: deps.filter((d) => d !== t) })),
  fc.tuple(fc.constantFrom(...TASKS), fc.constantFrom(...MEMBERS)).map(([t, m]): TeamCommand => ({ type: 'claim_task', task_id: t, member_id: m, lease_ms: 60_000 })),
  fc.tuple(fc.constantFrom(...TASKS), fc.constantFrom(...MEMBERS), fc.integer({ min: 1, max: 4 })).map(([t, m, token]): TeamCommand => ({ type: 'complete_task', task_id: t, member_id: m, fencing_token: token, result: 'ok' })),
  fc.tuple(fc.constantFrom(...TASKS), fc.constantFrom(...MEMBERS), fc.integer({ min: 1, max: 4 })).map(([t, m, token]): TeamCommand => ({ type: 'fail_task', task_id: t, member_id: m, fencing_token: token })),
  fc.constantFrom(...TASKS).map((t): TeamCommand => ({ type: 'update_task', task_id: t, note: 'n' })),
  fc.tuple(fc.integer({ min: 1, max: 9 }), fc.constantFrom(...MEMBERS), fc.constantFrom('*', ...MEMBERS)).map(([n, from, to]): TeamCommand => ({ type: 'send_message', message_id: `m${n}`, from, to, body: 'hi' })),
  fc.tuple(fc.integer({ min: 1, max: 9 }), fc.constantFrom(...MEMBERS)).map(([n, m]): TeamCommand => ({ type: 'read_message', message_id: `m${n}`, member_id: m })),
  fc.constant<TeamCommand>({ type: 'renew_claims', session_id: 's2' }),
  fc.constant<TeamCommand>({ type: 'shutdown_team' }),
  fc.constant<TeamCommand>({ type: 'remove_team', reason: 'delete' }),
);

const verifyRun = (exit: number): WorkstreamCommand => ({ type: 'record_verify_run', run_id: `r${exit}${Math.random().toString(36).slice(2, 8)}`, argv: ['npm', 'test'], cwd: '/w', exit_code: exit, signal: null, duration_ms: 5, output_tail: 'x', truncated: exit > 1, timed_out: false });
const workstreamCommand: fc.Arbitrary<WorkstreamCommand> = fc.oneof(
  fc.constant<WorkstreamCommand>({ type: 'create_workstream', label: 'docs' }),
  fc.constant<WorkstreamCommand>({ type: 'bind_plan', path: 'docs/plan.md', kind: 'custom' }),
  fc.integer({ min: 0, max: 2 }).map(verifyRun),
  fc.integer({ min: 1, max: 5 }).map((n): WorkstreamCommand => ({ type: 'add_marker', marker_id: `k${n}`, path: 'src/a.ts', note: 'look' })),
  fc.integer({ min: 1, max: 5 }).map((n): WorkstreamCommand => ({ type: 'clear_marker', marker_id: `k${n}` })),
  fc.integer({ min: 1, max: 5 }).map((n): WorkstreamCommand => ({ type: 'record_finding', finding_id: `f${n}`, severity: 'low', path: 'src/a.ts', text: 'seen' })),
);

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.constantFrom(...TEAMS), teamCommand, fc.option(fc.constantFrom('k1', 'k2'), { nil: undefined })).map(([id, command, key]): Step => ({ kind: 'team', id, command: command.type === 'create_team' ? { ...command, team_id: id } : command, key })) },
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom('w1', 'w2'), workstreamCommand).map(([id, command]): Step => ({ kind: 'workstream', id, command })) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...SESSIONS), fc.constantFrom<Step['command']['type']>('start_session', 'heartbeat', 'end_session')).map(([id, type]): Step => ({ kind: 'session', id, command: (type === 'start_session' ? { type, lease_ms: 3_600_000 } : { type }) as never })) },
);

/** Sessions first: a team's lead names one. */
const OPENING: Step[] = SESSIONS.map((id) => ({ kind: 'session', id, command: { type: 'start_session', lease_ms: 3_600_000 } }));

function execute(pipeline: Pipeline, s: Step): Promise<unknown> {
  const run =
    s.kind === 'team'
      ? pipeline.execute(teamEntity, s.id, s.command, s.key ? { idempotencyKey: `${s.id}-${s.key}`, requestHash: s.key } : {})
      : s.kind === 'workstream'
        ? pipeline.execute(workstreamEntity, s.id, s.command)
        : pipeline.execute(sessionEntity, s.id, s.command as never);
  // A refused command (a claim of a claimed task, a stale token…) writes nothing: part of any history.
  return run.catch((error) => {
    if (!(error instanceof BmoError)) throw error;
  });
}

async function openPipeline(dir: string, snapshots: boolean, lines?: string[]): Promise<Pipeline> {
  const logger = testLogger(lines);
  const pipeline = new Pipeline({
    store: new JsonlEventStore({ dataDir: dir, logger }),
    logger,
    replayMinStreams: Number.MAX_SAFE_INTEGER,
    // One entry packed a turn: commands in flight change teams the snapshot has not packed yet.
    snapshots: snapshots ? { store: new FileSnapshots(join(dir, 'snapshots'), 2), everyEvents: 0, everyMs: 0, write: false, pace: { turnMs: 0, turnEntries: 1 } } : undefined,
  });
  await pipeline.start();
  return pipeline;
}

/** Maps and Sets sorted by key, undefined fields dropped: equal states give equal text whatever order they were folded in. */
function canonical(value: unknown): unknown {
  if (value instanceof Map) return [...value].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, canonical(v)]);
  if (value instanceof Set) return [...value].sort();
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

const modelsText = (pipeline: Pipeline) => JSON.stringify(canonical(pipeline.readModels.part()));

/** The read models, and every event read back by pos (the store's index, which a snapshot carries too). */
const stateText = async (pipeline: Pipeline) => `${modelsText(pipeline)}\n${JSON.stringify((await pipeline.store.readAll(0, { limit: 100_000 })).events)}`;

/** The read models and the events by pos after a start from the snapshots in `dir`, and after a full replay of the same logs. */
async function bothStarts(dir: string) {
  const lines: string[] = [];
  const fromSnapshot = await openPipeline(dir, true, lines);
  const restarted = await stateText(fromSnapshot);
  await fromSnapshot.stop();
  const full = await openPipeline(dir, false);
  const replayed = await stateText(full);
  await full.stop();
  return { restarted, replayed, lines: lines.join('') };
}

test('a start from a snapshot equals a full replay for every read model, snapshots cut at random points, some mid-load, some before a torn tail', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 60 }), fc.nat(), fc.boolean(), fc.boolean(), async (steps, cutAt, midLoad, torn) => {
      const tmp = tempDir('bmo-snap-');
      try {
        const history = [...OPENING, ...steps];
        const cut = cutAt % (history.length + 1);
        const pipeline = await openPipeline(tmp.dir, true);
        for (const s of history.slice(0, cut)) await execute(pipeline, s);
        if (midLoad) {
          // Commands in flight while the snapshot is taken: it holds what was committed, no more.
          const inFlight = history.slice(cut, cut + 4).map((s) => execute(pipeline, s));
          await pipeline.snapshots!.write();
          await Promise.all(inFlight);
          for (const s of history.slice(cut + 4)) await execute(pipeline, s);
        } else {
          await pipeline.snapshots!.write();
          for (const s of history.slice(cut)) await execute(pipeline, s);
        }
        await pipeline.stop();
        if (torn && existsSync(join(tmp.dir, 'teams'))) {
          const team = readdirSync(join(tmp.dir, 'teams'), { withFileTypes: true }).find((d) => d.isDirectory());
          if (team) appendFileSync(join(tmp.dir, 'teams', team.name, 'events.jsonl'), '{"pos":99999,"stream":"teams/');
        }
        const { restarted, replayed, lines } = await bothStarts(tmp.dir);
        assert.ok(lines.includes('started from a snapshot'), 'the snapshot was used');
        assert.is(restarted, replayed);
      } finally {
        tmp.cleanup();
      }
    }),
    { numRuns: 40 },
  );
});

test('a snapshot packed a team a turn, while commands change the teams it has not packed yet, holds the read models as they were at its pos', async () => {
  const tmp = tempDir('bmo-snap-');
  try {
    const pipeline = await openPipeline(tmp.dir, true);
    for (const s of OPENING) await execute(pipeline, s);
    for (const id of ['t1', 't2', 't3', 't4', 't5', 't6']) await execute(pipeline, { kind: 'team', id, command: { type: 'create_team', team_id: id, name: id, lead: { member_id: 'lead', name: 'Lead', session_id: 's1' } } });
    const atPos = modelsText(pipeline);
    const pos = pipeline.readModels.pos;
    const writing = pipeline.snapshots!.write();
    // Each command commits between two turns of the packing: the teams last in line change first.
    for (const id of ['t6', 't5', 't4', 't3', 't2', 't1']) await execute(pipeline, { kind: 'team', id, command: { type: 'create_task', task_id: 'a', title: 'A', blocked_by: [] } });
    await writing;
    assert.ok(pipeline.readModels.pos > pos + 5, 'the commands committed while the snapshot was packed');
    const decoded = decodeSnapshot(readFileSync(join(tmp.dir, 'snapshots', `snapshot-${pos}.json`)));
    if ('refused' in decoded) return assert.unreachable(decoded.refused);
    const restored = new ReadModels();
    restored.restore(decoded.models);
    assert.is(JSON.stringify(canonical(restored.part())), atPos);
    assert.is.not(modelsText(pipeline), atPos);
    await pipeline.stop();
  } finally {
    tmp.cleanup();
  }
});

test('a start from a snapshot decodes a team when it is first read: a tail event decodes its team, then applies; a snapshot written before the rest are read holds them as they came', async () => {
  const tmp = tempDir('bmo-snap-');
  try {
    const ids = ['t1', 't2', 't3', 't4', 't5'];
    let pipeline = await openPipeline(tmp.dir, true);
    for (const s of OPENING) await execute(pipeline, s);
    for (const id of ids) {
      await execute(pipeline, { kind: 'team', id, command: { type: 'create_team', team_id: id, name: id, lead: { member_id: 'lead', name: 'Lead', session_id: 's1' } } });
      await execute(pipeline, { kind: 'team', id, command: { type: 'create_task', task_id: 'a', title: 'A', blocked_by: [] } });
    }
    await execute(pipeline, { kind: 'team', id: 't4', command: { type: 'claim_task', task_id: 'a', member_id: 'lead', lease_ms: 60_000 } });
    await pipeline.snapshots!.write();
    // The tail: t2's task is claimed and completed, t5 gets a message, after the snapshot's pos.
    await execute(pipeline, { kind: 'team', id: 't2', command: { type: 'claim_task', task_id: 'a', member_id: 'lead', lease_ms: 60_000 } });
    await execute(pipeline, { kind: 'team', id: 't2', command: { type: 'complete_task', task_id: 'a', member_id: 'lead', fencing_token: 1, result: 'ok' } });
    await execute(pipeline, { kind: 'team', id: 't5', command: { type: 'send_message', message_id: 'm1', from: 'lead', to: '*', body: 'hi' } });
    await pipeline.stop();

    pipeline = await openPipeline(tmp.dir, true);
    const { teams } = pipeline.readModels;
    const undecoded = () => ids.filter((id) => teams.packed(id) !== undefined);
    assert.equal(undecoded(), ['t1', 't3', 't4'], 'the teams the tail changed were decoded to fold it, no other');
    assert.is(teams.size, 5);
    assert.ok(teams.has('t1') && [...teams.keys()].length === 5, 'keys and has decode nothing');
    assert.equal(undecoded(), ['t1', 't3', 't4']);
    assert.is(teams.get('t2')!.tasks.get('a')!.status, 'completed', 'the tail applied on top of the decoded team');
    assert.is(teams.get('t5')!.unread_count, 1);
    assert.equal([...teams.mayHoldClaims()].map((t) => t.team_id).sort(), ['t2', 't4', 't5'], 'a team marked as holding a claim is decoded for the sweeper, the others are not');
    assert.equal(undecoded(), ['t1', 't3']);
    assert.is(teams.get('t4')!.tasks.get('a')!.status, 'claimed');
    // A command on a team not read yet: its team is decoded, then the event applied.
    await execute(pipeline, { kind: 'team', id: 't3', command: { type: 'claim_task', task_id: 'a', member_id: 'lead', lease_ms: 60_000 } });
    assert.equal(undecoded(), ['t1']);
    assert.is(teams.get('t3')!.tasks.get('a')!.owner, 'lead');
    // A snapshot now: t1 goes as the JSON it came as.
    await pipeline.snapshots!.write();
    await pipeline.stop();
    const { restarted, replayed, lines } = await bothStarts(tmp.dir);
    assert.ok(lines.includes('started from a snapshot'));
    assert.is(restarted, replayed);
  } finally {
    tmp.cleanup();
  }
});

/** A store with a snapshot at its head, then more events after it. */
async function storeWithSnapshot(dir: string): Promise<void> {
  const pipeline = await openPipeline(dir, true);
  const history: Step[] = [
    ...OPENING,
    { kind: 'team', id: 't1', command: { type: 'create_team', team_id: 't1', name: 'T', lead: { member_id: 'lead', name: 'L', session_id: 's1' } } },
    { kind: 'team', id: 't1', command: { type: 'create_task', task_id: 'a', title: 'a', blocked_by: [] } },
    { kind: 'workstream', id: 'w1', command: { type: 'create_workstream', label: 'docs' } },
  ];
  for (const s of history) await execute(pipeline, s);
  await pipeline.snapshots!.write();
  await execute(pipeline, { kind: 'team', id: 't1', command: { type: 'claim_task', task_id: 'a', member_id: 'lead', lease_ms: 60_000 } });
  await pipeline.stop();
}

const snapshotFile = (dir: string) => join(dir, 'snapshots', readdirSync(join(dir, 'snapshots'))[0]);

test('a snapshot with a bad CRC (in its JSON, or in the teams a start reads only when needed), or of a newer version, is ignored with one warning and the log replayed in full', async () => {
  for (const spoil of ['crc', 'crc in the teams', 'version'] as const) {
    const tmp = tempDir('bmo-snap-');
    try {
      await storeWithSnapshot(tmp.dir);
      const file = snapshotFile(tmp.dir);
      // Byte for byte (latin1): the binary parts after the JSON stay as they are.
      const text = readFileSync(file, 'latin1');
      // The teams' JSON is the last part of the file.
      const last = text.lastIndexOf('"t1"');
      const spoiled = spoil === 'crc' ? text.replace('"t1"', '"t9"') : spoil === 'version' ? text.replace('"version":4,', '"version":5,') : `${text.slice(0, last)}"t9"${text.slice(last + 4)}`;
      assert.ok(spoil !== 'crc in the teams' || last > text.indexOf('"t1"'), 'the teams part holds t1 too');
      assert.is.not(spoiled, text);
      writeFileSync(file, spoiled, 'latin1');
      const { restarted, replayed, lines } = await bothStarts(tmp.dir);
      assert.not.ok(lines.includes('started from a snapshot'), spoil);
      assert.is(lines.split('a snapshot was ignored').length - 1, 1, `one warning (${spoil})`);
      assert.match(lines, spoil === 'version' ? 'version 5, not bmo-read-models version 4' : 'its CRC is');
      assert.is(restarted, replayed);
    } finally {
      tmp.cleanup();
    }
  }
});

test('a snapshot whose pos is beyond the log (the logs restored from an older copy) is ignored and the log replayed in full', async () => {
  const tmp = tempDir('bmo-snap-');
  try {
    const older = join(tmp.dir, 'older');
    const dir = join(tmp.dir, 'data');
    const pipeline = await openPipeline(dir, true);
    for (const s of OPENING) await execute(pipeline, s);
    await pipeline.stop();
    cpSync(dir, older, { recursive: true });
    await storeWithSnapshot(dir);
    // The logs go back to the older copy; the snapshot taken since stays.
    for (const kind of ['teams', 'workstreams', 'sessions']) rmSync(join(dir, kind), { recursive: true, force: true });
    cpSync(join(older, 'sessions'), join(dir, 'sessions'), { recursive: true });
    const { restarted, replayed, lines } = await bothStarts(dir);
    assert.match(lines, 'the snapshot does not match the log and was ignored');
    assert.match(lines, 'its pos is beyond the log');
    assert.not.ok(lines.includes('started from a snapshot'), 'one line, the warning: no word of starting from it');
    assert.is(restarted, replayed);
    assert.ok(restarted.includes('"s1"') && !restarted.includes('"t1"'), 'the models are those of the older logs');
  } finally {
    tmp.cleanup();
  }
});

test('a store of 1,200 logs (sized by a second thread beside this one) starts from a snapshot equal to a full replay, tails included; a log cut short refuses the snapshot', async () => {
  const tmp = tempDir('bmo-snap-');
  try {
    const { dataDir: dir } = writeReplayData(tmp.dir, 1200, 6);
    const teams = readdirSync(join(dir, 'teams')).slice(0, 3);
    const pipeline = await openPipeline(dir, true);
    await pipeline.snapshots!.write();
    // Tails after the snapshot, in three of the logs.
    for (const [n, id] of teams.entries()) await execute(pipeline, { kind: 'team', id, command: { type: 'send_message', message_id: `after-${n}`, from: 'lead', to: '*', body: 'after the snapshot' } });
    await pipeline.stop();
    const started = await bothStarts(dir);
    assert.match(started.lines, 'started from a snapshot');
    assert.is(started.restarted, started.replayed);
    assert.ok(started.restarted.includes('after-2'), 'the tails are read');
    // A log shorter than the snapshot says (restored from an older copy): the snapshot is refused.
    const log = join(dir, 'teams', teams[0], 'events.jsonl');
    const lines = readFileSync(log, 'utf8').split('\n');
    writeFileSync(log, lines.slice(0, 3).join('\n') + '\n');
    const refused = await bothStarts(dir);
    assert.match(refused.lines, `teams/${teams[0]} holds`);
    assert.not.ok(refused.lines.includes('started from a snapshot'), 'a refused snapshot is not said to be started from');
    assert.is(refused.restarted, refused.replayed);
  } finally {
    tmp.cleanup();
  }
});

test('bmo writes a snapshot on a clean stop and every so many events, keeping the newest two', async () => {
  const tmp = tempDir('bmo-snap-');
  try {
    const logger = testLogger();
    const pipeline = new Pipeline({ store: new JsonlEventStore({ dataDir: tmp.dir, logger }), logger, snapshots: { store: new FileSnapshots(join(tmp.dir, 'snapshots'), 2), everyEvents: 2, everyMs: 0, write: true } });
    await pipeline.start();
    for (const id of ['s1', 's2', 's3', 's4', 's5']) {
      await execute(pipeline, { kind: 'session', id, command: { type: 'start_session', lease_ms: 60_000 } });
      await new Promise(setImmediate);
      await new Promise(setImmediate);
    }
    await pipeline.stop();
    const names = readdirSync(join(tmp.dir, 'snapshots')).sort();
    assert.equal(names, ['snapshot-4.json', 'snapshot-5.json'], 'every 2 events (2, 4), on the stop (5); the two newest kept');
  } finally {
    tmp.cleanup();
  }
});

test('bmo serve writes a snapshot on SIGTERM and the next serve starts from it', async () => {
  const tmp = tempDir('bmo-snap-');
  try {
    let server = await spawnServer(tmp.dir, { BMO_LOG_LEVEL: 'info' });
    const post = await fetch(`${server.url}/v1/sessions`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ session_id: 'ann', agent: 'test' }) });
    assert.is(post.status, 201);
    assert.is(await server.stop('SIGTERM'), 0);
    assert.equal(readdirSync(join(tmp.dir, 'snapshots')), ['snapshot-1.json']);
    server = await spawnServer(tmp.dir, { BMO_LOG_LEVEL: 'info' });
    try {
      const got = await fetch(`${server.url}/v1/sessions/ann`, { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.is(got.status, 200);
    } finally {
      await server.stop('SIGTERM');
    }
    // Log lines go out in batches: all of them are out once the server has stopped.
    assert.match(server.stdout() + server.stderr(), 'started from a snapshot');
  } finally {
    tmp.cleanup();
  }
});

test('PostgreSQL: snapshots are rows of the schema, a start from one equals a full replay, a spoiled one is ignored', async () => {
  const problem = await pgProblem();
  if (problem) assert.unreachable(problem);
  const schema = randomSchema();
  const open = async (snapshots: boolean, lines?: string[]) => {
    const logger = testLogger(lines);
    const store = new PostgresEventStore({ url: PG_URL, schema, logger });
    const pipeline = new Pipeline({ store, logger, snapshots: snapshots ? { store: new TableSnapshots(schema, store, 2), everyEvents: 0, everyMs: 0, write: false } : undefined });
    await pipeline.start();
    return pipeline;
  };
  const starts = async () => {
    const lines: string[] = [];
    const fromSnapshot = await open(true, lines);
    const restarted = modelsText(fromSnapshot);
    await fromSnapshot.stop();
    const full = await open(false);
    const replayed = modelsText(full);
    await full.stop();
    return { restarted, replayed, lines: lines.join('') };
  };
  try {
    const pipeline = await open(true);
    for (const s of OPENING) await execute(pipeline, s);
    await execute(pipeline, { kind: 'team', id: 't1', command: { type: 'create_team', team_id: 't1', name: 'T', lead: { member_id: 'lead', name: 'L', session_id: 's1' } } });
    await pipeline.snapshots!.write();
    await execute(pipeline, { kind: 'team', id: 't1', command: { type: 'create_task', task_id: 'a', title: 'a', blocked_by: [] } });
    await execute(pipeline, { kind: 'team', id: 't1', command: { type: 'claim_task', task_id: 'a', member_id: 'lead', lease_ms: 60_000 } });
    await pipeline.stop();
    assert.equal((await sql(`SELECT pos FROM "${schema}".snapshots`)).map((r) => Number(r.pos)), [4]);
    const good = await starts();
    assert.match(good.lines, 'started from a snapshot');
    assert.is(good.restarted, good.replayed);
    assert.match(good.restarted, '"claimed"');
    await sql(`UPDATE "${schema}".snapshots SET body = replace(body, '"t1"', '"t9"')`);
    const spoiled = await starts();
    assert.match(spoiled.lines, 'its CRC is');
    assert.not.ok(spoiled.lines.includes('started from a snapshot'));
    assert.is(spoiled.restarted, spoiled.replayed);
  } finally {
    await dropSchema(schema);
  }
});

test.run();
