import { crc32 } from 'node:zlib';
import type { Envelope } from '../../events/index.js';

/** `,"crc":"xxxxxxxx"}` closes every line: the CRC covers every byte before it. */
const CRC_SUFFIX_LENGTH = ',"crc":"00000000"}'.length;
const NEWLINE = 0x0a;

export type EnvelopeFields = Omit<Envelope, 'crc'>;

/** Serialises an envelope into one log line (with `\n`), field order fixed, CRC last. */
export function encodeLine(fields: EnvelopeFields): { line: Buffer; crc: string } {
  const body = JSON.stringify({
    pos: fields.pos,
    stream: fields.stream,
    seq: fields.seq,
    id: fields.id,
    type: fields.type,
    at: fields.at,
    data: fields.data,
    meta: fields.meta,
  });
  const head = Buffer.from(body.slice(0, -1), 'utf8');
  const crc = crc32(head).toString(16).padStart(8, '0');
  return { line: Buffer.concat([head, Buffer.from(`,"crc":"${crc}"}\n`, 'latin1')]), crc };
}

export type DecodedLine = { ok: true; envelope: Envelope } | { ok: false; reason: string };

/** Checks a line (without its `\n`) and parses it; never throws. */
export function decodeLine(buf: Buffer, start = 0, end = buf.length): DecodedLine {
  const length = end - start;
  if (length === 0) return { ok: false, reason: 'empty line' };
  if (buf.subarray(start, end).indexOf(0) !== -1) return { ok: false, reason: 'NUL bytes' };
  if (length <= CRC_SUFFIX_LENGTH || buf[end - 1] !== 0x7d) return { ok: false, reason: 'not a complete envelope' };
  const suffixStart = end - CRC_SUFFIX_LENGTH;
  if (buf.toString('latin1', suffixStart, suffixStart + 8) !== ',"crc":"') return { ok: false, reason: 'no crc field' };
  const stored = buf.toString('latin1', suffixStart + 8, end - 2);
  const actual = crc32(buf.subarray(start, suffixStart)).toString(16).padStart(8, '0');
  if (stored !== actual) return { ok: false, reason: `crc mismatch (stored ${stored}, computed ${actual})` };
  let envelope: Envelope;
  try {
    envelope = JSON.parse(buf.toString('utf8', start, end));
  } catch (error) {
    return { ok: false, reason: `not JSON: ${(error as Error).message}` };
  }
  if (!Number.isSafeInteger(envelope.pos) || !Number.isSafeInteger(envelope.seq) || typeof envelope.type !== 'string') {
    return { ok: false, reason: 'missing pos, seq or type' };
  }
  return { ok: true, envelope };
}

/** Calls `onLine(start, end)` for each complete line in `buf` and returns where the unterminated rest begins. */
export function splitLines(buf: Buffer, onLine: (start: number, end: number) => void): number {
  let start = 0;
  for (let nl = buf.indexOf(NEWLINE, start); nl !== -1; nl = buf.indexOf(NEWLINE, start)) {
    onLine(start, nl);
    start = nl + 1;
  }
  return start;
}
