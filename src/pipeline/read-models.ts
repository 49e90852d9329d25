import type { Envelope } from '../../events/index.js';
import { idempotencyKeys } from '../../projections/idempotency.js';
import { recentTeamEvents } from '../../projections/recent.js';
import { remoteHealthProjection } from '../../projections/remote.js';
import { sessionsProjection } from '../../projections/session.js';
import { teamsProjection } from '../../projections/team.js';

/** Every projection's state, folded from committed events only: what every surface reads. */
export class ReadModels {
  teams = teamsProjection.initialState();
  recent = recentTeamEvents.initialState();
  idempotency = idempotencyKeys.initialState();
  sessions = sessionsProjection.initialState();
  remote = remoteHealthProjection.initialState();
  /** The highest position folded in. */
  pos = 0;

  apply(event: Envelope): void {
    this.teams = teamsProjection.evolve(this.teams, event);
    this.recent = recentTeamEvents.evolve(this.recent, event);
    this.idempotency = idempotencyKeys.evolve(this.idempotency, event);
    this.sessions = sessionsProjection.evolve(this.sessions, event);
    this.remote = remoteHealthProjection.evolve(this.remote, event);
    if (event.pos > this.pos) this.pos = event.pos;
  }
}
