import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { DomainEvent, Envelope, EventOf } from '../../events/index.js';
import { evolveDecisionTeam, evolveLeanTeam, evolveTeam, teamsProjection, teamSummary, type TeamView } from '../../projections/team.js';
import { teamEntity } from '../../src/domain/teams.js';
import { given } from '../helpers/given.js';

const T0 = new Date('2026-01-01T00:00:00Z');
const later = (ms: number) => new Date(T0.getTime() + ms);
const LEASE = 60_000;

const ev = <T extends DomainEvent['type']>(type: T, data: EventOf<T>['data']) => ({ type, data }) as EventOf<T>;

const teamCreated = ev('team_created', { team_id: 'alpha', name: 'Alpha', lead_member_id: 'lead' });
const leadJoined = ev('member_joined', { member_id: 'lead', name: 'Lead', role: 'lead' });
const joined = (member_id: string) => ev('member_joined', { member_id, name: member_id, role: 'member' });
const taskCreated = (task_id: string, blocked_by: string[] = []) => ev('task_created', { task_id, title: `do ${task_id}`, blocked_by });
const claimed = (task_id: string, member_id: string, fencing_token: number, lease_expires_at = later(LEASE).toISOString()) =>
  ev('task_claimed', { task_id, member_id, fencing_token, lease_ms: LEASE, lease_expires_at });
const completed = (task_id: string, member_id: string, fencing_token: number) => ev('task_completed', { task_id, member_id, fencing_token });
const sent = (message_id: string, from: string, to: string) => ev('message_sent', { message_id, from, to, body: `hello from ${from}` });

/** A team with its lead, two members (ann, bob) and one open task t1. */
const aTeam: DomainEvent[] = [teamCreated, leadJoined, joined('ann'), joined('bob'), taskCreated('t1')];

const typesOf = (events: DomainEvent[]) => events.map((e) => e.type);

/** An event of team alpha as the store hands it to the folds. */
const stored = (event: DomainEvent, seq: number) => ({ ...event, pos: seq, stream: 'teams/alpha', seq, id: '', at: T0.toISOString(), meta: {}, crc: '' }) as Envelope;

test('creating a team emits team_created and the lead joining as lead', () => {
  given(teamEntity, 'alpha', [])
    .when({ type: 'create_team', team_id: 'alpha', name: 'Alpha', goal: 'ship it', lead: { member_id: 'lead', name: 'Lead', session_id: 's1' } })
    .then([
      ev('team_created', { team_id: 'alpha', name: 'Alpha', goal: 'ship it', lead_member_id: 'lead', lead_session_id: 's1' }),
      ev('member_joined', { member_id: 'lead', name: 'Lead', role: 'lead', session_id: 's1' }),
    ]);
});

test('creating a team that already exists is refused as a conflict', () => {
  given(teamEntity, 'alpha', [teamCreated, leadJoined])
    .when({ type: 'create_team', team_id: 'alpha', name: 'Again', lead: { member_id: 'lead', name: 'Lead' } })
    .thenRefuses('conflict', /already exists/);
});

test('any command on a team that was never created is not_found', () => {
  given(teamEntity, 'ghost', []).when({ type: 'create_task', task_id: 't1', title: 'x', blocked_by: [] }).thenRefuses('not_found', /no team ghost/);
});

test('joining twice while active is refused as a conflict', () => {
  given(teamEntity, 'alpha', aTeam).when({ type: 'join_team', member_id: 'ann', name: 'Ann', role: 'member' }).thenRefuses('conflict', /already a member/);
});

test('an active member joining from a new session moves to it (the lead too: the team follows its new session); from the same session nothing changes', () => {
  const withSessions = [ev('team_created', { team_id: 'alpha', name: 'Alpha', lead_member_id: 'lead', lead_session_id: 's1' }), ev('member_joined', { member_id: 'lead', name: 'Lead', role: 'lead', session_id: 's1' }), joined('ann')];
  given(teamEntity, 'alpha', withSessions)
    .when({ type: 'join_team', member_id: 'lead', name: 'Lead', role: 'member', session_id: 's2' })
    .then([ev('member_session_moved', { member_id: 'lead', session_id: 's2', previous_session_id: 's1' })]);
  given(teamEntity, 'alpha', withSessions).when({ type: 'join_team', member_id: 'lead', name: 'Lead', role: 'member', session_id: 's1' }).then([]);
  given(teamEntity, 'alpha', withSessions).when({ type: 'join_team', member_id: 'ann', name: 'Ann', role: 'member', session_id: 's3' }).then([ev('member_session_moved', { member_id: 'ann', session_id: 's3' })]);
  const moved = [...withSessions, ev('member_session_moved', { member_id: 'lead', session_id: 's2', previous_session_id: 's1' })].map(stored).reduce<TeamView | undefined>((team, e) => evolveTeam(team, e), undefined)!;
  assert.equal([moved.lead_session_id, moved.members.get('lead')!.session_id, moved.members.get('lead')!.role], ['s2', 's2', 'lead']);
});

test('a team has one lead: a second one cannot join, and the lead cannot leave (shut the team down instead)', () => {
  given(teamEntity, 'alpha', aTeam).when({ type: 'join_team', member_id: 'cat', name: 'Cat', role: 'lead' }).thenRefuses('conflict', /has its lead \(lead\).*join as a member/);
  given(teamEntity, 'alpha', aTeam).when({ type: 'leave_team', member_id: 'lead' }).thenRefuses('conflict', /leads team alpha and cannot leave it; shut the team down/);
  given(teamEntity, 'alpha', aTeam).when({ type: 'leave_team', member_id: 'ann' }).then([ev('member_left', { member_id: 'ann' })]);
});

test('a removed team keeps its id: creating it again says so', () => {
  given(teamEntity, 'alpha', [teamCreated, leadJoined, ev('team_removed', { reason: 'delete' })])
    .when({ type: 'create_team', team_id: 'alpha', name: 'Again', lead: { member_id: 'lead', name: 'Lead' } })
    .thenRefuses('conflict', /was removed .* pick another id/);
});

test('a member does not message themself, nor mark read a message they sent', () => {
  given(teamEntity, 'alpha', aTeam).when({ type: 'send_message', message_id: 'm1', from: 'ann', to: 'ann', body: 'note to self' }).thenRefuses('bad_request', /messaging themself/);
  given(teamEntity, 'alpha', [...aTeam, sent('m1', 'ann', '*')]).when({ type: 'read_message', message_id: 'm1', member_id: 'ann' }).thenRefuses('conflict', /ann sent message m1/);
  given(teamEntity, 'alpha', [...aTeam, sent('m1', 'ann', '*')]).when({ type: 'read_message', message_id: 'm1', member_id: 'bob' }).then([ev('message_read', { message_id: 'm1', member_id: 'bob' })]);
});

test('a claim of an open task emits task_claimed with fencing token 1 and a lease from now', () => {
  given(teamEntity, 'alpha', aTeam)
    .when({ type: 'claim_task', task_id: 't1', member_id: 'ann', lease_ms: LEASE }, later(5_000))
    .then([claimed('t1', 'ann', 1, later(5_000 + LEASE).toISOString())]);
});

test("a claim without a session_id is held by the member's session, and a heartbeat of that session renews it", () => {
  const annWithSession = ev('member_joined', { member_id: 'ann', name: 'ann', role: 'member', session_id: 'ann-s' });
  const past = [teamCreated, leadJoined, annWithSession, taskCreated('t1')];
  const claimUntil = (at: Date) => ev('task_claimed', { task_id: 't1', member_id: 'ann', session_id: 'ann-s', fencing_token: 1, lease_ms: LEASE, lease_expires_at: at.toISOString() });
  given(teamEntity, 'alpha', past).when({ type: 'claim_task', task_id: 't1', member_id: 'ann', lease_ms: LEASE }).then([claimUntil(later(LEASE))]);
  given(teamEntity, 'alpha', [...past, claimUntil(later(LEASE))])
    .when({ type: 'renew_claims', session_id: 'ann-s' }, later(1_000))
    .then([{ ...claimUntil(later(1_000 + LEASE)), data: { ...claimUntil(later(1_000 + LEASE)).data, renewal: true } }]);
});

test('a claim of a claimed task is refused as a conflict naming the owner', () => {
  given(teamEntity, 'alpha', [...aTeam, claimed('t1', 'ann', 1)])
    .when({ type: 'claim_task', task_id: 't1', member_id: 'bob', lease_ms: LEASE }, later(1_000))
    .thenRefuses('conflict', /already claimed by ann/);
});

test('a claim of a task blocked by an unfinished task is refused as a conflict naming the blocker', () => {
  given(teamEntity, 'alpha', [...aTeam, taskCreated('t2', ['t1'])])
    .when({ type: 'claim_task', task_id: 't2', member_id: 'bob', lease_ms: LEASE })
    .thenRefuses('conflict', /blocked by t1/);
});

test('a claim of a task whose blockers are all completed is granted', () => {
  given(teamEntity, 'alpha', [...aTeam, taskCreated('t2', ['t1']), claimed('t1', 'ann', 1), completed('t1', 'ann', 1)])
    .when({ type: 'claim_task', task_id: 't2', member_id: 'bob', lease_ms: LEASE })
    .then([claimed('t2', 'bob', 2, later(LEASE).toISOString())]);
});

test('a claim of a completed task is refused as a conflict', () => {
  given(teamEntity, 'alpha', [...aTeam, claimed('t1', 'ann', 1), completed('t1', 'ann', 1)])
    .when({ type: 'claim_task', task_id: 't1', member_id: 'bob', lease_ms: LEASE })
    .thenRefuses('conflict', /already completed/);
});

test('a claim by someone who is not a member is not_found', () => {
  given(teamEntity, 'alpha', aTeam).when({ type: 'claim_task', task_id: 't1', member_id: 'zed', lease_ms: LEASE }).thenRefuses('not_found', /zed is not a member/);
});

test('a claim of an unknown task is not_found', () => {
  given(teamEntity, 'alpha', aTeam).when({ type: 'claim_task', task_id: 'nope', member_id: 'ann', lease_ms: LEASE }).thenRefuses('not_found', /no task nope/);
});

test('a claim after the lease lapsed emits task_reclaimed of the old owner, then task_claimed with a larger fencing token', () => {
  given(teamEntity, 'alpha', [...aTeam, claimed('t1', 'ann', 1)])
    .when({ type: 'claim_task', task_id: 't1', member_id: 'bob', lease_ms: LEASE }, later(LEASE))
    .then((events) => {
      assert.equal(typesOf(events), ['task_reclaimed', 'task_claimed']);
      const [reclaimed, claim] = events as [EventOf<'task_reclaimed'>, EventOf<'task_claimed'>];
      assert.equal(reclaimed.data, { task_id: 't1', member_id: 'ann', fencing_token: 1, reason: 'lease_expired' });
      assert.is(claim.data.member_id, 'bob');
      assert.ok(claim.data.fencing_token > reclaimed.data.fencing_token, 'the new claim must carry a larger fencing token');
      assert.is(claim.data.lease_expires_at, later(2 * LEASE).toISOString());
    });
});

test('a fencing token is never handed out twice, also after a release', () => {
  given(teamEntity, 'alpha', [...aTeam, claimed('t1', 'ann', 1), ev('task_released', { task_id: 't1', member_id: 'ann', fencing_token: 1 })])
    .when({ type: 'claim_task', task_id: 't1', member_id: 'ann', lease_ms: LEASE })
    .then((events) => assert.is((events[0] as EventOf<'task_claimed'>).data.fencing_token, 2));
});

test('completion with the current fencing token emits task_completed', () => {
  given(teamEntity, 'alpha', [...aTeam, claimed('t1', 'ann', 1)])
    .when({ type: 'complete_task', task_id: 't1', member_id: 'ann', fencing_token: 1, result: 'done' }, later(1_000))
    .then([ev('task_completed', { task_id: 't1', member_id: 'ann', fencing_token: 1, result: 'done' })]);
});

test('completion with a stale fencing token (the task was reclaimed and claimed again) is refused', () => {
  const reclaimedThenClaimed = [
    ...aTeam,
    claimed('t1', 'ann', 1),
    ev('task_reclaimed', { task_id: 't1', member_id: 'ann', fencing_token: 1, reason: 'lease_expired' }),
    claimed('t1', 'bob', 2, later(3 * LEASE).toISOString()),
  ];
  given(teamEntity, 'alpha', reclaimedThenClaimed)
    .when({ type: 'complete_task', task_id: 't1', member_id: 'ann', fencing_token: 1 }, later(LEASE + 1))
    .thenRefuses('conflict', /fencing token 1 of ann is stale/);
});

test('a refused completion says what is wrong: the claim is gone, the task is done, another member holds it, a token never handed out', () => {
  const reclaimed = [...aTeam, claimed('t1', 'ann', 1), ev('task_reclaimed', { task_id: 't1', member_id: 'ann', fencing_token: 1, reason: 'lease_expired' })];
  given(teamEntity, 'alpha', reclaimed).when({ type: 'complete_task', task_id: 't1', member_id: 'ann', fencing_token: 1 }).thenRefuses('conflict', /task t1 is open, not claimed .*claim it again/);
  given(teamEntity, 'alpha', [...aTeam, claimed('t1', 'ann', 1), completed('t1', 'ann', 1)])
    .when({ type: 'complete_task', task_id: 't1', member_id: 'ann', fencing_token: 1 })
    .thenRefuses('conflict', /task t1 is already completed/);
  given(teamEntity, 'alpha', [...aTeam, claimed('t1', 'ann', 1)]).when({ type: 'complete_task', task_id: 't1', member_id: 'bob', fencing_token: 1 }).thenRefuses('conflict', /task t1 is held by ann, not bob/);
  given(teamEntity, 'alpha', [...aTeam, claimed('t1', 'ann', 1)]).when({ type: 'complete_task', task_id: 't1', member_id: 'ann', fencing_token: 2 }).thenRefuses('conflict', /fencing token 2 of ann was never handed out/);
});

test('completion by the owner with a wrong token is refused', () => {
  given(teamEntity, 'alpha', [...aTeam, claimed('t1', 'ann', 3)])
    .when({ type: 'complete_task', task_id: 't1', member_id: 'ann', fencing_token: 2 })
    .thenRefuses('conflict', /stale/);
});

test('completion after the lease lapsed is refused, even with the right token', () => {
  given(teamEntity, 'alpha', [...aTeam, claimed('t1', 'ann', 1)])
    .when({ type: 'complete_task', task_id: 't1', member_id: 'ann', fencing_token: 1 }, later(LEASE))
    .thenRefuses('conflict', /lapsed/);
});

test('completion of an open task is refused', () => {
  given(teamEntity, 'alpha', aTeam).when({ type: 'complete_task', task_id: 't1', member_id: 'ann', fencing_token: 1 }).thenRefuses('conflict', /is open, not claimed/);
});

test('failing a held task emits task_failed with the error', () => {
  given(teamEntity, 'alpha', [...aTeam, claimed('t1', 'ann', 1)])
    .when({ type: 'fail_task', task_id: 't1', member_id: 'ann', fencing_token: 1, error: 'boom' })
    .then([ev('task_failed', { task_id: 't1', member_id: 'ann', fencing_token: 1, error: 'boom' })]);
});

test('leaving releases every task the member holds (task_reclaimed, reason member_left) before member_left', () => {
  given(teamEntity, 'alpha', [...aTeam, taskCreated('t2'), taskCreated('t3'), claimed('t1', 'ann', 1), claimed('t2', 'bob', 2), claimed('t3', 'ann', 3)])
    .when({ type: 'leave_team', member_id: 'ann', reason: 'done for today' })
    .then([
      ev('task_reclaimed', { task_id: 't1', member_id: 'ann', fencing_token: 1, reason: 'member_left' }),
      ev('task_reclaimed', { task_id: 't3', member_id: 'ann', fencing_token: 3, reason: 'member_left' }),
      ev('member_left', { member_id: 'ann', reason: 'done for today' }),
    ]);
});

test('leaving when not a member is not_found', () => {
  given(teamEntity, 'alpha', [...aTeam, ev('member_left', { member_id: 'ann' })]).when({ type: 'leave_team', member_id: 'ann' }).thenRefuses('not_found', /ann is not a member/);
});

test('a task blocked_by an unknown task is refused as not_found', () => {
  given(teamEntity, 'alpha', aTeam).when({ type: 'create_task', task_id: 't2', title: 'x', blocked_by: ['t9'] }).thenRefuses('not_found', /blocked_by: no task t9/);
});

test('a task blocked_by itself is refused', () => {
  given(teamEntity, 'alpha', aTeam).when({ type: 'create_task', task_id: 't2', title: 'x', blocked_by: ['t2'] }).thenRefuses('invalid_body', /cannot block itself/);
});

test('an update that would make a blocked_by cycle is refused', () => {
  given(teamEntity, 'alpha', [...aTeam, taskCreated('t2', ['t1']), taskCreated('t3', ['t2'])])
    .when({ type: 'update_task', task_id: 't1', blocked_by: ['t3'] })
    .thenRefuses('conflict', /cycle through t1/);
});

test('a task with an existing id is refused as a conflict', () => {
  given(teamEntity, 'alpha', aTeam).when({ type: 'create_task', task_id: 't1', title: 'again', blocked_by: [] }).thenRefuses('conflict', /already exists/);
});

test('creating a task blocked by existing tasks emits task_created with its blockers', () => {
  given(teamEntity, 'alpha', [...aTeam, taskCreated('t2')])
    .when({ type: 'create_task', task_id: 't3', title: 'do t3', blocked_by: ['t1', 't2'] })
    .then([taskCreated('t3', ['t1', 't2'])]);
});

test('making a claimed task blocked by an unfinished task is refused', () => {
  given(teamEntity, 'alpha', [...aTeam, taskCreated('t2'), claimed('t2', 'bob', 1)])
    .when({ type: 'update_task', task_id: 't2', blocked_by: ['t1'] })
    .thenRefuses('conflict', /cannot become blocked by t1/);
});

test('an update with nothing to change is refused', () => {
  given(teamEntity, 'alpha', aTeam).when({ type: 'update_task', task_id: 't1' }).thenRefuses('invalid_body', /at least one/);
});

test('an update of a completed task is refused', () => {
  given(teamEntity, 'alpha', [...aTeam, claimed('t1', 'ann', 1), completed('t1', 'ann', 1)])
    .when({ type: 'update_task', task_id: 't1', note: 'late' })
    .thenRefuses('conflict', /completed/);
});

test('a message to someone who is not a member is not_found', () => {
  given(teamEntity, 'alpha', aTeam).when({ type: 'send_message', message_id: 'm1', from: 'ann', to: 'zed', body: 'hi' }).thenRefuses('not_found', /zed is not a member/);
});

test('a message to a member who left is not_found', () => {
  given(teamEntity, 'alpha', [...aTeam, ev('member_left', { member_id: 'bob' })])
    .when({ type: 'send_message', message_id: 'm1', from: 'ann', to: 'bob', body: 'hi' })
    .thenRefuses('not_found', /bob is not a member/);
});

test('a message from someone who is not a member is not_found', () => {
  given(teamEntity, 'alpha', aTeam).when({ type: 'send_message', message_id: 'm1', from: 'zed', to: 'ann', body: 'hi' }).thenRefuses('not_found', /zed is not a member/);
});

test('a direct message to a member emits message_sent', () => {
  given(teamEntity, 'alpha', aTeam)
    .when({ type: 'send_message', message_id: 'm1', from: 'ann', to: 'bob', body: 'hi' })
    .then([ev('message_sent', { message_id: 'm1', from: 'ann', to: 'bob', body: 'hi' })]);
});

test('a broadcast to "*" is allowed', () => {
  given(teamEntity, 'alpha', aTeam)
    .when({ type: 'send_message', message_id: 'm1', from: 'lead', to: '*', body: 'standup' })
    .then([ev('message_sent', { message_id: 'm1', from: 'lead', to: '*', body: 'standup' })]);
});

test('a message id that is already used is refused, so a message is never silently replaced', () => {
  given(teamEntity, 'alpha', [...aTeam, sent('m1', 'ann', 'bob')])
    .when({ type: 'send_message', message_id: 'm1', from: 'lead', to: 'bob', body: 'other' })
    .thenRefuses('conflict', /m1 already exists/);
});

test('a message id stays used after the message was read', () => {
  given(teamEntity, 'alpha', [...aTeam, sent('m1', 'ann', 'bob'), ev('message_read', { message_id: 'm1', member_id: 'bob' })])
    .when({ type: 'send_message', message_id: 'm1', from: 'lead', to: 'bob', body: 'other' })
    .thenRefuses('conflict', /m1 already exists/);
});

test('marking a message read emits message_read', () => {
  given(teamEntity, 'alpha', [...aTeam, sent('m1', 'ann', 'bob')])
    .when({ type: 'read_message', message_id: 'm1', member_id: 'bob' })
    .then([ev('message_read', { message_id: 'm1', member_id: 'bob' })]);
});

test('marking a read message again emits nothing', () => {
  given(teamEntity, 'alpha', [...aTeam, sent('m1', 'ann', 'bob'), ev('message_read', { message_id: 'm1', member_id: 'bob' })])
    .when({ type: 'read_message', message_id: 'm1', member_id: 'bob' })
    .then([]);
});

test('a broadcast is read by each member on their own', () => {
  given(teamEntity, 'alpha', [...aTeam, sent('m1', 'lead', '*'), ev('message_read', { message_id: 'm1', member_id: 'ann' })])
    .when({ type: 'read_message', message_id: 'm1', member_id: 'bob' })
    .then([ev('message_read', { message_id: 'm1', member_id: 'bob' })]);
});

test('marking a message addressed to someone else is refused', () => {
  given(teamEntity, 'alpha', [...aTeam, sent('m1', 'ann', 'bob')]).when({ type: 'read_message', message_id: 'm1', member_id: 'lead' }).thenRefuses('conflict', /not addressed to lead/);
});

test('marking an unknown message is not_found', () => {
  given(teamEntity, 'alpha', aTeam).when({ type: 'read_message', message_id: 'm9', member_id: 'bob' }).thenRefuses('not_found', /no message m9/);
});

test('a shut-down team refuses changes: tasks, claims, members and messages', () => {
  const shutDown = [...aTeam, ev('team_shutdown', { reason: 'over' })];
  given(teamEntity, 'alpha', shutDown).when({ type: 'create_task', task_id: 't2', title: 'x', blocked_by: [] }).thenRefuses('conflict', /shut down/);
  given(teamEntity, 'alpha', shutDown).when({ type: 'claim_task', task_id: 't1', member_id: 'ann', lease_ms: LEASE }).thenRefuses('conflict', /shut down/);
  given(teamEntity, 'alpha', shutDown).when({ type: 'join_team', member_id: 'cat', name: 'Cat', role: 'member' }).thenRefuses('conflict', /shut down/);
  given(teamEntity, 'alpha', shutDown).when({ type: 'send_message', message_id: 'm1', from: 'ann', to: '*', body: 'hi' }).thenRefuses('conflict', /shut down/);
  given(teamEntity, 'alpha', shutDown).when({ type: 'shutdown_team' }).thenRefuses('conflict', /shut down/);
});

test('a shut-down team can still be removed', () => {
  given(teamEntity, 'alpha', [...aTeam, ev('team_shutdown', {})]).when({ type: 'remove_team', reason: 'delete' }).then([ev('team_removed', { reason: 'delete' })]);
});

test('a removed team is not_found for every command, removal included', () => {
  const removed = [...aTeam, ev('team_removed', { reason: 'delete' })];
  given(teamEntity, 'alpha', removed).when({ type: 'create_task', task_id: 't2', title: 'x', blocked_by: [] }).thenRefuses('not_found', /removed \(delete\)/);
  given(teamEntity, 'alpha', removed).when({ type: 'claim_task', task_id: 't1', member_id: 'ann', lease_ms: LEASE }).thenRefuses('not_found', /removed/);
  given(teamEntity, 'alpha', removed).when({ type: 'read_message', message_id: 'm1', member_id: 'ann' }).thenRefuses('not_found', /removed/);
  given(teamEntity, 'alpha', removed).when({ type: 'remove_team', reason: 'delete' }).thenRefuses('not_found', /removed/);
});

test('the lease sweep reclaims only claims whose lease lapsed', () => {
  given(teamEntity, 'alpha', [...aTeam, taskCreated('t2'), claimed('t1', 'ann', 1, later(1_000).toISOString()), claimed('t2', 'bob', 2, later(LEASE).toISOString())])
    .when({ type: 'reclaim_lapsed' }, later(1_000))
    .then([ev('task_reclaimed', { task_id: 't1', member_id: 'ann', fencing_token: 1, reason: 'lease_expired' })]);
});

test('a heartbeat renews the live claims of its session, keeping their fencing tokens, each said to be a renewal', () => {
  const bySession = ev('task_claimed', { task_id: 't1', member_id: 'ann', session_id: 's-ann', fencing_token: 4, lease_ms: LEASE, lease_expires_at: later(LEASE).toISOString() });
  given(teamEntity, 'alpha', [...aTeam, bySession])
    .when({ type: 'renew_claims', session_id: 's-ann' }, later(10_000))
    .then([ev('task_claimed', { task_id: 't1', member_id: 'ann', session_id: 's-ann', fencing_token: 4, lease_ms: LEASE, lease_expires_at: later(10_000 + LEASE).toISOString(), renewal: true })]);
});


test('every team fold counts unread messages alike: a message is unread until its first reader, and only the full fold keeps bodies', () => {
  const history = [
    ...aTeam,
    sent('m1', 'ann', 'bob'),
    sent('m2', 'lead', '*'),
    sent('m3', 'bob', 'ann'),
    ev('message_read', { message_id: 'm2', member_id: 'ann' }),
    ev('message_read', { message_id: 'm2', member_id: 'bob' }),
    ev('message_read', { message_id: 'm1', member_id: 'bob' }),
    ev('message_read', { message_id: 'm1', member_id: 'bob' }),
    ev('message_read', { message_id: 'nope', member_id: 'bob' }),
  ];
  const fold = (evolve: typeof evolveTeam) => history.reduce<TeamView | undefined>((team, event, i) => evolve(team, stored(event, i + 1)), undefined)!;
  const [full, lean, decide] = [fold(evolveTeam), fold(evolveLeanTeam), fold(evolveDecisionTeam)];
  for (const team of [full, lean, decide]) assert.equal(teamSummary(team).messages, { total: 3, unread: 1 });
  assert.equal([...full.messages.values()].map((m) => [m.message_id, m.read_by]), [['m1', ['bob']], ['m2', ['ann', 'bob']], ['m3', []]]);
  assert.equal([...decide.messages.values()].map((m) => [m.message_id, m.read_by, m.body]), [['m1', ['bob'], ''], ['m2', ['ann', 'bob'], ''], ['m3', [], '']]);
  assert.equal([...lean.messages.keys()], ['m3']);
  assert.is(full.messages.get('m3')!.body, 'hello from bob');
});

test("the teams projection folds each state on its own, also when one team's events go to two states in turn", () => {
  const [a, b] = [teamsProjection.initialState(), teamsProjection.initialState()];
  const events = aTeam.map((event, i) => stored(event, i + 1));
  teamsProjection.evolve(a, events[0]);
  teamsProjection.evolve(a, events[1]);
  teamsProjection.evolve(b, events[0]);
  teamsProjection.evolve(a, events[2]);
  teamsProjection.evolve(b, events[1]);
  assert.equal([...a.get('alpha')!.members.keys()], ['lead', 'ann']);
  assert.equal([...b.get('alpha')!.members.keys()], ['lead']);
  assert.equal([a.get('alpha')!.version, b.get('alpha')!.version], [3, 2]);
});

test.run();
