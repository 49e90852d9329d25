import type { Envelope } from '../../events/index.js';
import { idempotencyKeys } from '../../projections/idempotency.js';
import { recentTeamEvents } from '../../projections/recent.js';
import { remoteHealthProjection } from '../../projections/remote.js';
import { sessionsProjection } from '../../projections/session.js';
import { teamsProjection } from '../../projections/team.js';
import { cartographyProjection } from '../../projections/cartography.js';
import { credentialsProjection } from '../../projections/credentials.js';
import { workstreamsProjection } from '../../projections/workstream.js';

/** Every projection's state, folded from committed events only: what every surface reads. */
export class ReadModels {
  teams = teamsProjection.initialState();
  recent = recentTeamEvents.initialState();
  idempotency = idempotencyKeys.initialState();
  sessions = sessionsProjection.initialState();
  remote = remoteHealthProjection.initialState();
  workstreams = workstreamsProjection.initialState();
  cartography = cartographyProjection.initialState();
  credentials = credentialsProjection.initialState();
  /** The highest position folded in. */
  pos = 0;

  apply(event: Envelope): void {
    this.teams = teamsProjection.evolve(this.teams, event);
    this.recent = recentTeamEvents.evolve(this.recent, event);
    this.idempotency = idempotencyKeys.evolve(this.idempotency, event);
    this.sessions = sessionsProjection.evolve(this.sessions, event);
    this.remote = remoteHealthProjection.evolve(this.remote, event);
    this.workstreams = workstreamsProjection.evolve(this.workstreams, event);
    this.cartography = cartographyProjection.evolve(this.cartography, event);
    this.credentials = credentialsProjection.evolve(this.credentials, event);
    if (event.pos > this.pos) this.pos = event.pos;
  }

  /** Takes in what another thread folded from other streams (a parallel replay, `replay-fold.ts`). */
  merge(part: ReadModelsPart): void {
    this.teams = teamsProjection.merge(this.teams, part.teams);
    this.recent = recentTeamEvents.merge(this.recent, part.recent);
    this.idempotency = idempotencyKeys.merge(this.idempotency, part.idempotency);
    this.sessions = sessionsProjection.merge(this.sessions, part.sessions);
    this.remote = remoteHealthProjection.merge(this.remote, part.remote);
    this.workstreams = workstreamsProjection.merge(this.workstreams, part.workstreams);
    this.cartography = cartographyProjection.merge(this.cartography, part.cartography);
    this.credentials = credentialsProjection.merge(this.credentials, part.credentials);
    if (part.pos > this.pos) this.pos = part.pos;
  }
}

/** The read models' states as data: what a replay worker sends back (structured clone keeps Maps). */
export type ReadModelsPart = Pick<ReadModels, 'teams' | 'recent' | 'idempotency' | 'sessions' | 'remote' | 'workstreams' | 'cartography' | 'credentials' | 'pos'>;
