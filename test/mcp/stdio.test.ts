import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnServer, TOKEN, type ServerProcess } from '../helpers/bmo.js';
import { startAgent, until, type Agent } from '../helpers/mcp.js';
import { tempDir } from '../helpers/tmp.js';

const TOOL_NAMES = [
  'team_create', 'team_list', 'team_status', 'team_join', 'team_leave', 'team_shutdown', 'team_posture', 'team_timeline', 'list_recent_team_events',
  'task_create', 'task_list', 'task_claim', 'task_complete', 'task_fail', 'task_release', 'task_update',
  'message_send', 'inbox', 'message_read',
  'workstream_create', 'workstream_list', 'workstream_status', 'workstream_handoff', 'workstream_set_plan', 'workstream_boundary', 'workstream_set_status',
  'finding_add', 'artifact_add', 'marker_add', 'marker_clear', 'verify_record', 'events_since',
];

async function http(server: ServerProcess, path: string) {
  const response = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  return response.json() as Promise<any>;
}

/** A real `bmo serve` (with a short lease when asked) and agents, each its own `bmo mcp`; all stopped and removed after. */
async function withTeam(fn: (server: ServerProcess, spawnAgent: (...args: string[]) => Promise<Agent>) => Promise<void>, toml = '') {
  const tmp = tempDir();
  writeFileSync(join(tmp.dir, 'bmo.toml'), `[options.teams]\nenabled = true\n${toml}`);
  const server = await spawnServer(tmp.dir);
  const agents: Agent[] = [];
  try {
    await fn(server, async (...args) => {
      const agent = await startAgent(tmp.dir, args, { BMO_URL: server.url });
      agents.push(agent);
      return agent;
    });
  } finally {
    await Promise.all(agents.map((a) => a.close().catch(() => {})));
    await server.stop();
    tmp.cleanup();
  }
}

test('tools/list: every agent-facing operation is a tool with an object input schema and an output schema', () =>
  withTeam(async (_server, spawnAgent) => {
    const agent = await spawnAgent('--agent', 'Solo');
    const { tools } = await agent.client.listTools();
    assert.equal(tools.map((t) => t.name).sort(), [...TOOL_NAMES].sort());
    for (const tool of tools) {
      assert.is(tool.inputSchema.type, 'object', tool.name);
      assert.is(tool.outputSchema?.type, 'object', tool.name);
      assert.ok(tool.description && tool.description.length < 300, tool.name);
    }
    const recent = tools.find((t) => t.name === 'list_recent_team_events')!;
    assert.ok(JSON.stringify(recent.inputSchema.properties?.limit).includes('"maximum":256'), 'limit is 1..256, from the route schema');
  }),
);

test('three agents: a team with blocked tasks, one fencing token for a raced claim, a refused message names `to`, the recent events equal the route', () =>
  withTeam(async (server, spawnAgent) => {
    const [lead, ann, bob] = await Promise.all([spawnAgent('--agent', 'Lead'), spawnAgent('--agent', 'Ann', '--member', 'ann'), spawnAgent('--agent', 'Bob', '--member', 'bob')]);
    // 1. The lead creates the team (it becomes member "lead") and two tasks, the second blocked by the first.
    const created = await lead.call('team_create', { id: 'crew', name: 'Crew', goal: 'ship it' });
    assert.is(created.team_id, 'crew');
    await lead.call('task_create', { team_id: 'crew', task_id: 'build', title: 'Build' });
    await lead.call('task_create', { team_id: 'crew', task_id: 'ship', title: 'Ship', blocked_by: ['build'] });
    await ann.call('team_join', { team_id: 'crew' });
    await bob.call('team_join', { team_id: 'crew' });
    const ready = await ann.call('task_list', { team_id: 'crew', ready: true });
    assert.equal(ready.tasks.map((t: { task_id: string }) => t.task_id), ['build']);

    // 2. Both members race for one task: exactly one fencing token is issued.
    const race = await Promise.all([ann, bob].map((a) => a.client.callTool({ name: 'task_claim', arguments: { team_id: 'crew', task_id: 'build' } })));
    const won = race.filter((r) => !r.isError);
    assert.is(won.length, 1, JSON.stringify(race));
    assert.is((won[0].structuredContent as { fencing_token: number }).fencing_token, 1);
    const lost = JSON.parse((race.find((r) => r.isError)!.content as { text: string }[])[0].text);
    assert.is(lost.error, 'conflict');

    // 3. A message to a non-member is refused, naming `to`; a bad argument is refused by the schema, naming the field.
    const refusal = await lead.refused('message_send', { team_id: 'crew', to: 'nobody', body: 'hello?' });
    assert.is(refusal.field, 'to');
    assert.is(refusal.error, 'not_found');
    assert.is((await lead.refused('task_create', { team_id: 'crew' })).field, 'title');
    assert.is((await lead.refused('list_recent_team_events', { limit: 0 })).field, 'limit');

    // 4. Members and messages carry the agents' identity: sessions registered, `from` filled in.
    await lead.call('message_send', { team_id: 'crew', to: '*', body: 'go' });
    const inbox = await ann.call('inbox', { team_id: 'crew', unread: true });
    assert.equal(inbox.messages.map((m: { from: string }) => m.from), ['lead']);
    const sessions = await http(server, '/v1/sessions');
    assert.equal(sessions.sessions.map((s: { agent: string; state: string }) => `${s.agent}:${s.state}`).sort(), ['Ann:alive', 'Bob:alive', 'Lead:alive']);
    const team = await http(server, '/v1/teams/crew');
    // Every write bmo mcp sends carries a key of its own, so a retry after an unknown outcome is safe.
    const log = await http(server, '/v1/teams/crew/events?limit=1000');
    const sent = log.events.filter((e: { type: string }) => e.type === 'message_sent');
    assert.ok(sent.length > 0 && sent.every((e: { meta: { idempotency_key?: string } }) => typeof e.meta.idempotency_key === 'string'));
    const annSession = sessions.sessions.find((s: { agent: string }) => s.agent === 'Ann').session_id;
    assert.is(team.members.find((m: { member_id: string }) => m.member_id === 'ann').session_id, annSession);

    // 5. The seed's tool answers what the HTTP route answers.
    const viaMcp = await bob.call('list_recent_team_events', { limit: 16 });
    const viaHttp = await http(server, '/v1/teams/events/recent?limit=16');
    assert.equal(viaMcp, viaHttp);
    assert.ok(viaHttp.events.length > 5);
  }),
);

test('an agent killed with -9 lapses: its claim is reclaimed and the others see task_reclaimed', () =>
  withTeam(
    async (_server, spawnAgent) => {
      const [lead, ann] = await Promise.all([spawnAgent('--agent', 'Lead', '--member', 'lead'), spawnAgent('--agent', 'Ann', '--member', 'ann')]);
      await lead.call('team_create', { id: 'crew', name: 'Crew' });
      await lead.call('task_create', { team_id: 'crew', task_id: 'build', title: 'Build' });
      await ann.call('team_join', { team_id: 'crew' });
      const claim = await ann.call('task_claim', { team_id: 'crew', task_id: 'build', lease_ms: 1000 });
      const start = await lead.call('events_since', { from_pos: 0, filter: 'teams/crew' });
      process.kill(ann.transport.pid!, 'SIGKILL');
      const reclaimed = await until('task_reclaimed', async () => {
        const page = await lead.call('events_since', { from_pos: start.next, filter: 'teams/crew' });
        return page.events.find((e: { type: string }) => e.type === 'task_reclaimed');
      });
      assert.is(reclaimed.data.task_id, 'build');
      assert.is(reclaimed.data.fencing_token, claim.fencing_token);
      const tasks = await lead.call('task_list', { team_id: 'crew', ready: true });
      assert.equal(tasks.tasks.map((t: { task_id: string }) => t.task_id), ['build'], 'the task is back in the queue');
      // The lead's own session outlived several leases: its bmo mcp heartbeats at a third of the lease.
      const recent = await lead.call('list_recent_team_events', { limit: 16 });
      assert.ok(recent.events.some((e: { type: string }) => e.type === 'task_reclaimed'));
      const posture = await lead.call('team_posture');
      assert.ok(posture.teams.length === 1);
    },
    '[sessions]\nlease_ms = 1000\nsweep_interval_ms = 100\n',
  ),
);

test('a subscribed resource is notified after a change to it, and reads the new state', () =>
  withTeam(async (_server, spawnAgent) => {
    const lead = await spawnAgent('--agent', 'Lead');
    await lead.call('team_create', { id: 'crew', name: 'Crew' });
    const { resources } = await lead.client.listResources();
    assert.ok(resources.some((r) => r.uri === 'bmo://teams/crew'));
    const updated: string[] = [];
    const { ResourceUpdatedNotificationSchema } = await import('@modelcontextprotocol/sdk/types.js');
    lead.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updated.push(n.params.uri));
    await lead.client.subscribeResource({ uri: 'bmo://teams/crew' });
    const started = Date.now();
    await lead.call('task_create', { team_id: 'crew', title: 'Build' });
    await until('the update', async () => updated.length > 0, 3000);
    assert.ok(Date.now() - started < 1000, 'notified within a second of the commit');
    assert.equal([...new Set(updated)], ['bmo://teams/crew']);
    const read = await lead.client.readResource({ uri: 'bmo://teams/crew' });
    const team = JSON.parse((read.contents[0] as { text: string }).text);
    assert.ok(team.tasks.length >= 1);
    const log = await lead.client.readResource({ uri: 'bmo://teams/crew/events' });
    assert.is(JSON.parse((log.contents[0] as { text: string }).text).stream, 'teams/crew');
  }),
);

test.run();
