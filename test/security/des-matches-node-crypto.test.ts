// DesKey must agree bit for bit with OpenSSL (node:crypto) for single, double and triple length
// keys, in both directions, on random keys and blocks, and with the FIPS 46 worked example.
import t from 'tap';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { DesKey, SecurityError } from '../../src/security/index.js';

const ROUNDS = 5000;

/** Node's cipher for a DES key; OpenSSL 3 has no single DES, so K becomes K‖K‖K. */
function nodeEcb(key: Buffer, decrypt: boolean) {
  const [name, k] =
    key.length === 8 ? ['des-ede3', Buffer.concat([key, key, key])] : [key.length === 16 ? 'des-ede' : 'des-ede3', key];
  const c = decrypt ? createDecipheriv(name, k, null) : createCipheriv(name, k, null);
  c.setAutoPadding(false);
  return c;
}

for (const length of [8, 16, 24] as const) {
  t.test(`${length}-byte keys: ${ROUNDS} random keys and blocks, encrypt and decrypt`, async (t) => {
    let encryptMismatches = 0;
    let decryptMismatches = 0;
    let firstFailure = '';
    const out = Buffer.alloc(8);
    for (let i = 0; i < ROUNDS; i++) {
      const key = randomBytes(length);
      const block = randomBytes(8);
      const des = new DesKey(key);

      des.encryptBlock(block, 0, out, 0);
      const expected = nodeEcb(key, false).update(block);
      if (!out.equals(expected)) {
        encryptMismatches++;
        firstFailure ||= `encrypt key=${key.toString('hex')} block=${block.toString('hex')}: ${out.toString('hex')} != ${expected.toString('hex')}`;
      }

      des.decryptBlock(block, 0, out, 0);
      const expectedPlain = nodeEcb(key, true).update(block);
      if (!out.equals(expectedPlain)) {
        decryptMismatches++;
        firstFailure ||= `decrypt key=${key.toString('hex')} block=${block.toString('hex')}: ${out.toString('hex')} != ${expectedPlain.toString('hex')}`;
      }
    }
    t.equal(encryptMismatches, 0, `encryptBlock matches node:crypto ${firstFailure}`);
    t.equal(decryptMismatches, 0, `decryptBlock matches node:crypto ${firstFailure}`);
  });

  t.test(`${length}-byte keys: multi-block ECB and in-place/offset block calls`, async (t) => {
    const key = randomBytes(length);
    const des = new DesKey(key);
    const data = randomBytes(8 * 37);
    const cipher = des.encryptEcb(data);
    t.same(cipher, nodeEcb(key, false).update(data), 'encryptEcb matches node');
    t.same(des.decryptEcb(cipher), data, 'decryptEcb inverts encryptEcb');

    // Blocks at odd offsets of a larger buffer, encrypted in place.
    const frame = Buffer.concat([Buffer.from([1, 2, 3]), data.subarray(0, 8), Buffer.from([4])]);
    des.encryptBlock(frame, 3, frame, 3);
    t.same(frame.subarray(3, 11), cipher.subarray(0, 8), 'in-place encryption at an offset');
    t.same([frame[0], frame[1], frame[2], frame[11]], [1, 2, 3, 4], 'neighbouring bytes untouched');
    des.decryptBlock(frame, 3, frame, 3);
    t.same(frame.subarray(3, 11), data.subarray(0, 8), 'in-place decryption at an offset');
  });
}

t.test('FIPS 46 worked example (key 133457799BBCDFF1)', async (t) => {
  const des = new DesKey(Buffer.from('133457799BBCDFF1', 'hex'));
  t.equal(des.encryptEcb(Buffer.from('0123456789ABCDEF', 'hex')).toString('hex'), '85e813540f0ab405');
  t.equal(des.decryptEcb(Buffer.from('85E813540F0AB405', 'hex')).toString('hex'), '0123456789abcdef');
});

t.test('a double-length key with equal halves is single DES; parity bits are ignored', async (t) => {
  const k = randomBytes(8);
  const block = randomBytes(8);
  const single = new DesKey(k).encryptEcb(block);
  t.same(new DesKey(Buffer.concat([k, k])).encryptEcb(block), single, 'K‖K 3DES = DES(K)');
  t.same(new DesKey(Buffer.concat([k, k, k])).encryptEcb(block), single, 'K‖K‖K 3DES = DES(K)');
  const flipped = Buffer.from(k.map((b) => b ^ 1));
  t.same(new DesKey(flipped).encryptEcb(block), single, 'flipping every parity bit changes nothing');
});

t.test('cbcMac: CBC under K1 for all blocks but the last, which goes through the whole key', async (t) => {
  for (const length of [8, 16, 24] as const) {
    for (const size of [0, 5, 8, 13, 64, 70]) {
      const key = randomBytes(length);
      const data = randomBytes(size);
      const padded = Buffer.concat([data, Buffer.alloc((size === 0 ? 8 : (8 - (size % 8)) % 8))]);
      const k1 = Buffer.concat([key.subarray(0, 8), key.subarray(0, 8), key.subarray(0, 8)]);
      let chain = Buffer.alloc(8);
      if (padded.length > 8) {
        const cbc = createCipheriv('des-ede3-cbc', k1, chain);
        cbc.setAutoPadding(false);
        chain = cbc.update(padded.subarray(0, padded.length - 8)).subarray(-8);
      }
      const last = Buffer.from(chain.map((b, i) => b ^ padded[padded.length - 8 + i]!));
      const expected = nodeEcb(key, false).update(last);
      const out = Buffer.alloc(10);
      new DesKey(key).cbcMac(Buffer.concat([Buffer.alloc(3), data]), 3, 3 + size, out, 2);
      t.same(out.subarray(2), expected, `${length}-byte key, ${size} bytes`);
    }
  }
});

t.test('bad key lengths and ECB lengths are refused', async (t) => {
  for (const n of [0, 7, 9, 15, 17, 23, 25, 32]) {
    t.throws(() => new DesKey(Buffer.alloc(n)), SecurityError, `${n}-byte key`);
  }
  t.throws(() => new DesKey(Buffer.alloc(8)).encryptEcb(Buffer.alloc(12)), RangeError);
  t.throws(() => new DesKey(Buffer.alloc(8)).decryptEcb(Buffer.alloc(1)), RangeError);
});
