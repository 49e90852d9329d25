import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { EnvelopeSchema, formatIssues, parseStreamName, type DomainEvent, type Envelope, type StreamName } from '../../events/index.js';
import { BmoError } from '../errors.js';
import { checkEvents } from './checks.js';
import { decodeLine } from './line.js';
import type { EventStore } from './types.js';

/** Events read or appended per round: one page of `readAll`, one window of appends in flight. */
const BATCH = 4096;

export interface TransferProgress {
  events: number;
  /** Of how many, when known (an export knows its head; an import reads a stream of unknown length). */
  total?: number;
}

/**
 * Writes every committed event, in pos order, as its stored line: the NDJSON `importStore` reads,
 * CRC included. Stops at the head it found on starting, so the output is one consistent prefix.
 */
export async function exportStore(store: EventStore, out: Writable, onProgress?: (progress: TransferProgress) => void): Promise<number> {
  const end = store.head();
  let from = 0;
  let written = 0;
  while (from < end) {
    const { events, next } = await store.readAll(from, { limit: BATCH });
    for (const { envelope, line } of events) {
      if (envelope.pos > end) break;
      if (!out.write(line)) await once(out, 'drain');
      written++;
    }
    if (next <= from) break;
    from = next;
    onProgress?.({ events: written, total: end });
  }
  return written;
}

export interface ImportResult {
  events: number;
  streams: number;
  /** Events whose position in the new store differs from the one in the file (a source with gaps). */
  renumbered: number;
}

/**
 * Appends the events of an export, in its order, to an empty store: each keeps its stream, seq,
 * id, time, data and meta; positions are handed out anew (the same ones when the source had no
 * gaps). A first pass checks the whole export (each line's CRC and shape, its event against the
 * catalogue, pos order, each stream's seq running 1, 2, 3…) so that a bad export writes nothing
 * and the error names its line; the second appends, pipelined so that appends share syncs.
 * `open` gives the export from its beginning, once per pass.
 */
export async function importStore(store: EventStore, open: () => Readable, onProgress?: (progress: TransferProgress) => void): Promise<ImportResult> {
  const refuseIfNotEmpty = () => {
    if (store.head() !== 0) {
      throw new BmoError('conflict', `the target store already holds ${store.head()} events; import only into an empty one (a new data directory or schema)`);
    }
  };
  refuseIfNotEmpty();
  const { events: total, streams } = await checkExport(open());
  refuseIfNotEmpty();
  let imported = 0;
  let renumbered = 0;
  let window: Promise<void>[] = [];
  const settle = async () => {
    await Promise.all(window);
    window = [];
    onProgress?.({ events: imported, total });
  };
  try {
    for await (const { envelope } of exportLines(open())) {
      const sourcePos = envelope.pos;
      const event = { type: envelope.type, data: envelope.data } as DomainEvent;
      const appended = store.append(envelope.stream as StreamName, [event], { expectedVersion: envelope.seq - 1, meta: envelope.meta, at: new Date(envelope.at), ids: [envelope.id] });
      window.push(
        appended.then(([stored]) => {
          imported++;
          if (stored.pos !== sourcePos) renumbered++;
        }),
      );
      if (window.length >= BATCH) await settle();
    }
    await settle();
  } catch (error) {
    await Promise.allSettled(window);
    if (imported > 0 && error instanceof Error) error.message += ` (${imported} of ${total} events were imported; start again on an empty store)`;
    throw error;
  }
  return { events: imported, streams, renumbered };
}

/** Reads a whole export and throws at its first bad line, naming it; answers how many events and streams it holds. */
export async function checkExport(input: Readable): Promise<{ events: number; streams: number }> {
  const seqs = new Map<string, number>();
  let lastPos = 0;
  let events = 0;
  for await (const { envelope, lineNo } of exportLines(input)) {
    const where = `line ${lineNo} (${envelope.stream} seq ${envelope.seq})`;
    const parsed = parseStreamName(envelope.stream);
    if (!parsed) throw new BmoError('bad_request', `${where}: "${envelope.stream}" is not a stream name (kind/id)`);
    try {
      checkEvents(parsed.kind, [{ type: envelope.type, data: envelope.data } as DomainEvent]);
    } catch (error) {
      throw new BmoError('bad_request', `${where}: ${(error as Error).message.replace(/^events\[0\]\./, '')}`);
    }
    if (envelope.pos <= lastPos) throw new BmoError('bad_request', `${where}: pos ${envelope.pos} does not follow ${lastPos}; an export lists events in pos order`);
    const expected = (seqs.get(envelope.stream) ?? 0) + 1;
    if (envelope.seq !== expected) throw new BmoError('bad_request', `${where}: expected seq ${expected} of ${envelope.stream}; the export is incomplete or out of order`);
    lastPos = envelope.pos;
    seqs.set(envelope.stream, envelope.seq);
    events++;
  }
  return { events, streams: seqs.size };
}

/** The envelopes of an export, each checked for its CRC and shape, with its line number. */
async function* exportLines(input: Readable): AsyncGenerator<{ envelope: Envelope; lineNo: number }> {
  const lines = createInterface({ input, crlfDelay: Infinity });
  let lineNo = 0;
  try {
    for await (const text of lines) {
      lineNo++;
      if (text === '') continue;
      const decoded = decodeLine(Buffer.from(text, 'utf8'));
      if (!decoded.ok) throw new BmoError('bad_request', `line ${lineNo}: ${decoded.reason}; not a line of \`bmo export\``);
      const checked = EnvelopeSchema.safeParse(decoded.envelope);
      if (!checked.success) throw new BmoError('bad_request', `line ${lineNo}: ${formatIssues(checked.error).message}`);
      yield { envelope: decoded.envelope, lineNo };
    }
  } finally {
    lines.close();
    input.destroy();
  }
}
