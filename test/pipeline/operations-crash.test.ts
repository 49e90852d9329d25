import fs from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { TOKEN, okJson, readLog, spawnServer, startTestBmo, withBmo } from '../helpers/bmo.js';
import { tempDir } from '../helpers/tmp.js';

// kill -9 at random points inside an operation over many teams; after a restart and the keyed
// retry, the operation is finished, not decided afresh: every target exactly once, one audit.

const it = suite('operations over many streams survive kill -9');
const ROUNDS = Math.max(10, Number(process.env.BMO_TORTURE_ROUNDS ?? 10) / 10);
const TEAMS = { cleanup: 150, heartbeat: 100 };

/** A data directory made once through bmo itself, copied for each round. */
async function template(build: (bmo: Parameters<Parameters<typeof withBmo>[0]>[0]) => Promise<void>): Promise<{ dir: string; cleanup: () => void }> {
  const kept = tempDir('bmo-op-template-');
  await withBmo(async (bmo, dir, close) => {
    await build(bmo);
    await close();
    fs.cpSync(dir, kept.dir, { recursive: true });
    fs.writeFileSync(join(kept.dir, 'bmo.toml'), '[options.teams]\nenabled = true\n');
  });
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

it(`a keyed heartbeat renewing claims in ${TEAMS.heartbeat} teams, killed at random points ${ROUNDS} times: every claim renewed once by it`, async () => {
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
        const renewedSoFar = () => teams.filter((id) => events(dir, `teams/${id}`).some((e) => e.meta.operation_id !== undefined)).length;
        const { answer, ms, done } = await killAndRetry(dir, '/v1/sessions/worker/heartbeat', { lease_ms: 600_000 }, key, Math.random() * span, renewedSoFar);
        if (done > 0 && done < TEAMS.heartbeat) midway++;
        if (round === 0) span = Math.max(span, ms);
        const beats = events(dir, 'sessions/worker').filter((e) => e.type === 'session_heartbeat');
        assert.is(beats.length, 1, `round ${round}: one session heartbeat, found ${beats.length}`);
        const operation = beats[0].meta.operation_id;
        assert.ok(operation, 'the heartbeat is part of an operation');
        for (const id of teams) {
          const renewals = events(dir, `teams/${id}`).filter((e) => e.meta.operation_id === operation);
          assert.is(renewals.length, 1, `round ${round}: ${id} renewed ${renewals.length} times by the heartbeat`);
          assert.is(renewals[0].type, 'task_claimed');
        }
        assert.is(answer.renewed_claims.length, TEAMS.heartbeat, `round ${round}: the retry answers every renewal`);
        assert.equal(events(dir, 'system/operations').map((e) => e.type), ['operation_started', 'operation_completed']);
      } finally {
        cleanup();
      }
    }
  } finally {
    base.cleanup();
  }
  console.log(`  heartbeat: ${midway} of ${ROUNDS} kills landed part way through the renewals`);
});

it.run();
