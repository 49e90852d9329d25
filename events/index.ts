/** The event catalogue: envelope, one zod schema per event type, and the helpers that read them. */
export { ID_PATTERN, Id } from './fields.js';
export {
  DomainEventSchema,
  EVENT_TYPES,
  STREAM_KINDS,
  eventData,
  idIn,
  kindOf,
  parseStreamName,
  streamKind,
  streamName,
  streamRef,
  type DomainEvent,
  type EventDataOf,
  type EventOf,
  type EventType,
  type StreamKind,
  type StreamName,
  type StreamRef,
} from './catalogue.js';
export { EnvelopeSchema, MetaSchema, type Envelope, type Meta } from './envelope.js';
export { parseEvent, formatIssues, type ParseResult } from './parse.js';
export { Recipient, TeamRole } from './teams.js';
export { CleanupOutcome, CleanupScope, CredentialRole, CredentialScope, RemoteFailureKind } from './system.js';
export { Boundary, GitContext, NaniteOutcome, PlanKind, RecipeArgv, Severity, StepName, WorkstreamStatus } from './workstreams.js';
