import { z } from 'zod';
import { EVENT_TYPES, type DomainEvent, type EventType } from './catalogue.js';
import { Timestamp, text } from './fields.js';

/** Who and why an event was written; never secrets. */
export const MetaSchema = z.strictObject({
  invocation_id: text(64).optional(),
  session_id: text(64).optional(),
  idempotency_key: text(200).optional(),
  request_hash: text(64).optional(),
  actor: text(64).optional(),
  /** The events of one append of two or more: recovery serves all of them or none. */
  batch: z.strictObject({ first_seq: z.number().int().positive(), count: z.number().int().min(2) }).optional(),
  /** The operation spanning several streams this event belongs to (its `operation_started` in system/operations). */
  operation_id: text(64).optional(),
});
export type Meta = z.output<typeof MetaSchema>;

/**
 * One line of an `events.jsonl`, in this field order:
 * `{"pos","stream","seq","id","type","at","data","meta","crc"}`.
 */
export const EnvelopeSchema = z.strictObject({
  pos: z.number().int().positive(),
  stream: z.string(),
  seq: z.number().int().positive(),
  id: z.uuid(),
  type: z.enum(EVENT_TYPES as [EventType, ...EventType[]]),
  at: Timestamp,
  data: z.record(z.string(), z.unknown()),
  meta: MetaSchema,
  crc: z.string().regex(/^[0-9a-f]{8}$/),
});

export type Envelope<E extends DomainEvent = DomainEvent> = {
  pos: number;
  stream: string;
  seq: number;
  id: string;
  type: E['type'];
  at: string;
  data: E['data'];
  meta: Meta;
  crc: string;
} & E;
