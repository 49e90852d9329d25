import * as assert from 'uvu/assert';
import type { DomainEvent, Envelope } from '../../events/index.js';
import type { Entity } from '../../src/domain/entity.js';
import { BmoError, type ErrorCode } from '../../src/errors.js';

/**
 * Given / when / then for a decider: `given(entity, id, pastEvents).when(command, now).then(events)`
 * or `.thenRefuses('conflict', /claimed/)`.
 */
export function given<S, C>(entity: Entity<S, C>, id: string, past: DomainEvent[], at = new Date('2026-01-01T00:00:00Z')) {
  let state: S | undefined;
  past.forEach((event, i) => {
    state = entity.evolve(state, { ...event, pos: i + 1, stream: `${entity.kind}/${id}`, seq: i + 1, id: '', at: at.toISOString(), meta: {}, crc: '' } as Envelope);
  });
  return {
    when(command: C, now = at) {
      const run = () => entity.decide(command, state, now, id);
      return {
        then(expected: DomainEvent[] | ((events: DomainEvent[]) => void)) {
          const events = run();
          if (typeof expected === 'function') expected(events);
          else assert.equal(JSON.parse(JSON.stringify(events)), JSON.parse(JSON.stringify(expected)));
        },
        thenRefuses(code: ErrorCode, message?: RegExp) {
          try {
            run();
          } catch (error) {
            assert.instance(error, BmoError);
            assert.is((error as BmoError).code, code, (error as Error).message);
            if (message) assert.match((error as Error).message, message);
            return;
          }
          assert.unreachable(`expected a ${code} refusal`);
        },
      };
    },
  };
}
