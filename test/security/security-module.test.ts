// SecurityModule end to end: stored keys are LMK-wrapped, sign-in key issue per mode yields an F62
// a terminal can open and MACs both sides agree on, PIN verify/translate, track decryption, and
// handles that do not expose key bytes. Results are checked with DesKey, never with the module.
import t from 'tap';
import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import {
  computeMac,
  DesKey,
  encryptPinBlock,
  encryptTrack,
  kcv,
  KeyHandle,
  Lmk,
  openKeyBlock,
  parseKeyBlock,
  PinFormatError,
  SecurityError,
  SecurityModule,
  type KeyMode,
  type MacAlgorithm,
} from '../../src/security/index.js';

/** The error `fn` throws, for t.match against its fields. */
function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return 'no error';
}

const DEMO_TMK = '404142434445464748494A4B4C4D4E4F';
const lmk = new Lmk(randomBytes(32));
const hsm = new SecurityModule(lmk);
const tmkWrapped = hsm.importKey(DEMO_TMK);
const tmkClear = Buffer.from(DEMO_TMK, 'hex');

t.test('importKey wraps under the LMK; loadKey and kcv agree with the clear key', async (t) => {
  t.not(tmkWrapped.toString('hex').toUpperCase().includes(DEMO_TMK), true, 'clear key not visible');
  t.same(lmk.unwrap(tmkWrapped), tmkClear, 'the LMK unwraps it');
  const expectedKcv = kcv(new DesKey(tmkClear));
  t.same(hsm.kcv(tmkWrapped), expectedKcv, 'kcv of a wrapped key');
  const handle = hsm.loadKey(tmkWrapped);
  t.same(hsm.kcv(handle), expectedKcv, 'kcv of a handle');
  t.equal(handle.kcv, expectedKcv.toString('hex').toUpperCase(), 'handle.kcv');
  t.equal(handle.length, 16);
  t.same(lmk.unwrap(hsm.importKey(tmkClear)), tmkClear, 'from bytes too');
  t.throws(() => hsm.importKey('4041424344'), SecurityError, 'odd hex length');
  t.throws(() => hsm.importKey(Buffer.alloc(12)), SecurityError, '12 bytes');
});

t.test('a handle does not reveal its key', async (t) => {
  const handle = hsm.loadKey(tmkWrapped);
  const shown = [inspect(handle, { showHidden: true, depth: 10 }), JSON.stringify(handle), Object.keys(handle).join()].join('\n');
  t.notMatch(shown, /4041424344/i, 'no key bytes in inspect / JSON');
  t.same(Object.keys(handle).sort(), ['kcv', 'length']);
  t.type(caught(() => Reflect.construct(KeyHandle, [Symbol('KeyHandle'), new DesKey(tmkClear)])), TypeError, 'cannot be forged');
});

t.test('a tampered wrapped key fails to load with a clear error', async (t) => {
  const bad = Buffer.from(tmkWrapped);
  bad[bad.length - 1]! ^= 0x80;
  t.match(caught(() => hsm.loadKey(bad)), { code: 'key-unwrap', message: /failed authentication/ });
  t.throws(() => new SecurityModule(new Lmk(randomBytes(32))).loadKey(tmkWrapped), SecurityError, 'another LMK');
});

const MODES: [KeyMode, number][] = [['001', 24], ['003', 40], ['004', 60]];

for (const [mode, length] of MODES) {
  t.test(`issueWorkingKeys ${mode}: ${length}-byte F62 a terminal opens; MACs verify both ways`, async (t) => {
    const issued = hsm.issueWorkingKeys(tmkWrapped, mode);
    t.equal(issued.f62.length, length, 'F62 length');
    t.equal(issued.tdk !== undefined, mode === '004', 'TDK only in 004');

    // Decrypt each key from F62 directly, compare with the stored (wrapped) one and its KCV.
    const tmk = new DesKey(tmkClear);
    const block = parseKeyBlock(issued.f62, mode);
    const pik = tmk.decryptEcb(block.pik.key);
    const mak = tmk.decryptEcb(block.mak.key);
    t.equal(pik.length, mode === '001' ? 8 : 16, 'PIK length');
    t.equal(mak.length, 8, 'MAK is single length');
    t.same(lmk.unwrap(issued.pik), pik, 'stored PIK = F62 PIK');
    t.same(lmk.unwrap(issued.mak), mak, 'stored MAK = F62 MAK');
    t.same(block.pik.kcv, kcv(new DesKey(pik)), 'PIK KCV');
    t.same(block.mak.kcv, kcv(new DesKey(mak)), 'MAK KCV');
    if (mode !== '001') t.same(issued.f62.subarray(28, 36), Buffer.alloc(8), '00×8 after the MAK');
    if (mode === '004') {
      const tdk = tmk.decryptEcb(block.tdk!.key);
      t.same(lmk.unwrap(issued.tdk!), tdk, 'stored TDK = F62 TDK');
      t.same(block.tdk!.kcv, kcv(new DesKey(tdk)), 'TDK KCV');
    }
    t.same(openKeyBlock(tmkClear, issued.f62, mode).mak, mak, 'the terminal helper agrees');

    const makHandle = hsm.loadKey(issued.mak);
    const terminalMak = new DesKey(mak);
    const algorithms: MacAlgorithm[] = ['cup-ecb', 'x9.9'];
    for (const algorithm of algorithms) {
      const frame = randomBytes(150);
      const terminalMac = computeMac(terminalMak, algorithm, frame, 20, 142);
      t.ok(hsm.verifyMac(makHandle, algorithm, frame, 20, 142, terminalMac, 0), `${algorithm}: switch verifies the terminal's MAC`);
      const switchMac = hsm.generateMac(makHandle, algorithm, frame, 20, 142);
      t.same(switchMac, terminalMac, `${algorithm}: terminal verifies the switch's MAC`);
    }
  });
}

t.test('working keys are fresh at every sign-in', async (t) => {
  const seen = new Set<string>();
  for (let i = 0; i < 50; i++) {
    const { f62 } = hsm.issueWorkingKeys(tmkWrapped, '004');
    const b = parseKeyBlock(f62, '004');
    for (const k of [b.pik.key, b.mak.key, b.tdk!.key]) seen.add(k.toString('hex'));
  }
  t.equal(seen.size, 150);
});

t.test('verifyMac: X9.19 with a double-length key, wrong MACs and odd arguments fail', async (t) => {
  const zakClear = randomBytes(16);
  const zak = hsm.loadKey(hsm.importKey(zakClear));
  const frame = randomBytes(200);
  const mac = computeMac(new DesKey(zakClear), 'x9.19', frame, 0, 192);
  const msg = Buffer.concat([frame.subarray(0, 192), mac]);
  t.ok(hsm.verifyMac(zak, 'x9.19', msg, 0, 192, msg, 192), 'good MAC in place');
  for (const at of [0, 7]) {
    const bad = Buffer.from(msg);
    bad[192 + at]! ^= 1;
    t.notOk(hsm.verifyMac(zak, 'x9.19', bad, 0, 192, bad, 192), `MAC byte ${at} flipped`);
  }
  const altered = Buffer.from(msg);
  altered[100]! ^= 1;
  t.notOk(hsm.verifyMac(zak, 'x9.19', altered, 0, 192, altered, 192), 'message byte flipped');
  t.notOk(hsm.verifyMac(zak, 'cup-ecb', msg, 0, 192, msg, 192), 'wrong algorithm');
  t.notOk(hsm.verifyMac(zak, 'x9.19', msg, 0, 192, msg, 195), 'MAC offset past the end');
  t.notOk(hsm.verifyMac(zak, 'x9.19', msg, 0, 192, mac.subarray(0, 4), 0), 'short MAC');

  const out = Buffer.alloc(12);
  t.equal(hsm.generateMac(zak, 'x9.19', msg, 0, 192, out, 4), out, 'generate into out');
  t.same(out.subarray(4), mac);
});

const PAN = '6225880000000011';

t.test('PIN verify: ok, wrong, format', async (t) => {
  const { pik } = hsm.issueWorkingKeys(tmkWrapped, '003');
  const pikClear = lmk.unwrap(pik);
  const pikHandle = hsm.loadKey(pik);
  const verifier = hsm.makePinVerifier(PAN, '123456');
  t.equal(verifier.length, 16);
  t.not(verifier.toString('hex'), hsm.makePinVerifier('6225880000000029', '123456').toString('hex'), 'bound to the PAN');
  t.same(new SecurityModule(lmk).makePinVerifier(PAN, '123456'), verifier, 'stable for the same LMK');
  t.notSame(new SecurityModule(new Lmk(randomBytes(32))).makePinVerifier(PAN, '123456'), verifier, 'depends on the LMK');

  t.equal(hsm.verifyPin(pikHandle, encryptPinBlock(pikClear, PAN, '123456'), PAN, verifier), 'ok');
  t.equal(hsm.verifyPin(pikHandle, encryptPinBlock(pikClear, PAN, '123457'), PAN, verifier), 'wrong');
  t.equal(hsm.verifyPin(pikHandle, encryptPinBlock(pikClear, PAN, '1234560'), PAN, verifier), 'wrong', 'longer PIN');
  t.equal(hsm.verifyPin(pikHandle, encryptPinBlock(randomBytes(16), PAN, '123456'), PAN, verifier), 'format', 'wrong PIK');
  const garbage = new DesKey(pikClear).encryptEcb(Buffer.from('0312FFFFFFFFFFFF', 'hex'));
  t.equal(hsm.verifyPin(pikHandle, garbage, PAN, verifier), 'format', 'PIN length 3');
  t.equal(hsm.verifyPin(pikHandle, Buffer.alloc(7), PAN, verifier), 'format', 'short block');
  t.throws(() => hsm.makePinVerifier(PAN, '12'), PinFormatError);
  t.throws(() => hsm.verifyPin(pikHandle, Buffer.alloc(8), PAN, verifier.subarray(0, 8)), RangeError, 'bad verifier');
});

t.test('the stored PIN verifier format is pinned: HMAC-SHA256(HKDF(LMK), PAN "=" PIN) truncated to 16', async (t) => {
  const lmkBytes = Buffer.alloc(32, 0x5a);
  const verifierKey = Buffer.from(hkdfSync('sha256', lmkBytes, Buffer.alloc(0), 'posp/pin-verifier/v1', 32));
  const expected = createHmac('sha256', verifierKey).update('6225880000000011=123456').digest().subarray(0, 16);
  t.same(new SecurityModule(new Lmk(lmkBytes)).makePinVerifier('6225880000000011', '123456'), expected);
});

t.test('PIN translate: same clear block under the ZPK; bad blocks throw PinFormatError', async (t) => {
  const { pik } = hsm.issueWorkingKeys(tmkWrapped, '001');
  const pikClear = lmk.unwrap(pik);
  const zpkClear = randomBytes(16);
  const pikHandle = hsm.loadKey(pik);
  const zpk = hsm.loadKey(hsm.importKey(zpkClear));
  const pan = '123456789012345678';
  const fromTerminal = encryptPinBlock(pikClear, pan, '123456');
  const toHost = hsm.translatePin(pikHandle, zpk, fromTerminal, pan);
  t.equal(new DesKey(zpkClear).decryptEcb(toHost).toString('hex').toUpperCase(), '061253DFFEDCBA98');
  t.notSame(toHost, fromTerminal);
  const out = Buffer.alloc(8);
  t.equal(hsm.translatePin(pikHandle, zpk, fromTerminal, pan, out), out, 'into out');
  t.same(out, toHost);

  const wrongPad = new DesKey(pikClear).encryptEcb(Buffer.from('061253DFFEDCBA90', 'hex'));
  t.match(caught(() => hsm.translatePin(pikHandle, zpk, wrongPad, pan)), { name: 'PinFormatError', reason: 'pad', code: 'pin-format' });
  t.match(caught(() => hsm.translatePin(pikHandle, zpk, Buffer.alloc(9), pan)), { reason: 'block' });
});

t.test('track decryption with the TDK from a 004 sign-in', async (t) => {
  const issued = hsm.issueWorkingKeys(tmkWrapped, '004');
  const keys = openKeyBlock(tmkClear, issued.f62, '004');
  const tdk = hsm.loadKey(issued.tdk!);
  for (const hex of ['6225880000000011D3012101000000000000', '6225880000000011D30121010000000000000F', '621700000000000000001D301']) {
    const track = Buffer.from(hex.length % 2 ? hex + '0' : hex, 'hex');
    const enc = encryptTrack(keys.tdk!, track);
    t.notSame(enc, track, `${track.length} bytes: encrypted`);
    t.same(hsm.decryptTrack(tdk, enc), track, `${track.length} bytes: decrypts back`);
  }
  t.match(caught(() => hsm.decryptTrack(tdk, Buffer.alloc(8))), { code: 'track' });
});

t.test('importUnderKek takes in a zone key sent under the ZMK only when its check value matches', async (t) => {
  const zmkClear = Buffer.from('202122232425262728292A2B2C2D2E2F', 'hex');
  const zmk = hsm.importKey(zmkClear);
  const zoneKey = randomBytes(16);
  const encrypted = new DesKey(zmkClear).encryptEcb(zoneKey);
  const check = kcv(new DesKey(zoneKey));
  const wrapped = hsm.importUnderKek(zmk, encrypted, check.subarray(0, 3));
  t.equal(hsm.loadKey(wrapped).kcv, check.toString('hex').toUpperCase(), 'the key taken in is the one sent');
  t.notOk(wrapped.includes(zoneKey), 'stored wrapped under the LMK, not in clear');
  const wrong = Buffer.from(check.subarray(0, 3));
  wrong[0] ^= 1;
  t.match(caught(() => hsm.importUnderKek(zmk, encrypted, wrong)), { name: 'SecurityError', code: 'key-kcv' }, 'a check value that does not match is refused');
  const otherZmk = hsm.importKey(randomBytes(16));
  t.match(caught(() => hsm.importUnderKek(otherZmk, encrypted, check.subarray(0, 3))), { code: 'key-kcv' }, 'a key under another ZMK is refused');
  t.match(caught(() => hsm.importUnderKek(zmk, encrypted.subarray(0, 5), check.subarray(0, 3))), { code: 'key-length' }, 'a truncated key is refused');
  t.match(caught(() => hsm.importUnderKek(zmk, encrypted, Buffer.alloc(0))), { code: 'key-kcv' }, 'no check value is refused');
});
