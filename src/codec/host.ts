import { HEX_PAIR, hexNibble } from './bcd.js';
import { FormatError } from './errors.js';
import { HOST_TABLE } from './host-fields.js';
import { IsoMessage } from './message.js';
import { decodeFields } from './walk.js';
import type { FieldSpec } from './spec.js';

/**
 * Host dialect (PROTOCOL.md section 9): ISO 8583:1987 in ASCII. `LLLL` (4 ASCII digits) |
 * MTI (4 ASCII) | primary bitmap (8 bytes binary; bit 1 ⇒ secondary follows) | fields.
 * Binary fields travel as uppercase hex text.
 */
export class HostMessage extends IsoMessage {
  /** The bytes covered by the F128 MAC: MTI up to the end of F127. */
  mabStart = -1;
  mabEnd = -1;

  constructor(mti = '') {
    super(mti, 128);
  }
}

export const HOST_LENGTH_PREFIX = 4;

export function decodeHostFrame(buf: Buffer, start = 0, end = buf.length, withLength = true): HostMessage {
  let p = start;
  if (withLength) {
    if (end - p < HOST_LENGTH_PREFIX) throw new FormatError('LEN', 0, 'frame shorter than its length prefix');
    const len = readAsciiNumber(buf, p, HOST_LENGTH_PREFIX, 'LEN', start);
    if (len !== end - p - HOST_LENGTH_PREFIX) throw new FormatError('LEN', 0, `length says ${len} bytes but ${end - p - HOST_LENGTH_PREFIX} follow`);
    p += HOST_LENGTH_PREFIX;
  }
  if (end - p < 4) throw new FormatError('MTI', p - start, 'truncated');
  readAsciiNumber(buf, p, 4, 'MTI', start);
  const msg = new HostMessage(buf.toString('latin1', p, p + 4));
  msg.mabStart = p;
  p += 4;
  if (end - p < 8) throw new FormatError('BITMAP', p - start, 'truncated');
  const bitmap = p;
  let bitmapBytes = 8;
  p += 8;
  if (buf[bitmap] & 0x80) {
    if (end - p < 8) throw new FormatError('BITMAP', p - start, 'secondary bitmap truncated');
    bitmapBytes = 16;
    p += 8;
  }
  return decodeFields(HOST_TABLE, decodeField, 128, buf, bitmap, bitmapBytes, p, end, start, msg);
}

function readAsciiNumber(buf: Buffer, p: number, digits: number, name: string, start: number): number {
  let v = 0;
  for (let i = 0; i < digits; i++) {
    const c = buf[p + i];
    if (c < 48 || c > 57) throw new FormatError(name, p + i - start, `byte ${HEX_PAIR[c]} is not an ASCII digit`);
    v = v * 10 + (c - 48);
  }
  return v;
}

function decodeField(spec: FieldSpec, buf: Buffer, p: number, end: number, start: number, msg: HostMessage): number {
  const name = `F${spec.id}`;
  let len = spec.max;
  if (spec.length !== 'fixed') {
    const prefix = spec.length === 'LL' ? 2 : 3;
    if (end - p < prefix) throw new FormatError(name, p - start, 'truncated length');
    len = readAsciiNumber(buf, p, prefix, name, start);
    if (len > spec.max) throw new FormatError(name, p - start, `length ${len} above maximum ${spec.max}`);
    p += prefix;
  }
  const wire = spec.format === 'b' ? len * 2 : len;
  if (end - p < wire) throw new FormatError(name, p - start, 'truncated');
  if (spec.format === 'b') {
    const value = Buffer.allocUnsafe(len);
    for (let i = 0; i < len; i++) {
      const hi = hexNibble(buf[p + 2 * i]);
      const lo = hexNibble(buf[p + 2 * i + 1]);
      if (hi < 0 || lo < 0) throw new FormatError(name, p + 2 * i - start, 'invalid hex character');
      value[i] = (hi << 4) | lo;
    }
    msg.fields[spec.id] = value;
    return p + wire;
  }
  for (let i = p; i < p + len; i++) {
    const c = buf[i];
    if (!allowed(spec.format, c)) throw new FormatError(name, i - start, `byte ${HEX_PAIR[c]} not allowed in ${spec.format}`);
  }
  msg.fields[spec.id] = buf.toString('latin1', p, p + len);
  return p + len;
}

/** The characters each text-like format admits on the wire. */
function allowed(format: FieldSpec['format'], c: number): boolean {
  switch (format) {
    case 'n':
      return c >= 48 && c <= 57;
    case 'z':
      return (c >= 48 && c <= 57) || c === 61;
    case 'an':
      return c >= 0x20 && c < 0x7f;
    default:
      return c >= 0x20 && c !== 0x7f && c <= 0xff;
  }
}

/** Encodes `msg` into `out` at `offset`; returns the end. Sets `mabStart/mabEnd` for the F128 MAC. */
export function encodeHostFrame(msg: HostMessage, out: Buffer, offset = 0, withLength = true): number {
  let p = offset + (withLength ? HOST_LENGTH_PREFIX : 0);
  if (!/^\d{4}$/.test(msg.mti)) throw new FormatError('MTI', p - offset, 'needs 4 digits');
  msg.mabStart = p;
  out.write(msg.mti, p, 4, 'latin1');
  p += 4;
  const fields = msg.fields;
  let secondary = false;
  for (let id = 65; id <= 128; id++) if (fields[id] !== undefined) { secondary = true; break; }
  const bitmap = p;
  const bitmapBytes = secondary ? 16 : 8;
  out.fill(0, bitmap, bitmap + bitmapBytes);
  if (secondary) out[bitmap] = 0x80;
  p += bitmapBytes;
  msg.mabEnd = -1;
  for (let id = 2; id <= 128; id++) {
    const value = fields[id];
    if (value === undefined) continue;
    const spec = HOST_TABLE[id];
    if (spec === undefined) throw new FormatError(`F${id}`, p - offset, 'field not defined in this dialect');
    out[bitmap + ((id - 1) >> 3)] |= 0x80 >> ((id - 1) & 7);
    if (id === 128) msg.mabEnd = p;
    p = encodeField(spec, value, out, p, offset);
  }
  if (msg.mabEnd < 0) msg.mabEnd = p;
  if (withLength) {
    const len = p - offset - HOST_LENGTH_PREFIX;
    if (len > 9999) throw new FormatError('LEN', 0, 'frame longer than 9999 bytes');
    out.write(String(len).padStart(4, '0'), offset, 4, 'latin1');
  }
  return p;
}

function encodeField(spec: FieldSpec, value: string | Buffer, out: Buffer, p: number, offset: number): number {
  const name = `F${spec.id}`;
  const len = value.length;
  if (spec.length === 'fixed' ? len !== spec.max : len > spec.max) {
    throw new FormatError(name, p - offset, `length ${len} does not fit ${spec.length === 'fixed' ? 'exactly ' : 'at most '}${spec.max}`);
  }
  if (spec.length !== 'fixed') {
    const digits = spec.length === 'LL' ? 2 : 3;
    out.write(String(len).padStart(digits, '0'), p, digits, 'latin1');
    p += digits;
  }
  if (spec.format === 'b') {
    if (typeof value === 'string') throw new FormatError(name, p - offset, 'binary expected');
    for (let i = 0; i < len; i++) {
      const pair = HEX_PAIR[value[i]];
      out[p++] = pair.charCodeAt(0);
      out[p++] = pair.charCodeAt(1);
    }
    return p;
  }
  if (typeof value !== 'string') throw new FormatError(name, p - offset, 'text expected');
  for (let i = 0; i < len; i++) {
    if (!allowed(spec.format, value.charCodeAt(i))) throw new FormatError(name, p - offset, `character ${value.charCodeAt(i)} not allowed in ${spec.format}`);
  }
  out.write(value, p, len, 'latin1');
  return p + len;
}

const scratch = Buffer.allocUnsafe(10004);

export function packHostFrame(msg: HostMessage, withLength = true): Buffer {
  const end = encodeHostFrame(msg, scratch, 0, withLength);
  return Buffer.from(scratch.subarray(0, end));
}
