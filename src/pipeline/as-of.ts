import { z } from 'zod';
import type { Envelope, StreamName } from '../../events/index.js';
import { BmoError } from '../errors.js';
import type { EventStore } from '../store/index.js';
import { ReadModels } from './read-models.js';

/** A point in the log: a position, or a time (the last position at or before it). */
export type AsOf = { pos: number } | { time: number; iso: string };

const ZONELESS_TIME = /^\d{4}-\d\d-\d\dT[\d:.]+$/;
const TIME = /^\d{4}-\d\d-\d\d(T[\d:.]+(Z|[+-]\d\d:\d\d))?$/;

/**
 * The point `raw` names, or why it names none: a whole position from 1, or an ISO-8601 time with
 * its zone (`Z` or an offset); a date alone is that day's 00:00 UTC. A time without a zone is
 * refused: the server's clock and the caller's may be in different zones, and either reading
 * would be a guess.
 */
export function asOfFrom(raw: string): AsOf | { refused: string } {
  if (/^\d{1,15}$/.test(raw) && Number(raw) >= 1) return { pos: Number(raw) };
  if (/^\d{16,}$/.test(raw)) return { refused: `${raw.slice(0, 20)}${raw.length > 20 ? '…' : ''} is beyond any log's head (a position has at most 15 digits)` };
  if (ZONELESS_TIME.test(raw)) return { refused: `${raw} has no time zone; add Z for UTC (${raw}Z) or an offset such as +02:00` };
  if (TIME.test(raw) && !dayExists(raw)) return { refused: `${raw.slice(0, 10)} is not a day on the calendar` };
  const time = TIME.test(raw) ? Date.parse(raw) : NaN;
  if (Number.isNaN(time)) return { refused: 'must be a position (a whole number from 1) or an ISO-8601 time with its zone, such as 2026-01-01T10:00:00Z' };
  return { time, iso: new Date(time).toISOString() };
}

/** Whether the date a time opens with is on the calendar: Date.parse rolls 2026-02-30 over into March. */
function dayExists(raw: string): boolean {
  const [year, month, day] = raw.slice(0, 10).split('-').map(Number);
  return month >= 1 && month <= 12 && day >= 1 && day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** `as_of` in a query, checked and kept as given (a route turns it into its point with `asOfFrom`; a tool passes it on as it came). */
export const AsOfParam = z
  .union([z.number().int().min(1).transform(String), z.string()])
  .pipe(z.string())
  .check((ctx) => {
    const point = asOfFrom(ctx.value);
    if ('refused' in point) ctx.issues.push({ code: 'custom', message: point.refused, input: ctx.value });
  })
  .describe('the answer as it was at this point: a log position (a whole number from 1) or an ISO-8601 time with its zone (2026-01-01T10:00:00Z)');

/** Whether an event is at or before the point: folds stop at the first one past it (events come in pos order). */
export function reached(asOf: AsOf, event: Envelope): boolean {
  return 'pos' in asOf ? event.pos <= asOf.pos : Date.parse(event.at) <= asOf.time;
}

/** A point past the head (or in the future) is refused, naming the field: it has no answer yet. */
export function checkAsOf(asOf: AsOf, head: number, now: Date): void {
  if ('pos' in asOf && asOf.pos > head) {
    throw new BmoError('bad_request', `as_of: pos ${asOf.pos} is beyond the head of the log (${head}); ask for ${head} or less`, { field: 'query.as_of' });
  }
  if ('time' in asOf && asOf.time > now.getTime()) {
    throw new BmoError('bad_request', `as_of: ${asOf.iso} is in the future (now ${now.toISOString()}); ask for a time already past`, { field: 'query.as_of' });
  }
}

export function describeAsOf(asOf: AsOf): string {
  return 'pos' in asOf ? `pos ${asOf.pos}` : asOf.iso;
}

/**
 * One entity as it was at the point: its log folded with the evolve function the live detail
 * uses, up to the point. `pos` is that of the last event folded; undefined state: it did not exist yet.
 */
export async function foldStreamAsOf<S>(store: EventStore, stream: StreamName, evolve: (state: S | undefined, event: Envelope) => S | undefined, asOf: AsOf) {
  let state: S | undefined;
  let pos = 0;
  let at: string | undefined;
  for await (const { envelope } of store.readStream(stream)) {
    if (!reached(asOf, envelope)) break;
    state = evolve(state, envelope);
    pos = envelope.pos;
    at = envelope.at;
  }
  return { state, pos, at };
}

/** Events read a page at a time when the whole store is folded to a point. */
const PAGE = 4096;

/**
 * Every read model as it was at a point: the store folded from its start, in pos order, so it
 * costs a read of the log up to there (about a replay's time for that many events). One fold runs
 * at a time, and the last result is kept: asking again for the same point costs nothing.
 */
export class ModelsAsOf {
  private last: { key: string; result: Promise<{ models: ReadModels; at?: string }> } | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly store: EventStore) {}

  get(asOf: AsOf): Promise<{ models: ReadModels; at?: string }> {
    const key = 'pos' in asOf ? `p${asOf.pos}` : `t${asOf.time}`;
    if (this.last?.key === key) return this.last.result;
    const result = this.queue.then(() => this.fold(asOf));
    this.queue = result.catch(() => {});
    this.last = { key, result };
    result.catch(() => {
      if (this.last?.key === key) this.last = undefined;
    });
    return result;
  }

  private async fold(asOf: AsOf): Promise<{ models: ReadModels; at?: string }> {
    const models = new ReadModels();
    let at: string | undefined;
    for (let from = 0; ; ) {
      const { events, next } = await this.store.readAll(from, { limit: PAGE });
      for (const { envelope } of events) {
        if (!reached(asOf, envelope)) return { models, at };
        models.apply(envelope);
        at = envelope.at;
        if ('pos' in asOf && envelope.pos >= asOf.pos) return { models, at };
      }
      if (events.length === 0 || next <= from) return { models, at };
      from = next;
    }
  }
}
