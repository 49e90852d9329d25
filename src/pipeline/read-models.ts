import type { Envelope } from '../../events/index.js';
import { idempotencyKeys } from '../../projections/idempotency.js';
import { recentTeamEvents } from '../../projections/recent.js';
import { remoteHealthProjection } from '../../projections/remote.js';
import { sessionsProjection } from '../../projections/session.js';
import { teamsProjection } from '../../projections/team.js';
import { cartographyProjection } from '../../projections/cartography.js';
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
    if (event.pos > this.pos) this.pos = event.pos;
  }
}
