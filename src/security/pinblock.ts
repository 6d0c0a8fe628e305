// ANSI X9.8 / ISO 9564 format 0 clear PIN blocks (PROTOCOL.md section 6):
// PIN field `0` + length + PIN + F padding (16 nibbles) XOR PAN field `0000` + the 12 PAN digits
// left of the check digit. Encryption under a PIK/ZPK is the caller's (module or terminal) job.

import { PinFormatError, type PinFormatReason } from './errors.js';

/** Longest PIN format 0 can carry; also the size a digit buffer for decodePinBlock needs. */
export const MAX_PIN_LENGTH = 12;

const panField = new Uint8Array(8);

/** Fills panField from the PAN; false when the PAN is not 13..19 decimal digits. */
function loadPanField(pan: string): boolean {
  const len = pan.length;
  if (len < 13 || len > 19) return false;
  for (let i = 0; i < len; i++) {
    const c = pan.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  panField[0] = 0;
  panField[1] = 0;
  // The 12 digits before the check digit: pan[len-13 .. len-2].
  for (let i = 0, p = len - 13; i < 6; i++, p += 2) {
    panField[i + 2] = ((pan.charCodeAt(p) - 0x30) << 4) | (pan.charCodeAt(p + 1) - 0x30);
  }
  return true;
}

/** Builds the clear format 0 PIN block for `pin` and `pan` into out[offset..+8). */
export function buildPinBlock(pan: string, pin: string, out?: Buffer, offset = 0): Buffer {
  if (!loadPanField(pan)) throw new PinFormatError('pan');
  const n = pin.length;
  if (n < 4 || n > MAX_PIN_LENGTH) throw new PinFormatError('length');
  for (let i = 0; i < n; i++) {
    const c = pin.charCodeAt(i);
    if (c < 0x30 || c > 0x39) throw new PinFormatError('digit');
  }
  const dst = out ?? Buffer.allocUnsafe(8);
  // Nibble i of the PIN field: 0, length, PIN digits, then F.
  const nibble = (i: number): number => (i === 0 ? 0 : i === 1 ? n : i - 2 < n ? pin.charCodeAt(i - 2) - 0x30 : 15);
  for (let i = 0; i < 8; i++) dst[offset + i] = ((nibble(2 * i) << 4) | nibble(2 * i + 1)) ^ panField[i]!;
  return dst;
}

/**
 * Checks the clear block at block[offset..+8) against `pan` and, when `digits` is given, writes the
 * PIN there as ASCII digits. Returns the PIN length, or why the block is malformed. Non-throwing so
 * the module can answer "format error" without an exception on a hot path, and can keep the PIN in
 * a buffer it wipes rather than in an immutable string.
 */
export function decodePinBlock(block: Uint8Array, offset: number, pan: string, digits?: Uint8Array): number | PinFormatReason {
  if (!loadPanField(pan)) return 'pan';
  const b0 = block[offset]! ^ panField[0]!;
  if (b0 >>> 4 !== 0) return 'control';
  const n = b0 & 15;
  if (n < 4 || n > MAX_PIN_LENGTH) return 'length';
  for (let i = 2; i < 16; i++) {
    const byte = block[offset + (i >>> 1)]! ^ panField[i >>> 1]!;
    const v = i & 1 ? byte & 15 : byte >>> 4;
    if (i - 2 < n) {
      if (v > 9) return 'digit';
      if (digits) digits[i - 2] = 0x30 + v;
    } else if (v !== 15) {
      return 'pad';
    }
  }
  return n;
}

/** The PIN in a clear format 0 block; throws PinFormatError when the block does not decode. */
export function parsePinBlock(block: Uint8Array, pan: string, offset = 0): string {
  const digits = new Uint8Array(MAX_PIN_LENGTH);
  const n = decodePinBlock(block, offset, pan, digits);
  if (typeof n === 'string') throw new PinFormatError(n);
  return String.fromCharCode(...digits.subarray(0, n));
}
