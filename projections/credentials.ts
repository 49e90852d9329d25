import { STREAM_KINDS, streamRef, type CredentialRole, type Envelope } from '../events/index.js';
import type { Projection } from './types.js';

/** The stream every credential lives in. */
export const CREDENTIALS_STREAM = 'system/credentials';


export interface CredentialView {
  credential_id: string;
  name: string;
  role: CredentialRole;
  member_id?: string;
  session_id?: string;
  scope: { teams: '*' | string[]; workstreams: string[] };
  secret_hash: string;
  issued_at: string;
  issued_pos: number;
  expires_at?: string;
  revoked_at?: string;
  revoked_reason?: string;
}

/**
 * Every credential, and what each one created or joined (from `meta.actor`): the teams an agent
 * with scope `*` acts in and the workstreams it may write come from its own events.
 */
export interface CredentialsState {
  credentials: Map<string, CredentialView>;
  /** Credential id → the teams it created or joined. */
  teams: Map<string, Set<string>>;
  /** Credential id → the workstreams it created. */
  workstreams: Map<string, Set<string>>;
  /** Credential id → the sessions it started, and the latest of them (by pos): an agent's own. */
  sessions: Map<string, { ids: Set<string>; latest: string; latest_pos: number }>;
}

function evolveCredentials(state: CredentialsState, event: Envelope): void {
  if (event.type === 'credential_issued') {
    const d = event.data;
    state.credentials.set(d.credential_id, {
      credential_id: d.credential_id,
      name: d.name,
      role: d.role,
      member_id: d.member_id,
      session_id: d.session_id,
      scope: d.scope,
      secret_hash: d.secret_hash,
      issued_at: event.at,
      issued_pos: event.pos,
      expires_at: d.expires_at,
    });
  } else if (event.type === 'credential_revoked') {
    const credential = state.credentials.get(event.data.credential_id);
    if (credential && credential.revoked_at === undefined) {
      credential.revoked_at = event.at;
      credential.revoked_reason = event.data.reason;
    }
  }
}

const addTo = (sets: Map<string, Set<string>>, key: string, value: string) => {
  let set = sets.get(key);
  if (!set) sets.set(key, (set = new Set()));
  set.add(value);
};

function addSession(state: CredentialsState, credentialId: string, sessionId: string, pos: number): void {
  const started = state.sessions.get(credentialId);
  if (!started) state.sessions.set(credentialId, { ids: new Set([sessionId]), latest: sessionId, latest_pos: pos });
  else {
    started.ids.add(sessionId);
    if (pos > started.latest_pos) Object.assign(started, { latest: sessionId, latest_pos: pos });
  }
}

export const credentialsProjection: Projection<CredentialsState> = {
  name: 'credentials',
  version: 1,
  handles: STREAM_KINDS,
  initialState: () => ({ credentials: new Map(), teams: new Map(), workstreams: new Map(), sessions: new Map() }),
  merge(state, part) {
    for (const [id, credential] of part.credentials) if (!state.credentials.has(id)) state.credentials.set(id, credential);
    for (const [id, teams] of part.teams) for (const team of teams) addTo(state.teams, id, team);
    for (const [id, workstreams] of part.workstreams) for (const ws of workstreams) addTo(state.workstreams, id, ws);
    for (const [id, started] of part.sessions) for (const session of started.ids) addSession(state, id, session, session === started.latest ? started.latest_pos : 0);
    return state;
  },
  evolve(state, event) {
    if (event.stream === CREDENTIALS_STREAM) evolveCredentials(state, event);
    const actor = event.meta.actor;
    if (actor === undefined) return state;
    if (event.type === 'team_created' || event.type === 'member_joined') addTo(state.teams, actor, streamRef(event.stream).id);
    else if (event.type === 'workstream_created') addTo(state.workstreams, actor, streamRef(event.stream).id);
    else if (event.type === 'session_started') addSession(state, actor, event.data.session_id, event.pos);
    return state;
  },
};

/** Why a credential no longer admits anyone, if it does not: revoked, or expired at `now`. */
export function credentialLapse(credential: CredentialView, now: Date): string | undefined {
  if (credential.revoked_at !== undefined) return `was revoked at ${credential.revoked_at} (${credential.revoked_reason})`;
  if (credential.expires_at !== undefined && Date.parse(credential.expires_at) <= now.getTime()) return `expired at ${credential.expires_at}`;
  return undefined;
}

/** A credential as lists and answers show it: never its secret, nor the secret's hash. */
export function presentCredential(credential: CredentialView, now: Date) {
  const { secret_hash: _hash, issued_pos: _pos, ...shown } = credential;
  const lapse = credential.revoked_at !== undefined ? 'revoked' : credential.expires_at !== undefined && Date.parse(credential.expires_at) <= now.getTime() ? 'expired' : 'active';
  return { ...shown, state: lapse };
}
