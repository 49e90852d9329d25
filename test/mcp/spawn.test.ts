import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { closedPort, spawnServer } from '../helpers/bmo.js';
import { startAgent, until, type Agent } from '../helpers/mcp.js';
import { tempDir } from '../helpers/tmp.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('two agents starting at once with no server end with one bmo serve, and both answer', async () => {
  const tmp = tempDir();
  writeFileSync(join(tmp.dir, 'bmo.toml'), '[options.teams]\nenabled = true\n');
  const env = { BMO_PORT: String(await closedPort()) };
  const agents: Agent[] = [];
  let serving: number | undefined;
  try {
    agents.push(...(await Promise.all([startAgent(tmp.dir, ['--agent', 'A'], env), startAgent(tmp.dir, ['--agent', 'B'], env)])));
    const [a, b] = agents;
    await a.call('team_create', { id: 'crew', name: 'Crew' });
    const listed = await b.call('team_list');
    assert.equal(listed.teams.map((t: { team_id: string }) => t.team_id), ['crew'], 'both talk to the same server');
    serving = (JSON.parse(readFileSync(join(tmp.dir, 'data', 'LOCK'), 'utf8')) as { pid: number }).pid;
    const said = agents.map((agent) => agent.stderr()).join('');
    const started = [...said.matchAll(/started bmo serve \(pid (\d+)\)/g)].map((m) => Number(m[1]));
    assert.equal(started, [serving], said);
    const stoodDown = [...said.matchAll(/the one started here \(pid (\d+)\) stands down/g)].map((m) => Number(m[1]));
    for (const pid of stoodDown) await until(`pid ${pid} to exit`, async () => !alive(pid));
    assert.ok(alive(serving));
  } finally {
    await Promise.all(agents.map((agent) => agent.close().catch(() => {})));
    if (serving !== undefined && alive(serving)) {
      process.kill(serving, 'SIGTERM');
      await until('the spawned server to stop', async () => !alive(serving!));
    }
    tmp.cleanup();
  }
});

test('--no-spawn with nothing running, and a server gone mid-session: tool results that say so, not a crash', async () => {
  const tmp = tempDir();
  writeFileSync(join(tmp.dir, 'bmo.toml'), '[options.teams]\nenabled = true\n');
  const lone = await startAgent(tmp.dir, ['--no-spawn'], { BMO_PORT: String(await closedPort()) });
  const server = await spawnServer(tmp.dir);
  const agent = await startAgent(tmp.dir, ['--agent', 'A'], { BMO_URL: server.url });
  try {
    assert.match(lone.stderr(), /no bmo answers at/);
    const refusal = await lone.refused('team_list');
    assert.is(refusal.error, 'store_unavailable');
    assert.match(refusal.message, /bmo serve/);
    await agent.call('team_list');
    await server.stop();
    const gone = await agent.refused('team_list');
    assert.is(gone.error, 'store_unavailable');
    assert.match(gone.message, /team_list again/);
    assert.ok((await agent.client.listTools()).tools.length > 0, 'the MCP process still answers');
  } finally {
    await Promise.all([lone.close(), agent.close()]);
    await server.stop();
    tmp.cleanup();
  }
});

test.run();
