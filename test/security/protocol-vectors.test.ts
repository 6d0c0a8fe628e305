// Every worked vector of PROTOCOL.md sections 4 (keys), 5 (MAC) and 6 (PIN block), including the
// intermediate values of the CUP-ECB MAC.
import t from 'tap';
import {
  buildPinBlock,
  cupEcbMac,
  decryptWorkingKey,
  DesKey,
  kcv,
  parsePinBlock,
} from '../../src/security/index.js';

const hex = (s: string) => Buffer.from(s, 'hex');
const upperHex = (b: Uint8Array) => Buffer.from(b).toString('hex').toUpperCase();

t.test('section 4: MAK decrypted under the TMK, and its check value', async (t) => {
  const tmk = hex('70F2A84CCBC2AE8625CBB0F2C22AB923');
  const mak = decryptWorkingKey(tmk, hex('96D605EA176B7E9E'));
  t.equal(upperHex(mak), 'C24A8FB57AA20123', 'MAK');
  t.equal(upperHex(kcv(new DesKey(mak))), '0547DB3E', 'KCV');
  t.equal(upperHex(new DesKey(tmk).encryptEcb(mak)), '96D605EA176B7E9E', 'and back: MAK under TMK');
});

const MAK = hex('0723C80DB5F4CD3D');
const MAB = hex(
  '02003020048000C08015000000000000001234000002030099303030303030303139353237313831383232313738373531353600192600000100060000000000435F01123238343431323334353637383930313233345F03063136303033365F04063230303832365C023031',
);

t.test('section 5: CUP-ECB MAC intermediate values', async (t) => {
  t.equal(MAB.length, 108, 'MAB is 108 bytes');
  const padded = Buffer.concat([MAB, Buffer.alloc(4)]);
  const xor = Buffer.alloc(8);
  for (let i = 0; i < padded.length; i++) xor[i % 8]! ^= padded[i]!;
  t.equal(upperHex(xor), '3761343619AC6492', 'XOR of the padded blocks');

  const chars = Buffer.from(upperHex(xor), 'latin1');
  const mak = new DesKey(MAK);
  const e1 = mak.encryptEcb(chars.subarray(0, 8));
  t.equal(upperHex(e1), 'DD662804CB30F348', 'E1');
  const tBlock = Buffer.from(e1.map((b, i) => b ^ chars[8 + i]!));
  t.equal(upperHex(tBlock), 'EC5F6947FD04CA7A', 'T');
  const e2 = mak.encryptEcb(tBlock);
  t.equal(upperHex(e2), 'B3A092AEDACE4C88', 'E2');
});

t.test('section 5: CUP-ECB MAC F64', async (t) => {
  const mak = new DesKey(MAK);
  const f64 = cupEcbMac(mak, MAB, 0, MAB.length);
  t.equal(f64.toString('latin1'), 'B3A092AE', 'F64 as ASCII');
  t.equal(upperHex(f64), '4233413039324145', 'F64 bytes');

  // The MAB read in place from inside a larger frame, MAC written into a frame at an offset.
  const frame = Buffer.concat([hex('0079600001000060310000000000'), MAB, Buffer.alloc(8)]);
  const start = 14;
  const out = Buffer.alloc(frame.length);
  t.equal(cupEcbMac(mak, frame, start, start + MAB.length, out, start + MAB.length), out, 'returns out');
  t.equal(out.subarray(start + MAB.length).toString('latin1'), 'B3A092AE', 'in place, at an offset');
});

t.test('section 6: ANSI X9.8 format 0 PIN block', async (t) => {
  const block = buildPinBlock('123456789012345678', '123456');
  t.equal(upperHex(block), '061253DFFEDCBA98', 'clear PIN block');
  t.equal(parsePinBlock(hex('061253DFFEDCBA98'), '123456789012345678'), '123456', 'parses back');
});
