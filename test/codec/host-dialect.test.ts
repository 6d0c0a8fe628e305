/**
 * Host dialect (PROTOCOL.md section 9): ISO 8583:1987 in ASCII. 4 ASCII digit length, ASCII MTI,
 * binary primary bitmap, secondary bitmap only when a field above 64 is present, LL/LLL as ASCII
 * digits, binary fields (52, 128) as 16 uppercase hex characters, F90 n42.
 */
import t from 'tap';
import { FormatError, HOST_TABLE, HostMessage, decodeHostFrame, encodeHostFrame, packHostFrame } from '../../src/codec/index.js';

type Format = 'n' | 'z' | 'an' | 'ans' | 'b';
type Kind = 'fixed' | 'LL' | 'LLL';

/** Section 9's field list with their ISO 8583:1987 formats. */
const SECTION_9: [number, Format, Kind, number][] = [
  [2, 'n', 'LL', 19],
  [3, 'n', 'fixed', 6],
  [4, 'n', 'fixed', 12],
  [7, 'n', 'fixed', 10],
  [11, 'n', 'fixed', 6],
  [12, 'n', 'fixed', 6],
  [13, 'n', 'fixed', 4],
  [14, 'n', 'fixed', 4],
  [18, 'n', 'fixed', 4],
  [22, 'n', 'fixed', 3],
  [25, 'n', 'fixed', 2],
  [32, 'n', 'LL', 11],
  [35, 'z', 'LL', 37],
  [37, 'an', 'fixed', 12],
  [38, 'an', 'fixed', 6],
  [39, 'an', 'fixed', 2],
  [41, 'ans', 'fixed', 8],
  [42, 'ans', 'fixed', 15],
  [43, 'ans', 'fixed', 40],
  [49, 'an', 'fixed', 3],
  [52, 'b', 'fixed', 8],
  [54, 'an', 'LLL', 120],
  [70, 'n', 'fixed', 3],
  [90, 'n', 'fixed', 42],
  [128, 'b', 'fixed', 8],
];

function ascii(s: string): Buffer {
  return Buffer.from(s, 'latin1');
}
function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}
/** Concatenates parts: `x:` hex, anything else ASCII. */
function bytes(...parts: string[]): Buffer {
  return Buffer.concat(parts.map((p) => (p.startsWith('x:') ? hex(p.slice(2)) : ascii(p))));
}
function withLen(body: Buffer): Buffer {
  return Buffer.concat([ascii(String(body.length).padStart(4, '0')), body]);
}
function fe(fn: () => unknown): { field: string; offset: number } | string {
  try {
    fn();
    return 'no error';
  } catch (err) {
    return err instanceof FormatError ? { field: err.field, offset: err.offset } : `not a FormatError: ${String(err)}`;
  }
}
function msg(mti: string, fields: Record<number, string | Buffer>): HostMessage {
  const m = new HostMessage(mti);
  for (const [id, v] of Object.entries(fields)) m.set(Number(id), v);
  return m;
}
function show(v: string | Buffer | undefined): string {
  return v === undefined ? '<absent>' : typeof v === 'string' ? JSON.stringify(v) : 'hex:' + v.toString('hex').toUpperCase();
}

// Hand-written frames.
const SIGN_ON_FIELDS = { 7: '0315123045', 11: '000001', 70: '301' };
const SIGN_ON = bytes('0039', '0800', 'x:8220000000000000', 'x:0400000000000000', '0315123045', '000001', '301');

const SALE_FIELDS = { 2: '6222021234567890', 3: '000000', 4: '000000001000', 52: hex('0123456789ABCDEF'), 54: '1002156C000000012345' };
const SALE = bytes('0087', '0200', 'x:7000000000001400', '16', '6222021234567890', '000000', '000000001000', '0123456789ABCDEF', '020', '1002156C000000012345');

const F90 = '0200' + '000123' + '0315101530' + '00048020000' + '00000000000';
const REVERSAL_FIELDS = { 11: '000777', 90: F90, 128: hex('A1B2C3D4E5F60718') };
const REVERSAL = bytes('0084', '0420', 'x:8020000000000000', 'x:0000004000000001', '000777', F90, 'A1B2C3D4E5F60718');

t.test('HOST_TABLE defines the section 9 fields with their ISO 8583:1987 formats', async (t) => {
  for (const [id, format, length, max] of SECTION_9) {
    const s = HOST_TABLE[id];
    t.strictSame(s && { format: s.format, length: s.length, max: s.max }, { format, length, max }, `F${id}`);
  }
  t.equal(HOST_TABLE[1], undefined, 'F1 is the bitmap indicator, not a field');
  t.equal(HOST_TABLE[65], undefined, 'F65 undefined');
});

t.test('exact wire bytes, by hand', async (t) => {
  t.equal(packHostFrame(msg('0800', SIGN_ON_FIELDS)).toString('hex'), SIGN_ON.toString('hex'), '0800 sign-on: F70 brings the secondary bitmap (bit 1 set, bit 70 = 04 in byte 9)');
  t.equal(packHostFrame(msg('0200', SALE_FIELDS)).toString('hex'), SALE.toString('hex'), '0200: no secondary bitmap, LL "16", F52 as 16 hex chars, LLL "020"');
  t.equal(packHostFrame(msg('0420', REVERSAL_FIELDS)).toString('hex'), REVERSAL.toString('hex'), '0420: F90 n42 and F128 as hex in the secondary bitmap');
  t.equal(SALE.subarray(0, 4).toString('latin1'), '0087', 'length is 4 ASCII digits counting the bytes after it');
  t.equal(packHostFrame(msg('0200', SALE_FIELDS), false).toString('hex'), SALE.subarray(4).toString('hex'), 'without the length prefix');

  const f128 = packHostFrame(msg('0200', { 128: hex('00ff10ab00000000') }));
  t.equal(f128.subarray(4 + 4 + 16).toString('latin1'), '00FF10AB00000000', 'F128 as uppercase hex');
  t.equal(f128[8], 0x80, 'F128 alone: bit 1 set');
  t.equal(f128[8 + 15], 0x01, 'bit 128 is the last bit of the secondary bitmap');

  const track = packHostFrame(msg('0200', { 32: '48020000001', 35: '6222021234567890=2712' }));
  t.equal(track.subarray(16).toString('latin1'), '1148020000001216222021234567890=2712', 'F32 LL "11", F35 LL "21" with = as is');
});

t.test('decode the hand-written frames', async (t) => {
  for (const [name, frame, mti, fields] of [
    ['sign-on', SIGN_ON, '0800', SIGN_ON_FIELDS],
    ['sale', SALE, '0200', SALE_FIELDS],
    ['reversal', REVERSAL, '0420', REVERSAL_FIELDS],
  ] as const) {
    const m = decodeHostFrame(frame);
    t.equal(m.mti, mti, `${name}: MTI`);
    t.strictSame(
      m.present().map((id) => `${id}=${show(m.fields[id])}`),
      Object.entries(fields).map(([id, v]) => `${id}=${show(v)}`),
      `${name}: fields`,
    );
  }
  const r = decodeHostFrame(REVERSAL);
  t.equal(r.mabStart, 4, 'MAB starts at the MTI');
  t.equal(r.mabEnd, REVERSAL.length - 16, 'MAB ends before F128');
  const lower = Buffer.from(SALE);
  lower.write('0123456789abcdef', 4 + 4 + 8 + 18 + 6 + 12, 'latin1');
  t.equal(show(decodeHostFrame(lower).fields[52]), 'hex:0123456789ABCDEF', 'lowercase hex accepted on decode');
  const emptySecondary = withLen(bytes('0800', 'x:8020000000000000', 'x:0000000000000000', '000001'));
  const es = decodeHostFrame(emptySecondary);
  t.strictSame(es.present(), [11], 'a secondary bitmap with no bits set decodes');
  t.equal(packHostFrame(es).toString('latin1').slice(0, 4), '0018', 're-encoded without the empty secondary bitmap');
});

t.test('every host field round-trips with random values', async (t) => {
  let seed = 12345;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
  const int = (n: number) => Math.floor(rnd() * n);
  for (const [id, format, length, max] of SECTION_9) {
    const got: string[] = [];
    const want: string[] = [];
    const lens = length === 'fixed' ? Array(10).fill(max) : [0, 1, max - 1, max, ...Array.from({ length: 8 }, () => int(max + 1))];
    for (const len of lens) {
      const v: string | Buffer =
        format === 'b'
          ? Buffer.from(Array.from({ length: len }, () => int(256)))
          : Array.from({ length: len }, () =>
              format === 'n' ? String(int(10)) : format === 'z' ? '0123456789='[int(11)] : String.fromCharCode(0x20 + int(0x5f)),
            ).join('');
      const frame = packHostFrame(msg('0200', { [id]: v }));
      // reference wire form of the field, by the section 9 rules
      const wireValue = typeof v === 'string' ? v : v.toString('hex').toUpperCase();
      const prefix = length === 'LL' ? String(len).padStart(2, '0') : length === 'LLL' ? String(len).padStart(3, '0') : '';
      const bitmapLen = id > 64 ? 16 : 8;
      want.push(String(4 + bitmapLen + prefix.length + wireValue.length).padStart(4, '0') + '0200' + prefix + wireValue);
      got.push(frame.subarray(0, 8).toString('latin1') + frame.subarray(8 + bitmapLen).toString('latin1'));
      const d = decodeHostFrame(frame);
      t.equal(show(d.fields[id]), show(v), `F${id} ${format} ${length} len ${len}: decodes back`);
    }
    t.strictSame(got, want, `F${id}: LEN, MTI and field bytes follow the section 9 rules for ${lens.length} values`);
  }
});

t.test('bad host frames', async (t) => {
  const long = Buffer.from(SALE);
  long.write('0088', 0, 'latin1');
  t.strictSame(fe(() => decodeHostFrame(long)), { field: 'LEN', offset: 0 }, 'length says 88, 87 follow');
  const short = Buffer.from(SALE);
  short.write('0086', 0, 'latin1');
  t.strictSame(fe(() => decodeHostFrame(short)), { field: 'LEN', offset: 0 }, 'length says 86, 87 follow');
  const nonDigitLen = Buffer.from(SALE);
  nonDigitLen[2] = 0x41;
  t.strictSame(fe(() => decodeHostFrame(nonDigitLen)), { field: 'LEN', offset: 2 }, 'non-digit in the length');
  t.strictSame(fe(() => decodeHostFrame(ascii('008'))), { field: 'LEN', offset: 0 }, 'shorter than the length prefix');
  const binLen = Buffer.concat([hex('0057'), SALE.subarray(4)]);
  t.strictSame(fe(() => decodeHostFrame(binLen)), { field: 'LEN', offset: 0 }, 'binary length instead of ASCII');

  const badMti = Buffer.from(SALE);
  badMti[6] = 0x58;
  t.strictSame(fe(() => decodeHostFrame(badMti)), { field: 'MTI', offset: 6 }, 'MTI "02X0"');
  const bcdMti = withLen(Buffer.concat([hex('0200'), SALE.subarray(8)]));
  t.strictSame(fe(() => decodeHostFrame(bcdMti)), { field: 'MTI', offset: 4 }, 'BCD MTI');

  // SALE layout: LEN 0 | MTI 4 | bitmap 8 | F2 16 (LL) | F3 34 | F4 40 | F52 52 | F54 68 (LLL) | end 91
  const f3 = Buffer.from(SALE);
  f3[34 + 2] = 0x41;
  t.strictSame(fe(() => decodeHostFrame(f3)), { field: 'F3', offset: 36 }, 'non-digit in n (F3)');
  const f4 = Buffer.from(SALE);
  f4[40 + 11] = 0x20;
  t.strictSame(fe(() => decodeHostFrame(f4)), { field: 'F4', offset: 51 }, 'space in n (F4)');
  const f2 = Buffer.from(SALE);
  f2[18 + 5] = 0x3d;
  t.strictSame(fe(() => decodeHostFrame(f2)), { field: 'F2', offset: 23 }, '"=" in n (F2)');
  const f2len = Buffer.from(SALE);
  f2len[17] = 0x3a;
  t.strictSame(fe(() => decodeHostFrame(f2len)), { field: 'F2', offset: 17 }, 'non-digit in an LL length');
  const f2max = Buffer.from(SALE);
  f2max.write('20', 16, 'latin1');
  t.strictSame(fe(() => decodeHostFrame(f2max)), { field: 'F2', offset: 16 }, 'LL length 20 above 19');
  const f54max = Buffer.from(SALE);
  f54max.write('121', 68, 'latin1');
  t.strictSame(fe(() => decodeHostFrame(f54max)), { field: 'F54', offset: 68 }, 'LLL length 121 above 120');
  const f54len = Buffer.from(SALE);
  f54len[70] = 0x2f;
  t.strictSame(fe(() => decodeHostFrame(f54len)), { field: 'F54', offset: 70 }, 'non-digit in an LLL length');

  for (const [i, c] of [[8, 'G'], [9, 'g'], [0, ' '], [15, 'Z']] as const) {
    const b = Buffer.from(SALE);
    b.write(c, 52 + i, 'latin1');
    t.strictSame(fe(() => decodeHostFrame(b)), { field: 'F52', offset: 52 + (i & ~1) }, `bad hex "${c}" at F52 character ${i}: offset of its pair`);
  }
  const f128 = Buffer.from(REVERSAL);
  f128[REVERSAL.length - 1] = 0x3a;
  t.strictSame(fe(() => decodeHostFrame(f128)), { field: 'F128', offset: REVERSAL.length - 2 }, 'bad hex in F128');

  const bit5 = Buffer.from(SALE);
  bit5[8] |= 0x08;
  t.strictSame(fe(() => decodeHostFrame(bit5)), { field: 'F5', offset: 8 }, 'bitmap bit for undefined F5');
  const bit65 = withLen(bytes('0800', 'x:8000000000000000', 'x:8000000000000000'));
  t.strictSame(fe(() => decodeHostFrame(bit65)), { field: 'F65', offset: 16 }, 'secondary bit 65 (a tertiary bitmap) undefined');
  const secTrunc = withLen(bytes('0800', 'x:8000000000000000', 'x:04000000'));
  t.strictSame(fe(() => decodeHostFrame(secTrunc)), { field: 'BITMAP', offset: 16 }, 'secondary bitmap truncated');
  const trailing = withLen(Buffer.concat([SALE.subarray(4), ascii('X')]));
  t.strictSame(fe(() => decodeHostFrame(trailing)), { field: 'TRAILER', offset: 91 }, 'trailing byte');
  const f43 = withLen(bytes('0200', 'x:0000000000200000', 'MERCHANT'.padEnd(39), 'x:7f'));
  t.strictSame(fe(() => decodeHostFrame(f43)), { field: 'F43', offset: 16 + 39 }, 'DEL in ans F43');
  const f39 = withLen(bytes('0210', 'x:0000000002000000', 'x:30', 'x:b0'));
  t.strictSame(fe(() => decodeHostFrame(f39)), { field: 'F39', offset: 17 }, 'byte above 0x7E in an F39');
  const f35 = withLen(bytes('0200', 'x:0000000020000000', '05', '12=3D'));
  t.strictSame(fe(() => decodeHostFrame(f35)), { field: 'F35', offset: 22 }, '"D" in z F35');
});

t.test('truncated at every position (no length prefix)', async (t) => {
  const body = SALE.subarray(4);
  // [name, start, prefix chars, value chars] without the length prefix
  const layout: [string, number, number, number][] = [
    ['MTI', 0, 0, 4],
    ['BITMAP', 4, 0, 8],
    ['F2', 12, 2, 16],
    ['F3', 30, 0, 6],
    ['F4', 36, 0, 12],
    ['F52', 48, 0, 16],
    ['F54', 64, 3, 20],
  ];
  t.equal(body.length, 87, 'layout adds up');
  const got: string[] = [];
  const want: string[] = [];
  for (let k = 0; k < body.length; k++) {
    const [name, start, pre] = layout.find(([, s, p, v]) => k < s + p + v)!;
    const offset = k < start + pre ? start : start + pre;
    want.push(`${k}: ${name}@${offset}`);
    const c = fe(() => decodeHostFrame(body.subarray(0, k), 0, k, false));
    got.push(`${k}: ${typeof c === 'string' ? c : `${c.field}@${c.offset}`}`);
  }
  t.strictSame(got, want, 'each cut names the cut field and its offset');
  const stale: string[] = [];
  for (let k = 4; k < SALE.length; k++) {
    const c = fe(() => decodeHostFrame(SALE.subarray(0, k)));
    if (typeof c === 'string' || c.field !== 'LEN' || c.offset !== 0) stale.push(`${k}: ${JSON.stringify(c)}`);
  }
  t.strictSame(stale, [], 'with the original length prefix every cut is a LEN error at 0');
});

t.test('host encode errors', async (t) => {
  const cases: [string, HostMessage, string, number][] = [
    ['F3 non-digit', msg('0200', { 3: '00A000' }), 'F3', 16],
    ['F2 "=" in n', msg('0200', { 2: '6222=1' }), 'F2', 18],
    ['F35 letter in z', msg('0200', { 35: '6222=X' }), 'F35', 18],
    ['F3 of 5 digits', msg('0200', { 3: '00000' }), 'F3', 16],
    ['F90 of 41 digits', msg('0420', { 90: '1'.repeat(41) }), 'F90', 24],
    ['F52 of 7 bytes', msg('0200', { 52: Buffer.alloc(7) }), 'F52', 16],
    ['F52 as a string', msg('0200', { 52: '0123456789ABCDEF' }), 'F52', 16],
    ['F54 of 121 chars', msg('0200', { 54: 'x'.repeat(121) }), 'F54', 16],
    ['F5 not defined', msg('0200', { 5: '000000000001' }), 'F5', 16],
    ['MTI 08X0', msg('08X0', {}), 'MTI', 4],
    ['MTI of 3 digits', msg('080', {}), 'MTI', 4],
  ];
  for (const [desc, m, field, offset] of cases) t.strictSame(fe(() => packHostFrame(m)), { field, offset }, desc);
  const out = Buffer.alloc(500);
  t.strictSame(fe(() => encodeHostFrame(msg('0200', { 3: 'x' }), out, 100)), { field: 'F3', offset: 16 }, 'offsets relative to the frame start in a larger buffer');
  t.strictSame(fe(() => packHostFrame(msg('0200', { 41: 'POS\x000001' }))), { field: 'F41', offset: 16 }, 'ans F41 with a NUL byte is refused');
});
