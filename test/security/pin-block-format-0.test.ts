// ISO 9564 / ANSI X9.8 format 0: build and parse round-trip for every PIN length, and each way a
// block can be malformed is reported with its own reason.
import t from 'tap';
import { buildPinBlock, parsePinBlock, PinFormatError, type PinFormatReason } from '../../src/security/index.js';

const PAN = '6225880000000011';

function reasonOf(fn: () => unknown): PinFormatReason | 'no error' {
  try {
    fn();
  } catch (err) {
    if (err instanceof PinFormatError) return err.reason;
    throw err;
  }
  return 'no error';
}
const hex = (s: string) => Buffer.from(s, 'hex');

/** XOR of a PIN field with the PAN field of PAN (digits 4..15: 588000000001). */
function withPan(pinField: string): Buffer {
  const pan = hex('0000588000000001');
  return Buffer.from(hex(pinField).map((b, i) => b ^ pan[i]!));
}

t.test('known blocks', async (t) => {
  // PAN field 0000 588000000001 (the 12 digits left of the check digit).
  t.equal(buildPinBlock(PAN, '1234').toString('hex').toUpperCase(), '04126C7FFFFFFFFE', '4-digit PIN');
  t.equal(buildPinBlock(PAN, '123456789012').toString('hex').toUpperCase(), '0C126CD6789012FE', '12-digit PIN');
  // 19-digit PAN: PAN field 0000 112345678901.
  t.equal(buildPinBlock('1111111123456789012', '0000').toString('hex').toUpperCase(), '040011DCBA9876FE', '19-digit PAN');
});

t.test('round trip for every PIN length 4..12 with the output buffer and offset', async (t) => {
  const out = Buffer.alloc(12, 0xaa);
  for (let n = 4; n <= 12; n++) {
    const pin = '908172635445'.slice(0, n);
    t.equal(buildPinBlock(PAN, pin, out, 2), out, 'returns out');
    t.equal(parsePinBlock(out, PAN, 2), pin, `${n} digits`);
  }
  t.same([out[0], out[1], out[10], out[11]], [0xaa, 0xaa, 0xaa, 0xaa], 'bytes around the block untouched');
});

t.test('the PAN is bound into the block', async (t) => {
  const block = buildPinBlock(PAN, '123456');
  t.equal(reasonOf(() => parsePinBlock(block, '6225880000000029')), 'pad', 'a different PAN does not decode');
});

t.test('each malformation has its reason', async (t) => {
  const cases: [string, PinFormatReason][] = [
    ['1412345FFFFFFFFF', 'control'],
    ['0312345FFFFFFFFF', 'length'],
    ['0D1234567890123F', 'length'],
    ['041A34FFFFFFFFFF', 'digit'],
    ['04123FFFFFFFFFFF', 'digit'],
    ['041234FFFFFFFFFE', 'pad'],
    ['0412340FFFFFFFFF', 'pad'],
  ];
  for (const [field, reason] of cases) {
    t.equal(reasonOf(() => parsePinBlock(withPan(field), PAN)), reason, `${field}: ${reason}`);
  }
  t.equal(parsePinBlock(withPan('041234FFFFFFFFFF'), PAN), '1234', 'and the well-formed neighbour parses');
});

t.test('bad PINs and PANs are refused when building', async (t) => {
  t.equal(reasonOf(() => buildPinBlock(PAN, '123')), 'length');
  t.equal(reasonOf(() => buildPinBlock(PAN, '1234567890123')), 'length');
  t.equal(reasonOf(() => buildPinBlock(PAN, '12a4')), 'digit');
  t.equal(reasonOf(() => buildPinBlock('622588000001', '1234')), 'pan', '12-digit PAN');
  t.equal(reasonOf(() => buildPinBlock('62258800000000112345', '1234')), 'pan', '20-digit PAN');
  t.equal(reasonOf(() => buildPinBlock('622588000000001X', '1234')), 'pan', 'non-digit PAN');
  t.equal(reasonOf(() => parsePinBlock(withPan('041234FFFFFFFFFF'), '62258800000')), 'pan');
});
