import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Bmo } from '../../src/app.js';
import { call, startTestBmo, TOKEN } from '../helpers/bmo.js';
import { until } from '../helpers/mcp.js';
import { tempDir } from '../helpers/tmp.js';

/** A listening bmo and the SDK's client over Streamable HTTP at /mcp with the token (and these headers). */
async function withMcp(fn: (bmo: Bmo, client: Client) => Promise<void>, headers: Record<string, string> = {}) {
  const tmp = tempDir();
  const bmo = await startTestBmo(tmp.dir, { listen: true });
  const client = new Client({ name: 'bmo-test', version: '0.0.0' });
  try {
    await client.connect(new StreamableHTTPClientTransport(new URL(`${bmo.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${TOKEN}`, ...headers } } }));
    await fn(bmo, client);
  } finally {
    await client.close().catch(() => {});
    await bmo.close();
    tmp.cleanup();
  }
}

const textOf = (result: Record<string, unknown>) => (result.content as { text: string }[])[0].text;

test('/mcp with the token: the same tools, and a refusal is the HTTP answer (word for word where it names no route)', () =>
  withMcp(
    async (bmo, client) => {
      const { tools } = await client.listTools();
      assert.ok(tools.some((t) => t.name === 'task_claim'));
      const created = await client.callTool({ name: 'team_create', arguments: { id: 'crew', name: 'Crew' } });
      assert.not.ok(created.isError, textOf(created));
      assert.is((created.structuredContent as { team_id: string }).team_id, 'crew');
      const team = await call(bmo, 'GET', '/v1/teams/crew');
      assert.is(team.json.lead_member_id, 'boss', 'X-Member-Id is the identity of the MCP session');
      const refused = await client.callTool({ name: 'message_send', arguments: { team_id: 'crew', to: 'nobody', body: 'hi' } });
      assert.ok(refused.isError);
      const viaHttp = await call(bmo, 'POST', '/v1/teams/crew/messages', { from: 'boss', to: 'nobody', body: 'hi' });
      assert.is(viaHttp.status, 404);
      assert.equal(JSON.parse(textOf(refused)), viaHttp.json);
    },
    { 'x-member-id': 'boss' },
  ),
);

test('/mcp: a subscribed team is notified after a commit from the hub', () =>
  withMcp(async (bmo, client) => {
    await client.callTool({ name: 'team_create', arguments: { id: 'crew', name: 'Crew' } });
    const updated: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updated.push(n.params.uri));
    await client.subscribeResource({ uri: 'bmo://teams/crew' });
    await call(bmo, 'POST', '/v1/teams/crew/tasks', { title: 'Build' });
    await until('the update', async () => updated.length > 0, 1000);
    assert.equal(updated, ['bmo://teams/crew']);
  }),
);

test('/mcp: a team, its tasks and a workstream as of a point, and a team\'s timeline, each the HTTP answer', () =>
  withMcp(
    async (bmo, client) => {
      const tool = async (name: string, args: Record<string, unknown>) => {
        const result = await client.callTool({ name, arguments: args });
        assert.not.ok(result.isError, `${name}: ${textOf(result)}`);
        return result.structuredContent as Record<string, any>;
      };
      await tool('team_create', { id: 'crew', name: 'Crew' });
      const before = bmo.pipeline.store.head();
      await tool('task_create', { team_id: 'crew', task_id: 't1', title: 'Build' });
      await tool('workstream_create', { id: 'w1', label: 'docs' });
      const wsBefore = bmo.pipeline.store.head();
      await call(bmo, 'POST', '/v1/workstreams/w1/status', { status: 'blocked', reason: 'waiting' });
      assert.equal((await tool('team_status', { team_id: 'crew', as_of: String(before) })).tasks, [], 'no task yet');
      assert.equal((await tool('team_status', { team_id: 'crew', as_of: before })).tasks, [], 'a position as a number');
      assert.equal((await tool('team_status', { team_id: 'crew' })).tasks.length, 1);
      assert.equal((await tool('task_list', { team_id: 'crew', as_of: String(before) })).tasks, []);
      assert.equal(await tool('task_list', { team_id: 'crew', as_of: String(before + 1) }), (await call(bmo, 'GET', `/v1/teams/crew/tasks?as_of=${before + 1}`)).json);
      assert.is((await tool('workstream_status', { workstream_id: 'w1', as_of: String(wsBefore) })).status, 'active');
      assert.is((await tool('workstream_status', { workstream_id: 'w1' })).status, 'blocked');
      const timeline = await tool('team_timeline', { team_id: 'crew', limit: 1 });
      assert.equal(timeline, (await call(bmo, 'GET', '/v1/teams/crew/timeline?limit=1')).json);
      assert.ok(timeline.next_cursor, 'one entry a page: more to come');
      const refused = await client.callTool({ name: 'team_status', arguments: { team_id: 'crew', as_of: '2026-01-01T10:00:00' } });
      assert.ok(refused.isError);
      assert.match(textOf(refused), 'has no time zone');
    },
    { 'x-member-id': 'boss' },
  ),
);

test('/mcp: a refusal names tools and the arguments the agent passed, never a route, a CLI verb or a flag', () =>
  withMcp(
    async (bmo, client) => {
      const refused = async (name: string, args: Record<string, unknown>) => {
        const result = await client.callTool({ name, arguments: args });
        assert.ok(result.isError, `${name} was not refused`);
        const body = JSON.parse(textOf(result));
        assert.not.match(body.message, /\/v1\/|\bbmo (team|workstream) |--[a-z]/, `${name}: ${body.message}`);
        return body;
      };
      await client.callTool({ name: 'workstream_create', arguments: { id: 'w1', label: 'docs' } });
      await client.callTool({ name: 'team_create', arguments: { id: 'crew', name: 'Crew' } });
      const noTeam = await refused('team_status', { team_id: 'nope' });
      assert.equal([noTeam.error, noTeam.field], ['not_found', 'team_id']);
      assert.match(noTeam.message, 'team_list');
      const noWorkstream = await refused('workstream_status', { workstream_id: 'nope' });
      assert.equal(noWorkstream.field, 'workstream_id');
      assert.match(noWorkstream.message, 'workstream_list');
      const beyond = await refused('team_status', { team_id: 'crew', as_of: '999' });
      assert.equal(beyond.field, 'as_of');
      assert.match(beyond.message, /^as_of: pos 999 is beyond the head/);
      const early = await refused('team_status', { team_id: 'crew', as_of: '1' });
      assert.match(early.message, 'events_since with filter teams/crew');
      const force = await refused('workstream_set_status', { workstream_id: 'w1', status: 'completed' });
      assert.match(force.message, 'force: true with a reason');
      // This agent (boss) is not in team other: it is told how to get in.
      await call(bmo, 'POST', '/v1/teams', { id: 'other', name: 'Other', lead: { name: 'Lead' } });
      const notMember = await refused('message_send', { team_id: 'other', to: 'lead', body: 'hi' });
      assert.equal(notMember.field, 'from');
      assert.match(notMember.message, 'join it first with team_join');
      // Another member it named: no hint to join; an argument a tool does not take is named as such.
      const leaveOther = await refused('team_leave', { team_id: 'crew', member_id: 'nobody' });
      assert.not.match(leaveOther.message, 'team_join');
      const unknownArg = await refused('team_timeline', { team_id: 'crew', as_of: 5 });
      assert.equal(unknownArg.field, 'as_of');
      const beyondHead = await refused('events_since', { from_pos: 99999 });
      assert.equal(beyondHead.field, 'from_pos');
      assert.not.match(beyondHead.message, 'events_since');
    },
    { 'x-member-id': 'boss' },
  ),
);

test('/mcp for a model: read tools say so, a command answers its events without their meta, a workstream speaks in tools, an agent joins under its own name', () =>
  withMcp(
    async (bmo, client) => {
      const { tools } = await client.listTools();
      const hints = (name: string) => tools.find((t) => t.name === name)!.annotations;
      assert.equal([hints('task_list')!.readOnlyHint, hints('task_claim')!.readOnlyHint, hints('team_shutdown')!.destructiveHint, hints('task_claim')!.destructiveHint], [true, false, true, false]);
      await call(bmo, 'POST', '/v1/teams', { id: 'crew', name: 'Crew', lead: { name: 'Lead' } });
      const joined = await client.callTool({ name: 'team_join', arguments: { team_id: 'crew' } });
      assert.not.ok(joined.isError, textOf(joined));
      assert.is((joined.structuredContent as { member_id: string }).member_id, 'walt-whit', 'the member id is the agent name');
      const created = await client.callTool({ name: 'task_create', arguments: { team_id: 'crew', title: 'x' } });
      const [event] = (created.structuredContent as { events: Record<string, unknown>[] }).events;
      assert.equal(Object.keys(event).sort(), ['at', 'data', 'pos', 'seq', 'stream', 'type']);
      await client.callTool({ name: 'workstream_create', arguments: { id: 'w1', label: 'docs' } });
      const marker = await client.callTool({ name: 'marker_add', arguments: { workstream_id: 'w1', path: 'a.ts', note: 'look' } });
      assert.match(textOf(marker), `marker_id ${(marker.structuredContent as { marker_id: string }).marker_id}`);
      const status = await client.callTool({ name: 'workstream_status', arguments: { workstream_id: 'w1' } });
      const handoff = await client.callTool({ name: 'workstream_handoff', arguments: { workstream_id: 'w1' } });
      for (const text of [JSON.stringify(status.structuredContent), textOf(handoff)]) {
        assert.not.match(text, /\bbmo (workstream|team|events) |\/v1\//, text);
        assert.match(text, 'workstream_set_plan');
      }
      assert.match(textOf(handoff), 'marker_clear with marker_id');
      // A run the agent did itself, told as it knows it: no signal, output or cut unless it says so.
      const run = await client.callTool({ name: 'verify_record', arguments: { workstream_id: 'w1', argv: ['npm', 'test'], cwd: '/src', exit_code: 0, duration_ms: 1200 } });
      assert.not.ok(run.isError, textOf(run));
      const [recorded] = (run.structuredContent as { events: { data: Record<string, unknown> }[] }).events;
      assert.equal([recorded.data.signal, recorded.data.truncated, recorded.data.output_tail], [null, false, '']);
    },
    { 'x-agent': 'Walt Whit' },
  ),
);

test('/mcp without the token, or with a wrong one, is 401 and opens nothing', async () => {
  const tmp = tempDir();
  const bmo = await startTestBmo(tmp.dir, { listen: true });
  try {
    const initialize = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '0' } } };
    for (const headers of [{}, { authorization: 'Bearer wrong-token-0123456789' }] as Record<string, string>[]) {
      const response = await fetch(`${bmo.url}/mcp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
        body: JSON.stringify(initialize),
      });
      assert.is(response.status, 401);
      assert.is(((await response.json()) as { error: string }).error, 'unauthorized');
      assert.is(response.headers.get('mcp-session-id'), null);
    }
  } finally {
    await bmo.close();
    tmp.cleanup();
  }
});

test.run();
