/**
 * `posp decode HEX|- [--no-length] [--host]`, run as a real process (node bin/posp.js).
 * The sale frame of (b) is assembled byte by byte from PROTOCOL.md with helpers written here,
 * not with src/codec.
 */
import t from 'tap';
import { HostMessage, TerminalMessage, packHostFrame, packTerminalFrame } from '../../src/codec/index.js';
import { runPosp } from '../switch/harness.js';



// ---------------------------------------------------------------------------------------------
// Own byte helpers (PROTOCOL.md section 2).

/** Digits packed two per byte; odd counts padded with a 0 nibble on the given side. `=` is D. */
function bcd(digits: string, pad: 'left' | 'right' = 'left'): Buffer {
  const d = digits.length % 2 ? (pad === 'left' ? '0' + digits : digits + '0') : digits;
  const out: number[] = [];
  for (let i = 0; i < d.length; i += 2) {
    const nib = (c: string) => (c === '=' ? 13 : Number(c));
    out.push(nib(d[i]) * 16 + nib(d[i + 1]));
  }
  return Buffer.from(out);
}
/** LL: one BCD byte of length. */
function ll(n: number): Buffer {
  return Buffer.from([Math.floor(n / 10) * 16 + (n % 10)]);
}
/** LLL: two BCD bytes, right-aligned (0nnn). */
function lll(n: number): Buffer {
  const s = String(n).padStart(4, '0');
  return Buffer.from([Number(s[0]) * 16 + Number(s[1]), Number(s[2]) * 16 + Number(s[3])]);
}
function asc(s: string): Buffer {
  return Buffer.from(s, 'latin1');
}
function raw(h: string): Buffer {
  return Buffer.from(h.replace(/\s+/g, ''), 'hex');
}
function bitmap(ids: number[]): Buffer {
  const b = Buffer.alloc(8);
  for (const id of ids) b[Math.floor((id - 1) / 8)] |= 128 >> ((id - 1) % 8);
  return b;
}
function hexOf(b: Buffer): string {
  return b.toString('hex').toUpperCase();
}

// The sale of (b).
const PAN = '6222021234567890123';
const TRACK2 = '6222021234567890123=2712220123456';
const ICC = raw(
  '9F2608 1122334455667788' +
    '9F2701 80' +
    '9F1006 06010A03A000' +
    '9F3704 12345678' +
    '9F3602 0001' +
    '9505 0000000000' +
    '9A03 250315' +
    '9C01 00' +
    '9F0206 000000012345',
);
const MAC = raw('4233413039324145');
const PIN = raw('1A2B3C4D5E6F7081');
const F60 = '2200000100050';
const IDS = [2, 3, 4, 11, 14, 22, 25, 26, 35, 41, 42, 49, 52, 53, 55, 60, 64];

const BODY = Buffer.concat([
  raw('60 0003 0000'), // TPDU
  bcd('603100000000'), // header: IC app 60, version 31, normal, no requirement
  bcd('0200'), // MTI
  bitmap(IDS),
  ll(19), bcd(PAN, 'right'), // F2 LL n, left-aligned with trailing 0
  bcd('000000'), // F3
  bcd('000000012345'), // F4
  bcd('000123'), // F11
  bcd('2712'), // F14
  bcd('051', 'right'), // F22 left-aligned: 05 10
  bcd('00'), // F25
  bcd('12'), // F26
  ll(33), bcd(TRACK2, 'right'), // F35 z
  asc('POS00001'), // F41
  asc('898310048160001'), // F42
  asc('156'), // F49
  PIN, // F52
  bcd('2600000000000000'), // F53
  lll(ICC.length), ICC, // F55
  lll(F60.length), bcd(F60, 'right'), // F60
  MAC, // F64
]);
const FRAME = Buffer.concat([Buffer.from([BODY.length >> 8, BODY.length & 0xff]), BODY]);

const EXPECTED = {
  tpdu: '6000030000',
  header: '603100000000',
  mti: '0200',
  type: 'sale',
  fields: {
    '2': PAN,
    '3': '000000',
    '4': '000000012345',
    '11': '000123',
    '14': '2712',
    '22': '051',
    '25': '00',
    '26': '12',
    '35': TRACK2,
    '41': 'POS00001',
    '42': '898310048160001',
    '49': '156',
    '52': '1A2B3C4D5E6F7081',
    '53': '2600000000000000',
    '55': hexOf(ICC),
    '60': F60,
    '64': '4233413039324145',
  },
};

t.test('(b) the hand-assembled sale frame', async (t) => {
  // The helpers against hand-written bytes, so the frame is what PROTOCOL.md says.
  t.equal(hexOf(bitmap(IDS)), '702404C020C09A11', 'bitmap of F2 3 4 11 14 22 25 26 35 41 42 49 52 53 55 60 64');
  t.equal(hexOf(bcd('051', 'right')), '0510', 'F22 left-aligned');
  t.equal(hexOf(Buffer.concat([ll(19), bcd(PAN, 'right')])), '1962220212345678901230', 'F2: LL 19 then PAN with trailing 0');
  t.equal(hexOf(Buffer.concat([ll(33), bcd(TRACK2, 'right')])), '336222021234567890123D271222012345 60'.replace(' ', ''), 'F35: = as D, trailing 0');
  t.equal(hexOf(lll(ICC.length)), '0060', 'F55 LLL 00 60 (60 bytes of IC data)');
  t.equal(hexOf(Buffer.concat([lll(13), bcd(F60, 'right')])), '00132200000100050' + '0', 'F60 LLL 00 13, 13 digits + 0');
  t.equal(FRAME.length, 2 + 5 + 6 + 2 + 8 + 11 + 3 + 6 + 3 + 2 + 2 + 1 + 1 + 18 + 8 + 15 + 3 + 8 + 8 + 62 + 9 + 8, 'frame size');

  const [r, lower, spaced] = await Promise.all([
    runPosp(['decode', hexOf(FRAME)]),
    runPosp(['decode', FRAME.toString('hex').toLowerCase()]),
    runPosp(['decode', hexOf(FRAME).replace(/(..)/g, '$1 ')]),
  ]);
  t.equal(r.code, 0, 'exit 0');
  t.equal(r.stderr, '', 'nothing on stderr');
  t.equal(r.stdout, JSON.stringify(EXPECTED) + '\n', 'exact JSON line: tpdu, header, mti, type sale, digits as strings, text as text, binary as uppercase hex');
  let parsed: unknown;
  try {
    parsed = JSON.parse(r.stdout);
  } catch {
    parsed = r.stdout;
  }
  t.strictSame(parsed, EXPECTED, 'parsed JSON equals the expectation');

  t.equal(lower.stdout, r.stdout, 'lowercase hex input decodes the same');
  t.equal(spaced.stdout, r.stdout, 'hex with spaces decodes the same');
});

t.test('(c) --no-length', async (t) => {
  const [r, before, withLen] = await Promise.all([
    runPosp(['decode', hexOf(BODY), '--no-length']),
    runPosp(['decode', '--no-length', hexOf(BODY)]),
    runPosp(['decode', hexOf(FRAME), '--no-length']),
  ]);
  t.equal(r.code, 0, 'exit 0');
  t.equal(r.stdout, JSON.stringify(EXPECTED) + '\n', 'same JSON from the frame without its length prefix');
  t.equal(before.stdout, r.stdout, 'option before the hex');
  t.equal(withLen.code, 1, 'a frame with its length prefix given --no-length: exit 1');
  t.match(withLen.stderr, /\bTPDU\b.*\b0\b/, 'TPDU at byte 0 (00 is not 60)');
});

t.test('(d) - reads the hex from stdin', async (t) => {
  const [r, wrapped, noLen, bad] = await Promise.all([
    runPosp(['decode', '-'], hexOf(FRAME) + '\n'),
    runPosp(['decode', '-'], hexOf(FRAME).replace(/(.{32})/g, '$1\n')),
    runPosp(['decode', '-', '--no-length'], hexOf(BODY)),
    runPosp(['decode', '-'], hexOf(FRAME.subarray(0, 30))),
  ]);
  t.equal(r.code, 0, 'exit 0');
  t.equal(r.stdout, JSON.stringify(EXPECTED) + '\n', 'same JSON');
  t.equal(wrapped.stdout, JSON.stringify(EXPECTED) + '\n', 'hex wrapped over several lines');
  t.equal(noLen.stdout, JSON.stringify(EXPECTED) + '\n', 'stdin with --no-length');
  t.equal(bad.code, 1, 'a bad frame on stdin: exit 1');
});

// ---------------------------------------------------------------------------------------------
t.test('(a) frames built with packTerminalFrame', async (t) => {
  const signIn = new TerminalMessage('0810', '6000000003', '603100300000');
  signIn.set(11, '000001');
  signIn.set(12, '090000');
  signIn.set(13, '0315');
  signIn.set(32, '48020000001');
  signIn.set(37, '250315000001');
  signIn.set(39, '00');
  signIn.set(41, 'POS00001');
  signIn.set(42, '898310048160001');
  signIn.set(60, '00000002003');
  signIn.set(62, Buffer.from(Array.from({ length: 40 }, (_, i) => i * 6)));
  const balance = new TerminalMessage('0210', '6000000003', '603100000000');
  balance.set(3, '310000');
  balance.set(25, '00');
  balance.set(39, '00');
  balance.set(54, '1002156C000000012345');
  balance.set(60, '01000001');
  balance.set(63, 'CUP');
  const odd = new TerminalMessage('0200');
  odd.set(3, '999999');
  odd.set(60, '77000001');
  const [r, b, u] = await Promise.all([
    runPosp(['decode', hexOf(packTerminalFrame(signIn))]),
    runPosp(['decode', hexOf(packTerminalFrame(balance))]),
    runPosp(['decode', hexOf(packTerminalFrame(odd))]),
  ]);
  t.equal(r.code, 0, 'sign-in response: exit 0');
  t.strictSame(
    JSON.parse(r.stdout || 'null'),
    {
      tpdu: '6000000003',
      header: '603100300000',
      mti: '0810',
      type: 'sign-in',
      response: true,
      fields: {
        '11': '000001',
        '12': '090000',
        '13': '0315',
        '32': '48020000001',
        '37': '250315000001',
        '39': '00',
        '41': 'POS00001',
        '42': '898310048160001',
        '60': '00000002003',
        '62': hexOf(Buffer.from(Array.from({ length: 40 }, (_, i) => i * 6))),
      },
    },
    'sign-in response JSON, with response: true',
  );

  const bj = JSON.parse(b.stdout || 'null');
  t.equal(bj?.type, 'balance-inquiry', 'balance inquiry response type');
  t.equal(bj?.fields?.['54'], '1002156C000000012345', 'F54 as text');

  t.equal(u.code, 0, 'unknown combination still decodes');
  t.equal(JSON.parse(u.stdout || 'null')?.type, 'unknown', 'type "unknown"');
  t.equal(u.stdout.trim().split('\n').length, 1, 'one JSON line');
});

t.test('(e) --host', async (t) => {
  const m = new HostMessage('0200');
  m.set(2, '6222021234567890');
  m.set(3, '000000');
  m.set(4, '000000001000');
  m.set(11, '000001');
  m.set(52, Buffer.from('0123456789abcdef', 'hex'));
  m.set(70, '301');
  m.set(128, Buffer.from('a1b2c3d4e5f60718', 'hex'));
  const frame = packHostFrame(m);
  const want = {
    mti: '0200',
    fields: { '2': '6222021234567890', '3': '000000', '4': '000000001000', '11': '000001', '52': '0123456789ABCDEF', '70': '301', '128': 'A1B2C3D4E5F60718' },
  };
  // a hand-written host frame: "0018" "0800" bitmap(F11) "000001"
  const hand = Buffer.concat([asc('0018'), asc('0800'), bitmap([11]), asc('000001')]);
  const [r, nl, h, bad] = await Promise.all([
    runPosp(['decode', '--host', hexOf(frame)]),
    runPosp(['decode', '--host', '--no-length', hexOf(frame.subarray(4))]),
    runPosp(['decode', '--host', hexOf(hand)]),
    runPosp(['decode', '--host', hexOf(Buffer.concat([asc('0018'), asc('0800'), bitmap([11]), asc('00A001')]))]),
  ]);
  t.equal(r.code, 0, 'exit 0');
  t.equal(r.stdout, JSON.stringify(want) + '\n', 'host JSON: MTI and fields, binary as uppercase hex');
  t.equal(nl.stdout, JSON.stringify(want) + '\n', '--host --no-length');
  t.equal(h.stdout, JSON.stringify({ mti: '0800', fields: { '11': '000001' } }) + '\n', 'hand-written host frame');
  t.equal(bad.code, 1, 'host frame with a letter in F11: exit 1');
  t.match(bad.stderr, /\bF11\b/, 'names F11');
  t.match(bad.stderr, /\b18\b/, 'and byte 18');
  t.equal(bad.stderr.trimEnd().split('\n').length, 1, 'one line');
});

// ---------------------------------------------------------------------------------------------
t.test('(f) bad frames: exit 1, one stderr line naming field and offset', async (t) => {
  const at = (name: string) => {
    // offsets in FRAME: LEN 2, TPDU 5, header 6, MTI 2, bitmap 8 = 23; then the fields in order
    const sizes: [string, number][] = [['F2', 11], ['F3', 3], ['F4', 6], ['F11', 3], ['F14', 2], ['F22', 2], ['F25', 1], ['F26', 1], ['F35', 18], ['F41', 8], ['F42', 15], ['F49', 3], ['F52', 8], ['F53', 8], ['F55', 62], ['F60', 9], ['F64', 8]];
    let p = 23;
    for (const [n, s] of sizes) {
      if (n === name) return p;
      p += s;
    }
    return p;
  };
  const mutate = (f: (b: Buffer) => Buffer | void): string => {
    const b = Buffer.from(FRAME);
    return hexOf(f(b) ?? b);
  };
  const cases: [string, string, string, number][] = [
    ['truncated in F64', hexOf(Buffer.concat([Buffer.from([(BODY.length - 3) >> 8, (BODY.length - 3) & 0xff]), BODY.subarray(0, BODY.length - 3)])), 'F64', at('F64')],
    ['LEN mismatch', mutate((b) => void (b[1] += 1)), 'LEN', 0],
    ['TPDU id 61', mutate((b) => void (b[2] = 0x61)), 'TPDU', 2],
    ['header nibble A', mutate((b) => void (b[9] = 0x3a)), 'HEADER', 9],
    ['MTI nibble', mutate((b) => void (b[14] = 0x0b)), 'MTI', 13],
    ['bitmap bit 1', mutate((b) => void (b[15] |= 0x80)), 'BITMAP', 15],
    ['undefined field F5', mutate((b) => void (b[15] |= 0x08)), 'F5', 15],
    ['F3 nibble A', mutate((b) => void (b[at('F3') + 1] = 0x0a)), 'F3', at('F3') + 1],
    ['F2 length 20', mutate((b) => void (b[at('F2')] = 0x20)), 'F2', at('F2')],
    ['F55 length nibble', mutate((b) => void (b[at('F55') + 1] = 0x6a)), 'F55', at('F55')],
    ['F41 control byte', mutate((b) => void (b[at('F41') + 2] = 0x07)), 'F41', at('F41') + 2],
    ['trailing byte', hexOf(Buffer.concat([Buffer.from([(BODY.length + 1) >> 8, (BODY.length + 1) & 0xff]), BODY, Buffer.from([0])])), 'TRAILER', FRAME.length],
  ];
  const [empty, ...runs] = await Promise.all([runPosp(['decode', '']), ...cases.map(([, input]) => runPosp(['decode', input]))]);
  for (const [i, [desc, , field, offset]] of cases.entries()) {
    const r = runs[i];
    t.equal(r.code, 1, `${desc}: exit 1`);
    t.equal(r.stdout, '', `${desc}: nothing on stdout`);
    const lines = r.stderr.split('\n').filter((l, i, a) => l !== '' || i < a.length - 1);
    t.equal(lines.length, 1, `${desc}: exactly one stderr line`);
    t.match(lines[0] ?? '', new RegExp(`\\b${field}\\b`), `${desc}: names ${field}`);
    t.match(lines[0] ?? '', new RegExp(`\\b${offset}\\b`), `${desc}: gives byte offset ${offset}`);
  }
  t.equal(empty.code, 1, 'empty hex: exit 1');
  t.match(empty.stderr, /\bLEN\b/, 'empty hex: LEN');
});

t.test('(g) input that is not hex', async (t) => {
  const cases = [
    ['letters outside A-F', 'ZZ'],
    ['odd number of digits', hexOf(FRAME).slice(0, -1)],
    ['0x prefix', '0x' + hexOf(FRAME)],
  ];
  const [stdin, ...runs] = await Promise.all([runPosp(['decode', '-'], 'not hex at all\n'), ...cases.map(([, input]) => runPosp(['decode', input]))]);
  for (const [i, [desc]] of cases.entries()) {
    const r = runs[i];
    t.equal(r.code, 1, `${desc}: exit 1`);
    t.equal(r.stdout, '', `${desc}: nothing on stdout`);
    t.equal(r.stderr.trimEnd().split('\n').length, 1, `${desc}: one stderr line`);
    t.match(r.stderr, /hex/, `${desc}: says the input is not hex`);
  }
  t.equal(stdin.code, 1, 'non-hex on stdin: exit 1');
  t.match(stdin.stderr, /hex/, 'non-hex on stdin: says so');
});

t.test('usage errors', async (t) => {
  const [none, unknown] = await Promise.all([runPosp(['decode']), runPosp(['decode', '--bogus', hexOf(FRAME)])]);
  t.equal(none.code, 2, 'no argument: exit 2');
  t.match(none.stderr, /posp decode/, 'prints usage');
  t.equal(unknown.code, 2, 'unknown option: exit 2');
  t.match(unknown.stderr, /--bogus/, 'names the option');
});
