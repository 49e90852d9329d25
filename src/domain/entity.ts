import type { DomainEvent, Envelope, StreamKind } from '../../events/index.js';

/** A decider: how an entity's log folds into its state, and what a command on it means. */
export interface Entity<S, C> {
  readonly kind: StreamKind;
  evolve(state: S | undefined, event: Envelope): S | undefined;
  decide(command: C, state: S | undefined, now: Date, id: string): DomainEvent[];
}
