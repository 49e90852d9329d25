import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Envelope, EventOf } from '../../events/index.js';
import { credentialsProjection } from '../../projections/credentials.js';
import { credentialEntity } from '../../src/domain/credentials.js';
import { given } from '../helpers/given.js';

const HASH = `sha256:${'ab'.repeat(32)}`;
const issued = (credential_id: string, extra: Partial<EventOf<'credential_issued'>['data']> = {}) =>
  ({ type: 'credential_issued', data: { credential_id, name: credential_id, role: 'agent', member_id: credential_id, scope: { teams: '*', workstreams: [] }, secret_hash: HASH, ...extra } }) as EventOf<'credential_issued'>;
const revoked = (credential_id: string) => ({ type: 'credential_revoked', data: { credential_id, reason: 'rotated' } }) as EventOf<'credential_revoked'>;

test('issuing a credential records it with only the hash of its secret', () => {
  given(credentialEntity, 'credentials', []).when({ type: 'issue_credential', credential: issued('c1').data }).then([issued('c1')]);
});

test('an id is issued once; an agent names its member, an observer none', () => {
  given(credentialEntity, 'credentials', [issued('c1')]).when({ type: 'issue_credential', credential: issued('c1').data }).thenRefuses('conflict', /exists already/);
  given(credentialEntity, 'credentials', []).when({ type: 'issue_credential', credential: issued('c2', { member_id: undefined }).data }).thenRefuses('invalid_body', /acts as one member/);
  given(credentialEntity, 'credentials', []).when({ type: 'issue_credential', credential: issued('c3', { role: 'observer' }).data }).thenRefuses('invalid_body', /only an agent acts as a member/);
});

test('revoking: an unknown credential is not found, a revoked one is not revoked twice', () => {
  given(credentialEntity, 'credentials', [issued('c1')]).when({ type: 'revoke_credential', credential_id: 'c1', reason: 'rotated' }).then([revoked('c1')]);
  given(credentialEntity, 'credentials', []).when({ type: 'revoke_credential', credential_id: 'c1', reason: 'x' }).thenRefuses('not_found');
  given(credentialEntity, 'credentials', [issued('c1'), revoked('c1')]).when({ type: 'revoke_credential', credential_id: 'c1', reason: 'x' }).thenRefuses('conflict', /revoked already/);
});

test('the projection folds credentials and what each one created, joined or started, the same split across threads', () => {
  let pos = 0;
  const env = (stream: string, type: string, data: object, actor?: string) => ({ pos: ++pos, stream, seq: 1, id: '', type, at: '2026-01-01T00:00:00.000Z', data, meta: actor ? { actor } : {}, crc: '' }) as Envelope;
  const events = [
    env('system/credentials', 'credential_issued', issued('c1').data),
    env('teams/a', 'team_created', { team_id: 'a', name: 'A', lead_member_id: 'c1' }, 'c1'),
    env('teams/b', 'member_joined', { member_id: 'c1', name: 'C', role: 'member' }, 'c1'),
    env('workstreams/w', 'workstream_created', { workstream_id: 'w', label: 'W' }, 'c1'),
    env('sessions/s1', 'session_started', { session_id: 's1', lease_ms: 1000 }, 'c1'),
    env('sessions/s2', 'session_started', { session_id: 's2', lease_ms: 1000 }, 'c1'),
    env('teams/x', 'team_created', { team_id: 'x', name: 'X', lead_member_id: 'lead' }, 'admin'),
  ];
  const fold = (list: Envelope[]) => list.reduce((state, e) => credentialsProjection.evolve(state, e), credentialsProjection.initialState());
  const whole = fold(events);
  assert.equal([...whole.teams.get('c1')!].sort(), ['a', 'b']);
  assert.equal([...whole.workstreams.get('c1')!], ['w']);
  assert.is(whole.sessions.get('c1')!.latest, 's2');
  // Streams folded on two threads in any order, then merged: the same state.
  const merged = credentialsProjection.merge(fold([events[5], events[2], events[6]]), fold([events[0], events[1], events[3], events[4]]));
  assert.equal(merged, whole);
});

test.run();
