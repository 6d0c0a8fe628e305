// DES / 3DES block cipher in plain 32-bit integer arithmetic.
//
// Why not node:crypto: a MAC over a POS message is two (CUP-ECB) to ~30 (X9.19) single blocks,
// and createCipheriv costs ~10 µs per call whatever the data size, while one block here costs
// about 100 ns once the key schedule exists. The schedule is built once per key and the
// cipher never allocates, so a KeyHandle cached per terminal makes MAC checks nearly free.
//
// Technique: the classic SP-box formulation. The eight S-boxes are merged with the P permutation
// into eight 64-entry tables, the 48-bit round keys are pre-split into two 32-bit words holding the
// 6-bit S-box inputs at the positions where the (rotated) right half already has the matching
// expansion bits, and IP/FP are done with the usual bit-swap ladder. Tables are derived from the
// FIPS 46-3 tables at load time rather than pasted as opaque constants, so they can be audited.

import { SecurityError } from './errors.js';

// FIPS 46-3 tables, 1-based bit numbers with bit 1 the most significant.
const PC1 = [
  57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18, 10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60, 52, 44, 36,
  63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22, 14, 6, 61, 53, 45, 37, 29, 21, 13, 5, 28, 20, 12, 4,
];
const PC2 = [
  14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10, 23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2,
  41, 52, 31, 37, 47, 55, 30, 40, 51, 45, 33, 48, 44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
];
const ROTATIONS = [1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1];
const P = [16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10, 2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6, 22, 11, 4, 25];
// S-boxes: 4 rows of 16 hex digits each.
const SBOXES = [
  'E4D12FB83A6C5907' + '0F74E2D1A6CB9538' + '41E8D62BFC973A50' + 'FC8249175B3EA06D',
  'F18E6B34972DC05A' + '3D47F28EC01A69B5' + '0E7BA4D158C6932F' + 'D8A13F42B67C05E9',
  'A09E63F51DC7B428' + 'D709346A285ECBF1' + 'D6498F30B12C5AE7' + '1AD069874FE3B52C',
  '7DE3069A1285BC4F' + 'D8B56F03472C1AE9' + 'A690CB7DF13E5284' + '3F06A1D8945BC72E',
  '2C417AB6853FD0E9' + 'EB2C47D150FA3986' + '421BAD78F9C5630E' + 'B8C71E2D6F09A453',
  'C1AF92680D34E75B' + 'AF427C9561DE0B38' + '9EF528C3704A1DB6' + '432C95FABE17608D',
  '4B2EF08D3C975A61' + 'D0B7491AE35C2F86' + '14BDC37EAF680592' + '6BD814A7950FE23C',
  'D2846FB1A93E50C7' + '1FD8A374C56B0E92' + '7B419CE206ADF358' + '21E74A8DFC90356B',
];

/**
 * SP tables indexed by the natural 6-bit S-box input (first expansion bit most significant).
 * Each entry is P(S(input)) placed in the 32-bit word, rotated right by one: both halves are kept
 * rotated right by one through all rounds so each S-box input is a plain shift-and-mask.
 */
function buildSp(box: number): Int32Array {
  const table = new Int32Array(64);
  for (let v = 0; v < 64; v++) {
    const row = ((v >>> 4) & 2) | (v & 1);
    const col = (v >>> 1) & 15;
    const s = parseInt(SBOXES[box]![row * 16 + col]!, 16);
    const placed = s << (28 - 4 * box);
    let permuted = 0;
    for (let i = 0; i < 32; i++) {
      if ((placed >>> (32 - P[i]!)) & 1) permuted |= 1 << (31 - i);
    }
    table[v] = (permuted >>> 1) | (permuted << 31);
  }
  return table;
}

const SP = new Int32Array(512);
for (let b = 0; b < 8; b++) SP.set(buildSp(b), b * 64);

/** Writes the round keys of the single-DES key at key[keyOff] into ks[at..at+32), encryption order. */
function scheduleSingle(key: Uint8Array, keyOff: number, ks: Int32Array, at: number): void {
  let c = 0;
  let d = 0;
  for (let i = 0; i < 28; i++) {
    c = (c << 1) | keyBit(key, keyOff, PC1[i]!);
    d = (d << 1) | keyBit(key, keyOff, PC1[i + 28]!);
  }
  for (let round = 0; round < 16; round++) {
    const r = ROTATIONS[round]!;
    c = ((c << r) | (c >>> (28 - r))) & 0x0fffffff;
    d = ((d << r) | (d >>> (28 - r))) & 0x0fffffff;
    // Six-bit chunk j of the 48-bit round key, first PC-2 bit most significant.
    const chunk = (j: number): number => {
      let v = 0;
      for (let i = j * 6; i < j * 6 + 6; i++) {
        const n = PC2[i]!;
        v = (v << 1) | (n <= 28 ? (c >>> (28 - n)) & 1 : (d >>> (56 - n)) & 1);
      }
      return v;
    };
    // Same layout as the S-box index extraction in cryptBlock: odd boxes from X, even from Y.
    ks[at + round * 2] = (chunk(0) << 26) | (chunk(2) << 18) | (chunk(4) << 10) | (chunk(6) << 2);
    ks[at + round * 2 + 1] = (chunk(7) << 26) | (chunk(1) << 18) | (chunk(3) << 10) | (chunk(5) << 2);
  }
}

function keyBit(key: Uint8Array, keyOff: number, n: number): number {
  return (key[keyOff + ((n - 1) >>> 3)]! >>> (7 - ((n - 1) & 7))) & 1;
}

/** Copies the 16 round-key pairs at ks[from..from+32) to ks[to..to+32) in reverse round order. */
function reverseInto(ks: Int32Array, from: number, to: number): void {
  for (let round = 0; round < 16; round++) {
    ks[to + round * 2] = ks[from + (15 - round) * 2]!;
    ks[to + round * 2 + 1] = ks[from + (15 - round) * 2 + 1]!;
  }
}

// Output of cryptWords: two module-level words instead of an allocated pair.
let outL = 0;
let outR = 0;

/**
 * The block (l, r) through the DES passes whose round keys are ks[from..to) (one pass per 32
 * words: 1 for DES, 3 for EDE); the result is left in outL/outR. IP and FP between passes cancel,
 * so only the halves are swapped there.
 */
function cryptWords(ks: Int32Array, from: number, to: number, l: number, r: number): void {
  const sp = SP;
  let t: number;

  // Initial permutation, then both halves rotated right by one (see the SP tables).
  t = ((l >>> 4) ^ r) & 0x0f0f0f0f; r ^= t; l ^= t << 4;
  t = ((l >>> 16) ^ r) & 0x0000ffff; r ^= t; l ^= t << 16;
  t = ((r >>> 2) ^ l) & 0x33333333; l ^= t; r ^= t << 2;
  t = ((r >>> 8) ^ l) & 0x00ff00ff; l ^= t; r ^= t << 8;
  t = ((l >>> 1) ^ r) & 0x55555555; r ^= t; l ^= t << 1;
  l = (l >>> 1) | (l << 31);
  r = (r >>> 1) | (r << 31);

  for (let k = from; k < to; ) {
    // Two rounds per iteration, so the halves trade roles without a swap.
    for (const end = k + 32; k < end; k += 4) {
      let x = r ^ ks[k]!;
      let y = ((r >>> 4) | (r << 28)) ^ ks[k + 1]!;
      l ^= sp[(x >>> 26) & 63]! | sp[128 | ((x >>> 18) & 63)]! | sp[256 | ((x >>> 10) & 63)]! | sp[384 | ((x >>> 2) & 63)]! |
        sp[448 | ((y >>> 26) & 63)]! | sp[64 | ((y >>> 18) & 63)]! | sp[192 | ((y >>> 10) & 63)]! | sp[320 | ((y >>> 2) & 63)]!;
      x = l ^ ks[k + 2]!;
      y = ((l >>> 4) | (l << 28)) ^ ks[k + 3]!;
      r ^= sp[(x >>> 26) & 63]! | sp[128 | ((x >>> 18) & 63)]! | sp[256 | ((x >>> 10) & 63)]! | sp[384 | ((x >>> 2) & 63)]! |
        sp[448 | ((y >>> 26) & 63)]! | sp[64 | ((y >>> 18) & 63)]! | sp[192 | ((y >>> 10) & 63)]! | sp[320 | ((y >>> 2) & 63)]!;
    }
    t = l; l = r; r = t;
  }

  // Final permutation: undo the rotation, then the IP ladder backwards.
  l = (l << 1) | (l >>> 31);
  r = (r << 1) | (r >>> 31);
  t = ((l >>> 1) ^ r) & 0x55555555; r ^= t; l ^= t << 1;
  t = ((r >>> 8) ^ l) & 0x00ff00ff; l ^= t; r ^= t << 8;
  t = ((r >>> 2) ^ l) & 0x33333333; l ^= t; r ^= t << 2;
  t = ((l >>> 16) ^ r) & 0x0000ffff; r ^= t; l ^= t << 16;
  t = ((l >>> 4) ^ r) & 0x0f0f0f0f; r ^= t; l ^= t << 4;
  outL = l;
  outR = r;
}

function read32(src: Uint8Array, at: number): number {
  return (src[at]! << 24) | (src[at + 1]! << 16) | (src[at + 2]! << 8) | src[at + 3]!;
}

function write64(dst: Uint8Array, at: number, l: number, r: number): void {
  dst[at] = l >>> 24; dst[at + 1] = l >>> 16; dst[at + 2] = l >>> 8; dst[at + 3] = l;
  dst[at + 4] = r >>> 24; dst[at + 5] = r >>> 16; dst[at + 6] = r >>> 8; dst[at + 7] = r;
}

/** One 8-byte block; in place is fine, the block is read before it is written. */
function cryptBlock(ks: Int32Array, from: number, to: number, src: Uint8Array, so: number, dst: Uint8Array, doff: number): void {
  cryptWords(ks, from, to, read32(src, so), read32(src, so + 4));
  write64(dst, doff, outL, outR);
}

/**
 * A DES key with its schedule: 8 bytes = single DES, 16 bytes = 2-key 3DES (K1‖K2‖K1),
 * 24 bytes = 3-key 3DES. Parity bits are ignored. The raw key bytes are not retained.
 */
export class DesKey {
  /** Key length in bytes: 8, 16 or 24. */
  readonly length: 8 | 16 | 24;
  /** Encryption chain at [0, #n), decryption chain at [#n, 2·#n); one allocation per key. */
  readonly #ks: Int32Array;
  readonly #n: number;

  constructor(key: Uint8Array) {
    const len = key.length;
    if (len !== 8 && len !== 16 && len !== 24) {
      throw new SecurityError('key-length', `DES key must be 8, 16 or 24 bytes, got ${len}`);
    }
    this.length = len;
    if (len === 8) {
      const ks = new Int32Array(64);
      scheduleSingle(key, 0, ks, 0);
      reverseInto(ks, 0, 32);
      this.#ks = ks;
      this.#n = 32;
      return;
    }
    // EDE: encryption = E(K1) D(K2) E(K3), decryption = D(K3) E(K2) D(K1); K3 = K1 for 16 bytes.
    const ks = new Int32Array(192);
    scheduleSingle(key, 0, ks, 0); // E(K1)
    scheduleSingle(key, 8, ks, 128); // E(K2)
    if (len === 24) scheduleSingle(key, 16, ks, 64); // E(K3)
    else ks.copyWithin(64, 0, 32);
    reverseInto(ks, 128, 32); // D(K2)
    reverseInto(ks, 64, 96); // D(K3)
    reverseInto(ks, 0, 160); // D(K1)
    this.#ks = ks;
    this.#n = 96;
  }

  /** Encrypts the 8 bytes at src[srcOff] into dst[dstOff]; src and dst may overlap exactly. */
  encryptBlock(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number): void {
    cryptBlock(this.#ks, 0, this.#n, src, srcOff, dst, dstOff);
  }

  /** Decrypts the 8 bytes at src[srcOff] into dst[dstOff]; src and dst may overlap exactly. */
  decryptBlock(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number): void {
    cryptBlock(this.#ks, this.#n, this.#n * 2, src, srcOff, dst, dstOff);
  }

  /**
   * CBC-MAC core of X9.9 and X9.19 (ISO 9797-1 algorithms 1 and 3) over data[start, end): IV 0,
   * 00-padding (an empty range is one zero block), every block but the last under K1 alone, the
   * last through the whole key (for a double-length key that is the E(K1) D(K2) E(K1) output
   * transformation). Here rather than in mac.ts so the chaining value stays in two registers.
   * Like the block methods it trusts its offsets; x99Mac/x919Mac check them.
   */
  cbcMac(data: Uint8Array, start: number, end: number, dst: Uint8Array, dstOff: number): void {
    const ks = this.#ks;
    let l = 0;
    let r = 0;
    // Start of the last, possibly partial, block (below start for an empty range).
    const last = end - 1 - ((end - 1 - start) & 7);
    let i = start;
    for (; i < last; i += 8) {
      cryptWords(ks, 0, 32, l ^ read32(data, i), r ^ read32(data, i + 4));
      l = outL;
      r = outR;
    }
    for (let shift = 24; i < end; i++, shift -= 8) {
      if (shift >= 0) l ^= data[i]! << shift;
      else r ^= data[i]! << (shift + 32);
    }
    cryptWords(ks, 0, this.#n, l, r);
    write64(dst, dstOff, outL, outR);
  }

  /** ECB encryption of a whole number of blocks into a new Buffer. */
  encryptEcb(data: Uint8Array): Buffer {
    return this.#ecb(data, 0, this.#n);
  }

  /** ECB decryption of a whole number of blocks into a new Buffer. */
  decryptEcb(data: Uint8Array): Buffer {
    return this.#ecb(data, this.#n, this.#n * 2);
  }

  #ecb(data: Uint8Array, from: number, to: number): Buffer {
    if (data.length % 8 !== 0) throw new RangeError(`ECB data must be a multiple of 8 bytes, got ${data.length}`);
    const out = Buffer.allocUnsafe(data.length);
    for (let i = 0; i < data.length; i += 8) cryptBlock(this.#ks, from, to, data, i, out, i);
    return out;
  }
}
