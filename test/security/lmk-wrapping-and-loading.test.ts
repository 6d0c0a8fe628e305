// The LMK wraps keys with AES-256-GCM (any change to a stored key is caught), and loadLmk takes
// the key from POSP_LMK, else from a file that it creates once with mode 0600 (key files here are
// written 0600 too: loadLmk refuses one that group or others may read).
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lmk, loadLmk, SecurityError } from '../../src/security/index.js';

const dir = mkdtempSync(join(tmpdir(), 'posp-lmk-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof SecurityError) return err.code;
    throw err;
  }
  return 'no error';
}

t.test('wrap: iv(12) ‖ tag(16) ‖ ciphertext, fresh iv every time, unwrap inverts', async (t) => {
  const lmk = new Lmk(randomBytes(32));
  const key = randomBytes(16);
  const a = lmk.wrap(key);
  const b = lmk.wrap(key);
  t.equal(a.length, 12 + 16 + 16);
  t.notSame(a.subarray(0, 12), b.subarray(0, 12), 'fresh iv');
  t.notSame(a.subarray(28), b.subarray(28), 'so the ciphertext differs too');
  t.not(a.subarray(28).toString('hex'), key.toString('hex'), 'not the clear key');
  t.same(lmk.unwrap(a), key);
  t.same(lmk.unwrap(b), key);
});

t.test('any altered byte, truncation or another LMK fails with key-unwrap', async (t) => {
  const lmk = new Lmk(randomBytes(32));
  const wrapped = lmk.wrap(randomBytes(16));
  for (const at of [0, 11, 12, 27, 28, wrapped.length - 1]) {
    const bad = Buffer.from(wrapped);
    bad[at]! ^= 0x01;
    t.equal(codeOf(() => lmk.unwrap(bad)), 'key-unwrap', `byte ${at} flipped`);
  }
  t.equal(codeOf(() => lmk.unwrap(wrapped.subarray(0, 28))), 'key-unwrap', 'no ciphertext');
  t.equal(codeOf(() => lmk.unwrap(wrapped.subarray(0, wrapped.length - 1))), 'key-unwrap', 'truncated');
  t.equal(codeOf(() => new Lmk(randomBytes(32)).unwrap(wrapped)), 'key-unwrap', 'another LMK');
  t.throws(() => lmk.unwrap(Buffer.from(wrapped).fill(0, 28)), /altered, or wrapped under a different LMK/, 'clear message');
});

t.test('an LMK must be 32 bytes', async (t) => {
  t.equal(codeOf(() => new Lmk(randomBytes(16))), 'lmk');
});

t.test('loadLmk: a missing file is created once (32 random bytes, 0600) and reloads the same key', async (t) => {
  const file = join(dir, 'sub', 'lmk.key');
  const first = loadLmk({ file });
  const st = statSync(file);
  t.equal(st.size, 32, '32 raw bytes');
  t.equal(st.mode & 0o777, 0o600, 'mode 0600');
  const wrapped = first.wrap(Buffer.from('0123456789abcdef'));
  t.same(loadLmk({ file }).unwrap(wrapped), Buffer.from('0123456789abcdef'), 'second load, same key');
  t.same(loadLmk({ env: '', file }).unwrap(wrapped), Buffer.from('0123456789abcdef'), 'empty env is ignored');
});

t.test('loadLmk: env wins over the file; hex files work; raw and hex give the same key', async (t) => {
  const key = randomBytes(32);
  const rawFile = join(dir, 'raw.key');
  const hexFile = join(dir, 'hex.key');
  writeFileSync(rawFile, key, { mode: 0o600 });
  writeFileSync(hexFile, key.toString('hex').toUpperCase() + '\n', { mode: 0o600 });
  const wrapped = loadLmk({ file: rawFile }).wrap(Buffer.from('abcdefgh'));
  t.same(loadLmk({ file: hexFile }).unwrap(wrapped), Buffer.from('abcdefgh'), 'hex file');
  t.same(loadLmk({ env: key.toString('hex') }).unwrap(wrapped), Buffer.from('abcdefgh'), 'env alone');

  const otherFile = join(dir, 'other.key');
  writeFileSync(otherFile, randomBytes(32), { mode: 0o600 });
  t.same(loadLmk({ env: key.toString('hex'), file: otherFile }).unwrap(wrapped), Buffer.from('abcdefgh'), 'env wins');
  t.same(readFileSync(otherFile).length, 32, 'file left alone');
});

t.test('loadLmk: malformed keys and no source are clear errors', async (t) => {
  t.throws(() => loadLmk({ env: 'abcd' }), /POSP_LMK must be 64 hex digits/);
  t.throws(() => loadLmk({ env: 'zz'.repeat(32) }), /POSP_LMK must be 64 hex digits/);
  const bad = join(dir, 'bad.key');
  writeFileSync(bad, 'not a key\n', { mode: 0o600 });
  t.throws(() => loadLmk({ file: bad }), /must hold 32 raw bytes or 64 hex digits/);
  writeFileSync(bad, randomBytes(31));
  t.equal(codeOf(() => loadLmk({ file: bad })), 'lmk', '31 bytes');
  t.equal(codeOf(() => loadLmk({})), 'lmk', 'no source');
});

t.test('derived secrets are stable per purpose and differ between purposes', async (t) => {
  const key = randomBytes(32);
  const a = new Lmk(key).derive('x').export();
  t.same(new Lmk(key).derive('x').export(), a, 'stable');
  t.notSame(new Lmk(key).derive('y').export(), a, 'per purpose');
  t.notSame(a, key, 'not the LMK');
});
