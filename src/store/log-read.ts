import fs from 'node:fs';
import { promisify } from 'node:util';
import { CorruptLogError } from '../errors.js';
import { decodeLine } from './line.js';

const read = promisify(fs.read);

/** What a seek reads at a time to find one whole line. */
const PROBE_BYTES = 16 << 10;
/**
 * What a log reader reads at a time: small enough that checking or decoding one chunk holds the
 * event loop for well under a millisecond, so a write waiting behind readers is not held long.
 */
export const LINES_CHUNK = 256 << 10;
const NEWLINE = 0x0a;

/** An open log: its committed bytes end at `size` with the line of seq `lastSeq` (seqs run 1, 2, 3… by line). */
export interface LogFile {
  fd: number;
  file: string;
  size: number;
  lastSeq: number;
}

/** The first whole line that starts at or after `from` and before `end`: its offset and seq. */
async function firstLineFrom(log: LogFile, from: number, end: number): Promise<{ start: number; seq: number } | undefined> {
  const at = from > 0 ? from - 1 : 0;
  let buf = Buffer.alloc(0);
  // Within buf; -1 until the newline ending the line that holds byte from-1 is found.
  let lineStart = from > 0 ? -1 : 0;
  for (;;) {
    if (lineStart < 0) {
      const nl = buf.indexOf(NEWLINE);
      if (nl >= 0) lineStart = nl + 1;
    }
    if (lineStart >= 0) {
      if (at + lineStart >= end) return undefined;
      const nl = buf.indexOf(NEWLINE, lineStart);
      if (nl >= 0) {
        const decoded = decodeLine(buf, lineStart, nl);
        if (!decoded.ok) throw new CorruptLogError(log.file, 0, `a committed line at offset ${at + lineStart} no longer reads: ${decoded.reason}`);
        return { start: at + lineStart, seq: decoded.envelope.seq };
      }
    }
    const readAt = at + buf.length;
    if (readAt >= log.size) return undefined;
    const more = Buffer.allocUnsafe(Math.min(PROBE_BYTES, log.size - readAt));
    const { bytesRead } = await read(log.fd, more, 0, more.length, readAt);
    if (bytesRead === 0) throw new CorruptLogError(log.file, 0, `committed bytes at offset ${readAt} are missing`);
    buf = Buffer.concat([buf, more.subarray(0, bytesRead)]);
  }
}

/**
 * Where to start reading for `seq`: a line at or before it (its offset and seq), found by bisecting
 * the file on its lines' seqs, so a read from the middle of a long log costs a few small reads,
 * not a decode of everything before it.
 */
export async function seekSeq(log: LogFile, seq: number): Promise<{ offset: number; seq: number }> {
  if (seq <= 1) return { offset: 0, seq: 1 };
  if (seq > log.lastSeq) return { offset: log.size, seq: log.lastSeq + 1 };
  // The line at lo has a seq at or before `seq`; the line of `seq` starts before hi.
  let lo = 0;
  let loSeq = 1;
  let hi = log.size;
  while (hi - lo > PROBE_BYTES) {
    const mid = lo + Math.floor((hi - lo) / 2);
    const line = await firstLineFrom(log, mid, hi);
    if (!line) hi = mid;
    else if (line.seq === seq) return { offset: line.start, seq };
    else if (line.seq < seq) [lo, loSeq] = [line.start, line.seq];
    else hi = line.start;
  }
  return { offset: lo, seq: loSeq };
}

/**
 * The committed lines from seq `fromSeq` on, at most `limit`, in chunks of whole lines (each
 * ending in a newline) as they lie in the file; each chunk is a read of its own, so the event loop
 * turns between them.
 */
export async function* lineChunks(log: LogFile, fromSeq: number, limit = Infinity): AsyncGenerator<Buffer> {
  const start = await seekSeq(log, fromSeq);
  let skip = Math.max(0, fromSeq - start.seq);
  let left = limit;
  let offset = start.offset;
  let carry: Buffer | undefined;
  while (offset < log.size && left > 0) {
    // A fresh buffer each time (what was yielded may still be on its way out), the line cut off at the end of the last one first.
    const carried = carry?.length ?? 0;
    const chunk = Buffer.allocUnsafe(carried + Math.min(LINES_CHUNK, log.size - offset));
    carry?.copy(chunk, 0);
    const { bytesRead } = await read(log.fd, chunk, carried, chunk.length - carried, offset);
    if (bytesRead === 0) throw new CorruptLogError(log.file, 0, `committed bytes at offset ${offset} are missing`);
    offset += bytesRead;
    const buf = chunk.subarray(0, carried + bytesRead);
    let from = 0;
    let to = 0;
    for (let nl = buf.indexOf(NEWLINE); nl !== -1 && left > 0; nl = buf.indexOf(NEWLINE, to)) {
      if (skip > 0) {
        skip--;
        from = nl + 1;
      } else left--;
      to = nl + 1;
    }
    carry = to < buf.length && left > 0 ? buf.subarray(to) : undefined;
    if (to > from) yield buf.subarray(from, to);
  }
}
