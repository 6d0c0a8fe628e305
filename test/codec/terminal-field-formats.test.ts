/**
 * Terminal dialect field formats (PROTOCOL.md sections 1–2).
 *
 * - CUP_TABLE is checked against the section 2 table, written out here by hand.
 * - Every field is round-tripped (encode → decode) for many values, and its wire bytes are compared
 *   with an independent reference packer written in this file from the PROTOCOL.md rules.
 * - Representative cases are checked against hand-written hex.
 * - TPDU swap (responseTpdu) and the header processing requirement digit.
 */
import t from 'tap';
import {
  CUP_TABLE,
  TerminalMessage,
  decodeTerminalFrame,
  packTerminalFrame,
  responseTpdu,
  withProcessingRequirement,
} from '../../src/codec/index.js';

type Format = 'n' | 'z' | 'an' | 'ans' | 'b';
type Kind = 'fixed' | 'LL' | 'LLL';
interface Row {
  id: number;
  format: Format;
  length: Kind;
  max: number;
  align?: 'left' | 'right';
}

/** PROTOCOL.md section 2, copied by hand. */
const PROTOCOL_TABLE: Row[] = [
  { id: 2, format: 'n', length: 'LL', max: 19 },
  { id: 3, format: 'n', length: 'fixed', max: 6 },
  { id: 4, format: 'n', length: 'fixed', max: 12 },
  { id: 11, format: 'n', length: 'fixed', max: 6 },
  { id: 12, format: 'n', length: 'fixed', max: 6 },
  { id: 13, format: 'n', length: 'fixed', max: 4 },
  { id: 14, format: 'n', length: 'fixed', max: 4 },
  { id: 15, format: 'n', length: 'fixed', max: 4 },
  { id: 22, format: 'n', length: 'fixed', max: 3, align: 'left' },
  { id: 23, format: 'n', length: 'fixed', max: 3, align: 'right' },
  { id: 25, format: 'n', length: 'fixed', max: 2 },
  { id: 26, format: 'n', length: 'fixed', max: 2 },
  { id: 32, format: 'n', length: 'LL', max: 11 },
  { id: 35, format: 'z', length: 'LL', max: 37 },
  { id: 36, format: 'z', length: 'LLL', max: 104 },
  { id: 37, format: 'an', length: 'fixed', max: 12 },
  { id: 38, format: 'an', length: 'fixed', max: 6 },
  { id: 39, format: 'an', length: 'fixed', max: 2 },
  { id: 41, format: 'ans', length: 'fixed', max: 8 },
  { id: 42, format: 'ans', length: 'fixed', max: 15 },
  { id: 44, format: 'an', length: 'LL', max: 25 },
  { id: 48, format: 'n', length: 'LLL', max: 322 },
  { id: 49, format: 'an', length: 'fixed', max: 3 },
  { id: 52, format: 'b', length: 'fixed', max: 8 },
  { id: 53, format: 'n', length: 'fixed', max: 16 },
  { id: 54, format: 'an', length: 'LLL', max: 20 },
  { id: 55, format: 'b', length: 'LLL', max: 255 },
  { id: 60, format: 'n', length: 'LLL', max: 19 },
  { id: 61, format: 'n', length: 'LLL', max: 29 },
  { id: 62, format: 'b', length: 'LLL', max: 512 },
  { id: 63, format: 'ans', length: 'LLL', max: 163 },
  { id: 64, format: 'b', length: 'fixed', max: 8 },
];

const TPDU = '6000120034';
const HEADER = '610100000000';

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/[\s|]+/g, ''), 'hex');
}
function h(b: Buffer): string {
  return b.toString('hex').toUpperCase();
}

// ---------------------------------------------------------------------------------------------
// Independent reference packer (PROTOCOL.md section 2), not using src/codec.

function nibble(c: string): number {
  if (c === '=') return 13;
  return c.charCodeAt(0) - 48;
}
function packNibbles(digits: string): Buffer {
  const out = Buffer.alloc(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = (nibble(digits[2 * i]) << 4) | nibble(digits[2 * i + 1]);
  return out;
}
function bcdNumber(n: number, bytes: number): Buffer {
  return packNibbles(String(n).padStart(bytes * 2, '0'));
}
function refField(row: Row, value: string | Buffer): Buffer {
  const len = value.length;
  const parts: Buffer[] = [];
  if (row.length === 'LL') parts.push(bcdNumber(len, 1));
  if (row.length === 'LLL') parts.push(bcdNumber(len, 2));
  if (row.format === 'n' || row.format === 'z') {
    let d = value as string;
    const left = row.length !== 'fixed' || row.align === 'left';
    if (d.length % 2 === 1) d = left ? d + '0' : '0' + d;
    parts.push(packNibbles(d));
  } else if (row.format === 'b') {
    parts.push(value as Buffer);
  } else {
    parts.push(Buffer.from(value as string, 'latin1'));
  }
  return Buffer.concat(parts);
}
function refBitmap(ids: number[]): Buffer {
  const b = Buffer.alloc(8);
  for (const id of ids) b[(id - 1) >> 3] |= 0x80 >> ((id - 1) & 7);
  return b;
}
function refFrame(mti: string, fields: [Row, string | Buffer][], tpdu = TPDU, header = HEADER): Buffer {
  const body = Buffer.concat([
    hex(tpdu),
    packNibbles(header),
    packNibbles(mti),
    refBitmap(fields.map(([r]) => r.id)),
    ...fields.map(([r, v]) => refField(r, v)),
  ]);
  return Buffer.concat([bcdLen(body.length), body]);
}
function bcdLen(n: number): Buffer {
  return Buffer.from([n >> 8, n & 0xff]);
}

// ---------------------------------------------------------------------------------------------
// Seeded random values.

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}
const rnd = mulberry32(0xf1e1d5);
const int = (n: number) => Math.floor(rnd() * n);

function randomValue(row: Row, len: number): string | Buffer {
  switch (row.format) {
    case 'n':
      return Array.from({ length: len }, () => String(int(10))).join('');
    case 'z':
      return Array.from({ length: len }, () => (int(8) === 0 ? '=' : String(int(10)))).join('');
    case 'an':
      return Array.from({ length: len }, () => String.fromCharCode(0x20 + int(0x5f))).join('');
    case 'ans':
      // printable ASCII and the high half (GBK bytes), never controls or DEL
      return Array.from({ length: len }, () => String.fromCharCode(int(2) ? 0x20 + int(0x5f) : 0x80 + int(0x80))).join('');
    case 'b':
      return Buffer.from(Array.from({ length: len }, () => int(256)));
  }
}

function lengthsFor(row: Row): number[] {
  if (row.length === 'fixed') return Array.from({ length: 12 }, () => row.max);
  const ls = [0, 1, 2, 3, row.max - 1, row.max];
  for (let i = 0; i < 14; i++) ls.push(int(row.max + 1));
  return ls;
}

function show(v: string | Buffer | undefined): string {
  return v === undefined ? '<absent>' : typeof v === 'string' ? JSON.stringify(v) : 'hex:' + h(v);
}

// ---------------------------------------------------------------------------------------------

t.test('CUP_TABLE is the PROTOCOL.md section 2 table', async (t) => {
  const defined = [];
  for (let id = 0; id < CUP_TABLE.length; id++) if (CUP_TABLE[id] !== undefined) defined.push(id);
  t.strictSame(defined, PROTOCOL_TABLE.map((r) => r.id), 'exactly the fields of section 2 are defined');
  for (const row of PROTOCOL_TABLE) {
    const spec = CUP_TABLE[row.id];
    const got = spec && { id: spec.id, format: spec.format, length: spec.length, max: spec.max, align: spec.align === 'left' ? 'left' : 'right' };
    t.strictSame(got, { ...row, align: row.align ?? 'right' }, `F${row.id} format/length/max/alignment`);
  }
});

t.test('every field round-trips and matches the reference wire bytes', async (t) => {
  for (const row of PROTOCOL_TABLE) {
    const values = lengthsFor(row).map((len) => randomValue(row, len));
    if (row.format === 'n') values.push('0'.repeat(row.length === 'fixed' ? row.max : 1), '9'.repeat(row.max));
    const wireGot: string[] = [];
    const wireWant: string[] = [];
    const decoded: string[] = [];
    const wanted: string[] = [];
    for (const value of values) {
      const msg = new TerminalMessage('0200', TPDU, HEADER);
      msg.set(row.id, value);
      const frame = packTerminalFrame(msg);
      wireGot.push(h(frame));
      wireWant.push(h(refFrame('0200', [[row, value]])));
      let back: string;
      try {
        const d = decodeTerminalFrame(frame);
        back = `${d.mti} ${d.present().join(',')} ${show(d.fields[row.id])}`;
      } catch (err) {
        back = `threw ${String(err)}`;
      }
      decoded.push(back);
      wanted.push(`0200 ${row.id} ${show(value)}`);
    }
    t.strictSame(wireGot, wireWant, `F${row.id} (${row.format} ${row.length} ${row.max}): wire bytes of ${values.length} values equal the reference packing`);
    t.strictSame(decoded, wanted, `F${row.id}: decode(encode(v)) gives v back, and no other field`);
  }
});

t.test('a message carrying every field at once round-trips', async (t) => {
  const msg = new TerminalMessage('0210', TPDU, HEADER);
  const pairs: [Row, string | Buffer][] = [];
  for (const row of PROTOCOL_TABLE) {
    const len = row.length === 'fixed' ? row.max : Math.max(1, int(row.max + 1));
    const v = randomValue(row, len);
    pairs.push([row, v]);
    msg.set(row.id, v);
  }
  const frame = packTerminalFrame(msg);
  t.equal(h(frame), h(refFrame('0210', pairs)), 'wire bytes equal the reference');
  const d = decodeTerminalFrame(frame);
  t.strictSame(
    d.present().map((id) => `${id}=${show(d.fields[id])}`),
    pairs.map(([r, v]) => `${r.id}=${show(v)}`),
    'every field decodes back',
  );
  t.equal(d.mabStart, 2 + 5 + 6, 'MAB starts at the MTI');
  t.equal(d.mabEnd, frame.length - 8, 'MAB ends before F64');
});

// ---------------------------------------------------------------------------------------------
// Hand-written hex. Frames: LEN | TPDU 60 0012 0034 | header 61 01 00 00 00 00 | MTI | bitmap | field.

function single(id: number, value: string | Buffer): Buffer {
  const msg = new TerminalMessage('0200', TPDU, HEADER);
  msg.set(id, value);
  return packTerminalFrame(msg);
}
const PRE = '6000120034 610100000000 0200';

t.test('representative wire bytes, checked by hand', async (t) => {
  const cases: [string, number, string | Buffer, string][] = [
    ['F23 n3 fixed right-aligned: 001 -> 00 01', 23, '001', `0017 ${PRE} 0000020000000000 0001`],
    ['F22 n3 left-aligned: 021 -> 02 10', 22, '021', `0017 ${PRE} 0000040000000000 0210`],
    ['F3 n6: 310000', 3, '310000', `0018 ${PRE} 2000000000000000 310000`],
    ['F4 n12: 000000001234', 4, '000000001234', `001B ${PRE} 1000000000000000 000000001234`],
    ['F11 n6: 000123', 11, '000123', `0018 ${PRE} 0020000000000000 000123`],
    ['F25 n2: 06', 25, '06', `0016 ${PRE} 0000008000000000 06`],
    ['F53 n16', 53, '2600000000000000', `001D ${PRE} 0000000000000800 2600000000000000`],
    [
      'F2 LL n odd (19 digits): length byte 19, value left-aligned with trailing 0 nibble',
      2,
      '6222021234567890123',
      `0020 ${PRE} 4000000000000000 19 62220212345678901230`,
    ],
    ['F2 LL n even (16 digits)', 2, '6222021234567890', `001E ${PRE} 4000000000000000 16 6222021234567890`],
    ['F2 LL n of 0 digits', 2, '', `0016 ${PRE} 4000000000000000 00`],
    ['F32 LL n odd (11 digits)', 32, '48020000001', `001C ${PRE} 0000000100000000 11 480200000010`],
    [
      'F35 z track 2, `=` packed as nibble D, odd length padded with 0',
      35,
      '6222021234567890=25121011',
      `0023 ${PRE} 0000000020000000 25 6222021234567890D251210110`,
    ],
    ['F36 z LLL: length as 2 BCD bytes', 36, '996=12345', `001C ${PRE} 0000000010000000 0009 996D123450`],
    ['F37 an12 ASCII', 37, '123456789012', `0021 ${PRE} 0000000008000000 313233343536373839303132`],
    ['F39 an2 ASCII', 39, 'A0', `0017 ${PRE} 0000000002000000 4130`],
    ['F41 ans8 ASCII', 41, 'TID 0001', `001D ${PRE} 0000000000800000 5449442030303031`],
    ['F42 ans15 with GBK bytes', 42, 'M\xc9\xcc\xbb\xa70000000012', `0024 ${PRE} 0000000000400000 4DC9CCBBA7 30303030303030303132`],
    ['F44 LL an: length counts bytes', 44, '0301 0401', `001F ${PRE} 0000000000100000 09 303330312030343031`],
    ['F49 an3', 49, '156', `0018 ${PRE} 0000000000008000 313536`],
    ['F52 b64: 8 raw bytes', 52, hex('0123456789ABCDEF'), `001D ${PRE} 0000000000001000 0123456789ABCDEF`],
    ['F54 LLL an', 54, '1002156C000000012345', `002B ${PRE} 0000000000000400 0020 31303032313536433030303030303031323334 35`],
    ['F60 LLL n odd: 2 length bytes, left-aligned, trailing 0', 60, '22000001000', `001D ${PRE} 0000000000000010 0011 220000010000`],
    ['F60 LLL n 17 digits', 60, '22000001000501234', `0020 ${PRE} 0000000000000010 0017 220000010005012340`],
    ['F60 LLL n max 19 digits (the section 5 MAC vector carries 19)', 60, '2200000100050123456', `0021 ${PRE} 0000000000000010 0019 22000001000501234560`],
    ['F61 LLL n 16 digits', 61, '0000010001230315', `001F ${PRE} 0000000000000008 0016 0000010001230315`],
    ['F63 LLL ans', 63, 'CUP', `001A ${PRE} 0000000000000002 0003 435550`],
    ['F64 b64 MAC', 64, hex('4233413039324145'), `001D ${PRE} 0000000000000001 4233413039324145`],
  ];
  for (const [name, id, value, want] of cases) {
    const got = h(single(id, value));
    t.equal(got, h(hex(want)), name);
    const d = decodeTerminalFrame(hex(want));
    t.strictSame(show(d.fields[id]), show(value), `${name}: decodes back`);
  }
});

t.test('LLL lengths are 2 BCD bytes', async (t) => {
  const f55 = Buffer.from(Array.from({ length: 60 }, (_, i) => i));
  const frame = single(55, f55);
  t.equal(h(frame.subarray(23, 25)), '0060', 'F55 of 60 bytes has length 00 60');
  t.equal(frame.length, 23 + 2 + 60, 'then the 60 bytes');
  t.equal(h(single(55, Buffer.alloc(255, 0xaa)).subarray(23, 25)), '0255', 'F55 of 255 bytes has length 02 55');
  t.equal(h(single(62, Buffer.alloc(512, 1)).subarray(23, 25)), '0512', 'F62 of 512 bytes has length 05 12');
  t.equal(h(single(62, Buffer.alloc(100, 1)).subarray(23, 25)), '0100', 'F62 of 100 bytes has length 01 00');
  const f48 = '7'.repeat(322);
  const f48frame = single(48, f48);
  t.equal(h(f48frame.subarray(23, 25)), '0322', 'F48 of 322 digits has length 03 22');
  t.equal(f48frame.length, 23 + 2 + 161, 'F48 of 322 digits takes 161 bytes');
  t.equal(h(single(63, 'x'.repeat(163)).subarray(23, 25)), '0163', 'F63 of 163 bytes has length 01 63');
});

t.test('a multi-field sale frame, byte for byte', async (t) => {
  const msg = new TerminalMessage('0200', '6000030000', '603100000000');
  msg.set(2, '6222021234567890123');
  msg.set(3, '000000');
  msg.set(4, '000000012345');
  msg.set(11, '000123');
  msg.set(22, '021');
  msg.set(25, '00');
  msg.set(41, 'POS00001');
  msg.set(60, '22000001000');
  msg.set(64, hex('0102030405060708'));
  const want =
    '0047' + // 71 bytes follow
    '6000030000' +
    '603100000000' +
    '0200' +
    '7020048000800011' + // bits 2 3 4 | 11 | 22 | 25 | 41 | 60 64
    '19' + '62220212345678901230' +
    '000000' +
    '000000012345' +
    '000123' +
    '0210' +
    '00' +
    '504F533030303031' +
    '0011' + '220000010000' +
    '0102030405060708';
  const frame = packTerminalFrame(msg);
  t.equal(h(frame), want, 'packed bytes');
  t.equal(msg.mabStart, 13, 'encoder: MAB starts at the MTI (after LEN, TPDU, header)');
  t.equal(msg.mabEnd, frame.length - 8, 'encoder: MAB ends where F64 starts');
  const d = decodeTerminalFrame(frame);
  t.equal(d.mabStart, 13, 'decoder: MAB start');
  t.equal(d.mabEnd, frame.length - 8, 'decoder: MAB end');
  t.equal(d.tpdu, '6000030000', 'TPDU as hex');
  t.equal(d.header, '603100000000', 'header as digits');
  t.equal(d.mti, '0200', 'MTI');

  const noLen = packTerminalFrame(msg, false);
  t.equal(h(noLen), want.slice(4), 'without the length prefix the frame starts at the TPDU');
  t.equal(msg.mabStart, 11, 'encoder without length: MAB starts at byte 11');
  const d2 = decodeTerminalFrame(noLen, 0, noLen.length, false);
  t.strictSame(d2.present(), d.present(), 'decodes without the length prefix');

  const noMac = new TerminalMessage('0800');
  noMac.set(11, '000001');
  const f = packTerminalFrame(noMac);
  t.equal(noMac.mabEnd, f.length, 'without F64 the MAB runs to the end');
  t.equal(decodeTerminalFrame(f).mabEnd, f.length, 'decoder agrees');
});

t.test('pad nibble F is accepted where 0 is specified', async (t) => {
  const left = decodeTerminalFrame(hex(`0020 ${PRE} 4000000000000000 19 6222021234567890123F`));
  t.equal(left.fields[2], '6222021234567890123', 'LL n odd with trailing F');
  const right = decodeTerminalFrame(hex(`0017 ${PRE} 0000020000000000 F001`));
  t.equal(right.fields[23], '001', 'fixed right-aligned with leading F');
  const f22 = decodeTerminalFrame(hex(`0017 ${PRE} 0000040000000000 021F`));
  t.equal(f22.fields[22], '021', 'F22 left-aligned with trailing F');
  t.equal(h(packTerminalFrame(left)), h(hex(`0020 ${PRE} 4000000000000000 19 62220212345678901230`)), 're-encodes with pad 0');
});

t.test('TPDU: responseTpdu swaps destination and source', async (t) => {
  t.equal(responseTpdu('6000120034'), '6000340012', '60 0012 0034 -> 60 0034 0012');
  t.equal(responseTpdu('6012345678'), '6056781234', 'swaps the 2-byte addresses as units');
  t.equal(responseTpdu(responseTpdu('60ABCD1234')), '60ABCD1234', 'swapping twice is the identity');
  const req = new TerminalMessage('0200', '6000120034', HEADER);
  req.set(11, '000001');
  const reqDecoded = decodeTerminalFrame(packTerminalFrame(req));
  const rsp = new TerminalMessage('0210', responseTpdu(reqDecoded.tpdu), reqDecoded.header);
  rsp.set(11, '000001');
  const frame = packTerminalFrame(rsp);
  t.equal(h(frame.subarray(2, 7)), '6000340012', 'response frame carries the swapped TPDU');
  t.equal(decodeTerminalFrame(frame).tpdu, '6000340012', 'and decodes to it');
});

t.test('header: processing requirement is digit 6', async (t) => {
  t.equal(withProcessingRequirement('610100000000', 3), '610103000000', 'sign in again');
  t.equal(withProcessingRequirement('603110000000', 0), '603110000000', 'none keeps status digit');
  t.equal(withProcessingRequirement('603115123456', 1), '603111123456', 'replaces only digit 6, keeps reserved digits');
  for (const req of [0, 1, 3, 4, 5]) {
    const msg = new TerminalMessage('0810', TPDU, withProcessingRequirement('603110000000', req));
    msg.set(39, '00');
    const frame = packTerminalFrame(msg);
    t.equal(h(frame.subarray(7, 13)), `60311${req}000000`, `requirement ${req} on the wire: byte 10 low nibble`);
    const d = decodeTerminalFrame(frame);
    t.equal(d.header[5], String(req), `requirement ${req} decodes`);
    t.equal(d.header.slice(0, 5), '60311', `requirement ${req}: app type, version, status unchanged`);
  }
});
