// HmacSha256 (src/security/hmac.ts) is a hand-built HMAC-SHA256 from two one-shot hashes: it must
// agree byte for byte with node:crypto's createHmac for every key size it accepts, every message
// length up to its configured maximum (across the SHA-256 block boundary), strings and byte
// ranges alike, truncated and written at an offset; and it must refuse what it cannot do.
import t from 'tap';
import { createHmac, createSecretKey, randomBytes, randomInt } from 'node:crypto';
import { HmacSha256 } from '../../src/security/hmac.js';

const KEYS_PER_LENGTH = 40;

function reference(key: Buffer, message: Buffer): Buffer {
  return createHmac('sha256', key).update(message).digest();
}

/** A random latin1 string (every byte value 0..255 possible) and its bytes. */
function randomLatin1(n: number): { s: string; bytes: Buffer } {
  const bytes = randomBytes(n);
  return { s: bytes.toString('latin1'), bytes };
}

for (const max of [19, 150]) {
  for (const keyLength of [16, 32, 64]) {
    t.test(`${keyLength}-byte keys, messages 0..${max} bytes: ofString and ofBytes match createHmac`, async (t) => {
      let checked = 0;
      let mismatches = 0;
      let firstFailure = '';
      const out = Buffer.alloc(64);
      for (let k = 0; k < KEYS_PER_LENGTH; k++) {
        const keyBytes = randomBytes(keyLength);
        const keyObject = createSecretKey(keyBytes);
        const mac = new HmacSha256(keyObject, max);
        for (let n = 0; n <= max; n++) {
          const { s, bytes } = randomLatin1(n);
          const expected = reference(keyBytes, bytes);
          for (const length of [16, 32]) {
            // A string, at a random offset of `out`.
            const at = randomInt(0, out.length - length + 1);
            out.fill(0xee);
            mac.ofString(s, out, at, length);
            const got = out.subarray(at, at + length);
            const untouched = out.subarray(0, at).every((b) => b === 0xee) && out.subarray(at + length).every((b) => b === 0xee);
            if (!got.equals(expected.subarray(0, length)) || !untouched) {
              mismatches++;
              firstFailure ||= `ofString key=${keyBytes.toString('hex')} msg=${bytes.toString('hex')} len=${length} at=${at}: ${out.toString('hex')}`;
            }
            checked++;

            // The same bytes as a range of a larger buffer, with bytes either side.
            const before = randomInt(0, 20);
            const frame = Buffer.concat([randomBytes(before), bytes, randomBytes(randomInt(0, 20))]);
            const at2 = randomInt(0, out.length - length + 1);
            out.fill(0xee);
            mac.ofBytes(frame, before, before + n, out, at2, length);
            const got2 = out.subarray(at2, at2 + length);
            const untouched2 = out.subarray(0, at2).every((b) => b === 0xee) && out.subarray(at2 + length).every((b) => b === 0xee);
            if (!got2.equals(expected.subarray(0, length)) || !untouched2) {
              mismatches++;
              firstFailure ||= `ofBytes key=${keyBytes.toString('hex')} frame=${frame.toString('hex')} [${before}, ${before + n}) len=${length} at=${at2}: ${out.toString('hex')}`;
            }
            checked++;
          }
        }
        // Building the HMAC must not have spoiled the caller's key object.
        if (!createHmac('sha256', keyObject).update('x').digest().equals(reference(keyBytes, Buffer.from('x')))) {
          mismatches++;
          firstFailure ||= 'the KeyObject changed after constructing HmacSha256';
        }
      }
      t.equal(checked, KEYS_PER_LENGTH * (max + 1) * 4, 'every combination was checked');
      t.equal(mismatches, 0, `all MACs match createHmac ${firstFailure}`);
    });
  }
}

t.test('known answer: RFC 4231 test case 2 ("Jefe"), full and truncated', async (t) => {
  const mac = new HmacSha256(createSecretKey(Buffer.from('Jefe')), 64);
  const out = Buffer.alloc(32);
  mac.ofString('what do ya want for nothing?', out, 0, 32);
  t.equal(out.toString('hex'), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  const short = Buffer.alloc(20, 0xff);
  mac.ofBytes(Buffer.from('what do ya want for nothing?'), 0, 28, short, 4, 16);
  t.equal(short.toString('hex'), 'ffffffff' + '5bdcc146bf60754e6a042426089575c7', 'first 16 bytes at offset 4');
});

t.test('ofBytes accepts a plain Uint8Array and a zero-length range anywhere', async (t) => {
  const key = randomBytes(32);
  const mac = new HmacSha256(createSecretKey(key), 32);
  const data = new Uint8Array(randomBytes(40));
  const out = Buffer.alloc(32);
  mac.ofBytes(data, 5, 37, out, 0, 32);
  t.same(out, reference(key, Buffer.from(data.subarray(5, 37))), 'Uint8Array range');
  mac.ofBytes(data, 17, 17, out, 0, 32);
  t.same(out, reference(key, Buffer.alloc(0)), 'empty range in the middle');
});

t.test('a key longer than the 64-byte block is refused', async (t) => {
  for (const n of [65, 100, 128]) {
    t.throws(() => new HmacSha256(createSecretKey(randomBytes(n)), 16), RangeError, `${n}-byte key`);
  }
  t.doesNotThrow(() => new HmacSha256(createSecretKey(randomBytes(64)), 16), 'a 64-byte key is accepted');
});

t.test('a message longer than the configured maximum is refused with RangeError', async (t) => {
  const key = randomBytes(32);
  const max = 19;
  const mac = new HmacSha256(createSecretKey(key), max);
  const out = Buffer.alloc(32);
  for (const n of [max + 1, max + 2, 64, 1000]) {
    const { s, bytes } = randomLatin1(n);
    t.throws(() => mac.ofString(s, out, 0, 32), RangeError, `ofString of ${n} bytes`);
    t.throws(() => mac.ofBytes(bytes, 0, n, out, 0, 32), RangeError, `ofBytes of ${n} bytes`);
    const frame = Buffer.concat([randomBytes(7), bytes]);
    t.throws(() => mac.ofBytes(frame, 7, 7 + n, out, 0, 32), RangeError, `ofBytes of a ${n}-byte range at offset 7`);
  }
  // Exactly the maximum is fine, and a long buffer with a short range is fine.
  const { s, bytes } = randomLatin1(max);
  mac.ofString(s, out, 0, 32);
  t.same(out, reference(key, bytes), `ofString of exactly ${max} bytes`);
  const long = randomBytes(500);
  mac.ofBytes(long, 300, 300 + max, out, 0, 32);
  t.same(out, reference(key, long.subarray(300, 300 + max)), 'ofBytes of a short range of a long buffer');
});

t.test('no bytes of an earlier message leak into a later, shorter one', async (t) => {
  const key = randomBytes(32);
  const max = 150;
  const mac = new HmacSha256(createSecretKey(key), max);
  const out = Buffer.alloc(32);

  const long = randomLatin1(max);
  mac.ofString(long.s, out, 0, 32);
  t.same(out, reference(key, long.bytes), 'the long message');
  mac.ofString('abc', out, 0, 32);
  t.same(out, reference(key, Buffer.from('abc')), 'a short string after a long string');
  mac.ofString('', out, 0, 32);
  t.same(out, reference(key, Buffer.alloc(0)), 'the empty string after that');

  const longBytes = randomBytes(max);
  mac.ofBytes(longBytes, 0, max, out, 0, 32);
  t.same(out, reference(key, longBytes), 'long bytes');
  const shortBytes = Buffer.from([0, 0, 0]); // zeros: the bytes a wrong length would pick up
  mac.ofBytes(shortBytes, 0, 3, out, 0, 32);
  t.same(out, reference(key, shortBytes), 'short bytes after long bytes');
  mac.ofString('abc', out, 0, 32);
  t.same(out, reference(key, Buffer.from('abc')), 'a string after bytes');

  // A refused message must not disturb the next one either.
  t.throws(() => mac.ofString('z'.repeat(max + 50), out, 0, 32), RangeError);
  mac.ofString('abc', out, 0, 32);
  t.same(out, reference(key, Buffer.from('abc')), 'a short string after a refused one');
  t.throws(() => mac.ofBytes(randomBytes(max + 1), 0, max + 1, out, 0, 32), RangeError);
  mac.ofBytes(shortBytes, 0, 3, out, 0, 32);
  t.same(out, reference(key, shortBytes), 'short bytes after refused bytes');

  // Many alternations, random lengths.
  let mismatches = 0;
  for (let i = 0; i < 2000; i++) {
    const m = randomLatin1(randomInt(0, max + 1));
    if (i % 2) mac.ofString(m.s, out, 0, 32);
    else mac.ofBytes(m.bytes, 0, m.bytes.length, out, 0, 32);
    if (!out.equals(reference(key, m.bytes))) mismatches++;
  }
  t.equal(mismatches, 0, '2000 alternating random-length messages');
});

t.test('a range outside the message, or backwards, and a non-latin1 string are refused, not hashed', async (t) => {
  const h = new HmacSha256(createSecretKey(randomBytes(32)), 32);
  const out = Buffer.alloc(32);
  t.throws(() => h.ofBytes(Buffer.from('abc'), 0, 10, out, 0, 32), RangeError, 'end past the message');
  t.throws(() => h.ofBytes(Buffer.from('abcdef'), 4, 2, out, 0, 32), RangeError, 'end before start');
  t.throws(() => h.ofBytes(Buffer.from('abc'), -1, 2, out, 0, 32), RangeError, 'negative start');
  t.throws(() => h.ofString('62258\u0136', out, 0, 32), RangeError, 'a character above 0xFF');
  const key = randomBytes(32);
  const fresh = new HmacSha256(createSecretKey(key), 32);
  t.throws(() => fresh.ofString('x'.repeat(33), out, 0, 32), RangeError, 'too long');
  fresh.ofString('6225', out, 0, 32);
  t.ok(out.equals(createHmac('sha256', key).update('6225').digest()), 'still right after refusals');
});
