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
  // One buffer: the JSON without its closing brace (ASCII, so cutting one byte cuts one character), then the CRC suffix.
  const headLength = Buffer.byteLength(body) - 1;
  const line = Buffer.allocUnsafe(headLength + CRC_SUFFIX_LENGTH + 1);
  line.write(body, 0, headLength, 'utf8');
  const crc = crcHex(crc32(line.subarray(0, headLength)));
  line.write(`,"crc":"${crc}"}\n`, headLength, 'latin1');
  return { line, crc };
}

/** Two hex digits for each byte value. */
const BYTE_HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/** A CRC as 8 lowercase hex digits (a table, not `toString(16)`, which costs more than the CRC itself). */
export function crcHex(crc: number): string {
  return BYTE_HEX[crc >>> 24] + BYTE_HEX[(crc >>> 16) & 0xff] + BYTE_HEX[(crc >>> 8) & 0xff] + BYTE_HEX[crc & 0xff];
}

export type DecodedLine = { ok: true; envelope: Envelope } | { ok: false; reason: string };

const CRC_PREFIX = Buffer.from(',"crc":"', 'latin1');

/** The value of 8 lowercase hex digits at `at`, or -1. */
function hex8(buf: Buffer, at: number): number {
  let value = 0;
  for (let i = at; i < at + 8; i++) {
    const c = buf[i];
    const digit = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

/** Why a line (without its `\n`) is not whole and intact by its CRC, or undefined when it is; it is not parsed. */
export function lineFault(buf: Buffer, start = 0, end = buf.length): string | undefined {
  const length = end - start;
  const suffixStart = end - CRC_SUFFIX_LENGTH;
  const complete = length > CRC_SUFFIX_LENGTH && buf[end - 1] === 0x7d && buf[end - 2] === 0x22;
  if (!complete || !hasCrcPrefix(buf, suffixStart)) return badShape(buf, start, end);
  const stored = hex8(buf, suffixStart + CRC_PREFIX.length);
  const actual = crc32(buf.subarray(start, suffixStart));
  if (stored === actual) return undefined;
  if (hasNul(buf, start, end)) return 'NUL bytes';
  const shown = buf.toString('latin1', suffixStart + CRC_PREFIX.length, end - 2);
  return `crc mismatch (stored ${shown}, computed ${crcHex(actual)})`;
}

/** Checks a line (without its `\n`) and parses it; never throws. The good path does no more than it must. */
export function decodeLine(buf: Buffer, start = 0, end = buf.length): DecodedLine {
  const fault = lineFault(buf, start, end);
  if (fault !== undefined) return { ok: false, reason: fault };
  let envelope: Envelope;
  try {
    envelope = JSON.parse(buf.toString('utf8', start, end));
  } catch (error) {
    return { ok: false, reason: hasNul(buf, start, end) ? 'NUL bytes' : `not JSON: ${(error as Error).message}` };
  }
  if (!Number.isSafeInteger(envelope.pos) || !Number.isSafeInteger(envelope.seq) || typeof envelope.type !== 'string') {
    return { ok: false, reason: 'missing pos, seq or type' };
  }
  return { ok: true, envelope };
}

function hasCrcPrefix(buf: Buffer, at: number): boolean {
  for (let i = 0; i < CRC_PREFIX.length; i++) if (buf[at + i] !== CRC_PREFIX[i]) return false;
  return true;
}

function hasNul(buf: Buffer, start: number, end: number): boolean {
  return buf.subarray(start, end).indexOf(0) !== -1;
}

function badShape(buf: Buffer, start: number, end: number): string {
  if (end === start) return 'empty line';
  if (hasNul(buf, start, end)) return 'NUL bytes';
  if (end - start <= CRC_SUFFIX_LENGTH || buf[end - 1] !== 0x7d) return 'not a complete envelope';
  return 'no crc field';
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

/** `Date#toISOString`, remembered for the last millisecond asked for: the events of one moment share the string. */
let lastIsoMs = NaN;
let lastIso = '';
export function isoOf(date: Date): string {
  const ms = date.getTime();
  if (ms !== lastIsoMs) {
    lastIso = date.toISOString();
    lastIsoMs = ms;
  }
  return lastIso;
}
