// The three MAC algorithms against independent implementations built on node:crypto, over every
// length class (empty, partial and whole blocks), plus the in-place/offset/out contract.
import t from 'tap';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { computeMac, cupEcbMac, DesKey, SecurityError, x919Mac, x99Mac } from '../../src/security/index.js';

function zeroPad(data: Buffer): Buffer {
  const len = Math.max(8, Math.ceil(data.length / 8) * 8);
  return Buffer.concat([data, Buffer.alloc(len - data.length)]);
}

function nodeCbcLastBlock(key24: Buffer, data: Buffer): Buffer {
  const c = createCipheriv('des-ede3-cbc', key24, Buffer.alloc(8));
  c.setAutoPadding(false);
  const out = c.update(zeroPad(data));
  return out.subarray(out.length - 8);
}

function nodeBlock(key24: Buffer, block: Buffer, decrypt = false): Buffer {
  const c = decrypt ? createDecipheriv('des-ede3', key24, null) : createCipheriv('des-ede3', key24, null);
  c.setAutoPadding(false);
  return c.update(block);
}

const triple = (k: Buffer) => Buffer.concat([k, k, k]);

/** ISO 9797-1 alg 3: single-DES CBC under K1, then decrypt K2, encrypt K1. */
function referenceX919(key: Buffer, data: Buffer): Buffer {
  const k1 = triple(key.subarray(0, 8));
  const k2 = triple(key.subarray(8, 16));
  return nodeBlock(k1, nodeBlock(k2, nodeCbcLastBlock(k1, data), true));
}

function referenceCupEcb(mak: Buffer, data: Buffer): Buffer {
  const padded = zeroPad(data);
  const xor = Buffer.alloc(8);
  for (let i = 0; i < padded.length; i++) xor[i % 8]! ^= padded[i]!;
  const chars = Buffer.from(xor.toString('hex').toUpperCase(), 'latin1');
  const k = mak.length === 8 ? triple(mak) : Buffer.concat([mak, mak.subarray(0, 8)]);
  const e1 = nodeBlock(k, chars.subarray(0, 8));
  const e2 = nodeBlock(k, Buffer.from(e1.map((b, i) => b ^ chars[8 + i]!)));
  return Buffer.from(e2.subarray(0, 4).toString('hex').toUpperCase(), 'latin1');
}

const LENGTHS = [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 108, 200, 511];
const KEYS_PER_LENGTH = 40;

t.test('X9.19 matches an implementation on des-ede3-cbc / des-ede3', async (t) => {
  let mismatches = 0;
  for (const len of LENGTHS) {
    for (let i = 0; i < KEYS_PER_LENGTH; i++) {
      const key = randomBytes(16);
      const data = randomBytes(len);
      if (!x919Mac(new DesKey(key), data, 0, len).equals(referenceX919(key, data))) mismatches++;
    }
  }
  t.equal(mismatches, 0, `${LENGTHS.length * KEYS_PER_LENGTH} random keys and messages`);
});

t.test('X9.9 matches des-ede3-cbc with K‖K‖K', async (t) => {
  let mismatches = 0;
  for (const len of LENGTHS) {
    for (let i = 0; i < KEYS_PER_LENGTH; i++) {
      const key = randomBytes(8);
      const data = randomBytes(len);
      if (!x99Mac(new DesKey(key), data, 0, len).equals(nodeCbcLastBlock(triple(key), data))) mismatches++;
    }
  }
  t.equal(mismatches, 0);
});

t.test('CUP-ECB matches an implementation on des-ede3, single and double length MAK', async (t) => {
  let mismatches = 0;
  for (const len of LENGTHS) {
    for (let i = 0; i < KEYS_PER_LENGTH; i++) {
      const key = randomBytes(i % 2 ? 16 : 8);
      const data = randomBytes(len);
      if (!cupEcbMac(new DesKey(key), data, 0, len).equals(referenceCupEcb(key, data))) mismatches++;
    }
  }
  t.equal(mismatches, 0);
});

t.test('X9.19 with equal halves degenerates to X9.9 (sanity of the final step)', async (t) => {
  const k = randomBytes(8);
  const data = randomBytes(100);
  t.same(x919Mac(new DesKey(Buffer.concat([k, k])), data, 0, 100), x99Mac(new DesKey(k), data, 0, 100));
});

t.test('a range inside a frame, written into out at an offset, equals the MAC of a copy', async (t) => {
  const frame = randomBytes(300);
  const [start, end] = [13, 231];
  const copy = Buffer.from(frame.subarray(start, end));
  const keys = { 'cup-ecb': randomBytes(8), 'x9.19': randomBytes(16), 'x9.9': randomBytes(8) } as const;
  for (const [algorithm, key] of Object.entries(keys) as [keyof typeof keys, Buffer][]) {
    const des = new DesKey(key);
    const expected = computeMac(des, algorithm, copy, 0, copy.length);
    const out = Buffer.alloc(20, 0xee);
    t.equal(computeMac(des, algorithm, frame, start, end, out, 5), out, `${algorithm}: returns out`);
    t.same(out.subarray(5, 13), expected, `${algorithm}: MAC at the offset`);
    t.same([...out.subarray(0, 5), ...out.subarray(13)], new Array(12).fill(0xee), `${algorithm}: rest untouched`);
  }
});

t.test('CUP-ECB and X9.x ignore trailing zero padding but not other trailing bytes', async (t) => {
  const des8 = new DesKey(randomBytes(8));
  const des16 = new DesKey(randomBytes(16));
  const data = Buffer.concat([randomBytes(13), Buffer.alloc(3)]);
  t.same(cupEcbMac(des8, data, 0, 16), cupEcbMac(des8, data, 0, 13), 'cup-ecb: explicit 00 pad = implicit pad');
  t.same(x919Mac(des16, data, 0, 16), x919Mac(des16, data, 0, 13), 'x9.19: explicit 00 pad = implicit pad');
  data[15] = 1;
  t.notSame(cupEcbMac(des8, data, 0, 16), cupEcbMac(des8, data, 0, 13), 'cup-ecb: a changed byte changes the MAC');
  t.notSame(x919Mac(des16, data, 0, 16), x919Mac(des16, data, 0, 13), 'x9.19: a changed byte changes the MAC');
});

t.test('bad ranges, outputs and key lengths are refused', async (t) => {
  const des8 = new DesKey(randomBytes(8));
  const data = Buffer.alloc(20);
  t.throws(() => cupEcbMac(des8, data, 0, 21), RangeError, 'end past the data');
  t.throws(() => cupEcbMac(des8, data, 5, 4), RangeError, 'start after end');
  t.throws(() => x99Mac(des8, data, -1, 4), RangeError, 'negative start');
  t.throws(() => cupEcbMac(des8, data, 0, 20, Buffer.alloc(10), 3), RangeError, 'out too small for the offset');
  t.throws(() => x919Mac(des8, data, 0, 20), SecurityError, 'X9.19 with a single-length key');
  t.throws(() => x99Mac(new DesKey(randomBytes(16)), data, 0, 20), SecurityError, 'X9.9 with a double-length key');
});
