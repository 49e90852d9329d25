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
        seq = envelope.seq;
        goodEnd = bufStart + e + 1;
        lastPos = envelope.pos;
        onLine(envelope, bufStart + s, e - s + 1, lineNo);
      });
      carried = end - rest;
      if (carried > 0) buf.copy(buf, 0, rest, end);
    }
  } finally {
    fs.closeSync(fd);
  }
  return { size, goodEnd, seq, lastPos, badLine: firstBad?.reason };
}
