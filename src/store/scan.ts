import fs from 'node:fs';
import type { Envelope } from '../../events/index.js';
import { CorruptLogError } from '../errors.js';
import { decodeLine, splitLines } from './line.js';

/** Bytes read from a log at a time on startup. */
export const READ_CHUNK = 1 << 20;

/** What a scan of one log found; undefined from `scanLog` when there is no file. */
export interface ScannedLog {
  /** The file's size when read. */
  size: number;
  /** Where the last good line ends: whatever follows is a torn tail. */
  goodEnd: number;
  /** The seq of the last good line (its line number: seqs run 1, 2, 3…). */
  seq: number;
  lastPos: number;
  /** Why the first bad line (the start of a torn tail) is bad. */
  badLine?: string;
}

/** A reusable read buffer: one scan after another grows it as far as the longest line needs. */
export interface ScanBuffer {
  buffer: Buffer;
}

export const newScanBuffer = (): ScanBuffer => ({ buffer: Buffer.allocUnsafe(READ_CHUNK) });

/**
 * Reads one log start to end and checks every line: CRC, shape, that it belongs to `stream`, seq
 * one above the last, pos above the last. Each good line goes to `onLine` with its byte offset
 * and length. A bad line followed by a good one is corruption (thrown, naming file and line); a
 * bad line with nothing good after it is a torn tail, left to the caller. Synchronous: startup has
 * nothing else to do, and reads into one reused buffer are the fastest way through.
 */
export function scanLog(
  file: string,
  stream: string,
  scratch: ScanBuffer,
  onLine: (envelope: Envelope, offset: number, length: number, lineNo: number) => void,
  /** Where a known good prefix ends (a snapshot's checkpoint): the scan starts there. */
  from: { offset: number; seq: number; lastPos: number } = { offset: 0, seq: 0, lastPos: 0 },
): ScannedLog | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let lineNo = from.seq;
  let goodEnd = from.offset;
  let lastPos = from.lastPos;
  let seq = from.seq;
  let firstBad: { line: number; reason: string } | undefined;
  let size = 0;
  const batch = new BatchHolder();
  try {
    size = fs.fstatSync(fd).size;
    let offset = from.offset;
    let carried = 0;
    while (offset < size) {
      if (scratch.buffer.length < carried + READ_CHUNK) {
        const bigger = Buffer.allocUnsafe(2 * (carried + READ_CHUNK));
        scratch.buffer.copy(bigger, 0, 0, carried);
        scratch.buffer = bigger;
      }
      const buf = scratch.buffer;
      const bytesRead = fs.readSync(fd, buf, carried, Math.min(READ_CHUNK, size - offset), offset);
      if (bytesRead === 0) break;
      const bufStart = offset - carried;
      offset += bytesRead;
      const end = carried + bytesRead;
      const view = buf.subarray(0, end);
      const rest = splitLines(view, (s, e) => {
        lineNo++;
        const decoded = decodeLine(view, s, e);
        let reason = decoded.ok ? undefined : decoded.reason;
        if (decoded.ok) {
          const { envelope } = decoded;
          if (envelope.stream !== stream) reason = `stream "${envelope.stream}" in the log of ${stream}`;
          else if (envelope.seq !== seq + 1) reason = `seq ${envelope.seq} where ${seq + 1} was due`;
          else if (envelope.pos <= lastPos) reason = `pos ${envelope.pos} not above ${lastPos}`;
        }
        // After a bad line any intact line is corruption, even if its seq no longer follows on.
        if (firstBad && decoded.ok) throw new CorruptLogError(file, firstBad.line, `${firstBad.reason}, and line ${lineNo} after it is good`);
        if (reason !== undefined) {
          firstBad ??= { line: lineNo, reason };
          return;
        }
        const { envelope } = decoded as { envelope: Envelope };
        const line: HeldLine = { envelope, offset: bufStart + s, length: e - s + 1, lineNo };
        seq = envelope.seq;
        if (batch.hold(file, line)) return;
        for (const held of batch.release(line)) {
          goodEnd = held.offset + held.length;
          lastPos = held.envelope.pos;
          onLine(held.envelope, held.offset, held.length, held.lineNo);
        }
      });
      carried = end - rest;
      if (carried > 0) buf.copy(buf, 0, rest, end);
    }
  } finally {
    fs.closeSync(fd);
  }
  // A batch cut short at the end is torn like a line: none of it is served.
  const open = batch.unfinished();
  if (open) return { size, goodEnd, seq: open.first_seq - 1, lastPos, badLine: firstBad?.reason ?? `${open.held} of the ${open.count} events of one append (seq ${open.first_seq} on)` };
  return { size, goodEnd, seq, lastPos, badLine: firstBad?.reason };
}

interface HeldLine {
  envelope: Envelope;
  offset: number;
  length: number;
  lineNo: number;
}

/** The lines of one append of several (meta.batch) are held back until its last one is read. */
class BatchHolder {
  private held: HeldLine[] = [];
  private open: { first_seq: number; count: number } | undefined;

  /** True when `line` is held back, the batch not yet complete; a line that breaks into an open batch is corruption. */
  hold(file: string, line: HeldLine): boolean {
    const marker = line.envelope.meta?.batch;
    if (this.open && (marker?.first_seq !== this.open.first_seq || marker.count !== this.open.count)) {
      throw new CorruptLogError(file, line.lineNo, `seq ${line.envelope.seq} is not of the append that began at seq ${this.open.first_seq} (${this.open.count} events)`);
    }
    if (!marker || line.envelope.seq === marker.first_seq + marker.count - 1) return false;
    if (!this.open) {
      if (line.envelope.seq !== marker.first_seq) throw new CorruptLogError(file, line.lineNo, `seq ${line.envelope.seq} opens an append said to begin at seq ${marker.first_seq}`);
      this.open = { first_seq: marker.first_seq, count: marker.count };
    }
    this.held.push(line);
    return true;
  }

  /** `line` plus the lines held before it, now that their batch is whole (or `line` is in none). */
  release(line: HeldLine): HeldLine[] {
    if (!this.open) return [line];
    const out = [...this.held, line];
    this.held = [];
    this.open = undefined;
    return out;
  }

  unfinished(): { first_seq: number; count: number; held: number } | undefined {
    return this.open && { ...this.open, held: this.held.length };
  }
}
