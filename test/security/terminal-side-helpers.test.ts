// What a terminal (the load generator) does with its clear TMK: open the sign-in key block with
// KCV checks, encrypt its PIN block and track. Checked against DesKey and the PROTOCOL.md vector.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import {
  buildPinBlock,
  decryptWorkingKey,
  DesKey,
  encryptPinBlock,
  encryptTrack,
  kcv,
  openKeyBlock,
  SecurityError,
} from '../../src/security/index.js';

const TMK = Buffer.from('70F2A84CCBC2AE8625CBB0F2C22AB923', 'hex');

t.test('decryptWorkingKey: the PROTOCOL.md vector, from bytes or a DesKey', async (t) => {
  const enc = Buffer.from('96D605EA176B7E9E', 'hex');
  t.equal(decryptWorkingKey(TMK, enc).toString('hex'), 'c24a8fb57aa20123');
  t.equal(decryptWorkingKey(new DesKey(TMK), enc).toString('hex'), 'c24a8fb57aa20123');
});

t.test('openKeyBlock: decrypts every key and checks every KCV', async (t) => {
  const tmk = new DesKey(TMK);
  const pik = randomBytes(16);
  const mak = randomBytes(8);
  const tdk = randomBytes(16);
  const f62 = Buffer.concat([
    tmk.encryptEcb(pik), kcv(new DesKey(pik)),
    tmk.encryptEcb(mak), Buffer.alloc(8), kcv(new DesKey(mak)),
    tmk.encryptEcb(tdk), kcv(new DesKey(tdk)),
  ]);
  const keys = openKeyBlock(TMK, f62, '004');
  t.same(keys.pik, pik);
  t.same(keys.mak, mak);
  t.same(keys.tdk, tdk);
  t.same(openKeyBlock(TMK, f62.subarray(0, 40), '003'), { pik, mak }, '003 is the first 40 bytes');

  const badKcv = Buffer.from(f62);
  badKcv[39]! ^= 1;
  t.throws(() => openKeyBlock(TMK, badKcv, '004'), /MAK check value mismatch/, 'a wrong MAK KCV');
  t.throws(() => openKeyBlock(randomBytes(16), f62, '004'), SecurityError, 'the wrong TMK');
});

t.test('encryptPinBlock: format 0 block under the PIK', async (t) => {
  const pik = randomBytes(16);
  const enc = encryptPinBlock(pik, '123456789012345678', '123456');
  t.equal(new DesKey(pik).decryptEcb(enc).toString('hex').toUpperCase(), '061253DFFEDCBA98');
  const out = Buffer.alloc(8);
  t.equal(encryptPinBlock(new DesKey(pik), '123456789012345678', '123456', out), out, 'into out');
  t.same(out, enc);
  t.same(buildPinBlock('123456789012345678', '123456'), Buffer.from('061253DFFEDCBA98', 'hex'), 'clear block unchanged');
});

t.test('encryptTrack: only the 8 bytes ending one byte before the end are encrypted', async (t) => {
  const tdk = randomBytes(16);
  const track = Buffer.from('6225880000000011D30121010000000000000F', 'hex'); // 19 bytes
  const enc = encryptTrack(tdk, track);
  t.equal(enc.length, track.length);
  t.same(enc.subarray(0, 10), track.subarray(0, 10), 'head untouched');
  t.equal(enc[18], track[18], 'last byte untouched');
  t.same(enc.subarray(10, 18), new DesKey(tdk).encryptEcb(track.subarray(10, 18)), 'bytes 10..17 encrypted');
  t.equal(track.toString('hex'), '6225880000000011d30121010000000000000f', 'input not modified');
  t.throws(() => encryptTrack(tdk, Buffer.alloc(8)), SecurityError, 'too short');
});
