/**
 * Sub-field helpers (PROTOCOL.md sections 2 and 8): F60, F61, F48 settlement totals (62 digits),
 * F48 batch upload records (count ≤ 8, n40 each, PAN right-aligned zero-filled), F54 balance.
 */
import t from 'tap';
import {
  FormatError,
  TerminalMessage,
  buildBalance,
  buildBatchUpload,
  buildF60,
  buildF61,
  buildSettlementTotals,
  decodeTerminalFrame,
  packTerminalFrame,
  parseBalance,
  parseBatchUpload,
  parseF60,
  parseF61,
  parseSettlementTotals,
  type SettlementTotals,
  type UploadRecord,
} from '../../src/codec/index.js';

function fe(fn: () => unknown): { field: string } | string {
  try {
    fn();
    return 'no error';
  } catch (err) {
    return err instanceof FormatError ? { field: err.field } : `not a FormatError: ${String(err)}`;
  }
}
/** Through the wire: the value as a field of a packed and decoded frame. */
function viaWire(id: number, value: string): string {
  const m = new TerminalMessage('0500');
  m.set(id, value);
  return decodeTerminalFrame(packTerminalFrame(m)).fields[id] as string;
}

// ---------------------------------------------------------------------------------------------
t.test('F60: parse', async (t) => {
  t.strictSame(parseF60('22000001000'), { messageType: '22', batch: '000001', networkCode: '000', rest: '' }, 'sale: 60.1 60.2 60.3');
  t.strictSame(parseF60('00000123003'), { messageType: '00', batch: '000123', networkCode: '003', rest: '' }, 'sign-in 003');
  t.strictSame(parseF60('2200000100050'), { messageType: '22', batch: '000001', networkCode: '000', rest: '50' }, '60.4 and 60.5 kept in rest');
  t.strictSame(parseF60('22000001000501234'), { messageType: '22', batch: '000001', networkCode: '000', rest: '501234' }, '17 digits: rest is 6 digits');
  t.strictSame(parseF60('22000001'), { messageType: '22', batch: '000001', networkCode: '', rest: '' }, '8 digits: no 60.3');
  t.strictSame(parseF60('22'), { messageType: '22', batch: '', networkCode: '', rest: '' }, '60.1 alone');
  t.strictSame(fe(() => parseF60('2')), { field: 'F60.1' }, 'one digit: message type missing');
  t.strictSame(fe(() => parseF60('')), { field: 'F60.1' }, 'empty');
});

t.test('F60: build', async (t) => {
  t.equal(buildF60({ messageType: '22', batch: '000001', networkCode: '000' }), '22000001000', 'all three');
  t.equal(buildF60({ messageType: '00', batch: '000123', networkCode: '003', rest: '50' }), '0000012300350', 'with rest');
  t.equal(buildF60({ messageType: '22', batch: '000001' }), '22000001', 'without 60.3');
  t.equal(buildF60({ messageType: '22' }), '22', '60.1 alone');
  t.equal(buildF60({ messageType: '1', batch: '1' }), '01000001', 'pads 60.1 and 60.2 with zeros on the left');
  t.equal(buildF60({ messageType: '00', networkCode: '1' }), '00000000001', '60.3 without 60.2: batch zeros, 60.3 padded');
  t.equal(buildF60({ messageType: '22', rest: '5' }), '220000000005', 'rest without 60.2/60.3 fills them with zeros');
});

t.test('F60: round trips', async (t) => {
  for (const v of ['22000001000', '00000123003', '2200000100050', '22000001000501234', '000000012010']) {
    t.equal(buildF60(parseF60(v)), v, `build(parse(${v}))`);
    t.equal(viaWire(60, buildF60(parseF60(v))), v, `${v} through the wire`);
  }
  for (const v of ['22000001', '22']) {
    // PROTOCOL.md: "accept up to 17 digits, emit what was received"
    t.equal(buildF60(parseF60(v)), v, `build(parse(${v})) emits what was received`);
  }
});

t.test('F61', async (t) => {
  t.strictSame(parseF61('0000010001230315'), { batch: '000001', stan: '000123', date: '0315' }, 'batch, STAN, date');
  t.strictSame(parseF61('000001000123'), { batch: '000001', stan: '000123', date: '' }, 'without date');
  t.strictSame(parseF61('000001'), { batch: '000001', stan: '', date: '' }, 'batch only');
  t.equal(buildF61({ batch: '000001', stan: '000123', date: '0315' }), '0000010001230315', 'build all three');
  t.equal(buildF61({ batch: '000001', stan: '000123' }), '000001000123', 'build without date');
  t.equal(buildF61({ date: '0315' }), '0000000000000315', 'refund: only the original date, batch and STAN zero');
  for (const v of ['0000010001230315', '000001000123', '000001']) {
    t.equal(buildF61(parseF61(v)), v, `build(parse(${v}))`);
    t.equal(viaWire(61, v), v, `${v} through the wire`);
  }
});

// ---------------------------------------------------------------------------------------------
const totals: SettlementTotals = {
  domestic: { debitAmount: 123456n, debitCount: 3, creditAmount: 5000n, creditCount: 1, result: 0 },
  foreign: { debitAmount: 999999999999n, debitCount: 999, creditAmount: 0n, creditCount: 0, result: 0 },
};
const TOTALS_DIGITS =
  '000000123456' + '003' + '000000005000' + '001' + '0' +
  '999999999999' + '999' + '000000000000' + '000' + '0';

t.test('F48 settlement totals', async (t) => {
  t.equal(TOTALS_DIGITS.length, 62, '62 digits');
  t.equal(buildSettlementTotals(totals), TOTALS_DIGITS, 'exact digits: domestic then foreign, n12 n3 n12 n3 n1 each');
  t.strictSame(parseSettlementTotals(TOTALS_DIGITS), totals, 'parse gives the same totals');
  t.equal(viaWire(48, TOTALS_DIGITS), TOTALS_DIGITS, 'through the wire (F48 LLL 0062)');
  const m = new TerminalMessage('0500');
  m.set(48, TOTALS_DIGITS);
  t.equal(packTerminalFrame(m).subarray(23, 25).toString('hex'), '0062', 'F48 length 00 62');

  const balanced = { domestic: { ...totals.domestic, result: 1 }, foreign: { ...totals.foreign, result: 2 } };
  const b = buildSettlementTotals(balanced);
  t.equal(b[30], '1', 'domestic result digit at position 31');
  t.equal(b[61], '2', 'foreign result digit at position 62');
  t.strictSame(parseSettlementTotals(b), balanced, 'results 1 and 2 round trip');
  const zero = '0'.repeat(62);
  t.strictSame(
    parseSettlementTotals(zero),
    { domestic: { debitAmount: 0n, debitCount: 0, creditAmount: 0n, creditCount: 0, result: 0 }, foreign: { debitAmount: 0n, debitCount: 0, creditAmount: 0n, creditCount: 0, result: 0 } },
    'all zero',
  );
  t.equal(buildSettlementTotals(parseSettlementTotals(zero)), zero, 'all zero round trip');
  t.equal(
    buildSettlementTotals({ ...totals, domestic: { ...totals.domestic, debitCount: 1234 } }).slice(12, 15),
    '234',
    'counts wrap at 999 (n3), as documented',
  );
  t.strictSame(fe(() => parseSettlementTotals(zero.slice(1))), { field: 'F48' }, '61 digits');
  t.strictSame(fe(() => parseSettlementTotals(zero + '0')), { field: 'F48' }, '63 digits');
  t.strictSame(fe(() => parseSettlementTotals('')), { field: 'F48' }, 'empty');
  t.strictSame(fe(() => parseSettlementTotals('x'.repeat(62))), { field: 'F48' }, 'non-digits raise a FormatError');
  t.strictSame(
    fe(() => buildSettlementTotals({ ...totals, domestic: { ...totals.domestic, debitAmount: 10n ** 12n } })),
    { field: 'F48' },
    'an amount of 13 digits is refused rather than giving 63 digits',
  );
});

// ---------------------------------------------------------------------------------------------
const REC: UploadRecord = { cardType: '00', stan: '000123', pan: '6222021234567890', amount: 12345n };
const REC_DIGITS = '00' + '000123' + '00006222021234567890' + '000000012345';

t.test('F48 batch upload records', async (t) => {
  t.equal(REC_DIGITS.length, 40, 'a record is n40');
  t.equal(buildBatchUpload([REC]), '01' + REC_DIGITS, 'one record: count 01, card type, STAN, PAN right-aligned zero-filled to 20, amount n12');
  t.strictSame(parseBatchUpload('01' + REC_DIGITS), [REC], 'parse one record');
  const pan19: UploadRecord = { cardType: '01', stan: '999999', pan: '6222021234567890123', amount: 999999999999n };
  t.equal(buildBatchUpload([pan19]), '01' + '01' + '999999' + '06222021234567890123' + '999999999999', '19-digit PAN, foreign card, max amount');
  t.strictSame(parseBatchUpload(buildBatchUpload([pan19])), [pan19], '19-digit PAN round trip');

  const eight = Array.from({ length: 8 }, (_, i): UploadRecord => ({
    cardType: i % 2 ? '01' : '00',
    stan: String(100 + i).padStart(6, '0'),
    pan: '62220212345678' + String(i).repeat(2 + (i % 4)),
    amount: BigInt(i * 1000 + 1),
  }));
  const eightDigits = buildBatchUpload(eight);
  t.equal(eightDigits.length, 2 + 8 * 40, '8 records: 322 digits, the F48 maximum');
  t.equal(eightDigits.slice(0, 2), '08', 'count 08');
  t.strictSame(parseBatchUpload(eightDigits), eight, '8 records round trip');
  t.strictSame(parseBatchUpload(viaWire(48, eightDigits)), eight, '8 records through the wire');
  t.equal(buildBatchUpload([]), '00', 'no records: count 00');
  t.strictSame(parseBatchUpload('00'), [], 'count 00 parses to no records');

  const nine = [...eight, REC];
  t.strictSame(fe(() => buildBatchUpload(nine)), { field: 'F48' }, 'build: 9 records refused');
  t.strictSame(fe(() => parseBatchUpload('09' + REC_DIGITS.repeat(9))), { field: 'F48' }, 'parse: count 09 refused');
  t.strictSame(fe(() => parseBatchUpload('01' + REC_DIGITS.slice(1))), { field: 'F48' }, 'parse: record of 39 digits');
  t.strictSame(fe(() => parseBatchUpload('01' + REC_DIGITS + '0')), { field: 'F48' }, 'parse: a digit too many');
  t.strictSame(fe(() => parseBatchUpload('02' + REC_DIGITS)), { field: 'F48' }, 'parse: count 02 with one record');
  t.strictSame(fe(() => parseBatchUpload('')), { field: 'F48' }, 'parse: empty');
  t.strictSame(fe(() => parseBatchUpload('1')), { field: 'F48' }, 'parse: one digit (count missing)');
});

// ---------------------------------------------------------------------------------------------
t.test('F54 balance', async (t) => {
  const credit = { accountType: '10', amountType: '02', currency: '156', amount: 12345n };
  t.equal(buildBalance(credit), '1002156C000000012345', 'credit balance: C + n12');
  t.equal(buildBalance({ ...credit, amount: -500n }), '1002156D000000000500', 'negative balance: D');
  t.equal(buildBalance({ ...credit, amount: 0n }), '1002156C000000000000', 'zero is C');
  t.equal(buildBalance(credit).length, 20, '20 characters, the F54 maximum');
  t.strictSame(parseBalance('1002156C000000012345'), credit, 'parse C');
  t.strictSame(parseBalance('1002156D000000000500'), { ...credit, amount: -500n }, 'parse D as negative');
  t.strictSame(parseBalance(viaWire(54, buildBalance({ ...credit, amount: -999999999999n }))), { ...credit, amount: -999999999999n }, 'through the wire');
  for (const [desc, v] of [
    ['sign X', '1002156X000000012345'],
    ['lowercase c', '1002156c000000012345'],
    ['amount of 11 digits', '1002156C00000001234'],
    ['amount of 13 digits', '1002156C0000000012345'],
    ['non-digit account type', '1A02156C000000012345'],
    ['space in the currency', '1002 56C000000012345'],
    ['empty', ''],
  ]) {
    t.strictSame(fe(() => parseBalance(v)), { field: 'F54' }, `parse refuses ${desc}`);
  }
});
