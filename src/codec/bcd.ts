/**
 * Byte-level helpers shared by the interpreters: precomputed tables so that BCD and hex
 * conversion is one lookup per byte rather than arithmetic and string building per nibble.
 */

/** Two digit characters for a valid packed-BCD byte, '' for an invalid one. */
export const BCD_PAIR: readonly string[] = Array.from({ length: 256 }, (_, b) =>
  b >> 4 <= 9 && (b & 15) <= 9 ? String(b >> 4) + String(b & 15) : '',
);

/** Track-data nibbles: 0–9 and D (`=`). */
const Z_NIBBLE: readonly string[] = Array.from({ length: 16 }, (_, n) => (n <= 9 ? String(n) : n === 13 ? '=' : ''));
export const Z_PAIR: readonly string[] = Array.from({ length: 256 }, (_, b) => {
  const hi = Z_NIBBLE[b >> 4];
  const lo = Z_NIBBLE[b & 15];
  return hi && lo ? hi + lo : '';
});
export const Z_CHAR: readonly string[] = Z_NIBBLE;

export const HEX_PAIR: readonly string[] = Array.from({ length: 256 }, (_, b) =>
  b.toString(16).toUpperCase().padStart(2, '0'),
);

export function toHex(buf: Uint8Array, start = 0, end = buf.length): string {
  let s = '';
  for (let i = start; i < end; i++) s += HEX_PAIR[buf[i]];
  return s;
}

/** Nibble value of a hex digit character code, or -1. */
export function hexNibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** Parses hex text into a new Buffer; `null` when it is not hex of even length. */
export function fromHex(text: string): Buffer | null {
  if (text.length % 2 !== 0) return null;
  const out = Buffer.allocUnsafe(text.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = hexNibble(text.charCodeAt(2 * i));
    const lo = hexNibble(text.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) return null;
    out[i] = (hi << 4) | lo;
  }
  return out;
}

/** Nibble for a digit character (and `=` when track data is allowed), or -1. */
export function digitNibble(c: number, track: boolean): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (track && c === 61) return 13;
  return -1;
}
