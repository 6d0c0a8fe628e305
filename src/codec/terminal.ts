import { BCD_PAIR, HEX_PAIR, Z_CHAR, Z_PAIR, digitNibble, hexNibble } from './bcd.js';
import { CUP_TABLE } from './cup-fields.js';
import { FormatError } from './errors.js';
import { IsoMessage } from './message.js';
import { decodeFields } from './walk.js';
import type { TableEntry } from './spec.js';

/** Node's unchecked latin1 decoder (Buffer.toString adds argument checks on every call). */
interface Latin1Slicer {
  latin1Slice(start: number, end: number): string;
}

/**
 * Terminal dialect (PROTOCOL.md sections 1–2):
 * `LEN(2) | TPDU(5) | HEADER(6) | MTI(2) | BITMAP(8) | fields`, BCD numerics, primary bitmap only.
 */
export class TerminalMessage extends IsoMessage {
  /** TPDU as 10 hex digits: `60`, destination, source. */
  tpdu: string;
  /** Header as 12 digits: app type, software version, status, processing requirement, reserved. */
  header: string;
  /** Where the MAC block (MTI up to the end of F63) lies in the buffer it was decoded from or encoded to. */
  mabStart = -1;
  mabEnd = -1;

  constructor(mti = '', tpdu = '6000000000', header = '600000000000') {
    super(mti, 64);
    this.tpdu = tpdu;
    this.header = header;
  }
}

/** Bytes of the frame before the TPDU when the 2-byte length is present. */
export const LENGTH_PREFIX = 2;
const TPDU_LEN = 5;
const HEADER_LEN = 6;

/**
 * Decodes one terminal frame from `buf[start, end)`. With `withLength` the frame starts with
 * its 2-byte length, which must match. Every defect raises a FormatError naming field and offset
 * (relative to `start`); the error's `partial` holds what had been decoded.
 */
export function decodeTerminalFrame(buf: Buffer, start = 0, end = buf.length, withLength = true): TerminalMessage {
  let p = start;
  if (withLength) {
    if (end - p < 2) throw new FormatError('LEN', 0, 'frame shorter than its length prefix');
    const len = (buf[p] << 8) | buf[p + 1];
    if (len !== end - p - 2) throw new FormatError('LEN', 0, `length says ${len} bytes but ${end - p - 2} follow`);
    p += 2;
  }
  if (end - p < TPDU_LEN) throw new FormatError('TPDU', p - start, 'truncated');
  if (buf[p] !== 0x60) throw new FormatError('TPDU', p - start, `id ${HEX_PAIR[buf[p]]} is not 60`);
  let tpdu = '';
  for (let i = 0; i < TPDU_LEN; i++) tpdu += HEX_PAIR[buf[p + i]];
  p += TPDU_LEN;

  if (end - p < HEADER_LEN) throw new FormatError('HEADER', p - start, 'truncated');
  let header = '';
  for (let i = 0; i < HEADER_LEN; i++) {
    const pair = BCD_PAIR[buf[p + i]];
    if (pair === '') throw new FormatError('HEADER', p + i - start, 'invalid BCD nibble');
    header += pair;
  }
  p += HEADER_LEN;

  if (end - p < 2) throw new FormatError('MTI', p - start, 'truncated');
  const m1 = BCD_PAIR[buf[p]];
  const m2 = BCD_PAIR[buf[p + 1]];
  if (m1 === '' || m2 === '') throw new FormatError('MTI', p - start, 'invalid BCD nibble');
  const msg = new TerminalMessage(m1 + m2, tpdu, header);
  msg.mabStart = p;
  p += 2;

  if (end - p < 8) throw new FormatError('BITMAP', p - start, 'truncated');
  if (buf[p] & 0x80) throw new FormatError('BITMAP', p - start, 'bit 1 (secondary bitmap) is not allowed');
  const bitmap = p;
  p += 8;
  return decodeFields(CUP_TABLE, decodeField, 64, buf, bitmap, 8, p, end, start, msg);
}

function decodeField(spec: TableEntry, buf: Buffer, p: number, end: number, start: number, msg: TerminalMessage): number {
  const name = spec.label;
  let len = spec.max;
  if (spec.length !== 'fixed') {
    const prefix = spec.length === 'LL' ? 1 : 2;
    if (end - p < prefix) throw new FormatError(name, p - start, 'truncated length');
    const hi = BCD_PAIR[buf[p]];
    const lo = prefix === 2 ? BCD_PAIR[buf[p + 1]] : '00';
    if (hi === '' || lo === '') throw new FormatError(name, p - start, 'invalid BCD nibble in length');
    len = prefix === 1 ? (buf[p] >> 4) * 10 + (buf[p] & 15) : ((buf[p] >> 4) * 1000 + (buf[p] & 15) * 100 + (buf[p + 1] >> 4) * 10 + (buf[p + 1] & 15));
    if (len > spec.max) throw new FormatError(name, p - start, `length ${len} above maximum ${spec.max}`);
    p += prefix;
  }
  if (spec.format === 'n' || spec.format === 'z') {
    const bytes = (len + 1) >> 1;
    if (end - p < bytes) throw new FormatError(name, p - start, 'truncated');
    const left = spec.length !== 'fixed' || spec.align === 'left';
    msg.fields[spec.id] = unpackDigits(buf, p, len, left, spec.format === 'z', name, start);
    return p + bytes;
  }
  if (end - p < len) throw new FormatError(name, p - start, 'truncated');
  if (spec.format === 'b') {
    const value = Buffer.allocUnsafe(len);
    for (let i = 0; i < len; i++) value[i] = buf[p + i];
    msg.fields[spec.id] = value;
    return p + len;
  }
  // Text: `an` must be printable ASCII; `ans` also allows bytes above 0x7F (GBK names on receipts).
  const textMax = spec.format === 'an' ? 0x7e : 0xff;
  for (let i = p; i < p + len; i++) {
    const c = buf[i];
    if (c < 0x20 || c > textMax || c === 0x7f) throw new FormatError(name, i - start, `byte ${HEX_PAIR[c]} not allowed in ${spec.format}`);
  }
  msg.fields[spec.id] = (buf as unknown as Latin1Slicer).latin1Slice(p, p + len);
  return p + len;
}

/**
 * Reads `digits` BCD digits. Left-aligned values have their pad nibble last, right-aligned
 * ones first; a pad nibble is `0` per PROTOCOL.md, and `F` is accepted as many terminals send it.
 */
function unpackDigits(buf: Buffer, p: number, digits: number, left: boolean, track: boolean, name: string, start: number): string {
  const pairs = track ? Z_PAIR : BCD_PAIR;
  const odd = digits & 1;
  let s = '';
  let q = p;
  if (odd && !left) {
    const b = buf[q];
    if (b >> 4 !== 0 && b >> 4 !== 15) throw new FormatError(name, q - start, 'pad nibble is not 0');
    const c = track ? Z_CHAR[b & 15] : (b & 15) <= 9 ? String(b & 15) : '';
    if (c === '') throw new FormatError(name, q - start, 'invalid BCD nibble');
    s = c;
    q++;
  }
  const full = (digits - (odd && !left ? 1 : 0)) >> 1;
  for (let i = 0; i < full; i++, q++) {
    const pair = pairs[buf[q]];
    if (pair === '') throw new FormatError(name, q - start, 'invalid BCD nibble');
    s += pair;
  }
  if (odd && left) {
    const b = buf[q];
    if ((b & 15) !== 0 && (b & 15) !== 15) throw new FormatError(name, q - start, 'pad nibble is not 0');
    const c = track ? Z_CHAR[b >> 4] : b >> 4 <= 9 ? String(b >> 4) : '';
    if (c === '') throw new FormatError(name, q - start, 'invalid BCD nibble');
    s += c;
  }
  return s;
}

/**
 * Encodes `msg` into `out` at `offset` and returns the end offset. Sets `msg.mabStart/mabEnd`
 * so a MAC can be computed over the written bytes and stored in the last 8 (F64).
 * A value that does not fit its spec raises a FormatError (a bug in whoever built the message).
 */
export function encodeTerminalFrame(msg: TerminalMessage, out: Buffer, offset = 0, withLength = true): number {
  let p = offset + (withLength ? LENGTH_PREFIX : 0);
  p = writeHex(msg.tpdu, TPDU_LEN, out, p, 'TPDU', offset);
  p = writeDigitsFixed(msg.header, HEADER_LEN * 2, out, p, 'HEADER', offset);
  msg.mabStart = p;
  p = writeDigitsFixed(msg.mti, 4, out, p, 'MTI', offset);
  const bitmap = p;
  for (let i = 0; i < 8; i++) out[bitmap + i] = 0;
  p += 8;
  msg.mabEnd = -1;
  const fields = msg.fields;
  for (let id = 2; id <= 64; id++) {
    const value = fields[id];
    if (value === undefined) continue;
    const spec = CUP_TABLE[id];
    if (spec === undefined) throw new FormatError(`F${id}`, p - offset, 'field not defined in this dialect');
    out[bitmap + ((id - 1) >> 3)] |= 0x80 >> ((id - 1) & 7);
    if (id === 64) msg.mabEnd = p;
    p = encodeField(spec, value, out, p, offset);
  }
  if (msg.mabEnd < 0) msg.mabEnd = p;
  if (withLength) {
    const len = p - offset - LENGTH_PREFIX;
    if (len > 0xffff) throw new FormatError('LEN', 0, 'frame longer than 65535 bytes');
    out[offset] = len >> 8;
    out[offset + 1] = len & 0xff;
  }
  return p;
}

function encodeField(spec: TableEntry, value: string | Buffer, out: Buffer, p: number, offset: number): number {
  const name = spec.label;
  const len = value.length;
  if (spec.length === 'fixed' ? len !== spec.max : len > spec.max) {
    throw new FormatError(name, p - offset, `length ${len} does not fit ${spec.length === 'fixed' ? 'exactly ' : 'at most '}${spec.max}`);
  }
  if (spec.length === 'LL') {
    out[p++] = ((len / 10) << 4) | len % 10;
  } else if (spec.length === 'LLL') {
    out[p++] = (len / 100) | 0;
    out[p++] = (((len / 10) % 10) << 4) | len % 10;
  }
  if (spec.format === 'n' || spec.format === 'z') {
    if (typeof value !== 'string') throw new FormatError(name, p - offset, 'digits expected');
    const left = spec.length !== 'fixed' || spec.align === 'left';
    return packDigits(value, left, spec.format === 'z', out, p, name, offset);
  }
  if (spec.format === 'b') {
    if (typeof value === 'string') throw new FormatError(name, p - offset, 'binary expected');
    value.copy(out, p);
    return p + len;
  }
  if (typeof value !== 'string') throw new FormatError(name, p - offset, 'text expected');
  const textMax = spec.format === 'an' ? 0x7e : 0xff;
  for (let i = 0; i < len; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c > textMax || c === 0x7f) throw new FormatError(name, p - offset, `character ${c} not allowed in ${spec.format}`);
    out[p + i] = c;
  }
  return p + len;
}

function packDigits(value: string, left: boolean, track: boolean, out: Buffer, p: number, name: string, offset: number): number {
  const n = value.length;
  const odd = n & 1;
  let i = 0;
  if (odd && !left) {
    const d = digitNibble(value.charCodeAt(0), track);
    if (d < 0) throw new FormatError(name, p - offset, 'non-digit character');
    out[p++] = d;
    i = 1;
  }
  for (; i + 1 < n; i += 2) {
    const hi = digitNibble(value.charCodeAt(i), track);
    const lo = digitNibble(value.charCodeAt(i + 1), track);
    if (hi < 0 || lo < 0) throw new FormatError(name, p - offset, 'non-digit character');
    out[p++] = (hi << 4) | lo;
  }
  if (i < n) {
    const hi = digitNibble(value.charCodeAt(i), track);
    if (hi < 0) throw new FormatError(name, p - offset, 'non-digit character');
    out[p++] = hi << 4;
  }
  return p;
}

function writeDigitsFixed(value: string, digits: number, out: Buffer, p: number, name: string, offset: number): number {
  if (value.length !== digits) throw new FormatError(name, p - offset, `needs ${digits} digits`);
  return packDigits(value, true, false, out, p, name, offset);
}

function writeHex(value: string, bytes: number, out: Buffer, p: number, name: string, offset: number): number {
  if (value.length !== bytes * 2) throw new FormatError(name, p - offset, `needs ${bytes * 2} hex digits`);
  for (let i = 0; i < bytes; i++) {
    const hi = hexNibble(value.charCodeAt(2 * i));
    const lo = hexNibble(value.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) throw new FormatError(name, p - offset, 'non-hex character');
    out[p++] = (hi << 4) | lo;
  }
  return p;
}

const scratch = Buffer.allocUnsafe(65537);

/** Encodes into a fresh Buffer of exactly the frame's size (off the hot path: tests, tools). */
export function packTerminalFrame(msg: TerminalMessage, withLength = true): Buffer {
  const end = encodeTerminalFrame(msg, scratch, 0, withLength);
  return Buffer.from(scratch.subarray(0, end));
}

/** A response starts as the request with TPDU addresses swapped and MTI + 10. */
export function responseTpdu(tpdu: string): string {
  return tpdu.slice(0, 2) + tpdu.slice(6, 10) + tpdu.slice(2, 6);
}

/** The header with its processing-requirement digit (the 6th) set, for responses. */
export function withProcessingRequirement(header: string, requirement: number): string {
  return header.slice(0, 5) + String(requirement) + header.slice(6);
}

/**
 * Finds field `id` in a terminal frame (starting at the TPDU) without decoding it: the acceptor
 * uses it to read the terminal id for routing. Returns the value's offset, or -1 when the frame
 * does not get that far or lacks the field; never throws.
 */
export function locateField(buf: Buffer, start: number, end: number, id: number): number {
  let p = start + TPDU_LEN + HEADER_LEN + 2;
  const bitmap = p;
  p += 8;
  if (p > end || (buf[bitmap + ((id - 1) >> 3)] & (0x80 >> ((id - 1) & 7))) === 0) return -1;
  for (let f = 2; f < id; f++) {
    if ((buf[bitmap + ((f - 1) >> 3)] & (0x80 >> ((f - 1) & 7))) === 0) continue;
    const spec = CUP_TABLE[f];
    if (spec === undefined) return -1;
    let len = spec.max;
    if (spec.length === 'LL') {
      len = (buf[p] >> 4) * 10 + (buf[p] & 15);
      p += 1;
    } else if (spec.length === 'LLL') {
      len = (buf[p] & 15) * 100 + (buf[p + 1] >> 4) * 10 + (buf[p + 1] & 15);
      p += 2;
    }
    p += spec.format === 'n' || spec.format === 'z' ? (len + 1) >> 1 : len;
    if (p > end) return -1;
  }
  return p;
}
