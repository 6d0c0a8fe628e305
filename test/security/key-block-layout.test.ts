// F62 key block layouts per sign-in mode (PROTOCOL.md section 4), check values and generated keys.
import t from 'tap';
import { DesKey, isKeyMode, kcv, parseKeyBlock, SecurityError } from '../../src/security/index.js';
import { randomKey } from '../../src/security/keys.js';

const bytes = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => i + 1));

t.test('001: PIK 8 + KCV 4, MAK 8 + KCV 4', async (t) => {
  const f62 = bytes(24);
  const block = parseKeyBlock(f62, '001');
  t.same(block.pik.key, f62.subarray(0, 8));
  t.same(block.pik.kcv, f62.subarray(8, 12));
  t.same(block.mak.key, f62.subarray(12, 20));
  t.same(block.mak.kcv, f62.subarray(20, 24));
  t.equal(block.tdk, undefined);
});

t.test('003: PIK 16 + KCV 4, MAK 8 + 00×8 + KCV 4', async (t) => {
  const f62 = bytes(40);
  const block = parseKeyBlock(f62, '003');
  t.same(block.pik.key, f62.subarray(0, 16));
  t.same(block.pik.kcv, f62.subarray(16, 20));
  t.same(block.mak.key, f62.subarray(20, 28));
  t.same(block.mak.kcv, f62.subarray(36, 40));
  t.equal(block.tdk, undefined);
});

t.test('004: the 40-byte layout + TDK 16 + KCV 4', async (t) => {
  const f62 = bytes(60);
  const block = parseKeyBlock(f62, '004');
  t.same(block.mak.key, f62.subarray(20, 28));
  t.same(block.tdk?.key, f62.subarray(40, 56));
  t.same(block.tdk?.kcv, f62.subarray(56, 60));
});

t.test('parsed keys are copies, not views of the frame', async (t) => {
  const f62 = bytes(24);
  const block = parseKeyBlock(f62, '001');
  f62.fill(0);
  t.same(block.pik.key, bytes(8));
});

t.test('a wrong length for the mode is a key-block error', async (t) => {
  for (const [mode, len] of [['001', 40], ['003', 24], ['004', 40], ['003', 41]] as const) {
    t.throws(() => parseKeyBlock(Buffer.alloc(len), mode), SecurityError, `${mode} with ${len} bytes`);
  }
});

t.test('isKeyMode accepts only the three sign-in codes', async (t) => {
  t.same(['001', '002', '003', '004', '005', '', '01'].filter(isKeyMode), ['001', '003', '004']);
});

t.test('KCV: first 4 bytes of the key encrypting zeros', async (t) => {
  t.equal(kcv(new DesKey(Buffer.from('C24A8FB57AA20123', 'hex'))).toString('hex'), '0547db3e');
  const key = new DesKey(randomKey(16));
  t.same(kcv(key), key.encryptEcb(Buffer.alloc(8)).subarray(0, 4));
});

t.test('generated keys: odd parity in every byte, and different every time', async (t) => {
  const seen = new Set<string>();
  let evenParityBytes = 0;
  for (let i = 0; i < 500; i++) {
    const key = randomKey(16);
    seen.add(key.toString('hex'));
    for (const b of key) {
      let ones = 0;
      for (let v = b; v; v >>= 1) ones += v & 1;
      if (ones % 2 === 0) evenParityBytes++;
    }
  }
  t.equal(evenParityBytes, 0, 'odd parity');
  t.equal(seen.size, 500, 'all distinct');
  t.equal(randomKey(8).length, 8);
  t.equal(randomKey(24).length, 24);
});
