import type { ReplayFold } from '../store/types.js';
import { ReadModels, type ReadModelsPart } from './read-models.js';

/**
 * The fold a replay worker runs over its share of the logs (see `OpenOptions.parallel`): the read
 * models, whose states come back to the pipeline's `ReadModels.merge`.
 */
export function createReplayFold(): ReplayFold {
  const models = new ReadModels();
  return {
    apply: (envelope) => models.apply(envelope),
    result: (): ReadModelsPart => ({
      teams: models.teams,
      recent: models.recent,
      idempotency: models.idempotency,
      sessions: models.sessions,
      remote: models.remote,
      workstreams: models.workstreams,
      cartography: models.cartography,
      pos: models.pos,
    }),
  };
}
