/**
 * Fuzz: random and mutated frames. Whatever the bytes, a decode either returns a message or throws
 * a FormatError (with a sensible field name and an offset inside the frame); nothing else escapes.
 * A frame that decodes re-encodes without throwing, to the same bytes except pad nibbles `F` that
 * become `0` (terminal) or lowercase hex that becomes uppercase / an empty secondary bitmap that is
 * dropped (host), and the re-encoded frame decodes to the same message.
 *
 * Seeded: set POSP_FUZZ_SEED to replay a run; every failure prints the seed, the iteration, the
 * mutation and the input hex. Each iteration has its own PRNG derived from (seed, iteration).
 */
import t from 'tap';
import {
  FormatError,
  HostMessage,
  TerminalMessage,
  decodeHostFrame,
  decodeTerminalFrame,
  messageToJson,
  packHostFrame,
  packTerminalFrame,
  type IsoMessage,
} from '../../src/codec/index.js';

const SEED = process.env.POSP_FUZZ_SEED ? Number(process.env.POSP_FUZZ_SEED) >>> 0 : 0x9e3779b9;
const TERMINAL_ITERATIONS = 120_000;
const HOST_ITERATIONS = 30_000;

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
class Rng {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}
function iterationSeed(seed: number, i: number): number {
  return (seed ^ Math.imul(i + 1, 0x85ebca6b)) >>> 0;
}

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}
function snapshot(m: IsoMessage & { tpdu?: string; header?: string }): string {
  return JSON.stringify({ mti: m.mti, tpdu: m.tpdu, header: m.header, fields: messageToJson(m) });
}

const SPECIAL = [0x00, 0xff, 0x60, 0x99, 0x0f, 0xf0, 0xd0, 0x0d, 0x80, 0x01, 0x30, 0x39, 0x20, 0x7f, 0x3d];

// ---------------------------------------------------------------------------------------------
// Terminal seeds: valid frames of several transaction types, together using every field.

function term(mti: string, fields: Record<number, string | Buffer>, tpdu = '6000030000', header = '603100000000'): TerminalMessage {
  const m = new TerminalMessage(mti, tpdu, header);
  for (const [id, v] of Object.entries(fields)) m.set(Number(id), v);
  return m;
}
const ICC = hex('9F26081122334455667788 9F270180 9F100706010A03A00000 9F370412345678 95050000000000 9A03250315 9C0100 9F0206000000012345 9F36020001 82027C00');
const TERMINAL_SEEDS: TerminalMessage[] = [
  term('0200', { 2: '6222021234567890123', 3: '000000', 4: '000000012345', 11: '000123', 14: '2712', 22: '051', 23: '001', 25: '00', 26: '12', 35: '6222021234567890123=2712220123456', 41: 'POS00001', 42: '898310048160001', 49: '156', 52: hex('1A2B3C4D5E6F7081'), 53: '2600000000000000', 55: ICC, 60: '2200000100050', 64: hex('4233413039324145') }),
  term('0210', { 2: '6222021234567890', 3: '310000', 4: '000000000000', 11: '000124', 12: '101530', 13: '0315', 15: '0316', 25: '00', 32: '48020000', 37: '250315000124', 39: '00', 41: 'POS00001', 42: '898310048160001', 44: '0301    0401    ', 49: '156', 54: '1002156C000000012345', 60: '01000001', 63: 'CUP', 64: hex('0102030405060708') }),
  term('0200', { 2: '6222021234567890', 3: '200000', 4: '000000012345', 11: '000125', 25: '00', 37: '250315000123', 38: '123456', 41: 'POS00001', 42: '898310048160001', 49: '156', 60: '23000001', 61: '000001000123', 64: hex('1111111111111111') }),
  term('0220', { 2: '6222021234567890', 3: '200000', 4: '000000000500', 11: '000126', 25: '00', 37: '250301000777', 41: 'POS00001', 42: '898310048160001', 49: '156', 60: '25000001', 61: '0000010001230301', 63: '001', 64: hex('2222222222222222') }),
  term('0800', { 11: '000001', 41: 'POS00001', 42: '898310048160001', 60: '00000001003', 63: '001' }),
  term('0810', { 11: '000001', 12: '090000', 13: '0315', 32: '48020000001', 37: '250315000001', 39: '00', 41: 'POS00001', 42: '898310048160001', 60: '00000002003', 62: Buffer.alloc(40, 0x5a) }, '6000000003', '603100300000'),
  term('0500', { 11: '000200', 15: '0315', 41: 'POS00001', 42: '898310048160001', 48: '000000123456' + '003' + '000000005000' + '001' + '0' + '0'.repeat(31), 49: '156', 60: '00000001201', 63: '001' }),
  term('0320', { 11: '000201', 41: 'POS00001', 42: '898310048160001', 48: '08' + '0000012300006222021234567890000000012345'.repeat(8), 60: '00000001201' }),
  term('0200', { 2: '1234567890123456789', 3: '400000', 4: '999999999999', 11: '999999', 25: '00', 35: '1'.repeat(18) + '=' + '2'.repeat(18), 36: '99' + '3'.repeat(50) + '=' + '4'.repeat(51), 41: 'ABCDEFGH', 42: 'ABCDEFGHIJKLMNO', 49: '156', 60: '48000001000501234', 61: '12345678901234567890123456789', 62: Buffer.from('6222021234567890999'), 64: hex('FFFFFFFFFFFFFFFF') }),
  term('0810', { 11: '000002', 39: '00', 41: 'POS00001', 42: '898310048160001', 60: '00000001360', 62: Buffer.alloc(512, 0x31) }),
  term('0800', {}),
  term('0200', { 2: '', 32: '', 35: '', 36: '', 44: '', 48: '', 54: '', 55: Buffer.alloc(0), 60: '', 61: '', 62: Buffer.alloc(0), 63: '' }),
  term('0100', { 2: '622202123456789', 3: '030000', 4: '000000100000', 11: '000300', 22: '021', 25: '06', 26: '06', 41: 'POS00001', 42: '898310048160001', 49: '156', 52: hex('0011223344556677'), 53: '2000000000000000', 60: '10000001', 63: 'VIS\xc9\xcc\xbb\xa7', 64: hex('89ABCDEF01234567') }),
];

/** Positions of the length prefixes in a valid terminal frame (with LEN), by a walker written here. */
const T_LL = new Set([2, 32, 35, 44]);
const T_LLL = new Set([36, 48, 54, 55, 60, 61, 62, 63]);
const T_DIGITS = new Set([2, 32, 35, 36, 48, 60, 61]);
const T_FIXED: Record<number, number> = { 3: 3, 4: 6, 11: 3, 12: 3, 13: 2, 14: 2, 15: 2, 22: 2, 23: 2, 25: 1, 26: 1, 37: 12, 38: 6, 39: 2, 41: 8, 42: 15, 49: 3, 52: 8, 53: 8, 64: 8 };
function terminalLengthPositions(m: TerminalMessage): number[] {
  const out: number[] = [];
  let p = 2 + 5 + 6 + 2 + 8;
  for (const id of m.present()) {
    const v = m.fields[id]!;
    if (T_LL.has(id) || T_LLL.has(id)) {
      out.push(p);
      p += T_LL.has(id) ? 1 : 2;
      p += T_DIGITS.has(id) ? (v.length + 1) >> 1 : v.length;
    } else {
      p += T_FIXED[id];
    }
  }
  return out;
}

const T_FRAMES = TERMINAL_SEEDS.map((m) => packTerminalFrame(m));
const T_LENGTHS = TERMINAL_SEEDS.map(terminalLengthPositions);

function setTerminalLen(b: Buffer): Buffer {
  if (b.length >= 2 && b.length - 2 <= 0xffff) b.writeUInt16BE(b.length - 2, 0);
  return b;
}
function bcdByte(n: number): number {
  return ((Math.floor(n / 10) % 10) << 4) | n % 10;
}

type Mutation = (r: Rng, b: Buffer, seedIndex: number) => Buffer;

function mutations(setLen: (b: Buffer) => Buffer, frames: Buffer[], lengthPositions: number[][], headerEnd: number, bitmapAt: number, lengths: 'bcd' | 'ascii'): Record<string, Mutation> {
  const maybeLen = (r: Rng, b: Buffer) => (r.int(4) === 0 ? b : setLen(b));
  return {
    flip(r, b) {
      const n = 1 + r.int(4);
      for (let i = 0; i < n && b.length; i++) {
        const at = r.int(2) ? r.int(Math.min(b.length, headerEnd)) : r.int(b.length);
        b[at] ^= 1 << r.int(8);
      }
      return b;
    },
    replace(r, b) {
      const n = 1 + r.int(3);
      for (let i = 0; i < n && b.length; i++) b[r.int(b.length)] = r.int(2) ? r.pick(SPECIAL) : r.int(256);
      return b;
    },
    truncate(r, b) {
      return maybeLen(r, Buffer.from(b.subarray(0, r.int(b.length + 1))));
    },
    insert(r, b) {
      const at = r.int(b.length + 1);
      const ins = r.int(2) ? r.bytes(1 + r.int(8)) : Buffer.alloc(1 + r.int(8), r.pick(SPECIAL));
      return maybeLen(r, Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]));
    },
    delete(r, b) {
      const at = r.int(b.length + 1);
      return maybeLen(r, Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + r.int(8))]));
    },
    length(r, b, s) {
      const ps = lengthPositions[s];
      if (!ps.length) return b;
      const at = r.pick(ps);
      if (at >= b.length) return b;
      const mode = r.int(4);
      if (lengths === 'bcd') {
        // terminal: BCD length of 1 (LL) or 2 (LLL) bytes — set one of its bytes
        const off = at + (at + 1 < b.length && r.int(2) ? 1 : 0);
        if (mode === 0) b[off] = bcdByte(r.int(100));
        else if (mode === 1) b[off] = bcdByte((((b[off] >> 4) * 10 + (b[off] & 15) + (r.int(2) ? 1 : 99)) % 100));
        else if (mode === 2) b[off] = r.int(256);
        else b[off] = (r.int(6) + 10) << (r.int(2) ? 4 : 0);
      } else {
        // host: 2 or 3 ASCII digits — change one
        const off = at + r.int(2);
        if (off < b.length) b[off] = mode === 2 ? r.int(256) : 0x30 + r.int(10);
      }
      return b;
    },
    bitmap(r, b) {
      const n = 1 + r.int(3);
      for (let i = 0; i < n; i++) {
        const at = bitmapAt + r.int(8);
        if (at < b.length) b[at] ^= 0x80 >> r.int(8);
      }
      return b;
    },
    splice(r, b) {
      const other = r.pick(frames);
      return maybeLen(r, Buffer.concat([b.subarray(0, r.int(b.length + 1)), other.subarray(r.int(other.length + 1))]));
    },
    append(r, b) {
      return maybeLen(r, Buffer.concat([b, r.bytes(1 + r.int(4))]));
    },
  };
}

const T_MUTATIONS = mutations(setTerminalLen, T_FRAMES, T_LENGTHS, 23, 15, 'bcd');
const T_KINDS = Object.keys(T_MUTATIONS);

function randomTerminal(r: Rng): Buffer {
  const n = r.int(300);
  const b = r.bytes(n);
  if (r.int(2) && n >= 23) {
    // plausible start: LEN, TPDU 60, BCD header and MTI, random bitmap without bit 1
    b[2] = 0x60;
    for (let i = 7; i < 15; i++) b[i] = bcdByte(r.int(100));
    b[15] &= 0x7f;
    setTerminalLen(b);
  } else if (r.int(2)) {
    setTerminalLen(b);
  }
  return b;
}

/** Allowed re-encoding differences: a pad nibble F became 0. */
function onlyPadNibbles(orig: Buffer, re: Buffer): boolean {
  for (let i = 0; i < orig.length; i++) {
    const x = orig[i];
    const y = re[i];
    if (x === y) continue;
    const hiPad = (x & 0xf0) === 0xf0 && (y & 0xf0) === 0 && (x & 0x0f) === (y & 0x0f);
    const loPad = (x & 0x0f) === 0x0f && (y & 0x0f) === 0 && (x & 0xf0) === (y & 0xf0);
    if (!hiPad && !loPad) return false;
  }
  return true;
}

const T_FIELD = /^(LEN|TPDU|HEADER|MTI|BITMAP|TRAILER|F([2-9]|[1-5]\d|6[0-4]))$/;
const H_FIELD = /^(LEN|MTI|BITMAP|TRAILER|F([2-9]|[1-9]\d|1[01]\d|12[0-8]))$/;

interface Failure {
  iteration: number;
  kind: string;
  withLength: boolean;
  what: string;
  input: string;
}
interface Stats {
  decoded: number;
  errors: Map<string, number>;
  padNormalised: number;
}

t.test(`terminal dialect: ${TERMINAL_ITERATIONS} random and mutated frames (seed 0x${SEED.toString(16)})`, async (t) => {
  const t0 = Date.now();
  const failures: Failure[] = [];
  const stats: Stats = { decoded: 0, errors: new Map(), padNormalised: 0 };
  t.equal(T_FRAMES.length, TERMINAL_SEEDS.length, 'all seed frames pack');
  t.ok(
    T_FRAMES.every((f) => snapshot(decodeTerminalFrame(f)) === snapshot(decodeTerminalFrame(packTerminalFrame(decodeTerminalFrame(f))))),
    'seed frames decode and re-encode',
  );
  for (let i = 0; i < TERMINAL_ITERATIONS; i++) {
    const r = new Rng(iterationSeed(SEED, i));
    let kind: string;
    let buf: Buffer;
    if (r.int(10) === 0) {
      kind = 'random';
      buf = randomTerminal(r);
    } else {
      const s = r.int(T_FRAMES.length);
      buf = Buffer.from(T_FRAMES[s]);
      const steps = 1 + (r.int(4) === 0 ? r.int(3) : 0);
      const names: string[] = [];
      for (let k = 0; k < steps; k++) {
        const name = r.pick(T_KINDS);
        names.push(name);
        buf = T_MUTATIONS[name](r, buf, s);
      }
      kind = `seed ${s}: ${names.join('+')}`;
    }
    const withLength = r.int(5) !== 0;
    if (!withLength) buf = buf.subarray(2);
    const fail = (what: string) => failures.push({ iteration: i, kind, withLength, what, input: buf.toString('hex').toUpperCase() });

    let msg: TerminalMessage;
    try {
      msg = decodeTerminalFrame(buf, 0, buf.length, withLength);
    } catch (err) {
      if (!(err instanceof FormatError)) fail(`decode threw a non-FormatError: ${String(err)}`);
      else if (!T_FIELD.test(err.field)) fail(`FormatError field ${JSON.stringify(err.field)}`);
      else if (!Number.isInteger(err.offset) || err.offset < 0 || err.offset > buf.length) fail(`FormatError offset ${err.offset} outside 0..${buf.length}`);
      else stats.errors.set(err.field, (stats.errors.get(err.field) ?? 0) + 1);
      continue;
    }
    stats.decoded++;
    let re: Buffer;
    try {
      re = packTerminalFrame(msg, withLength);
    } catch (err) {
      fail(`re-encoding a decoded frame threw ${String(err)}`);
      continue;
    }
    if (re.length !== buf.length) {
      fail(`re-encoded length ${re.length} != ${buf.length}`);
      continue;
    }
    if (!re.equals(buf)) {
      if (!onlyPadNibbles(buf, re)) {
        fail(`re-encoded bytes differ beyond pad nibbles: ${re.toString('hex').toUpperCase()}`);
        continue;
      }
      stats.padNormalised++;
    }
    try {
      const back = decodeTerminalFrame(re, 0, re.length, withLength);
      if (snapshot(back) !== snapshot(msg)) fail(`re-encoded frame decodes differently: ${snapshot(back)} vs ${snapshot(msg)}`);
    } catch (err) {
      fail(`re-encoded frame does not decode: ${String(err)}`);
    }
  }
  const ms = Date.now() - t0;
  t.comment(`terminal fuzz: seed 0x${SEED.toString(16)}, ${TERMINAL_ITERATIONS} frames in ${ms} ms; ${stats.decoded} decoded (${stats.padNormalised} with pad F normalised), errors by field: ${JSON.stringify(Object.fromEntries([...stats.errors].sort()))}`);
  t.strictSame(
    failures.slice(0, 5),
    [],
    `every frame decodes or throws a FormatError, and decoded frames re-encode (${failures.length} failures; replay with POSP_FUZZ_SEED=${SEED})`,
  );
  t.ok(stats.decoded >= TERMINAL_ITERATIONS / 50, `a fair share of mutated frames still decode (${stats.decoded}), so re-encoding is exercised`);
  const errorFields = [...stats.errors.keys()];
  t.ok(['LEN', 'TPDU', 'HEADER', 'MTI', 'BITMAP', 'TRAILER'].every((f) => errorFields.includes(f)), `errors seen in every framing part: ${errorFields.filter((f) => !f.startsWith('F')).join(' ')}`);
  t.ok(errorFields.filter((f) => f.startsWith('F')).length >= 25, `errors seen in ${errorFields.filter((f) => f.startsWith('F')).length} different fields`);
  t.ok(stats.padNormalised > 0, `pad nibble F seen and normalised (${stats.padNormalised})`);
  t.ok(ms < 60_000, `no pathological slowness: ${ms} ms (a few seconds on an idle 2-core machine)`);
});

// ---------------------------------------------------------------------------------------------
// Host dialect.

function hostMsg(mti: string, fields: Record<number, string | Buffer>): HostMessage {
  const m = new HostMessage(mti);
  for (const [id, v] of Object.entries(fields)) m.set(Number(id), v);
  return m;
}
const HOST_SEEDS: HostMessage[] = [
  hostMsg('0200', { 2: '6222021234567890123', 3: '000000', 4: '000000012345', 7: '0315101530', 11: '000001', 12: '101530', 13: '0315', 14: '2712', 18: '5411', 22: '051', 25: '00', 32: '48020000', 35: '6222021234567890123=2712220123456', 41: 'POS00001', 42: '898310048160001', 43: 'SHOP NAME SHANGHAI CN'.padEnd(40), 49: '156', 52: hex('1A2B3C4D5E6F7081'), 128: hex('0102030405060708') }),
  hostMsg('0210', { 2: '6222021234567890', 3: '310000', 4: '000000000000', 11: '000002', 15: '0316', 37: '250315000124', 38: 'A1B2C3', 39: '00', 41: 'POS00001', 54: '1002156C000000012345', 128: hex('FFEEDDCCBBAA9988') }),
  hostMsg('0800', { 7: '0315090000', 11: '000003', 70: '301' }),
  hostMsg('0810', { 7: '0315090000', 11: '000003', 39: '00', 70: '101' }),
  hostMsg('0420', { 2: '6222021234567890', 3: '000000', 4: '000000012345', 7: '0315101600', 11: '000004', 32: '48020000', 39: '98', 41: 'POS00001', 42: '898310048160001', 49: '156', 90: '0200' + '000001' + '0315101530' + '48020000'.padStart(11, '0') + '0'.repeat(11), 128: hex('1122334455667788') }),
  hostMsg('0100', { 2: '', 3: '030000', 4: '000000100000', 11: '000005', 32: '', 35: '', 52: hex('0011223344556677'), 54: 'x'.repeat(120) }),
  hostMsg('0200', {}),
];
const H_LL = new Set([2, 32, 35]);
const H_LLL = new Set([54]);
const H_FIXED: Record<number, number> = { 3: 6, 4: 12, 7: 10, 11: 6, 12: 6, 13: 4, 14: 4, 15: 4, 18: 4, 22: 3, 25: 2, 37: 12, 38: 6, 39: 2, 41: 8, 42: 15, 43: 40, 49: 3, 52: 16, 70: 3, 90: 42, 128: 16 };
function hostLengthPositions(m: HostMessage): number[] {
  const out: number[] = [];
  let p = 4 + 4 + (m.present().some((id) => id > 64) ? 16 : 8);
  for (const id of m.present()) {
    const v = m.fields[id]!;
    if (H_LL.has(id) || H_LLL.has(id)) {
      out.push(p);
      p += (H_LL.has(id) ? 2 : 3) + v.length;
    } else {
      p += H_FIXED[id];
    }
  }
  return out;
}
const H_FRAMES = HOST_SEEDS.map((m) => packHostFrame(m));
const H_LENGTHS = HOST_SEEDS.map(hostLengthPositions);
function setHostLen(b: Buffer): Buffer {
  if (b.length >= 4 && b.length - 4 <= 9999) b.write(String(b.length - 4).padStart(4, '0'), 0, 'latin1');
  return b;
}
const H_MUTATIONS = mutations(setHostLen, H_FRAMES, H_LENGTHS, 24, 8, 'ascii');
const H_KINDS = Object.keys(H_MUTATIONS);

/** Allowed re-encoding differences of equal-length host frames: lowercase hex became uppercase. */
function onlyHexCase(orig: Buffer, re: Buffer): boolean {
  for (let i = 0; i < orig.length; i++) {
    if (orig[i] === re[i]) continue;
    if (!(orig[i] >= 0x61 && orig[i] <= 0x66 && re[i] === orig[i] - 32)) return false;
  }
  return true;
}

t.test(`host dialect: ${HOST_ITERATIONS} random and mutated frames (seed 0x${SEED.toString(16)})`, async (t) => {
  const t0 = Date.now();
  const failures: Failure[] = [];
  const stats: Stats = { decoded: 0, errors: new Map(), padNormalised: 0 };
  t.ok(H_FRAMES.every((f) => snapshot(decodeHostFrame(f)) === snapshot(decodeHostFrame(packHostFrame(decodeHostFrame(f))))), 'host seed frames decode and re-encode');
  const hostSeed = (SEED ^ 0x5bd1e995) >>> 0;
  for (let i = 0; i < HOST_ITERATIONS; i++) {
    const r = new Rng(iterationSeed(hostSeed, i));
    let kind: string;
    let buf: Buffer;
    if (r.int(10) === 0) {
      kind = 'random';
      const n = r.int(200);
      buf = r.int(2) ? r.bytes(n) : Buffer.from(Array.from({ length: n }, () => (r.int(2) ? 0x30 + r.int(10) : r.int(256))));
      if (r.int(2)) setHostLen(buf);
    } else {
      const s = r.int(H_FRAMES.length);
      buf = Buffer.from(H_FRAMES[s]);
      const steps = 1 + (r.int(4) === 0 ? r.int(3) : 0);
      const names: string[] = [];
      for (let k = 0; k < steps; k++) {
        const name = r.pick(H_KINDS);
        names.push(name);
        buf = H_MUTATIONS[name](r, buf, s);
      }
      kind = `seed ${s}: ${names.join('+')}`;
    }
    const withLength = r.int(5) !== 0;
    if (!withLength) buf = buf.subarray(Math.min(4, buf.length));
    const fail = (what: string) => failures.push({ iteration: i, kind, withLength, what, input: buf.toString('hex').toUpperCase() });

    let msg: HostMessage;
    try {
      msg = decodeHostFrame(buf, 0, buf.length, withLength);
    } catch (err) {
      if (!(err instanceof FormatError)) fail(`decode threw a non-FormatError: ${String(err)}`);
      else if (!H_FIELD.test(err.field)) fail(`FormatError field ${JSON.stringify(err.field)}`);
      else if (!Number.isInteger(err.offset) || err.offset < 0 || err.offset > buf.length) fail(`FormatError offset ${err.offset} outside 0..${buf.length}`);
      else stats.errors.set(err.field, (stats.errors.get(err.field) ?? 0) + 1);
      continue;
    }
    stats.decoded++;
    let re: Buffer;
    try {
      re = packHostFrame(msg, withLength);
    } catch (err) {
      fail(`re-encoding a decoded frame threw ${String(err)}`);
      continue;
    }
    const secondaryDropped = re.length === buf.length - 8 && msg.present().every((id) => id <= 64);
    if (re.length !== buf.length && !secondaryDropped) {
      fail(`re-encoded length ${re.length} != ${buf.length}`);
      continue;
    }
    if (re.length === buf.length && !re.equals(buf)) {
      if (!onlyHexCase(buf, re)) {
        fail(`re-encoded bytes differ beyond hex case: ${re.toString('hex').toUpperCase()}`);
        continue;
      }
      stats.padNormalised++;
    }
    try {
      const back = decodeHostFrame(re, 0, re.length, withLength);
      if (snapshot(back) !== snapshot(msg)) fail(`re-encoded frame decodes differently: ${snapshot(back)} vs ${snapshot(msg)}`);
    } catch (err) {
      fail(`re-encoded frame does not decode: ${String(err)}`);
    }
  }
  const ms = Date.now() - t0;
  t.comment(`host fuzz: seed 0x${hostSeed.toString(16)}, ${HOST_ITERATIONS} frames in ${ms} ms; ${stats.decoded} decoded (${stats.padNormalised} with hex case normalised), errors by field: ${JSON.stringify(Object.fromEntries([...stats.errors].sort()))}`);
  t.strictSame(failures.slice(0, 5), [], `every host frame decodes or throws a FormatError, and decoded frames re-encode (${failures.length} failures; replay with POSP_FUZZ_SEED=${SEED})`);
  t.ok(stats.decoded >= HOST_ITERATIONS / 50, `a fair share of mutated host frames still decode (${stats.decoded})`);
  const errorFields = [...stats.errors.keys()];
  t.ok(['LEN', 'MTI', 'BITMAP', 'TRAILER'].every((f) => errorFields.includes(f)), `errors seen in every framing part: ${errorFields.filter((f) => !f.startsWith('F')).join(' ')}`);
  t.ok(errorFields.filter((f) => f.startsWith('F')).length >= 15, `errors seen in ${errorFields.filter((f) => f.startsWith('F')).length} different host fields`);
  t.ok(ms < 60_000, `no pathological slowness: ${ms} ms (a few seconds on an idle 2-core machine)`);
});
