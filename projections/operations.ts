import type { EventOf } from '../events/index.js';
import { mergeByKey, type Projection } from './types.js';

export type OperationView = EventOf<'operation_started'>['data'] & { started_pos: number };

/**
 * The operations over several streams that started and did not complete: what startup and a keyed
 * retry finish. Both events are in system/operations, so a parallel replay never splits one.
 */
export const openOperations: Projection<Map<string, OperationView>> = {
  name: 'open-operations',
  version: 1,
  handles: ['system'],
  initialState: () => new Map(),
  merge: mergeByKey,
  evolve(open, event) {
    if (event.type === 'operation_started') {
      const data = event.data as EventOf<'operation_started'>['data'];
      open.set(data.operation_id, { ...data, started_pos: event.pos });
    } else if (event.type === 'operation_completed') open.delete((event.data as { operation_id: string }).operation_id);
    return open;
  },
};
