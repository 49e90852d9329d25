import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { teamEntity } from '../../src/domain/teams.js';
import { BmoError } from '../../src/errors.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { JsonlEventStore } from '../../src/store/index.js';
import { testLogger } from '../helpers/bmo.js';
import { tempDir } from '../helpers/tmp.js';

// The pipeline keeps a bounded number of write models; one dropped is folded again from its log,
// and commands on many more teams than the bound, all at once, still land in order.

async function withPipeline(maxWriteModels: number, body: (pipeline: Pipeline) => Promise<void>): Promise<void> {
  const { dir, cleanup } = tempDir('bmo-pipeline-');
  const pipeline = new Pipeline({ store: new JsonlEventStore({ dataDir: dir, logger: testLogger() }), logger: testLogger(), maxWriteModels });
  await pipeline.start();
  try {
    await body(pipeline);
  } finally {
    await pipeline.stop();
    cleanup();
  }
}

const create = (id: string) => ({ type: 'create_team' as const, team_id: id, name: id, lead: { member_id: 'lead', name: 'Lead' } });
const join = (member: string) => ({ type: 'join_team' as const, member_id: member, name: member, role: 'member' as const });

test('past the bound, least recently used write models go; a team decided again is folded from its log', () =>
  withPipeline(2, async (pipeline) => {
    for (const id of ['a', 'b', 'c', 'd']) await pipeline.execute(teamEntity, id, create(id));
    assert.ok(pipeline.writeModelCount <= 2, `at most 2 write models kept, not ${pipeline.writeModelCount}`);
    await pipeline.execute(teamEntity, 'a', join('ann'));
    // The reloaded model knows what the log holds: ann is a member already, and the version is right.
    let refused: unknown;
    try {
      await pipeline.execute(teamEntity, 'a', join('ann'));
    } catch (error) {
      refused = error;
    }
    assert.instance(refused, BmoError);
    assert.is((refused as BmoError).code, 'conflict');
    const [joined] = await pipeline.execute(teamEntity, 'a', join('bob'), { expectedVersion: 3 });
    assert.is(joined.seq, 4);
  }));

test('concurrent commands on more teams than the bound all land, each team with seq 1..n and no gap', () =>
  withPipeline(1, async (pipeline) => {
    const teams = ['t1', 't2', 't3', 't4', 't5'];
    for (const id of teams) await pipeline.execute(teamEntity, id, create(id));
    const runs = [];
    for (let i = 0; i < 40; i++) for (const id of teams) runs.push(pipeline.execute(teamEntity, id, join(`m${i}`)));
    await Promise.all(runs);
    for (const id of teams) {
      const seqs: number[] = [];
      for await (const { envelope } of pipeline.store.readStream(`teams/${id}`)) seqs.push(envelope.seq);
      assert.equal(seqs, Array.from({ length: 42 }, (_, i) => i + 1), `${id} has seq 1..42`);
    }
    assert.ok(pipeline.writeModelCount <= teams.length);
  }));

// A decider's events are parsed again by the store only where asked (tests, BMO_CHECK_DECIDED=1):
// a decider whose event breaks the catalogue is refused there, and written as decided otherwise.
test('checkDecided: the store parses the deciders\' events again, refusing one the catalogue does not allow', async () => {
  const broken = { ...teamEntity, decide: () => [{ type: 'message_sent', data: { message_id: 'm1', from: 'lead', to: '*', body: '' } }] } as unknown as typeof teamEntity;
  for (const checkDecided of [true, false]) {
    const { dir, cleanup } = tempDir('bmo-pipeline-');
    const pipeline = new Pipeline({ store: new JsonlEventStore({ dataDir: dir, logger: testLogger() }), logger: testLogger(), checkDecided });
    await pipeline.start();
    try {
      let refused: unknown;
      await pipeline.execute(broken, 'a', create('a')).catch((error) => (refused = error));
      if (checkDecided) assert.ok(refused instanceof BmoError && refused.code === 'invalid_body', `refused as invalid_body, not ${String(refused)}`);
      else assert.is(refused, undefined, 'written as decided: the hot path does not parse it again');
      assert.is(pipeline.store.head(), checkDecided ? 0 : 1);
    } finally {
      await pipeline.stop();
      cleanup();
    }
  }
});

test.run();
