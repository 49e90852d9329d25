import type { ReplayFold } from '../store/types.js';
import { ReadModels } from './read-models.js';

/**
 * The fold a replay worker runs over its share of the logs (see `OpenOptions.parallel`): the read
 * models, whose states come back by structured clone (own fields, Maps kept) to `ReadModels.merge`.
 */
export function createReplayFold(): ReplayFold {
  const models = new ReadModels();
  return { apply: (envelope) => models.apply(envelope), result: () => models };
}
