// Message authentication codes over a byte range of a frame (PROTOCOL.md section 5).
//
// All three take (data, start, end) so the MAC block is read in place from the received frame,
// and write into a caller's `out` at `outOffset` so the hot path allocates nothing: CUP-ECB works
// in module-level scratch arrays (each worker thread has its own module instance), the CBC MACs
// in registers (DesKey.cbcMac).

import type { DesKey } from './des.js';
import { SecurityError } from './errors.js';

export type MacAlgorithm = 'cup-ecb' | 'x9.19' | 'x9.9';

/** Every algorithm's F64 is 8 bytes (CUP-ECB: 8 ASCII hex characters; X9.x: binary). */
export const MAC_LENGTH = 8;

const UPPER_HEX = Buffer.from('0123456789ABCDEF', 'latin1');
const block = new Uint8Array(8);
const hex16 = new Uint8Array(16);

function checkRange(data: Uint8Array, start: number, end: number): void {
  if (!(start >= 0 && start <= end && end <= data.length)) {
    throw new RangeError(`MAC range [${start}, ${end}) is outside the ${data.length}-byte data`);
  }
}

function target(out: Buffer | undefined, outOffset: number): Buffer {
  const dst = out ?? Buffer.allocUnsafe(MAC_LENGTH);
  if (!(outOffset >= 0 && outOffset + MAC_LENGTH <= dst.length)) {
    throw new RangeError(`MAC output at ${outOffset} does not fit in ${dst.length} bytes`);
  }
  return dst;
}

/**
 * CUP-ECB (China UnionPay POS MAC): XOR of the 00-padded 8-byte blocks, written as 16 uppercase
 * hex characters; E1 = DES(first 8 chars); E2 = DES(E1 XOR last 8 chars); the result is the
 * first 8 uppercase hex characters of E2 as ASCII. `mak` may be single or double length.
 */
export function cupEcbMac(mak: DesKey, data: Uint8Array, start: number, end: number, out?: Buffer, outOffset = 0): Buffer {
  checkRange(data, start, end);
  const dst = target(out, outOffset);
  // Two 32-bit accumulators: four bytes per XOR instead of one.
  let hi = 0;
  let lo = 0;
  let i = start;
  for (const full = end - ((end - start) & 7); i < full; i += 8) {
    hi ^= (data[i]! << 24) | (data[i + 1]! << 16) | (data[i + 2]! << 8) | data[i + 3]!;
    lo ^= (data[i + 4]! << 24) | (data[i + 5]! << 16) | (data[i + 6]! << 8) | data[i + 7]!;
  }
  for (let shift = 24; i < end; i++, shift -= 8) {
    if (shift >= 0) hi ^= data[i]! << shift;
    else lo ^= data[i]! << (shift + 32);
  }
  for (let n = 0; n < 8; n++) {
    hex16[n] = UPPER_HEX[(hi >>> (28 - 4 * n)) & 15]!;
    hex16[n + 8] = UPPER_HEX[(lo >>> (28 - 4 * n)) & 15]!;
  }
  mak.encryptBlock(hex16, 0, block, 0);
  for (let n = 0; n < 8; n++) block[n] ^= hex16[n + 8]!;
  mak.encryptBlock(block, 0, block, 0);
  for (let n = 0; n < 4; n++) {
    dst[outOffset + 2 * n] = UPPER_HEX[block[n]! >>> 4]!;
    dst[outOffset + 2 * n + 1] = UPPER_HEX[block[n]! & 15]!;
  }
  return dst;
}

/** ANSI X9.19 / ISO 9797-1 algorithm 3 retail MAC with a double-length key: 8 binary bytes. */
export function x919Mac(key: DesKey, data: Uint8Array, start: number, end: number, out?: Buffer, outOffset = 0): Buffer {
  if (key.length !== 16) throw new SecurityError('key-length', `X9.19 needs a 16-byte key, got ${key.length}`);
  checkRange(data, start, end);
  const dst = target(out, outOffset);
  key.cbcMac(data, start, end, dst, outOffset);
  return dst;
}

/** ANSI X9.9 plain single-DES CBC-MAC: 8 binary bytes. */
export function x99Mac(key: DesKey, data: Uint8Array, start: number, end: number, out?: Buffer, outOffset = 0): Buffer {
  if (key.length !== 8) throw new SecurityError('key-length', `X9.9 needs an 8-byte key, got ${key.length}`);
  checkRange(data, start, end);
  const dst = target(out, outOffset);
  key.cbcMac(data, start, end, dst, outOffset);
  return dst;
}

/** The terminal's configured algorithm over data[start, end), into out[outOffset..+8). */
export function computeMac(
  key: DesKey,
  algorithm: MacAlgorithm,
  data: Uint8Array,
  start: number,
  end: number,
  out?: Buffer,
  outOffset = 0,
): Buffer {
  switch (algorithm) {
    case 'cup-ecb':
      return cupEcbMac(key, data, start, end, out, outOffset);
    case 'x9.19':
      return x919Mac(key, data, start, end, out, outOffset);
    case 'x9.9':
      return x99Mac(key, data, start, end, out, outOffset);
  }
}
