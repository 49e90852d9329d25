import fs from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { TOKEN, okJson, readLog, spawnServer, startTestBmo, withBmo } from '../helpers/bmo.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';
import { TestClock } from '../../src/clock.js';

// kill -9 at random points inside an operation over many teams; after a restart and the keyed
// retry, the operation is finished, not decided afresh: every target exactly once, one audit.

const it = suite('operations over many streams survive kill -9');
const ROUNDS = Math.max(10, Number(process.env.BMO_TORTURE_ROUNDS ?? 10) / 10);
const TEAMS = { cleanup: 150, heartbeat: 100, sweep: 60 };
/** Fewer rounds for the sweep: each is two server starts, and the suite's time is shared. */
const SWEEP_ROUNDS = Math.max(6, ROUNDS / 2);

/** A data directory made once through bmo itself, copied for each round. */
async function template(build: (bmo: Parameters<Parameters<typeof withBmo>[0]>[0]) => Promise<void>, options: Parameters<typeof withBmo>[1] = {}, toml = ''): Promise<{ dir: string; cleanup: () => void }> {
  const kept = tempDir('bmo-op-template-');
  await withBmo(async (bmo, dir, close) => {
    await build(bmo);
    await close();
    fs.cpSync(dir, kept.dir, { recursive: true });
    fs.writeFileSync(join(kept.dir, 'bmo.toml'), `[options.teams]\nenabled = true\n${toml}`);
  }, options);
  return kept;
}

const ids = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
const post = (url: string, path: string, body: unknown, key: string) =>
  fetch(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'idempotency-key': key }, body: JSON.stringify(body) });
const events = (dir: string, stream: string) => readLog(join(dir, stream, 'events.jsonl'));

/**
 * Starts `bmo serve` on `dir`, sends the keyed request, kills the server with SIGKILL after
 * `delayMs`; then restarts bmo on the directory (in this process: the killed one is what has to be
 * a process of its own) and retries over HTTP.
 */
async function killAndRetry(dir: string, path: string, body: unknown, key: string, delayMs: number, progress: () => number): Promise<{ answer: any; ms: number; done: number }> {
  const first = await spawnServer(dir);
  const started = Date.now();
  const sent = post(first.url, path, body, key).then(
    (r) => r.status,
    () => 0,
  );
  await new Promise((resolve) => setTimeout(resolve, delayMs)); // sleep-check: a kill at a random moment inside the operation
  await first.stop('SIGKILL');
  await sent;
  const ms = Date.now() - started;
  const done = progress();
  const second = await startTestBmo(dir, { listen: true });
  try {
    const retry = await post(second.url!, path, body, key);
    assert.is(retry.status, 200, await retry.clone().text());
    return { answer: await retry.json(), ms, done };
  } finally {
    await second.close();
  }
}

it(`a keyed cleanup --all over ${TEAMS.cleanup} orphans, killed at random points ${ROUNDS} times: every orphan removed once, one cleanup_completed naming all`, async () => {
  const orphans = ids(TEAMS.cleanup, 'orphan');
  const base = await template(async (bmo) => {
    await okJson(bmo, 201, 'POST', '/v1/sessions', { session_id: 'gone', lease_ms: 60_000 });
    for (const id of orphans) await okJson(bmo, 201, 'POST', '/v1/teams', { id, name: id, lead: { member_id: 'lead', name: 'Lead', session_id: 'gone' } });
    await okJson(bmo, 200, 'POST', '/v1/sessions/gone/end', { reason: 'done' });
  });
  let span = 400;
  let midway = 0;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const { dir, cleanup } = tempDir('bmo-op-cleanup-');
      try {
        fs.cpSync(base.dir, dir, { recursive: true });
        const removedSoFar = () => orphans.filter((id) => events(dir, `teams/${id}`).some((e) => e.type === 'team_removed')).length;
        const { answer, ms, done } = await killAndRetry(dir, '/v1/teams/cleanup', { scope: 'all' }, `cleanup-${round}`, Math.random() * span, removedSoFar);
        if (round === 0) span = Math.max(span, ms);
        const removals = orphans.map((id) => events(dir, `teams/${id}`).filter((e) => e.type === 'team_removed'));
        for (const [i, r] of removals.entries()) assert.is(r.length, 1, `round ${round}: ${orphans[i]} removed ${r.length} times`);
        const audits = events(dir, 'system/cleanup');
        assert.is(audits.length, 1, `round ${round}: one cleanup_completed, found ${audits.length}`);
        assert.is(audits[0].data.removed, TEAMS.cleanup);
        assert.equal([...audits[0].data.team_ids].sort(), [...orphans].sort());
        assert.is(answer.removed, TEAMS.cleanup, `round ${round}: the retry answers every orphan`);
        const operation = audits[0].meta.operation_id;
        if (removals.some((r) => r[0].meta.operation_id !== operation)) assert.unreachable(`round ${round}: a removal outside the operation`);
        const ops = events(dir, 'system/operations');
        assert.equal(ops.map((e) => e.type), ['operation_started', 'operation_completed'], `round ${round}: one operation, finished`);
        if (done > 0 && done < TEAMS.cleanup) midway++;
      } finally {
        cleanup();
      }
    }
  } finally {
    base.cleanup();
  }
  console.log(`  cleanup: ${midway} of ${ROUNDS} kills landed part way through the removals`);
});

it(`a keyed heartbeat renewing claims in ${TEAMS.heartbeat} teams, killed at random points ${ROUNDS} times: every claim it named renewed once by it, and no operation recorded`, async () => {
  const teams = ids(TEAMS.heartbeat, 'team');
  const base = await template(async (bmo) => {
    await okJson(bmo, 201, 'POST', '/v1/sessions', { session_id: 'worker', lease_ms: 600_000 });
    for (const id of teams) {
      await okJson(bmo, 201, 'POST', '/v1/teams', { id, name: id, lead: { member_id: 'lead', name: 'Lead', session_id: 'worker' } });
      await okJson(bmo, 201, 'POST', `/v1/teams/${id}/tasks`, { task_id: 'job', title: 'the job' });
      await okJson(bmo, 200, 'POST', `/v1/teams/${id}/tasks/job/claim`, { member_id: 'lead', session_id: 'worker', lease_ms: 600_000 });
    }
  });
  let span = 300;
  let midway = 0;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const { dir, cleanup } = tempDir('bmo-op-beat-');
      try {
        fs.cpSync(base.dir, dir, { recursive: true });
        const key = `beat-${round}`;
        const byBeat = (e: Record<string, any>) => String(e.meta.idempotency_key ?? '').startsWith('renew-claims:');
        const renewedSoFar = () => teams.filter((id) => events(dir, `teams/${id}`).some(byBeat)).length;
        const { answer, ms, done } = await killAndRetry(dir, '/v1/sessions/worker/heartbeat', { lease_ms: 600_000 }, key, Math.random() * span, renewedSoFar);
        if (done > 0 && done < TEAMS.heartbeat) midway++;
        if (round === 0) span = Math.max(span, ms);
        const beats = events(dir, 'sessions/worker').filter((e) => e.type === 'session_heartbeat');
        assert.is(beats.length, 1, `round ${round}: one session heartbeat, found ${beats.length}`);
        assert.equal([...beats[0].data.renews].sort(), [...teams].sort(), 'the heartbeat names every team it renews before renewing any');
        for (const id of teams) {
          const renewals = events(dir, `teams/${id}`).filter(byBeat);
          assert.is(renewals.length, 1, `round ${round}: ${id} renewed ${renewals.length} times by the heartbeat`);
          assert.is(renewals[0].type, 'task_claimed');
        }
        assert.is(answer.renewed_claims.length, TEAMS.heartbeat, `round ${round}: the retry answers every renewal`);
        assert.equal(events(dir, 'system/operations'), [], 'a heartbeat records no operation: system/operations does not grow with heartbeats');
      } finally {
        cleanup();
      }
    }
  } finally {
    base.cleanup();
  }
  console.log(`  heartbeat: ${midway} of ${ROUNDS} kills landed part way through the renewals`);
});

it(`the lease sweep reclaiming lapsed claims in ${TEAMS.sweep} teams, killed at random points ${SWEEP_ROUNDS} times: after a restart every claim reclaimed once, every sweep operation completed`, async () => {
  const teams = ids(TEAMS.sweep, 'team');
  // Claimed on a clock long past: every lease has lapsed by the time a real server starts on a copy.
  const base = await template(
    async (bmo) => {
      for (const id of teams) {
        await okJson(bmo, 201, 'POST', '/v1/teams', { id, name: id, lead: { member_id: 'lead', name: 'Lead' } });
        await okJson(bmo, 201, 'POST', `/v1/teams/${id}/tasks`, { task_id: 'job', title: 'the job' });
        await okJson(bmo, 200, 'POST', `/v1/teams/${id}/tasks/job/claim`, { member_id: 'lead', lease_ms: 1_000 });
      }
    },
    { clock: new TestClock() },
    '[sessions]\nsweep_interval_ms = 10\n',
  );
  const reclaims = (dir: string, id: string) => events(dir, `teams/${id}`).filter((e) => e.type === 'task_reclaimed');
  let span = 200;
  let midway = 0;
  try {
    for (let round = 0; round < SWEEP_ROUNDS; round++) {
      const { dir, cleanup } = tempDir('bmo-op-sweep-');
      try {
        fs.cpSync(base.dir, dir, { recursive: true });
        const first = await spawnServer(dir);
        const started = Date.now();
        await new Promise((resolve) => setTimeout(resolve, Math.random() * span)); // sleep-check: a kill at a random moment inside the sweep
        await first.stop('SIGKILL');
        if (round === 0) span = Math.max(span, Date.now() - started);
        const done = teams.filter((id) => reclaims(dir, id).length > 0).length;
        if (done > 0 && done < TEAMS.sweep) midway++;
        const second = await spawnServer(dir);
        try {
          await until(() => teams.every((id) => reclaims(dir, id).length > 0), `round ${round}: every lapsed claim reclaimed after the restart`, 15_000);
        } finally {
          await second.stop();
        }
        for (const id of teams) assert.is(reclaims(dir, id).length, 1, `round ${round}: ${id} reclaimed ${reclaims(dir, id).length} times`);
        const ops = events(dir, 'system/operations');
        const begun = ops.filter((e) => e.type === 'operation_started').map((e) => e.data.operation_id);
        const ended = ops.filter((e) => e.type === 'operation_completed').map((e) => e.data.operation_id);
        assert.ok(begun.length > 0, `round ${round}: the sweep over many teams is an operation`);
        assert.equal([...ended].sort(), [...begun].sort(), `round ${round}: every sweep operation completed once`);
        // A sweep left with one team to do writes no operation; any other reclaim is inside a recorded one.
        const outside = teams.filter((id) => !begun.includes(reclaims(dir, id)[0].meta.operation_id));
        assert.ok(outside.length <= 1, `round ${round}: ${outside.join(', ')} reclaimed outside a recorded sweep`);
      } finally {
        cleanup();
      }
    }
  } finally {
    base.cleanup();
  }
  console.log(`  sweep: ${midway} of ${SWEEP_ROUNDS} kills landed part way through the reclaims`);
});

it.run();
