/**
 * Transaction identification (PROTOCOL.md section 3): every row of the financial and management
 * tables, and reversals, built as a wire frame, packed, decoded and classified. Responses (MTI + 10)
 * classify as the same type with `response: true`; anything the tables do not define is undefined.
 */
import t from 'tap';
import { TerminalMessage, decodeTerminalFrame, packTerminalFrame } from '../../src/codec/index.js';
import { classify } from '../../src/txn/index.js';

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

/** Section 3, financial table: [name, MTI, F3, F25, 60.1, reversible]. */
const FINANCIAL: [string, string, string, string, string, boolean][] = [
  ['balance-inquiry', '0200', '310000', '00', '01', false],
  ['sale', '0200', '000000', '00', '22', true],
  ['sale-void', '0200', '200000', '00', '23', true],
  ['refund', '0220', '200000', '00', '25', false],
  ['pre-auth', '0100', '030000', '06', '10', true],
  ['pre-auth-void', '0100', '200000', '06', '11', true],
  ['pre-auth-completion', '0200', '000000', '06', '20', true],
  ['pre-auth-completion-notice', '0220', '000000', '06', '24', false],
  ['completion-void', '0200', '200000', '06', '21', true],
  ['transfer', '0200', '400000', '00', '48', true],
  ['bill-payment', '0200', '500000', '00', '49', true],
];

/** Section 3, management table (60.1 = 00): [name, MTI, 60.3]. */
const MANAGEMENT: [string, string, string][] = [
  ['sign-in', '0800', '001'],
  ['sign-in', '0800', '003'],
  ['sign-in', '0800', '004'],
  ['sign-off', '0820', '002'],
  ['settlement', '0500', '201'],
  ['batch-upload', '0320', '201'],
  ['batch-upload-end', '0320', '202'],
  ['batch-upload-end', '0320', '207'],
  ['echo', '0820', '301'],
  ['status-upload', '0820', '362'],
  ['parameter-download', '0800', '360'],
  ['parameter-download-end', '0800', '361'],
  ['ca-key-download', '0800', '370'],
  ['ca-key-download-end', '0800', '371'],
  ['ca-key-query', '0820', '372'],
  ['aid-download', '0800', '380'],
  ['aid-download-end', '0800', '381'],
  ['aid-query', '0820', '382'],
];

function plus10(mti: string): string {
  return String(Number(mti) + 10).padStart(4, '0');
}

function financialMessage(mti: string, f3: string, f25: string, f601: string): TerminalMessage {
  const m = new TerminalMessage(mti, '6000030000', '603100000000');
  m.set(2, '6222021234567890');
  m.set(3, f3);
  m.set(4, '000000012345');
  m.set(11, '000123');
  m.set(22, '021');
  m.set(25, f25);
  m.set(41, 'POS00001');
  m.set(42, '898310048160001');
  m.set(49, '156');
  m.set(60, f601 + '000001' + '000');
  m.set(64, hex('0102030405060708'));
  return m;
}
function managementMessage(mti: string, f603: string): TerminalMessage {
  const m = new TerminalMessage(mti, '6000030000', '603100000000');
  m.set(11, '000001');
  m.set(41, 'POS00001');
  m.set(42, '898310048160001');
  m.set(60, '00' + '000001' + f603);
  m.set(63, '001');
  return m;
}
/** Pack and decode, so classification sees exactly what came off the wire. */
function wire(m: TerminalMessage): TerminalMessage {
  return decodeTerminalFrame(packTerminalFrame(m));
}
function summary(m: TerminalMessage): unknown {
  const c = classify(m);
  if (c === undefined) return undefined;
  return { type: c.type, response: c.response, financial: c.financial?.type, management: c.management?.type };
}

t.test('financial rows: requests and responses', async (t) => {
  for (const [name, mti, f3, f25, f601, reversible] of FINANCIAL) {
    const req = wire(financialMessage(mti, f3, f25, f601));
    t.strictSame(summary(req), { type: name, response: false, financial: name, management: undefined }, `${name}: ${mti} ${f3} ${f25} 60.1=${f601}`);
    t.equal(classify(req)?.financial?.reversible, reversible, `${name}: reversible is ${reversible}`);
    const rsp = financialMessage(plus10(mti), f3, f25, f601);
    rsp.set(39, '00');
    t.strictSame(summary(wire(rsp)), { type: name, response: true, financial: name, management: undefined }, `${name}: response ${plus10(mti)}`);
  }
});

t.test('reversal of each reversible transaction', async (t) => {
  for (const [name, , f3, f25, f601, reversible] of FINANCIAL) {
    if (!reversible) continue;
    const rev = financialMessage('0400', f3, f25, f601);
    rev.set(39, '98');
    t.strictSame(summary(wire(rev)), { type: 'reversal', response: false, financial: name, management: undefined }, `reversal of ${name}`);
    const rsp = financialMessage('0410', f3, f25, f601);
    rsp.set(39, '00');
    t.strictSame(summary(wire(rsp)), { type: 'reversal', response: true, financial: name, management: undefined }, `reversal response of ${name}`);
  }
  // Any 0400 is a reversal; the original's spec is attached only when F3/F25/60.1 name one, and
  // its `reversible` flag lets the caller refuse reversals of non-reversible types.
  const refundRev = financialMessage('0400', '200000', '00', '25');
  t.strictSame(summary(wire(refundRev)), { type: 'reversal', response: false, financial: undefined, management: undefined }, 'reversal naming a refund: no financial spec (0220 is not reversible)');
  const biRev = financialMessage('0400', '310000', '00', '01');
  t.equal(classify(wire(biRev))?.financial?.reversible, false, 'reversal naming a balance inquiry: spec attached, marked not reversible');
  const junkRev = financialMessage('0400', '999999', '00', '77');
  t.strictSame(summary(wire(junkRev)), { type: 'reversal', response: false, financial: undefined, management: undefined }, 'reversal of an unknown combination: no financial spec');
  const voidRev = financialMessage('0400', '200000', '00', '23');
  voidRev.set(61, '000001000122');
  t.equal(classify(wire(voidRev))?.financial?.type, 'sale-void', 'void reversal carrying F61');
});

t.test('management rows: requests and responses', async (t) => {
  for (const [name, mti, code] of MANAGEMENT) {
    const req = wire(managementMessage(mti, code));
    t.strictSame(summary(req), { type: name, response: false, financial: undefined, management: name }, `${name}: ${mti} 60.3=${code}`);
    const rsp = managementMessage(plus10(mti), code);
    rsp.set(39, '00');
    t.strictSame(summary(wire(rsp)), { type: name, response: true, financial: undefined, management: name }, `${name}: response ${plus10(mti)}`);
  }
  // 60.4/60.5 after 60.3 do not change the type
  const longF60 = managementMessage('0800', '003');
  longF60.set(60, '00000001003' + '50');
  t.equal(classify(wire(longF60))?.type, 'sign-in', 'sign-in with 60.4 and 60.5');
});

t.test('unknown combinations classify as undefined', async (t) => {
  const cases: [string, TerminalMessage][] = [
    ['sale F3 with void 60.1', financialMessage('0200', '000000', '00', '23')],
    ['balance inquiry with F25 06', financialMessage('0200', '310000', '06', '01')],
    ['refund codes under 0200', financialMessage('0200', '200000', '00', '25')],
    ['sale codes under 0220', financialMessage('0220', '000000', '00', '22')],
    ['pre-auth codes under 0200', financialMessage('0200', '030000', '06', '10')],
    ['sale codes under 0100', financialMessage('0100', '000000', '00', '22')],
    ['transfer with unknown F3', financialMessage('0200', '410000', '00', '48')],
    ['financial MTI with 60.1 = 00', financialMessage('0200', '000000', '00', '00')],
    ['unknown MTI 0600', financialMessage('0600', '000000', '00', '22')],
    ['sign-off code under 0800', managementMessage('0800', '002')],
    ['sign-in code under 0820', managementMessage('0820', '001')],
    ['unknown network code 999', managementMessage('0800', '999')],
    ['sign-in 002 (not a sign-in variant)', managementMessage('0800', '002')],
    ['batch upload 203', managementMessage('0320', '203')],
    ['settlement 202', managementMessage('0500', '202')],
    ['echo under 0800', managementMessage('0800', '301')],
    ['management code under 0200', managementMessage('0200', '001')],
  ];
  for (const [desc, m] of cases) t.equal(classify(wire(m)), undefined, desc);

  const noF3 = financialMessage('0200', '000000', '00', '22');
  noF3.set(3, undefined);
  t.equal(classify(wire(noF3)), undefined, 'financial without F3');
  const noF60 = financialMessage('0200', '000000', '00', '22');
  noF60.set(60, undefined);
  t.equal(classify(wire(noF60)), undefined, 'financial without F60');
  const shortF60 = managementMessage('0800', '001');
  shortF60.set(60, '00000001');
  t.equal(classify(wire(shortF60)), undefined, 'management F60 without 60.3');
});

t.test('F25 absent is condition 00', async (t) => {
  const sale = financialMessage('0200', '000000', '00', '22');
  sale.set(25, undefined);
  t.equal(classify(wire(sale))?.type, 'sale', 'sale without F25');
  const comp = financialMessage('0200', '000000', '06', '20');
  comp.set(25, undefined);
  t.equal(classify(wire(comp)), undefined, 'completion needs F25 06');
});

t.test('exhaustive: every MTI x F3 x F25 x 60.1 combination against the section 3 table', async (t) => {
  const mtis = ['0100', '0110', '0200', '0210', '0220', '0230', '0320', '0500', '0800', '0820'];
  const f3s = ['000000', '030000', '200000', '310000', '400000', '500000', '010000'];
  const f25s = ['00', '06', '01'];
  const f601s = ['01', '10', '11', '20', '21', '22', '23', '24', '25', '48', '49', '02', '99'];
  const got: string[] = [];
  const want: string[] = [];
  for (const mti of mtis) {
    for (const f3 of f3s) {
      for (const f25 of f25s) {
        for (const f601 of f601s) {
          const key = `${mti} ${f3} ${f25} ${f601}`;
          const c = classify(financialMessage(mti, f3, f25, f601));
          got.push(`${key} -> ${c ? `${c.type}${c.response ? ' (response)' : ''}` : 'undefined'}`);
          const row = FINANCIAL.find(([, m, a, b, d]) => (m === mti || plus10(m) === mti) && a === f3 && b === f25 && d === f601);
          want.push(`${key} -> ${row ? `${row[0]}${row[1] !== mti ? ' (response)' : ''}` : 'undefined'}`);
        }
      }
    }
  }
  t.equal(got.length, 10 * 7 * 3 * 13, 'all combinations tried');
  t.strictSame(got, want, 'financial classification matches the table exactly');

  const mgot: string[] = [];
  const mwant: string[] = [];
  const codes = ['001', '002', '003', '004', '005', '201', '202', '207', '301', '360', '361', '362', '370', '371', '372', '380', '381', '382', '000', '999'];
  for (const mti of ['0800', '0810', '0820', '0830', '0320', '0330', '0500', '0510', '0200', '0400']) {
    for (const code of codes) {
      const c = classify(managementMessage(mti, code));
      mgot.push(`${mti} ${code} -> ${c ? `${c.type}${c.response ? ' (response)' : ''}` : 'undefined'}`);
      const row = MANAGEMENT.find(([, m, k]) => (m === mti || plus10(m) === mti) && k === code);
      const expected = mti === '0400' ? 'reversal' : mti === '0410' ? 'reversal (response)' : row ? `${row[0]}${row[1] !== mti ? ' (response)' : ''}` : 'undefined';
      mwant.push(`${mti} ${code} -> ${expected}`);
    }
  }
  t.strictSame(mgot, mwant, 'management classification matches the table exactly');
});
