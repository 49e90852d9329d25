import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Bmo } from '../../src/app.js';
import { TestClock } from '../../src/clock.js';
import { call, ok, startTestBmo, withBmo } from '../helpers/bmo.js';
import { tempDir } from '../helpers/tmp.js';
import { diskSnapshot } from './support.js';

const as = (token: string) => ({ authorization: `Bearer ${token}` });

/** Issues a credential with the admin token; answers its id and token. */
async function issue(bmo: Bmo, body: Record<string, unknown>): Promise<{ id: string; token: string }> {
  const res = await ok(bmo, 201, 'POST', '/v1/credentials', body);
  return { id: res.json.credential_id, token: res.json.token };
}

/**
 * Team t1 led by the agent `lead`, with agents ann and bob joined on their own; bob holds task ch1
 * and has a message from the lead. Every agent started its own session.
 */
async function teamOfAgents(bmo: Bmo) {
  const lead = await issue(bmo, { name: 'lead', role: 'agent', member_id: 'lead', session_id: 's-lead' });
  const ann = await issue(bmo, { name: 'ann', role: 'agent', member_id: 'ann', session_id: 's-ann' });
  const bob = await issue(bmo, { name: 'bob', role: 'agent', member_id: 'bob', session_id: 's-bob' });
  for (const agent of [lead, ann, bob]) await ok(bmo, 201, 'POST', '/v1/sessions', {}, as(agent.token));
  await ok(bmo, 201, 'POST', '/v1/teams', { id: 't1', name: 'T1', lead: { name: 'Lead' } }, as(lead.token));
  await ok(bmo, 201, 'POST', '/v1/teams/t1/members', { name: 'Ann' }, as(ann.token));
  await ok(bmo, 201, 'POST', '/v1/teams/t1/members', { name: 'Bob' }, as(bob.token));
  await ok(bmo, 201, 'POST', '/v1/teams/t1/tasks', { task_id: 'ch1', title: 'chapter one' }, as(lead.token));
  const claim = await ok(bmo, 200, 'POST', '/v1/teams/t1/tasks/ch1/claim', {}, as(bob.token));
  await ok(bmo, 201, 'POST', '/v1/teams/t1/messages', { message_id: 'm1', to: 'bob', body: 'hello bob' }, as(lead.token));
  return { lead, ann, bob, fencing: claim.json.fencing_token as number };
}

/** A request that must be refused with `status` naming `field`, with the log and the disk as they were. */
async function refused(bmo: Bmo, dir: string, status: number, field: string | undefined, method: string, url: string, body: unknown, headers: Record<string, string>) {
  const head = bmo.pipeline.store.head();
  const disk = diskSnapshot(dir);
  const res = await call(bmo, method, url, body, headers);
  assert.is(res.status, status, `${method} ${url} → ${res.status} ${res.body}`);
  if (field !== undefined) assert.is(res.json.field, field, `${method} ${url}: ${res.body}`);
  assert.is(bmo.pipeline.store.head(), head, `${method} ${url} moved the log`);
  assert.equal(diskSnapshot(dir), disk, `${method} ${url} wrote to disk`);
  return res;
}

test('an agent fills in its own member and session, and its events name it as the actor', () =>
  withBmo(async (bmo) => {
    const { lead, bob } = await teamOfAgents(bmo);
    const me = await ok(bmo, 200, 'GET', '/v1/whoami', undefined, as(bob.token));
    assert.equal(me.json, { credential_id: bob.id, role: 'agent', member_id: 'bob', session_id: 's-bob', scope: { teams: '*', workstreams: [] } });
    assert.equal((await ok(bmo, 200, 'GET', '/v1/whoami')).json.credential_id, 'admin');
    const log = await ok(bmo, 200, 'GET', '/v1/teams/t1/events');
    const created = log.json.events[0];
    assert.is(created.data.lead_member_id, 'lead');
    assert.is(created.data.lead_session_id, 's-lead');
    assert.is(created.meta.actor, lead.id);
    assert.is(created.meta.session_id, 's-lead');
    const claimed = log.json.events.find((e: { type: string }) => e.type === 'task_claimed');
    assert.equal([claimed.data.member_id, claimed.data.session_id, claimed.meta.actor], ['bob', 's-bob', bob.id]);
    const sent = log.json.events.find((e: { type: string }) => e.type === 'message_sent');
    assert.is(sent.data.from, 'lead');
    // The admin's own writes name it too.
    await ok(bmo, 201, 'POST', '/v1/teams/t1/tasks', { task_id: 'ch2', title: 'two' });
    const last = await ok(bmo, 200, 'GET', '/v1/teams/t1/events?from_seq=8');
    assert.is(last.json.events.at(-1).meta.actor, 'admin');
  }),
);

test('each impersonation by an agent is 403 naming the field and writes nothing', () =>
  withBmo(async (bmo, dir) => {
    const { ann, fencing } = await teamOfAgents(bmo);
    const h = as(ann.token);
    // Reading bob's fencing token is possible (it is in the log); using it is not.
    const task = await ok(bmo, 200, 'GET', '/v1/teams/t1/tasks/ch1', undefined, h);
    assert.is(task.json.fencing_token, fencing);
    await refused(bmo, dir, 403, 'member_id', 'POST', '/v1/teams/t1/tasks/ch1/complete', { member_id: 'bob', fencing_token: fencing }, h);
    await refused(bmo, dir, 403, 'member_id', 'POST', '/v1/teams/t1/tasks/ch1/complete', { fencing_token: fencing }, h);
    await refused(bmo, dir, 403, 'member_id', 'POST', '/v1/teams/t1/tasks/ch1/release', { fencing_token: fencing }, h);
    await refused(bmo, dir, 403, 'member_id', 'POST', '/v1/teams/t1/tasks/ch1/fail', { member_id: 'bob', fencing_token: fencing }, h);
    await refused(bmo, dir, 403, 'from', 'POST', '/v1/teams/t1/messages', { from: 'bob', to: 'lead', body: 'forged' }, h);
    await refused(bmo, dir, 403, 'member', 'GET', '/v1/teams/t1/members/bob/inbox', undefined, h);
    await refused(bmo, dir, 403, 'member_id', 'POST', '/v1/teams/t1/messages/m1/read', { member_id: 'bob' }, h);
    await refused(bmo, dir, 403, 'id', 'POST', '/v1/sessions/s-bob/heartbeat', undefined, h);
    await refused(bmo, dir, 403, 'id', 'POST', '/v1/sessions/s-bob/end', undefined, h);
    await refused(bmo, dir, 403, 'member', 'DELETE', '/v1/teams/t1/members/bob', undefined, h);
    await refused(bmo, dir, 403, 'X-Session-Id', 'POST', '/v1/teams/t1/tasks', { title: 'as bob' }, { ...h, 'x-session-id': 's-bob' });
    await refused(bmo, dir, 403, 'X-Session-Id', 'POST', '/v1/teams/t1/tasks', { title: 'as no one' }, { ...h, 'x-session-id': 'never-was' });
    await refused(bmo, dir, 403, 'id', 'POST', '/v1/teams/t1/shutdown', undefined, h);
    await refused(bmo, dir, 403, 'id', 'DELETE', '/v1/teams/t1', undefined, h);
    await refused(bmo, dir, 403, 'team_id', 'POST', '/v1/teams/cleanup', { scope: 'single', team_id: 't1' }, h);
    await refused(bmo, dir, 403, 'scope', 'POST', '/v1/teams/cleanup', { scope: 'all' }, h);
    await refused(bmo, dir, 403, 'member_id', 'POST', '/v1/teams/t1/members', { member_id: 'bob2', name: 'Not me' }, h);
    await refused(bmo, dir, 403, 'lead.member_id', 'POST', '/v1/teams', { name: 'T2', lead: { member_id: 'bob', name: 'Bob' } }, h);
    await refused(bmo, dir, 403, 'Authorization', 'POST', '/v1/credentials', { name: 'me too', role: 'admin' }, h);
    await refused(bmo, dir, 403, 'Authorization', 'GET', '/v1/credentials', undefined, h);
    await refused(bmo, dir, 403, 'Authorization', 'GET', '/v1/system/credentials/events', undefined, h);
  }),
);

test('the same actions by the rightful member, the lead or an admin are accepted', () =>
  withBmo(async (bmo) => {
    const { lead, ann, bob, fencing } = await teamOfAgents(bmo);
    const inbox = await ok(bmo, 200, 'GET', '/v1/teams/t1/members/bob/inbox', undefined, as(bob.token));
    assert.equal(inbox.json.messages.map((m: { message_id: string }) => m.message_id), ['m1']);
    await ok(bmo, 200, 'POST', '/v1/teams/t1/messages/m1/read', {}, as(bob.token));
    await ok(bmo, 201, 'POST', '/v1/teams/t1/messages', { to: 'ann', body: 'from bob' }, as(bob.token));
    await ok(bmo, 200, 'POST', '/v1/teams/t1/tasks/ch1/complete', { fencing_token: fencing, result: 'done' }, as(bob.token));
    await ok(bmo, 200, 'POST', '/v1/sessions/s-bob/heartbeat', undefined, as(bob.token));
    await ok(bmo, 201, 'POST', '/v1/teams/t1/tasks', { title: 'bob here' }, { ...as(bob.token), 'x-session-id': 's-bob' });
    // A member leaves on its own; the lead removes another.
    await ok(bmo, 200, 'DELETE', '/v1/teams/t1/members/bob', undefined, as(bob.token));
    await ok(bmo, 200, 'DELETE', '/v1/teams/t1/members/ann', undefined, as(lead.token));
    await ok(bmo, 200, 'POST', '/v1/sessions/s-ann/end', undefined, as(ann.token));
    await ok(bmo, 200, 'POST', '/v1/teams/t1/shutdown', undefined, as(lead.token));
    await ok(bmo, 200, 'DELETE', '/v1/teams/t1');
    const log = await ok(bmo, 200, 'GET', '/v1/teams/t1/events');
    const actors = log.json.events.map((e: { type: string; meta: { actor: string } }) => `${e.type}:${e.meta.actor === lead.id ? 'lead' : e.meta.actor === bob.id ? 'bob' : e.meta.actor === ann.id ? 'ann' : e.meta.actor}`);
    assert.ok(actors.includes('task_completed:bob'), actors.join(' '));
    assert.ok(actors.includes('team_shutdown:lead'), actors.join(' '));
    assert.is(actors.at(-1), 'team_removed:admin');
  }),
);

test('an agent acts only in its teams: a listed one, or one it created or joined', () =>
  withBmo(async (bmo, dir) => {
    await ok(bmo, 201, 'POST', '/v1/teams', { id: 'docs', name: 'Docs', lead: { member_id: 'lead', name: 'Lead' } });
    await ok(bmo, 201, 'POST', '/v1/teams/docs/members', { member_id: 'cy', name: 'Cy' });
    await ok(bmo, 201, 'POST', '/v1/teams', { id: 'other', name: 'Other', lead: { member_id: 'lead', name: 'Lead' } });
    const cy = await issue(bmo, { name: 'cy', role: 'agent', member_id: 'cy', teams: ['docs', 'ghost'] });
    // A listed team this server does not hold has no lead or holder to check: refused, not waved through.
    await refused(bmo, dir, 403, 'id', 'POST', '/v1/teams/ghost/shutdown', undefined, as(cy.token));
    await refused(bmo, dir, 403, 'id', 'POST', '/v1/teams/ghost/tasks/t/complete', { fencing_token: 1 }, as(cy.token));
    await ok(bmo, 201, 'POST', '/v1/teams/docs/tasks', { title: 'mine' }, as(cy.token));
    await refused(bmo, dir, 403, 'id', 'POST', '/v1/teams/other/tasks', { title: 'not mine' }, as(cy.token));
    await refused(bmo, dir, 403, 'id', 'GET', '/v1/teams/other', undefined, as(cy.token));
    await refused(bmo, dir, 403, 'id', 'POST', '/v1/teams/other/members', { name: 'Cy' }, as(cy.token));
    // It may create a team, which it then leads and acts in.
    await ok(bmo, 201, 'POST', '/v1/teams', { id: 'cys', name: 'Cy', lead: { name: 'Cy' } }, as(cy.token));
    await ok(bmo, 200, 'POST', '/v1/teams/cys/shutdown', undefined, as(cy.token));
    const list = await ok(bmo, 200, 'GET', '/v1/teams', undefined, as(cy.token));
    assert.equal(list.json.teams.map((t: { team_id: string }) => t.team_id).sort(), ['cys', 'docs']);
  }),
);

test('workstream writes: an admin, or an agent that created the workstream or whose scope names it', () =>
  withBmo(async (bmo, dir) => {
    await ok(bmo, 201, 'POST', '/v1/workstreams', { id: 'ws-a', label: 'A' });
    await ok(bmo, 201, 'POST', '/v1/workstreams', { id: 'ws-b', label: 'B' });
    const dee = await issue(bmo, { name: 'dee', role: 'agent', member_id: 'dee', workstreams: ['ws-a'] });
    await ok(bmo, 201, 'POST', '/v1/workstreams/ws-a/findings', { severity: 'info', text: 'named' }, as(dee.token));
    await refused(bmo, dir, 403, 'id', 'POST', '/v1/workstreams/ws-b/findings', { severity: 'info', text: 'not named' }, as(dee.token));
    await ok(bmo, 201, 'POST', '/v1/workstreams', { id: 'ws-c', label: 'C' }, as(dee.token));
    await ok(bmo, 201, 'POST', '/v1/workstreams/ws-c/findings', { severity: 'info', text: 'created' }, as(dee.token));
    await ok(bmo, 200, 'GET', '/v1/workstreams/ws-b', undefined, as(dee.token));
  }),
);

test('an observer reads and never writes; a scoped observer reads its teams only', () =>
  withBmo(async (bmo, dir) => {
    await ok(bmo, 201, 'POST', '/v1/teams', { id: 'seen', name: 'Seen', lead: { member_id: 'lead', name: 'Lead' } });
    await ok(bmo, 201, 'POST', '/v1/teams', { id: 'hidden', name: 'Hidden', lead: { member_id: 'lead', name: 'Lead' } });
    const eye = await issue(bmo, { name: 'page', role: 'observer' });
    const narrow = await issue(bmo, { name: 'narrow', role: 'observer', teams: ['seen'] });
    await ok(bmo, 200, 'GET', '/v1/teams/hidden', undefined, as(eye.token));
    await ok(bmo, 200, 'GET', '/v1/teams/posture', undefined, as(eye.token));
    await refused(bmo, dir, 403, 'Authorization', 'POST', '/v1/teams/seen/tasks', { title: 'no' }, as(eye.token));
    await refused(bmo, dir, 403, 'Authorization', 'POST', '/v1/workstreams', { label: 'no' }, as(eye.token));
    await refused(bmo, dir, 403, 'id', 'GET', '/v1/teams/hidden/events', undefined, as(narrow.token));
    const posture = await ok(bmo, 200, 'GET', '/v1/teams/posture', undefined, as(narrow.token));
    assert.equal(posture.json.teams.map((t: { team_id: string }) => t.team_id), ['seen']);
    assert.is(posture.json.team_count, 1);
    assert.ok(posture.json.recent.every((e: { team_id?: string }) => e.team_id === 'seen'), JSON.stringify(posture.json.recent));
  }),
);

test('bad tokens: 401, the same text for an unknown id and a wrong secret, which for revoked and expired; nothing written', async () => {
  const tmp = tempDir();
  const clock = new TestClock('2026-03-01T00:00:00Z');
  const bmo = await startTestBmo(tmp.dir, { clock });
  try {
    const short = await issue(bmo, { name: 'short', role: 'observer', expires_in: '1h' });
    const gone = await issue(bmo, { name: 'gone', role: 'observer' });
    await ok(bmo, 200, 'GET', '/v1/teams', undefined, as(gone.token));
    const revoked = await ok(bmo, 200, 'DELETE', '/v1/credentials/' + gone.id, { reason: 'left the project' });
    assert.is(revoked.json.revoked, true);
    const secret = gone.token.slice(-43);
    const unknown = await refused(bmo, tmp.dir, 401, undefined, 'GET', '/v1/teams', undefined, as(`bmo_0123456789ab_${secret}`));
    const wrong = await refused(bmo, tmp.dir, 401, undefined, 'GET', '/v1/teams', undefined, as(`bmo_${short.id}_${secret}`));
    assert.is(unknown.json.message, wrong.json.message);
    const malformed = await refused(bmo, tmp.dir, 401, undefined, 'GET', '/v1/teams', undefined, as(`bmo_${short.id}_tooshort`));
    assert.match(malformed.json.message, /malformed/);
    const late = await refused(bmo, tmp.dir, 401, undefined, 'GET', '/v1/teams', undefined, as(gone.token));
    assert.match(late.json.message, /revoked .*left the project/);
    await ok(bmo, 200, 'GET', '/v1/teams', undefined, as(short.token));
    await clock.advance(3600_000);
    const expired = await refused(bmo, tmp.dir, 401, undefined, 'GET', '/v1/teams', undefined, as(short.token));
    assert.match(expired.json.message, /expired at 2026-03-01T01:00:00.000Z/);
    const list = await ok(bmo, 200, 'GET', '/v1/credentials');
    assert.equal(list.json.credentials.map((c: { name: string; state: string }) => [c.name, c.state]), [['short', 'expired'], ['gone', 'revoked']]);
    assert.not.match(list.body, /sha256|secret/);
  } finally {
    await bmo.close();
    tmp.cleanup();
  }
});

test('credentials survive a restart; no secret is on disk or in the log lines', async () => {
  const tmp = tempDir();
  const lines: string[] = [];
  let bmo = await startTestBmo(tmp.dir, { logLines: lines });
  try {
    const { lead, ann, bob } = await teamOfAgents(bmo);
    await ok(bmo, 200, 'DELETE', '/v1/credentials/' + ann.id);
    await bmo.close();
    bmo = await startTestBmo(tmp.dir, { logLines: lines });
    await ok(bmo, 201, 'POST', '/v1/teams/t1/tasks', { title: 'after restart' }, as(lead.token));
    await ok(bmo, 200, 'GET', '/v1/teams/t1/members/bob/inbox', undefined, as(bob.token));
    assert.is((await call(bmo, 'GET', '/v1/teams', undefined, as(ann.token))).status, 401);
    const disk = Object.values(diskSnapshot(tmp.dir)).join('\n');
    const logs = lines.join('');
    assert.ok(lines.length > 0);
    for (const { token } of [lead, ann, bob]) {
      const secret = token.slice(-43);
      assert.not.ok(disk.includes(secret), 'a secret is on disk');
      assert.not.ok(logs.includes(secret), 'a secret is in the log lines');
    }
  } finally {
    await bmo.close();
    tmp.cleanup();
  }
});

test.run();
