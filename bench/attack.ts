/**
 * Attack benchmark: the terminal listener under a TCP fuzz, a connection flood and slow-loris
 * senders, while normal terminals keep selling on their own connections.
 *
 *   npm run bench:attack            (tsc -p . && node dist/bench/attack.js)
 *   node dist/bench/attack.js [--terminals 50] [--baseline-s 15] [--fuzz-frames 200000] [--fuzz-connections 8]
 *        [--fuzz-on-s 10] [--fuzz-off-s 5] [--cycles 6] [--on-s 5] [--off-s 5] [--flood-concurrency 256] [--flood-rate 0]
 *        [--hot-frames 50000] [--hot-burst 32] [--attacks fuzz,flood,loris,idle,fuzz-hot]
 *        [--loris 200] [--frame-timeout-ms 2000] [--max-per-source 1000] [--attacker-nice 0] [--pin] [--seed N] [--out bench/results/attack.json]
 *
 * The switch runs as a child process (`posp start --demo --cutover-at off --api-port off`) on a new
 * temporary data directory, with `--frame-timeout-ms 2000` (a frame not complete 2 s after its first
 * byte closes its connection) and `--max-connections-per-source 1000` (the default 12,000 is sized
 * for bench:e2e's idle connections); every other firewall limit is at its default. Each attacker
 * comes from its own loopback address (Linux routes all of 127/8 to lo): the fuzz from 127.0.0.4,
 * the flood from 127.0.0.2, the slow-loris senders from 127.0.0.3; the normal terminals from
 * 127.0.0.1. Attackers run in a forked process of their own, so the normal terminals' event loop
 * here is not theirs; all three processes share the machine's cores, as an attacker on the same
 * box would.
 *
 * Normal terminals (SimTerminal: valid MACs and PIN blocks) sign in, then each keeps one on-us sale
 * outstanding from start to end; every answer not `00`, and every request not answered within 5 s,
 * is an error; throughput is approvals a second. Besides, every 500 ms a terminal connects afresh, signs in and leaves (can a
 * terminal still get in?). Phases: baseline, fuzz, flood, slow-loris, idle, spin, baseline, fuzz-hot. Within each attack
 * phase the attack is switched on and off in windows (off, on, off, ..., on, off), and the normal
 * terminals' throughput with it on is reported as a ratio of their throughput with it off, overall
 * and per on window against the off windows either side: on a shared machine the load of other
 * processes drifts over minutes, and windows a few seconds apart see nearly the same drift.
 *
 *   - idle: the control. An attacker process switched on and off like the others that does
 *     nothing: how far from 1 the on/off ratio strays on this machine with no attack at all.
 *   - spin: the second control. An attacker process that keeps one core busy while on and sends
 *     nothing: what an attacker's own CPU on this 2-core machine costs the normal terminals.
 *   - fuzz: `--fuzz-connections` connections send `--fuzz-frames` frames in total, one at a time
 *     (send, then wait for an answer or a close; reconnect after a close): random bytes behind a
 *     valid 2-byte length, and valid frames (fresh from signed-in simulated terminals: sales with
 *     PIN blocks and MACs, balance inquiries, pre-auths, voids, refunds, reversals, transfers,
 *     echo, parameter download, status upload, sign-in, sign-off, settlement; and fixed frames of
 *     the codec fuzz test) mutated as that test mutates them (bit flips, bytes replaced, inserted,
 *     deleted, truncation inside fields, wrong LL/LLL lengths, wrong bitmaps, splices, garbage in
 *     numeric fields), the outer length always matching the bytes sent; 2% sent unmutated; plus a
 *     few frames whose outer length is 0 or over --max-frame; plus another MTI (random BCD digits). Counted: frames sent, answers by
 *     response code, connections the switch closed, frames neither answered nor closed within 5 s,
 *     and each outcome against what the codec alone says (`expectedOutcome`: answerable frames
 *     must be answered, the others closed). Sign-in, sign-off and settlement seeds come from
 *     terminals whose other frames carry no MAC, so a sign-in that survives its mutation re-keys
 *     no terminal whose MACs the fuzz relies on; the fuzz's terminals and cards are not the normal
 *     terminals' ones, and a generated frame that carries a normal terminal's TID anywhere (a
 *     mutation can turn '10000401' into '10000001') is not sent: sign-in carries no MAC, so it
 *     would re-key that terminal (counted as skipped).
 *   - fuzz-hot (last, `--hot-frames`, 0 to skip): the same, but every seed from one terminal, only
 *     frames the codec says must be answered, sent in bursts of `--hot-burst` per write: that
 *     terminal goes over its request rate (200/s by default), so the acceptor's own `65` answer
 *     (which decodes the frame to build it) meets the mutations. It runs last because it has
 *     brought the switch down (see the report: the switch's exit is recorded, not retried).
 *   - flood: 127.0.0.2 opens connections as fast as it can (`--flood-concurrency` connects in
 *     flight; `--flood-rate N`: at most N a second) during each on window and holds every one the switch keeps; at the end of the
 *     window it lets them go. Counted: attempts, connections the switch closed at once (cut),
 *     held at the end of each window, connect errors by code.
 *   - slow-loris: during each on window `--loris` connections from 127.0.0.3 are open, each having
 *     sent one byte (a length's first byte) and then nothing; when the switch closes one, another
 *     takes its place. Off windows and the end leave the open ones to be cut. Counted:
 *     connections, cut, time from the byte to the cut.
 *
 * Throughout: the switch's RSS (VmRSS, RssAnon, RssFile in /proc/PID/status) and CPU (utime+stime
 * in /proc/PID/stat) every 250 ms; /metrics `posp_firewall_refused_total{reason}` and
 * `posp_terminal_connections` before and after each phase; `/health` after each phase; the load
 * average; the switch's log lines (warn and above) by message. Reported, never asserted; written
 * to bench/results/attack.json.
 */
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FormatError, TerminalMessage, decodeTerminalFrame, packTerminalFrame } from '../src/codec/index.js';
import { SimTerminal } from '../src/loadgen/index.js';
import { DEMO, demoPan, demoTid } from '../src/store/index.js';
import { responseMti } from '../src/txn/index.js';
import { stop } from './child.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const POSP = path.join(ROOT, 'bin', 'posp.js');
const TOKEN = 'attack-bench';

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const num = (name: string, def: number): number => Number(argValue(name) ?? def);

// 50, not fewer: each keeps one sale outstanding, and a terminal above 200 requests a second (the
// firewall's default per-terminal rate) is answered 65, which would cap the throughput measured.
const TERMINALS = num('terminals', 50);
const BASELINE_S = num('baseline-s', 15);
const FUZZ_FRAMES = num('fuzz-frames', 200_000);
const FUZZ_CONNECTIONS = num('fuzz-connections', 8);
const FUZZ_MAX_S = num('fuzz-max-s', 600);
/** Which attacks, in this order (the hot fuzz always last): `--attacks fuzz,flood,loris,idle,spin,fuzz-hot`. */
const ATTACKS = (argValue('attacks') ?? 'fuzz,flood,loris,idle,spin,fuzz-hot').split(',').filter((k): k is AttackKind => ['fuzz', 'flood', 'loris', 'idle', 'spin', 'fuzz-hot'].includes(k));
const HOT_FRAMES = num('hot-frames', 50_000);
const HOT_BURST = num('hot-burst', 32);
const FUZZ_ON_S = num('fuzz-on-s', 10);
const FUZZ_OFF_S = num('fuzz-off-s', 5);
const FLOOD_CONCURRENCY = num('flood-concurrency', 256);
/** Connection attempts a second at most (0: as fast as it can). */
const FLOOD_RATE = num('flood-rate', 0);
const LORIS = num('loris', 200);
const ON_S = num('on-s', 5);
const OFF_S = num('off-s', 5);
const CYCLES = num('cycles', 6);
const FRAME_TIMEOUT_MS = num('frame-timeout-ms', 2000);
const MAX_PER_SOURCE = num('max-per-source', 1000);
/**
 * The attacker process's nice value (`--attacker-nice 19`; default 0). An attacker elsewhere on the
 * network takes none of the switch's cores; niced, its own CPU on this shared box hardly competes
 * either (the spin control shows how far), while the kernel's work for its packets still does.
 */
const ATTACKER_NICE = num('attacker-nice', 0);
/**
 * `--pin`: the switch (every thread) and the normal terminals on CPU 0, each attacker on CPU 1. An
 * attacker elsewhere on the network takes none of the switch's CPU; pinned apart, this one takes
 * none either, while the kernel's work for its packets still lands where it lands. Baseline
 * throughput is then one core's.
 */
const PIN = process.argv.includes('--pin');

/** Moves every thread of `pid` (and the threads it starts later) onto `cpu`. */
function pin(pid: number, cpu: number): void {
  execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
}
const MAX_FRAME = 2048;
const SEED = num('seed', 0x5eed1234) >>> 0;
const OUT = path.resolve(ROOT, argValue('out') ?? 'bench/results/attack.json');
const REQUEST_TIMEOUT_MS = 5000;
const SAMPLE_MS = 250;

/** Terminals that connect afresh, sign in and leave, every PROBE_EVERY_MS (can a terminal still get in?). */
const PROBE_TIDS = Array.from({ length: 20 }, (_, i) => demoTid(900 + i));
const PROBE_EVERY_MS = 500;

const FUZZ_SOURCE = '127.0.0.4';
const FLOOD_SOURCE = '127.0.0.2';
const LORIS_SOURCE = '127.0.0.3';

// ------------------------------------------------------------------------------------------ small helpers

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;
function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}
function most(values: readonly number[]): number {
  return values.reduce((m, v) => (v > m ? v : m), 0);
}
function least(values: readonly number[]): number {
  return values.reduce((m, v) => (v < m ? v : m), Infinity);
}
function bump(map: Record<string, number>, key: string, n = 1): void {
  map[key] = (map[key] ?? 0) + n;
}

// ------------------------------------------------------------------------------------------ PRNG and mutations (after test/codec/fuzz-only-format-errors.test.ts)

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
const SPECIAL = [0x00, 0xff, 0x60, 0x99, 0x0f, 0xf0, 0xd0, 0x0d, 0x80, 0x01, 0x30, 0x39, 0x20, 0x7f, 0x3d];
const bcdByte = (n: number) => ((Math.floor(n / 10) % 10) << 4) | n % 10;

/** Where each field of a packed terminal frame (with its 2-byte length) lies: the test's walker, returning segments. */
const T_LL = new Set([2, 32, 35, 44]);
const T_LLL = new Set([36, 48, 54, 55, 60, 61, 62, 63]);
const T_DIGITS = new Set([2, 32, 35, 36, 48, 60, 61]);
const T_FIXED: Record<number, number> = { 3: 3, 4: 6, 11: 3, 12: 3, 13: 2, 14: 2, 15: 2, 22: 2, 23: 2, 25: 1, 26: 1, 37: 12, 38: 6, 39: 2, 41: 8, 42: 15, 49: 3, 52: 8, 53: 8, 64: 8 };
const T_BCD_FIXED = new Set([3, 4, 11, 12, 13, 14, 15, 22, 23, 25, 26, 53]);
const T_ASCII_NUMERIC = new Set([39, 49]);
interface Segment {
  id: number;
  /** The LL/LLL length's first byte (variable fields only). */
  lengthAt: number;
  start: number;
  end: number;
  bcd: boolean;
  numeric: boolean;
}
const HEADER_END = 2 + 5 + 6 + 2 + 8;
const BITMAP_AT = 2 + 5 + 6 + 2;
const MTI_AT = 2 + 5 + 6;
function segments(m: TerminalMessage, frameLength: number): Segment[] | undefined {
  const out: Segment[] = [];
  let p = HEADER_END;
  for (const id of m.present()) {
    const v = m.fields[id]!;
    if (T_LL.has(id) || T_LLL.has(id)) {
      const lengthAt = p;
      p += T_LL.has(id) ? 1 : 2;
      const len = T_DIGITS.has(id) ? (v.length + 1) >> 1 : v.length;
      out.push({ id, lengthAt, start: p, end: p + len, bcd: T_DIGITS.has(id), numeric: T_DIGITS.has(id) });
      p += len;
    } else {
      const len = T_FIXED[id];
      if (len === undefined) return undefined;
      out.push({ id, lengthAt: -1, start: p, end: p + len, bcd: T_BCD_FIXED.has(id), numeric: T_BCD_FIXED.has(id) || T_ASCII_NUMERIC.has(id) });
      p += len;
    }
  }
  return p === frameLength ? out : undefined;
}

interface Seed {
  frame: Buffer;
  segs: Segment[] | undefined;
  kind: string;
}
type Mutation = (r: Rng, b: Buffer, seed: Seed, others: readonly Seed[]) => Buffer;

/** The outer length always says how many bytes follow (a frame whose length lies is a framing attack of its own, below). */
function setLen(b: Buffer): Buffer {
  if (b.length >= 2) b.writeUInt16BE(Math.min(0xffff, b.length - 2), 0);
  return b;
}

const MUTATIONS: Record<string, Mutation> = {
  flip(r, b) {
    const n = 1 + r.int(4);
    for (let i = 0; i < n && b.length > 2; i++) {
      const at = 2 + (r.int(2) ? r.int(Math.min(b.length, HEADER_END) - 2) : r.int(b.length - 2));
      b[at] ^= 1 << r.int(8);
    }
    return b;
  },
  replace(r, b) {
    const n = 1 + r.int(3);
    for (let i = 0; i < n && b.length > 2; i++) b[2 + r.int(b.length - 2)] = r.int(2) ? r.pick(SPECIAL) : r.int(256);
    return b;
  },
  truncate(r, b, seed) {
    // Half the time inside a field (not just anywhere).
    const segs = seed.segs;
    if (segs && segs.length && r.int(2)) {
      const s = r.pick(segs);
      return Buffer.from(b.subarray(0, s.start + r.int(Math.max(1, s.end - s.start))));
    }
    return Buffer.from(b.subarray(0, 3 + r.int(Math.max(1, b.length - 3))));
  },
  insert(r, b) {
    const at = 2 + r.int(b.length - 1);
    const ins = r.int(2) ? r.bytes(1 + r.int(8)) : Buffer.alloc(1 + r.int(8), r.pick(SPECIAL));
    return Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]);
  },
  delete(r, b) {
    const at = 2 + r.int(b.length - 1);
    return Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + r.int(8))]);
  },
  length(r, b, seed) {
    const ps = (seed.segs ?? []).filter((s) => s.lengthAt >= 0);
    if (!ps.length) return b;
    const s = r.pick(ps);
    const off = s.lengthAt + (s.start - s.lengthAt > 1 && r.int(2) ? 1 : 0);
    const mode = r.int(4);
    if (mode === 0) b[off] = bcdByte(r.int(100));
    else if (mode === 1) b[off] = bcdByte(((b[off] >> 4) * 10 + (b[off] & 15) + (r.int(2) ? 1 : 99)) % 100);
    else if (mode === 2) b[off] = r.int(256);
    else b[off] = (r.int(6) + 10) << (r.int(2) ? 4 : 0);
    return b;
  },
  bitmap(r, b) {
    const n = 1 + r.int(3);
    for (let i = 0; i < n; i++) {
      const at = BITMAP_AT + r.int(8);
      if (at < b.length) b[at] ^= 0x80 >> r.int(8);
    }
    return b;
  },
  digits(r, b, seed) {
    // Garbage in a numeric field: a BCD nibble A-F, or a letter in an ASCII numeric field.
    const ns = (seed.segs ?? []).filter((s) => s.numeric && s.end > s.start);
    if (!ns.length) return b;
    const s = r.pick(ns);
    const at = s.start + r.int(s.end - s.start);
    if (s.bcd) b[at] = r.int(2) ? (b[at] & 0x0f) | ((10 + r.int(6)) << 4) : (b[at] & 0xf0) | (10 + r.int(6));
    else b[at] = r.pick([0x41, 0x20, 0x2d, 0x3a, 0x00, 0xff]);
    return b;
  },
  splice(r, b, _seed, others) {
    const other = r.pick(others).frame;
    return Buffer.concat([b.subarray(0, 2 + r.int(b.length - 1)), other.subarray(2 + r.int(other.length - 1))]);
  },
  append(r, b) {
    return Buffer.concat([b, r.bytes(1 + r.int(4))]);
  },
  mti(r, b) {
    // Another MTI: four random BCD digits, or one digit changed.
    const at = MTI_AT + r.int(2);
    if (r.int(2)) {
      b[MTI_AT] = bcdByte(r.int(100));
      b[MTI_AT + 1] = bcdByte(r.int(100));
    } else if (at < b.length) {
      b[at] = r.int(2) ? (b[at] & 0x0f) | (r.int(10) << 4) : (b[at] & 0xf0) | r.int(10);
    }
    return b;
  },
};
const KINDS = Object.keys(MUTATIONS);

/** Fixed frames of the codec fuzz test (TIDs the demo does not have). */
function staticSeeds(): TerminalMessage[] {
  const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
  const term = (mti: string, fields: Record<number, string | Buffer>, tpdu = '6000030000', header = '603100000000') => {
    const m = new TerminalMessage(mti, tpdu, header);
    for (const [id, v] of Object.entries(fields)) m.set(Number(id), v);
    return m;
  };
  const ICC = hex('9F26081122334455667788 9F270180 9F100706010A03A00000 9F370412345678 95050000000000 9A03250315 9C0100 9F0206000000012345 9F36020001 82027C00');
  return [
    term('0200', { 2: '6222021234567890123', 3: '000000', 4: '000000012345', 11: '000123', 14: '2712', 22: '051', 23: '001', 25: '00', 26: '12', 35: '6222021234567890123=2712220123456', 41: 'POS00001', 42: '898310048160001', 49: '156', 52: hex('1A2B3C4D5E6F7081'), 53: '2600000000000000', 55: ICC, 60: '2200000100050', 64: hex('4233413039324145') }),
    term('0200', { 2: '6222021234567890', 3: '200000', 4: '000000012345', 11: '000125', 25: '00', 37: '250315000123', 38: '123456', 41: 'POS00001', 42: '898310048160001', 49: '156', 60: '23000001', 61: '000001000123', 64: hex('1111111111111111') }),
    term('0800', { 11: '000001', 41: 'POS00001', 42: '898310048160001', 60: '00000001003', 63: '001' }),
    term('0500', { 11: '000200', 15: '0315', 41: 'POS00001', 42: '898310048160001', 48: '000000123456' + '003' + '000000005000' + '001' + '0' + '0'.repeat(31), 49: '156', 60: '00000001201', 63: '001' }),
    term('0320', { 11: '000201', 41: 'POS00001', 42: '898310048160001', 48: '08' + '0000012300006222021234567890000000012345'.repeat(8), 60: '00000001201' }),
    term('0200', { 2: '1234567890123456789', 3: '400000', 4: '999999999999', 11: '999999', 25: '00', 35: '1'.repeat(18) + '=' + '2'.repeat(18), 36: '99' + '3'.repeat(50) + '=' + '4'.repeat(51), 41: 'ABCDEFGH', 42: 'ABCDEFGHIJKLMNO', 49: '156', 60: '48000001000501234', 61: '12345678901234567890123456789', 62: Buffer.from('6222021234567890999'), 64: hex('FFFFFFFFFFFFFFFF') }),
    term('0800', {}),
    term('0200', { 2: '', 32: '', 35: '', 36: '', 44: '', 48: '', 54: '', 55: Buffer.alloc(0), 60: '', 61: '', 62: Buffer.alloc(0), 63: '' }),
    term('0100', { 2: '622202123456789', 3: '030000', 4: '000000100000', 11: '000300', 22: '021', 25: '06', 26: '06', 41: 'POS00001', 42: '898310048160001', 49: '156', 52: hex('0011223344556677'), 53: '2000000000000000', 60: '10000001', 63: 'VIS\xc9\xcc\xbb\xa7', 64: hex('89ABCDEF01234567') }),
  ];
}

/** Where a mutated frame differs from its seed: the parts of the frame its first and last changed byte fall in. */
function whereChanged(frame: Buffer, seedHex: string | undefined): string {
  if (seedHex === undefined) return '';
  const seed = Buffer.from(seedHex, 'hex');
  const part = (i: number) => (i < 2 ? 'length' : i < 7 ? 'TPDU' : i < MTI_AT ? 'header' : i < BITMAP_AT ? 'MTI' : i < HEADER_END ? 'bitmap' : 'fields');
  let first = 0;
  while (first < frame.length && first < seed.length && frame[first] === seed[first]) first++;
  let a = frame.length - 1;
  let b = seed.length - 1;
  while (a > first && b > first && frame[a] === seed[b]) {
    a--;
    b--;
  }
  return frame.length === seed.length && part(first) === part(a) ? `${part(first)} (bytes ${first}-${a})` : `from ${part(first)} (byte ${first}) to ${part(Math.max(a, first))}; length ${seed.length} -> ${frame.length}`;
}

/**
 * What the switch should do with a frame, by the codec alone (as the pipeline's decode step and the
 * acceptor's framing decide): answer it (it decodes, or enough of it does to address a `30`: a
 * request MTI and a terminal id), or close the connection.
 */
function expectedOutcome(frame: Buffer): { expect: 'answer' | 'close'; why: string } {
  if (frame.length < 2) return { expect: 'close', why: 'no length' };
  const len = frame.readUInt16BE(0);
  if (len === 0 || len > MAX_FRAME) return { expect: 'close', why: `outer length ${len}` };
  try {
    const msg = decodeTerminalFrame(frame, 0, frame.length, true);
    return responseMti(msg.mti) === undefined ? { expect: 'close', why: `MTI ${msg.mti} is not a request` } : { expect: 'answer', why: 'decodes' };
  } catch (err) {
    if (!(err instanceof FormatError)) return { expect: 'close', why: `codec threw ${String(err)}` };
    const partial = err.partial as TerminalMessage | undefined;
    if (partial && partial.has(41) && responseMti(partial.mti) !== undefined) return { expect: 'answer', why: `30: ${err.message}` };
    return { expect: 'close', why: err.message };
  }
}

// ------------------------------------------------------------------------------------------ attacker process

type AttackKind = 'fuzz' | 'fuzz-hot' | 'flood' | 'loris' | 'idle' | 'spin';
interface AttackerArgs {
  kind: AttackKind;
  port: number;
  seed: number;
}
type ToAttacker = { type: 'on' } | { type: 'off' } | { type: 'stop' };
type FromAttacker = { type: 'ready'; info: Record<string, unknown> } | { type: 'progress'; sent: number } | { type: 'result'; result: Record<string, unknown> };

function send(msg: FromAttacker): void {
  process.send!(msg);
}

/** The attack's switch, worked by the benchmark: on and off in windows, then stopped. */
class Gate {
  on = false;
  stopped = false;
  /** Time spent on, in ms. */
  onMs = 0;
  private since = 0;
  private waiters: (() => void)[] = [];
  private readonly listeners: ((on: boolean) => void)[] = [];

  set(on: boolean): void {
    if (this.stopped || on === this.on) return;
    this.on = on;
    if (on) this.since = performance.now();
    else this.onMs += performance.now() - this.since;
    if (on) for (const w of this.waiters.splice(0)) w();
    for (const l of this.listeners) l(on);
  }

  stop(): void {
    this.set(false);
    this.stopped = true;
    for (const w of this.waiters.splice(0)) w();
    for (const l of this.listeners) l(false);
  }

  /** Resolves once the attack is on (or stopped). */
  whenOn(): Promise<void> {
    if (this.on || this.stopped) return Promise.resolve();
    return new Promise((r) => this.waiters.push(r));
  }

  onChange(l: (on: boolean) => void): void {
    this.listeners.push(l);
  }
}

async function attacker(args: AttackerArgs): Promise<void> {
  const gate = new Gate();
  process.on('message', (m: ToAttacker) => {
    if (m.type === 'on') gate.set(true);
    else if (m.type === 'off') gate.set(false);
    else gate.stop();
  });
  if (args.kind === 'fuzz' || args.kind === 'fuzz-hot') await fuzz(args, gate);
  else if (args.kind === 'flood') await flood(args, gate);
  else if (args.kind === 'loris') await loris(args, gate);
  else if (args.kind === 'spin') await spin(gate);
  else await idle(gate);
  process.disconnect();
}

type Outcome = { kind: 'answer'; frame: Buffer } | { kind: 'closed' } | { kind: 'timeout' } | { kind: 'no-connection' };

/** One fuzz connection: frames out, then their answers, a close, or nothing for 5 s. */
class FuzzConnection {
  private socket: net.Socket | undefined;
  private buffered: Buffer = Buffer.alloc(0);
  /** Answers awaited on the frames in flight, and where they go. */
  private waiting: { want: number; got: Buffer[]; done: (closed: boolean) => void } | undefined;
  connects = 0;
  connectErrors: Record<string, number> = {};
  unsolicited = 0;

  constructor(private readonly port: number) {}

  private open(): Promise<net.Socket | undefined> {
    return new Promise((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port: this.port, localAddress: FUZZ_SOURCE });
      socket.setNoDelay(true);
      let connected = false;
      socket.once('connect', () => {
        connected = true;
        this.connects++;
        resolve(socket);
      });
      socket.on('error', (err: NodeJS.ErrnoException) => {
        if (!connected) {
          bump(this.connectErrors, err.code ?? err.message);
          resolve(undefined);
        }
      });
      socket.on('data', (chunk: Buffer) => {
        if (this.socket !== socket) return;
        this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
        while (this.buffered.length >= 2) {
          const len = this.buffered.readUInt16BE(0);
          if (this.buffered.length < len + 2) break;
          const frame = this.buffered.subarray(0, len + 2);
          this.buffered = this.buffered.subarray(len + 2);
          const w = this.waiting;
          if (w === undefined) {
            this.unsolicited++;
            continue;
          }
          w.got.push(frame);
          if (w.got.length === w.want) {
            this.waiting = undefined;
            w.done(false);
          }
        }
      });
      socket.on('close', () => {
        if (this.socket === socket) {
          this.socket = undefined;
          this.buffered = Buffer.alloc(0);
          const w = this.waiting;
          this.waiting = undefined;
          w?.done(true);
        }
      });
    });
  }

  /**
   * Sends the frames in one write and awaits as many answers: the outcome of each frame in order
   * of the answers (frames of one terminal are answered in order; others may not be, which only
   * matters for the attribution of a burst's codes), the rest `closed` or `timeout`.
   */
  async exchange(frames: Buffer[]): Promise<Outcome[]> {
    if (this.socket === undefined) {
      const s = await this.open();
      if (s === undefined) return frames.map(() => ({ kind: 'no-connection' }));
      if (s.destroyed) return frames.map(() => ({ kind: 'closed' }));
      this.socket = s;
      this.buffered = Buffer.alloc(0);
    }
    const socket = this.socket;
    const got: Buffer[] = [];
    const ended = new Promise<'closed' | 'timeout' | 'all'>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        resolve('timeout');
      }, REQUEST_TIMEOUT_MS);
      this.waiting = {
        want: frames.length,
        got,
        done: (closed) => {
          clearTimeout(timer);
          resolve(closed ? 'closed' : 'all');
        },
      };
    });
    socket.write(frames.length === 1 ? frames[0] : Buffer.concat(frames));
    const how = await ended;
    if (how === 'timeout') {
      // Neither answered nor closed: drop it ourselves and start again.
      this.socket = undefined;
      socket.destroy();
    }
    return frames.map((_, i): Outcome => (i < got.length ? { kind: 'answer', frame: got[i] } : { kind: how === 'timeout' ? 'timeout' : 'closed' }));
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }
}

interface FuzzCounts {
  sent: number;
  answered: number;
  closed: number;
  timeouts: number;
  noConnection: number;
  undecodableAnswers: number;
  codes: Record<string, number>;
  byCategory: Record<string, { sent: number; answered: number; closed: number; timeouts: number; codes: Record<string, number> }>;
  /** Examples worth a look: no answer, an undecodable answer, an approval of a mutated frame (hex, first few). */
  examples: { category: string; mutation: string; outcome: string; where: string; hex: string; seedHex?: string }[];
  /** The switch did otherwise than the codec alone says it should (`expectedOutcome`). */
  unexpected: { closedThoughAnswerable: number; answeredThoughUndecodable: number; examples: { category: string; mutation: string; outcome: string; codec: string; hex: string }[] };
  /** Frames not sent because a mutation had put a normal terminal's TID in them (see the header). */
  skippedNormalTid: number;
  /** Mutated frames that came out as a valid frame (the seed, or another seed whole), counted as valid. */
  mutationUndone: number;
  /** Hot fuzz: frames not sent because the codec says they would close the connection. */
  skippedWouldClose: number;
  /** Hot fuzz: bursts the switch closed before answering all of them, and the first frame left unanswered. */
  burstCuts: { answeredBefore: number; hexOfNext: string }[];
}

async function fuzz(args: AttackerArgs, gate: Gate): Promise<void> {
  // The hot variant: every seed from one terminal, so that terminal is soon over its request rate
  // and the acceptor's `65` path (which decodes the frame to answer it) meets the mutations too.
  const hot = args.kind === 'fuzz-hot';
  const target = hot ? HOT_FRAMES : FUZZ_FRAMES;
  // Terminals whose requests carry MACs (16 per connection) and terminals for sign-in, sign-off
  // and settlement (whose MACs nobody relies on); none of them is a normal terminal.
  const macTerms: SimTerminal[] = [];
  const mgmtTerms: SimTerminal[] = [];
  for (let i = 0; i < FUZZ_CONNECTIONS * 16; i++) {
    macTerms.push(new SimTerminal({ host: '127.0.0.1', port: args.port, tid: demoTid(100 + i), mid: DEMO.mid, tmk: DEMO.tmk, firstStan: 100_000 }));
    mgmtTerms.push(new SimTerminal({ host: '127.0.0.1', port: args.port, tid: demoTid(400 + i), mid: DEMO.mid, tmk: DEMO.tmk, firstStan: 100_000 }));
  }
  let signedIn = 0;
  for (let k = 0; k < macTerms.length; k += 16) {
    await Promise.all(
      macTerms.slice(k, k + 16).map(async (t) => {
        await t.connect();
        if ((await t.signIn()).text(39) === '00') signedIn++;
        t.close();
      }),
    );
  }
  const statics = staticSeeds();
  const card = (r: Rng) => ({ pan: demoPan(90_001 + r.int(5000)), expiry: DEMO.expiry, pin: DEMO.pin });
  const receipt = (r: Rng) => ({ type: 'sale' as const, pan: demoPan(90_001 + r.int(5000)), expiry: DEMO.expiry, amount: 100 + r.int(1000), stan: String(1 + r.int(999_999)).padStart(6, '0'), batch: '000001', rrn: String(r.int(1e12)).padStart(12, '0'), authCode: String(r.int(1e6)).padStart(6, '0'), date: '0315' });
  const fresh: [string, (r: Rng, t: SimTerminal) => TerminalMessage][] = [
    ['sale', (r, t) => t.sale(card(r), 100 + r.int(100_000))],
    ['balance', (r, t) => t.balanceInquiry(card(r))],
    ['pre-auth', (r, t) => t.preAuth(card(r), 100 + r.int(10_000))],
    ['sale-void', (r, t) => t.saleVoid(receipt(r))],
    ['refund', (r, t) => t.refund(receipt(r), 100)],
    ['reversal', (r, t) => t.reversal(t.sale(card(r), 100 + r.int(1000)))],
    ['transfer', (r, t) => t.transfer(card(r), demoPan(95_001 + r.int(100)), 100 + r.int(1000))],
    ['echo', (_r, t) => t.echo()],
    ['parameters', (r, t) => t.parameterMessage(r.pick(['360', '370', '380'] as const), r.int(3))],
    ['status-upload', (r, t) => t.statusUpload(r.bytes(1 + r.int(40)))],
  ];
  const management: [string, (r: Rng, t: SimTerminal) => TerminalMessage][] = [
    ['sign-in', (r, t) => t.signInRequest(r.pick(['001', '003'] as const))],
    ['sign-off', (_r, t) => t.signOff()],
    ['settlement', (r, t) => t.settlement({ domestic: { debitAmount: BigInt(r.int(1e6)), debitCount: r.int(100), creditAmount: 0n, creditCount: 0, result: 0 }, foreign: { debitAmount: 0n, debitCount: 0, creditAmount: 0n, creditCount: 0, result: 0 } })],
  ];
  const toSeed = (m: TerminalMessage, kind: string, t?: SimTerminal): Seed => {
    const frame = t ? t.pack(m) : packTerminalFrame(m);
    return { frame, segs: segments(m, frame.length), kind };
  };
  // A pool of seeds for splices, refreshed as frames are made.
  const pool: Seed[] = statics.map((m, i) => toSeed(m, `static-${i}`));
  const walkerMisses = { n: 0 };

  const counts: FuzzCounts = {
    sent: 0,
    answered: 0,
    closed: 0,
    timeouts: 0,
    noConnection: 0,
    undecodableAnswers: 0,
    codes: {},
    byCategory: {},
    examples: [],
    unexpected: { closedThoughAnswerable: 0, answeredThoughUndecodable: 0, examples: [] },
    skippedNormalTid: 0,
    skippedWouldClose: 0,
    mutationUndone: 0,
    burstCuts: [],
  };
  // A mutation can turn a fuzz terminal's TID into a normal terminal's ('10000401' -> '10000001'):
  // a sign-in for it would then replace the normal terminal's working keys (sign-in carries no MAC).
  const normalTids = [...Array.from({ length: TERMINALS }, (_, i) => demoTid(i)), ...PROBE_TIDS].map((t) => Buffer.from(t, 'latin1'));
  const hitsNormal = (b: Buffer) => normalTids.some((t) => b.includes(t));
  const mutationsUsed: Record<string, number> = {};
  let iteration = 0;

  const makeFrame = (i: number, conn: number): { frame: Buffer; category: string; mutation: string; seedHex?: string } => {
    const r = new Rng((args.seed ^ Math.imul(i + 1, 0x85ebca6b)) >>> 0);
    const roll = r.int(1000);
    if (roll < 3) return { frame: Buffer.from([0, 0]), category: 'outer-length-zero', mutation: '' };
    if (roll < 6) {
      const len = MAX_FRAME + 1 + r.int(0xffff - MAX_FRAME);
      const b = r.bytes(2 + r.int(64));
      b.writeUInt16BE(len, 0);
      return { frame: b, category: 'outer-length-too-big', mutation: '' };
    }
    if (roll < 106) {
      const n = 1 + r.int(300);
      const b = r.bytes(n + 2);
      if (r.int(2) && n >= 21) {
        // plausible start: TPDU 60, BCD header and MTI, a random bitmap without bit 1
        b[2] = 0x60;
        for (let k = 7; k < 15; k++) b[k] = bcdByte(r.int(100));
        b[15] &= 0x7f;
      }
      return { frame: setLen(b), category: 'random', mutation: '' };
    }
    let seed: Seed;
    const which = r.int(10);
    if (which < 6) {
      const [kind, build] = r.pick(fresh);
      const t = hot ? macTerms[0] : macTerms[conn * 16 + r.int(16)];
      seed = toSeed(build(r, t), kind, t);
    } else if (which < 8) {
      const [kind, build] = r.pick(management);
      const t = hot ? macTerms[0] : mgmtTerms[conn * 16 + r.int(16)];
      seed = toSeed(build(r, t), kind, t);
    } else {
      seed = r.pick(pool);
    }
    if (seed.segs === undefined) walkerMisses.n++;
    if (pool.length < 64) pool.push(seed);
    else pool[r.int(pool.length)] = seed;
    let b: Buffer = Buffer.from(seed.frame);
    // 2% unmutated: what the pipeline does with a valid frame among the garbage.
    if (r.int(50) === 0) return { frame: b, category: `valid ${seed.kind.startsWith('static') ? 'static' : seed.kind}`, mutation: 'none' };
    const steps = 1 + (r.int(4) === 0 ? r.int(3) : 0);
    const names: string[] = [];
    for (let k = 0; k < steps; k++) {
      const name = r.pick(KINDS);
      names.push(name);
      bump(mutationsUsed, name);
      b = MUTATIONS[name](r, b, seed, pool);
      if (b.length < 3) b = Buffer.concat([b, r.bytes(3 - b.length)]);
    }
    if (b.length - 2 > 0xffff) b = b.subarray(0, 0xffff + 2);
    setLen(b);
    // A mutation can leave the frame as it was (a digit set to itself, a delete past the end) or
    // splice another valid frame whole: that is a valid frame, and counted as one.
    if (b.equals(seed.frame) || pool.some((p) => p.frame.equals(b))) {
      counts.mutationUndone++;
      return { frame: b, category: `valid ${seed.kind.startsWith('static') ? 'static' : seed.kind}`, mutation: `${names.join('+')} (undone)` };
    }
    return { frame: b, category: `mutated ${seed.kind.startsWith('static') ? 'static' : seed.kind}`, mutation: names.join('+'), seedHex: seed.frame.toString('hex').toUpperCase() };
  };

  const conns = Array.from({ length: FUZZ_CONNECTIONS }, () => new FuzzConnection(args.port));
  send({ type: 'ready', info: { fuzzTerminalsSignedIn: signedIn, fuzzTerminals: macTerms.length, managementTerminals: mgmtTerms.length } });
  const progress = setInterval(() => send({ type: 'progress', sent: counts.sent }), 1000);
  const next = (c: number) => {
    for (;;) {
      const made = makeFrame(iteration++, c);
      if (hitsNormal(made.frame)) counts.skippedNormalTid++;
      // The hot fuzz sends only frames the codec says must be answered: a close would cut its burst short.
      else if (hot && expectedOutcome(made.frame).expect === 'close') counts.skippedWouldClose++;
      else return made;
    }
  };
  const drive = async (c: number): Promise<void> => {
    const conn = conns[c];
    let unreachable = 0;
    // Twenty failed connects in a row: the switch is gone, nothing more to learn here.
    while (counts.sent < target && !gate.stopped && unreachable < 20) {
      if (!gate.on) await gate.whenOn();
      if (gate.stopped) break;
      const batch = Array.from({ length: hot ? HOT_BURST : 1 }, () => next(c));
      counts.sent += batch.length;
      const outcomes = await conn.exchange(batch.map((m) => m.frame));
      if (outcomes[0].kind === 'no-connection') {
        unreachable++;
        await sleep(50);
      } else {
        unreachable = 0;
      }
      for (let k = 0; k < batch.length; k++) {
        const { frame, category, mutation } = batch[k];
        const valid = category.startsWith('valid');
        const o = outcomes[k];
        const cat = (counts.byCategory[category] ??= { sent: 0, answered: 0, closed: 0, timeouts: 0, codes: {} });
        cat.sent++;
        let outcome: string;
        if (o.kind === 'answer') {
          counts.answered++;
          cat.answered++;
          let code = '?';
          try {
            code = decodeTerminalFrame(o.frame, 0, o.frame.length, true).text(39) ?? '(no F39)';
          } catch {
            counts.undecodableAnswers++;
            code = '(undecodable)';
          }
          bump(counts.codes, code);
          bump(cat.codes, code);
          outcome = `answered ${code}`;
        } else if (o.kind === 'closed') {
          counts.closed++;
          cat.closed++;
          outcome = 'closed';
        } else if (o.kind === 'timeout') {
          counts.timeouts++;
          cat.timeouts++;
          outcome = 'no answer in 5 s';
        } else {
          counts.noConnection++;
          outcome = 'could not connect';
        }
        // In a burst the answers' order is not the frames' (other terminals' frames go to other
        // workers), so only single frames are held against the codec's verdict.
        if (batch.length === 1) {
          const expected = expectedOutcome(frame);
          const mismatch = (o.kind === 'closed' && expected.expect === 'answer') || (o.kind === 'answer' && expected.expect === 'close');
          if (mismatch) {
            if (o.kind === 'closed') counts.unexpected.closedThoughAnswerable++;
            else counts.unexpected.answeredThoughUndecodable++;
            if (counts.unexpected.examples.length < 20) counts.unexpected.examples.push({ category, mutation, outcome, codec: expected.why, hex: frame.toString('hex').toUpperCase() });
          }
        }
        // Worth a look: no answer at all, an answer that does not decode, or an approval of a mutated frame.
        const unusual = o.kind === 'timeout' || outcome === 'answered (undecodable)' || (batch.length === 1 && outcome === 'answered 00' && !valid);
        if (unusual && counts.examples.length < 40 && !counts.examples.some((e) => e.outcome === outcome && e.category === category)) {
          counts.examples.push({ category, mutation, outcome, where: whereChanged(frame, batch[k].seedHex), hex: frame.toString('hex').toUpperCase(), seedHex: batch[k].seedHex });
        }
      }
      // A burst cut short by a close: which frame closed it (the first one not answered), for the report.
      if (batch.length > 1 && outcomes.some((o) => o.kind === 'closed') && counts.burstCuts.length < 10) {
        const first = outcomes.findIndex((o) => o.kind === 'closed');
        counts.burstCuts.push({ answeredBefore: first, hexOfNext: batch[first].frame.toString('hex').toUpperCase() });
      }
    }
  };
  await Promise.all(conns.map((_, c) => drive(c)));
  clearInterval(progress);
  gate.set(false);
  const seconds = gate.onMs / 1000;
  for (const c of conns) c.close();
  const connectErrors: Record<string, number> = {};
  for (const c of conns) for (const [k, v] of Object.entries(c.connectErrors)) bump(connectErrors, k, v);
  send({
    type: 'result',
    result: {
      seconds: round(seconds),
      framesPerSecond: round(counts.sent / seconds, 0),
      ...counts,
      hot: hot ? macTerms[0].options.tid : undefined,
      connections: conns.reduce((n, c) => n + c.connects, 0),
      connectErrors,
      unsolicitedAnswers: conns.reduce((n, c) => n + c.unsolicited, 0),
      mutationsUsed,
      seedsTheWalkerCouldNotMap: walkerMisses.n,
    },
  });
}

async function flood(args: AttackerArgs, gate: Gate): Promise<void> {
  send({ type: 'ready', info: {} });
  let attempts = 0;
  let connected = 0;
  let cut = 0;
  const errors: Record<string, number> = {};
  const held = new Set<net.Socket>();
  const cutAfterMs: number[] = [];
  const heldAtWindowEnd: number[] = [];
  let inFlight = 0;
  let wake: (() => void) | undefined;
  const attempt = () => {
    attempts++;
    inFlight++;
    const at = performance.now();
    let open = false;
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      inFlight--;
      wake?.();
    };
    const socket = net.connect({ host: '127.0.0.1', port: args.port, localAddress: FLOOD_SOURCE });
    socket.on('connect', () => {
      open = true;
      connected++;
      held.add(socket);
      settle();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (!open) bump(errors, err.code ?? err.message);
    });
    socket.on('close', () => {
      // Closed while we held it: the switch cut it (ours are taken out of `held` before we close them).
      if (open && held.delete(socket)) {
        cut++;
        cutAfterMs.push(performance.now() - at);
      }
      settle();
    });
  };
  while (!gate.stopped) {
    await gate.whenOn();
    if (gate.stopped) break;
    const windowStart = performance.now();
    const attemptsBefore = attempts;
    while (gate.on) {
      // At most `FLOOD_CONCURRENCY` connects in flight, and at most 8,000 sockets open here (file descriptors).
      const budget = FLOOD_RATE > 0 ? Math.floor(((performance.now() - windowStart) / 1000) * FLOOD_RATE) - (attempts - attemptsBefore) : Infinity;
      for (let k = 0; k < budget && inFlight < FLOOD_CONCURRENCY && held.size < 8000; k++) attempt();
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 20);
      });
      wake = undefined;
    }
    // Window over: let closes on their way arrive; what is still open is what the switch kept. Then let go of it.
    const deadline = performance.now() + 3000;
    while (inFlight > 0 && performance.now() < deadline) await sleep(20);
    await sleep(300);
    heldAtWindowEnd.push(held.size);
    const mine = [...held];
    held.clear();
    for (const sock of mine) sock.destroy();
  }
  const seconds = gate.onMs / 1000;
  cutAfterMs.sort((a, b) => a - b);
  send({
    type: 'result',
    result: {
      seconds: round(seconds),
      attempts,
      attemptsPerSecond: round(attempts / seconds, 0),
      connected,
      cutBySwitch: cut,
      heldAtWindowEnd,
      connectErrors: errors,
      cutAfterConnectMs: { p50: round(quantile(cutAfterMs, 0.5)), p99: round(quantile(cutAfterMs, 0.99)), max: round(most(cutAfterMs)) },
    },
  });
}

/** The control: an attacker process switched on and off like the others that does nothing (how far the method itself strays from 1). */
async function idle(gate: Gate): Promise<void> {
  send({ type: 'ready', info: {} });
  while (!gate.stopped) await sleep(50);
  send({ type: 'result', result: { seconds: round(gate.onMs / 1000) } });
}

/**
 * The second control: an attacker process that, switched on, keeps one core busy and sends
 * nothing. What the normal terminals lose to it is what any attacker on this 2-core box costs them
 * by its own CPU, before the switch does anything about its traffic.
 */
async function spin(gate: Gate): Promise<void> {
  send({ type: 'ready', info: {} });
  let rounds = 0;
  while (!gate.stopped) {
    await gate.whenOn();
    // Busy in 20 ms slices, so a message switching it off is read between them.
    while (gate.on) {
      const until = performance.now() + 20;
      while (performance.now() < until) rounds++;
      await new Promise<void>((r) => setImmediate(r));
    }
  }
  send({ type: 'result', result: { seconds: round(gate.onMs / 1000), rounds } });
}

async function loris(args: AttackerArgs, gate: Gate): Promise<void> {
  send({ type: 'ready', info: {} });
  let opened = 0;
  let connecting = 0;
  let cut = 0;
  const errors: Record<string, number> = {};
  const cutAfterMs: number[] = [];
  const open = new Set<net.Socket>();
  const ours = new WeakSet<net.Socket>();
  const one = (): void => {
    connecting++;
    const socket = net.connect({ host: '127.0.0.1', port: args.port, localAddress: LORIS_SOURCE });
    let byteAt = -1;
    socket.on('connect', () => {
      connecting--;
      opened++;
      open.add(socket);
      // One byte: the first of a frame's 2-byte length. Then silence.
      socket.write(Buffer.from([0x01]));
      byteAt = performance.now();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (byteAt < 0) {
        connecting--;
        bump(errors, err.code ?? err.message);
      }
    });
    socket.on('close', () => {
      if (open.delete(socket) && byteAt >= 0 && !ours.has(socket)) {
        cut++;
        cutAfterMs.push(performance.now() - byteAt);
      }
      // While on, another sender takes its place; when off, the open ones are left to be cut.
      if (gate.on) one();
    });
  };
  gate.onChange((on) => {
    if (on) for (let i = open.size + connecting; i < LORIS; i++) one();
  });
  while (!gate.stopped) await sleep(50);
  // The last ones: wait for the switch to cut them (frame timeout + its 250 ms sweep + margin).
  const deadline = performance.now() + FRAME_TIMEOUT_MS + 3000;
  while (open.size > 0 && performance.now() < deadline) await sleep(50);
  const stillOpen = open.size;
  for (const sock of open) {
    ours.add(sock);
    sock.destroy();
  }
  cutAfterMs.sort((a, b) => a - b);
  send({
    type: 'result',
    result: {
      seconds: round(gate.onMs / 1000),
      senders: LORIS,
      connections: opened,
      cutBySwitch: cut,
      stillOpenWhenGivenUp: stillOpen,
      connectErrors: errors,
      cutAfterByteMs: { min: round(least(cutAfterMs)), p50: round(quantile(cutAfterMs, 0.5)), p99: round(quantile(cutAfterMs, 0.99)), max: round(most(cutAfterMs)) },
    },
  });
}

// ------------------------------------------------------------------------------------------ the switch and its gauges

interface Switch {
  child: ChildProcess;
  pid: number;
  posPort: number;
  adminPort: number;
  exited: { code: number | null; signal: string | null; atMs: number; phase: string } | undefined;
  /** The phase running now (named in `exited`). */
  phase: string;
  /** The benchmark is stopping it (an exit then is not news). */
  stopping: boolean;
  logLines: number;
  logByMessage: Record<string, number>;
  logBytes: number;
  /** The first few full lines logged at error level or above (stack traces of bugs). */
  logErrors: string[];
  logTail: string[];
}

const SWITCH_ARGS = ['--cutover-at', 'off', '--api-port', 'off', '--log-level', 'warn', '--admin-token', TOKEN, '--frame-timeout-ms', String(FRAME_TIMEOUT_MS), '--max-connections-per-source', String(MAX_PER_SOURCE)];

async function startSwitch(data: string, t0: number): Promise<Switch> {
  const child = spawn(process.execPath, [POSP, 'start', '--demo', '--data', data, '--pos-port', '0', '--admin-port', '0', ...SWITCH_ARGS], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const sw: Switch = { child, pid: child.pid!, posPort: 0, adminPort: 0, exited: undefined, phase: 'start', stopping: false, logLines: 0, logByMessage: {}, logBytes: 0, logErrors: [], logTail: [] };
  let out = '';
  let partial = '';
  const onLog = (d: Buffer) => {
    const text = partial + d.toString();
    const lines = text.split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      if (!line.trim()) continue;
      sw.logLines++;
      sw.logBytes += line.length + 1;
      let msg: string;
      try {
        const j = JSON.parse(line) as { msg?: string; reason?: string; level?: number };
        msg = (j.msg ?? line.slice(0, 80)) + (j.reason ? ` (${j.reason})` : '');
        if ((j.level ?? 0) >= 50 && sw.logErrors.length < 10) sw.logErrors.push(line.slice(0, 6000));
      } catch {
        // Not pino's: what Node prints on stderr when the process dies (an uncaught exception's stack).
        msg = '(not a log line: stderr)';
      }
      bump(sw.logByMessage, msg);
      sw.logTail.push(line.slice(0, 300));
      if (sw.logTail.length > 40) sw.logTail.shift();
    }
  };
  const m = await new Promise<RegExpExecArray>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the switch exited (${code}) before it was ready:\n${out}`)));
    // Taken off once ready: matching the whole output at every chunk grows with the log.
    const onReady = (d: Buffer) => {
      out += d.toString();
      const ready = /posp: terminals on [\d.]+:(\d+), admin and monitor on http:\/\/[\d.]+:(\d+)\//.exec(out);
      if (ready) {
        child.stdout!.off('data', onReady);
        resolve(ready);
      }
    };
    child.stdout!.on('data', onReady);
  });
  child.stdout!.on('data', onLog);
  child.stderr!.on('data', onLog);
  child.removeAllListeners('exit');
  child.once('exit', (code, signal) => {
    if (!sw.stopping) sw.exited = { code, signal, atMs: round(performance.now() - t0), phase: sw.phase };
  });
  sw.posPort = Number(m[1]);
  sw.adminPort = Number(m[2]);
  return sw;
}

interface Sample {
  t: number;
  rssKB: number;
  anonKB: number;
  fileKB: number;
  cpuTicks: number;
}
const CLK_TCK = 100;
function sampleProc(pid: number, t: number): Sample | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command: state is field 3, utime 14, stime 15 (1-based in proc(5)); here index 0 is field 3.
    const cpuTicks = Number(fields[11]) + Number(fields[12]);
    // A process that has exited but not been reaped yet has no VmRSS: not a sample.
    if (!/VmRSS:/.test(status)) return undefined;
    return { t, rssKB: kb('VmRSS'), anonKB: kb('RssAnon'), fileKB: kb('RssFile') + kb('RssShmem'), cpuTicks };
  } catch {
    return undefined;
  }
}

function cpuSeconds(pid: number): number | undefined {
  return sampleProc(pid, 0) === undefined ? undefined : sampleProc(pid, 0)!.cpuTicks / CLK_TCK;
}

interface Gauges {
  refused: Record<string, number>;
  terminalConnections: number;
}
async function gauges(adminPort: number): Promise<Gauges | undefined> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    const refused: Record<string, number> = {};
    for (const m of text.matchAll(/^posp_firewall_refused_total\{reason="([^"]+)"\}\s+(\d+)/gm)) refused[m[1]] = Number(m[2]);
    const conns = /^posp_terminal_connections\s+(\d+)/m.exec(text);
    return { refused, terminalConnections: conns ? Number(conns[1]) : -1 };
  } catch {
    return undefined;
  }
}
async function health(adminPort: number): Promise<number> {
  try {
    const res = await fetch(`http://127.0.0.1:${adminPort}/health`, { signal: AbortSignal.timeout(5000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

// ------------------------------------------------------------------------------------------ normal terminals

interface Answer {
  at: number;
  ms: number;
  ok: boolean;
}
class NormalLoad {
  readonly answers: Answer[] = [];
  readonly errorsByKind: { at: number; what: string }[] = [];
  readonly errorsByTid: Record<string, number> = {};
  reconnects = 0;
  /** Fresh connections: connect and sign in, how long it took, whether it worked. */
  readonly probes: { at: number; ms: number; ok: boolean; what: string }[] = [];
  private selling = true;
  private drivers: Promise<void>[] = [];
  constructor(
    private readonly port: number,
    private readonly t0: number,
  ) {}

  async start(n: number): Promise<void> {
    const terms = Array.from({ length: n }, (_, i) => new SimTerminal({ host: '127.0.0.1', port: this.port, tid: demoTid(i), mid: DEMO.mid, tmk: DEMO.tmk, firstStan: 500_000 }));
    for (const term of terms) {
      await term.connect();
      if ((await term.signIn()).text(39) !== '00') throw new Error(`sign-in of ${term.options.tid} refused`);
    }
    this.drivers = terms.map((t, i) => this.drive(t, i));
    this.drivers.push(this.probe());
  }

  private async probe(): Promise<void> {
    for (let k = 0; this.selling; k++) {
      const term = new SimTerminal({ host: '127.0.0.1', port: this.port, tid: PROBE_TIDS[k % PROBE_TIDS.length], mid: DEMO.mid, tmk: DEMO.tmk, firstStan: 700_000 + k });
      const sent = performance.now();
      let timer: NodeJS.Timeout | undefined;
      let what = 'ok';
      try {
        const res = await Promise.race([
          term.connect().then(() => term.signIn()),
          new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), REQUEST_TIMEOUT_MS))),
        ]);
        if (res.text(39) !== '00') what = `answered ${res.text(39)}`;
      } catch (err) {
        what = (err as Error).message;
      } finally {
        clearTimeout(timer);
        term.close();
      }
      const now = performance.now();
      this.probes.push({ at: now - this.t0, ms: now - sent, ok: what === 'ok', what });
      await sleep(Math.max(0, PROBE_EVERY_MS - (now - sent)));
    }
  }

  private async drive(term: SimTerminal, i: number): Promise<void> {
    for (let k = 0; this.selling; k++) {
      const sent = performance.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        const res = await Promise.race([
          term.request(term.sale({ pan: demoPan(1 + ((i * 7 + k) % 1000)), expiry: DEMO.expiry, pin: DEMO.pin }, 100 + (k % 100))),
          new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), REQUEST_TIMEOUT_MS))),
        ]);
        const code = res.text(39);
        const now = performance.now();
        this.answers.push({ at: now - this.t0, ms: now - sent, ok: code === '00' });
        if (code !== '00') {
          this.errorsByKind.push({ at: now - this.t0, what: `answered ${code}` });
          bump(this.errorsByTid, term.options.tid);
        }
      } catch (err) {
        const now = performance.now();
        this.answers.push({ at: now - this.t0, ms: now - sent, ok: false });
        this.errorsByKind.push({ at: now - this.t0, what: (err as Error).message });
        bump(this.errorsByTid, term.options.tid);
        // Start clean: a new connection and a new sign-in.
        term.close();
        this.reconnects++;
        while (this.selling) {
          try {
            await term.connect();
            if ((await term.signIn()).text(39) === '00') break;
          } catch {
            // try again
          }
          term.close();
          await sleep(200);
        }
      } finally {
        clearTimeout(timer);
      }
    }
    term.close();
  }

  async stop(): Promise<void> {
    this.selling = false;
    await Promise.all(this.drivers);
  }
}

// ------------------------------------------------------------------------------------------ phases

/** A stretch of an attack phase with the attack on or off. */
interface Window {
  on: boolean;
  startMs: number;
  endMs: number;
}

interface Phase {
  name: string;
  kind: 'baseline' | AttackKind;
  startMs: number;
  endMs: number;
  /** Attack phases: off, on, off, on, ..., on, off. */
  windows: Window[];
  loadavg: [number[], number[]];
  before?: Gauges;
  after?: Gauges;
  healthAfter: number;
  attacker?: { info: Record<string, unknown>; result: Record<string, unknown>; cpuSeconds?: number };
  /** CPU this process (the normal terminals) spent in the phase. */
  benchCpuSeconds: number;
}

/**
 * Runs one attacker process through the phase: once it is ready, windows off and on
 * (`cycles` times, or for the fuzz until it has sent its frames), ending with an off window;
 * then stops it and keeps its result.
 */
async function runAttacker(kind: AttackKind, port: number, t0: number, phase: Phase, plan: { onS: number; offS: number; cycles: number; maxS: number }, down: () => boolean): Promise<void> {
  const child = fork(fileURLToPath(import.meta.url), ['--attacker', JSON.stringify({ kind, port, seed: SEED } satisfies AttackerArgs), ...process.argv.slice(2)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  if (ATTACKER_NICE !== 0 && child.pid !== undefined) os.setPriority(child.pid, ATTACKER_NICE);
  if (PIN && child.pid !== undefined) pin(child.pid, 1);
  const now = () => performance.now() - t0;
  // The fuzz ends by itself (it has sent its frames) and leaves: nothing more goes to it then.
  const tell = (m: ToAttacker) => {
    if (child.connected) child.send(m);
  };
  child.on('error', () => undefined);
  let info: Record<string, unknown> = {};
  let lastProgress = 0;
  let resultIn = false;
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  let finished!: () => void;
  const result = new Promise<void>((r) => (finished = r));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.on('message', (m: FromAttacker) => {
    if (m.type === 'ready') {
      info = m.info;
      ready();
    } else if (m.type === 'progress') {
      if (m.sent - lastProgress >= 50_000) {
        lastProgress = m.sent - (m.sent % 50_000);
        console.log(`  fuzz: ${m.sent} frames sent (${Math.round(now() / 1000)} s)`);
      }
    } else if (m.type === 'result') {
      resultIn = true;
      phase.attacker = { info, result: m.result };
      finished();
    }
  });
  const failed = exited.then((code) => {
    if (!resultIn) throw new Error(`the ${kind} attacker exited (${code}) without a result`);
  });
  await Promise.race([isReady, failed]);
  const cpuAtStart = cpuSeconds(child.pid!);
  phase.startMs = now();
  const window = async (on: boolean, seconds: number): Promise<void> => {
    const w: Window = { on, startMs: now(), endMs: 0 };
    phase.windows.push(w);
    if (on) tell({ type: 'on' });
    await Promise.race([sleep(seconds * 1000), result, failed]);
    if (on && !resultIn) tell({ type: 'off' });
    w.endMs = now();
  };
  for (let c = 0; c < plan.cycles && !resultIn && !down() && now() - phase.startMs < plan.maxS * 1000; c++) {
    await window(false, plan.offS);
    if (resultIn || down()) break;
    await window(true, plan.onS);
  }
  if (!down()) await window(false, plan.offS);
  const cpuAtEnd = cpuSeconds(child.pid!);
  tell({ type: 'stop' });
  await Promise.race([result, failed]);
  phase.endMs = now();
  phase.attacker!.cpuSeconds = cpuAtStart === undefined || cpuAtEnd === undefined ? undefined : round(cpuAtEnd - cpuAtStart);
  await exited;
}

async function main(): Promise<void> {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'posp-attack-bench-'));
  const t0 = performance.now();
  const sw = await startSwitch(data, t0);
  // If the benchmark itself fails or is interrupted: the switch goes with it, and its data.
  const cleanUp = () => {
    if (sw.child.exitCode === null && sw.child.signalCode === null) sw.child.kill('SIGKILL');
    fs.rmSync(data, { recursive: true, force: true });
  };
  process.once('exit', cleanUp);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      cleanUp();
      process.exit(130);
    });
  }
  const samples: Sample[] = [];
  const sampler = setInterval(() => {
    const s = sampleProc(sw.pid, performance.now() - t0);
    if (s) samples.push(s);
  }, SAMPLE_MS);
  const load = new NormalLoad(sw.posPort, t0);
  const phases: Phase[] = [];
  const startedAt = new Date().toISOString();
  const loadavgAtStart = os.loadavg().map((x) => round(x));
  let finalHealth = 0;
  let finalGauges: Gauges | undefined;
  try {
    if (PIN) {
      pin(sw.pid, 0);
      pin(process.pid, 0);
    }
    console.log(`switch pid ${sw.pid}, terminals on ${sw.posPort}; ${TERMINALS} normal terminals selling; load average ${loadavgAtStart.join(' ')}${PIN ? '; switch and normal terminals on CPU 0, attackers on CPU 1' : ''}`);
    await load.start(TERMINALS);
    await sleep(2000); // warm-up, not measured
    // The hot fuzz last: it is the one that has brought the switch down (see the report).
    const plan: Phase['kind'][] = ['baseline', ...ATTACKS.filter((k) => k !== 'fuzz-hot'), 'baseline', ...ATTACKS.filter((k) => k === 'fuzz-hot')];
    let b = 0;
    for (const kind of plan) {
      const phase: Phase = { name: kind === 'baseline' ? `baseline ${++b}` : kind, kind, startMs: 0, endMs: 0, windows: [], loadavg: [os.loadavg(), []], healthAfter: 0, benchCpuSeconds: 0 };
      const cpu0 = process.cpuUsage();
      phases.push(phase);
      sw.phase = phase.name;
      phase.before = await gauges(sw.adminPort);
      console.log(`${phase.name}...`);
      if (kind === 'baseline') {
        phase.startMs = performance.now() - t0;
        await sleep(BASELINE_S * 1000);
        phase.endMs = performance.now() - t0;
      } else {
        const fuzzing = kind === 'fuzz' || kind === 'fuzz-hot';
        await runAttacker(kind, sw.posPort, t0, phase, fuzzing ? { onS: FUZZ_ON_S, offS: FUZZ_OFF_S, cycles: Infinity, maxS: FUZZ_MAX_S } : { onS: ON_S, offS: OFF_S, cycles: CYCLES, maxS: Infinity }, () => sw.exited !== undefined);
      }
      const cpu1 = process.cpuUsage(cpu0);
      phase.benchCpuSeconds = round((cpu1.user + cpu1.system) / 1e6);
      phase.loadavg[1] = os.loadavg();
      phase.after = await gauges(sw.adminPort);
      phase.healthAfter = await health(sw.adminPort);
      if (sw.exited) {
        console.log(`the switch exited during ${phase.name}: ${JSON.stringify(sw.exited)}`);
        break;
      }
      // Let closes settle between phases (not measured).
      await sleep(1000);
    }
    finalHealth = await health(sw.adminPort);
    finalGauges = await gauges(sw.adminPort);
    await load.stop();
  } finally {
    clearInterval(sampler);
  }
  sw.stopping = true;
  await stop(sw.child);
  fs.rmSync(data, { recursive: true, force: true });
  report({ sw, phases, samples, load, startedAt, loadavgAtStart, finalHealth, finalGauges });
}

// ------------------------------------------------------------------------------------------ report

interface Slice {
  seconds: number;
  answers: number;
  /** Approvals (`00`) a second: an instant refusal (a `65`, say) is no throughput. */
  tps: number;
  errors: number;
  errorKinds: Record<string, number>;
  latencyMs: { p50: number; p99: number; max: number };
  /** The longest stretch without any approval to the normal terminals. */
  longestGapMs: number;
  /** The switch's CPU, in cores. */
  switchCpuCores: number;
  /** Fresh connections of a normal terminal (connect + sign-in). */
  freshConnections: { tried: number; failed: number; failures: Record<string, number>; ms: { p50: number; p99: number; max: number } };
}

/** The normal terminals and the switch over some stretches of time (the windows of one kind). */
function slice(load: NormalLoad, samples: Sample[], spans: { startMs: number; endMs: number }[]): Slice {
  let seconds = 0;
  let answers = 0;
  let approved = 0;
  let gap = 0;
  let cpuTicks = 0;
  let cpuMs = 0;
  const ms: number[] = [];
  const errorKinds: Record<string, number> = {};
  let errors = 0;
  for (const w of spans) {
    seconds += (w.endMs - w.startMs) / 1000;
    const inside = load.answers.filter((a) => a.at >= w.startMs && a.at < w.endMs);
    answers += inside.length;
    for (const a of inside) {
      ms.push(a.ms);
      if (a.ok) approved++;
    }
    gap = Math.max(gap, longestGap(inside.filter((a) => a.ok).map((a) => a.at), w.startMs, w.endMs));
    for (const e of load.errorsByKind) {
      if (e.at < w.startMs || e.at >= w.endMs) continue;
      errors++;
      bump(errorKinds, e.what);
    }
    const ss = samples.filter((x) => x.t >= w.startMs && x.t <= w.endMs);
    if (ss.length >= 2) {
      cpuTicks += ss[ss.length - 1].cpuTicks - ss[0].cpuTicks;
      cpuMs += ss[ss.length - 1].t - ss[0].t;
    }
  }
  ms.sort((x, y) => x - y);
  const probes = load.probes.filter((pr) => spans.some((w) => pr.at >= w.startMs && pr.at < w.endMs));
  const probeMs = probes.map((pr) => pr.ms).sort((x, y) => x - y);
  const failures: Record<string, number> = {};
  for (const pr of probes) if (!pr.ok) bump(failures, pr.what);
  return {
    seconds: round(seconds),
    answers,
    tps: round(approved / seconds, 0),
    errors,
    errorKinds,
    latencyMs: { p50: round(quantile(ms, 0.5)), p99: round(quantile(ms, 0.99)), max: round(most(ms)) },
    longestGapMs: round(gap),
    switchCpuCores: cpuMs > 0 ? round(cpuTicks / CLK_TCK / (cpuMs / 1000)) : 0,
    freshConnections: {
      tried: probes.length,
      failed: probes.filter((pr) => !pr.ok).length,
      failures,
      ms: { p50: round(quantile(probeMs, 0.5)), p99: round(quantile(probeMs, 0.99)), max: round(most(probeMs)) },
    },
  };
}

function memory(samples: Sample[], startMs: number, endMs: number) {
  const ss = samples.filter((s) => s.t >= startMs && s.t <= endMs);
  const mb = (f: (s: Sample) => number) => {
    const v = ss.map((s) => f(s) / 1024);
    return { min: round(least(v), 1), max: round(most(v), 1), first: round(v[0] ?? 0, 1), last: round(v[v.length - 1] ?? 0, 1) };
  };
  // Anonymous RSS (heap, buffers: what a leak grows) in ten slices of the phase, the highest in each.
  const tenths: number[] = [];
  for (let k = 0; k < 10 && ss.length >= 10; k++) {
    const part = ss.slice(Math.floor((k * ss.length) / 10), Math.floor(((k + 1) * ss.length) / 10));
    tenths.push(round(most(part.map((s) => s.anonKB / 1024)), 1));
  }
  return { rssMB: mb((s) => s.rssKB), anonMB: mb((s) => s.anonKB), fileMB: mb((s) => s.fileKB), anonMBByTenth: tenths };
}

function report(r: { sw: Switch; phases: Phase[]; samples: Sample[]; load: NormalLoad; startedAt: string; loadavgAtStart: number[]; finalHealth: number; finalGauges: Gauges | undefined }): void {
  const { sw, phases, samples, load } = r;
  const perPhase = phases.map((p) => {
    const seconds = (p.endMs - p.startMs) / 1000;
    const refused: Record<string, number> = {};
    if (p.before && p.after) for (const [k, v] of Object.entries(p.after.refused)) if (v - (p.before.refused[k] ?? 0) > 0) refused[k] = v - (p.before.refused[k] ?? 0);
    const whole = slice(load, samples, [p]);
    let attack: Record<string, unknown> | undefined;
    if (p.kind !== 'baseline') {
      const on = p.windows.filter((w) => w.on);
      const off = p.windows.filter((w) => !w.on);
      const onSlice = slice(load, samples, on);
      const offSlice = slice(load, samples, off);
      // Each on window against the mean of the off windows either side of it.
      const perWindow = p.windows.flatMap((w, i) => {
        if (!w.on) return [];
        const around = [p.windows[i - 1], p.windows[i + 1]].filter((x) => x !== undefined && !x.on).map((x) => slice(load, samples, [x!]).tps);
        const base = around.reduce((a, x) => a + x, 0) / around.length;
        return [round(slice(load, samples, [w]).tps / base, 3)];
      });
      const sorted = [...perWindow].sort((a, b) => a - b);
      attack = {
        windows: p.windows.map((w) => ({ on: w.on, seconds: round((w.endMs - w.startMs) / 1000), tps: slice(load, samples, [w]).tps })),
        on: onSlice,
        off: offSlice,
        ratio: round(onSlice.tps / offSlice.tps, 3),
        perWindowRatio: { min: sorted[0], median: quantile(sorted, 0.5), max: sorted[sorted.length - 1], all: perWindow },
      };
    }
    return {
      name: p.name,
      kind: p.kind,
      seconds: round(seconds),
      normal: whole,
      attack,
      switch: {
        ...memory(samples, p.startMs, p.endMs),
        refused,
        terminalConnectionsBefore: p.before?.terminalConnections,
        terminalConnectionsAfter: p.after?.terminalConnections,
        healthAfter: p.healthAfter,
      },
      cpuCores: {
        switch: whole.switchCpuCores,
        attacker: p.attacker?.cpuSeconds === undefined ? undefined : round(p.attacker.cpuSeconds / seconds),
        normalTerminals: round(p.benchCpuSeconds / seconds),
      },
      loadavg: { start: p.loadavg[0].map((x) => round(x)), end: p.loadavg[1].map((x) => round(x)) },
      attacker: p.attacker,
    };
  });
  const all = memory(samples, 0, Infinity);
  const result = {
    startedAt: r.startedAt,
    machine: { cores: os.cpus().length, node: process.version, loadavgAtStart: r.loadavgAtStart, ulimitNoFile: fdLimit() },
    settings: {
      terminals: TERMINALS,
      baselineSeconds: BASELINE_S,
      fuzzFrames: FUZZ_FRAMES,
      fuzzConnections: FUZZ_CONNECTIONS,
      fuzzWindows: { onS: FUZZ_ON_S, offS: FUZZ_OFF_S },
      windows: { onS: ON_S, offS: OFF_S, cycles: CYCLES },
      floodConcurrency: FLOOD_CONCURRENCY,
      floodRate: FLOOD_RATE || 'as fast as it can',
      loris: LORIS,
      attackerNice: ATTACKER_NICE,
      pinned: PIN,
      seed: SEED,
      switchFlags: SWITCH_ARGS.filter((a) => a !== TOKEN),
      sources: { normal: '127.0.0.1', fuzz: FUZZ_SOURCE, flood: FLOOD_SOURCE, loris: LORIS_SOURCE },
    },
    switchExited: sw.exited ?? null,
    finalHealth: r.finalHealth,
    finalTerminalConnections: r.finalGauges?.terminalConnections,
    finalRefused: r.finalGauges?.refused,
    memory: all,
    normal: { answers: load.answers.length, errors: load.errorsByKind.length, errorsByTid: load.errorsByTid, reconnects: load.reconnects },
    switchLog: { lines: sw.logLines, bytes: sw.logBytes, byMessage: sw.logByMessage, errors: sw.logErrors, tail: sw.logTail },
    phases: perPhase,
  };
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, JSON.stringify(result, null, 2) + '\n');

  const lines: string[] = [];
  const sl = (x: Slice) =>
    `${x.tps} TPS, ${x.errors} errors${x.errors ? ' ' + JSON.stringify(x.errorKinds) : ''}, p50 ${x.latencyMs.p50} ms p99 ${x.latencyMs.p99} ms max ${x.latencyMs.max} ms, longest gap ${x.longestGapMs} ms, switch CPU ${x.switchCpuCores} cores; fresh connect+sign-in ${x.freshConnections.tried - x.freshConnections.failed}/${x.freshConnections.tried} ok${x.freshConnections.failed ? ' ' + JSON.stringify(x.freshConnections.failures) : ''}, p50 ${x.freshConnections.ms.p50} ms max ${x.freshConnections.ms.max} ms`;
  lines.push(`attack bench, ${r.startedAt}; ${os.cpus().length} cores; load average at start ${r.loadavgAtStart.join(' ')}; switch flags ${result.settings.switchFlags.join(' ')}; attacker nice ${ATTACKER_NICE}${PIN ? '; pinned apart (--pin)' : ''}`);
  lines.push(`normal terminals: ${TERMINALS} from 127.0.0.1, one on-us sale outstanding each (TPS: approvals a second); attacks in windows (fuzz ${FUZZ_ON_S} s on / ${FUZZ_OFF_S} s off; flood and slow-loris ${CYCLES} x ${ON_S} s on / ${OFF_S} s off)`);
  for (const p of perPhase) {
    const m = p.switch;
    lines.push(
      `${p.name}: ${p.seconds} s; switch RSS ${m.rssMB.min}-${m.rssMB.max} MB (anonymous ${m.anonMB.min}-${m.anonMB.max}); CPU cores: switch ${p.cpuCores.switch}, attacker ${p.cpuCores.attacker ?? '-'}, normal terminals ${p.cpuCores.normalTerminals}; refused ${JSON.stringify(m.refused)}; /health after ${m.healthAfter}; terminal connections after ${m.terminalConnectionsAfter}; load average ${p.loadavg.start[0]} -> ${p.loadavg.end[0]}`,
    );
    if (p.attack === undefined) {
      lines.push(`  normal: ${sl(p.normal)}`);
      continue;
    }
    const at = p.attack as { on: Slice; off: Slice; ratio: number; perWindowRatio: { min: number; median: number; max: number } };
    lines.push(`  normal with the attack on:  ${sl(at.on)}`);
    lines.push(`  normal with the attack off: ${sl(at.off)}`);
    lines.push(`  => normal throughput under attack = ${at.ratio} of it without (each on window against the off windows either side: min ${at.perWindowRatio.min}, median ${at.perWindowRatio.median}, max ${at.perWindowRatio.max})`);
    const a = p.attacker?.result as Record<string, any> | undefined;
    if (!a) continue;
    if (p.kind === 'fuzz' || p.kind === 'fuzz-hot') {
      if (a.hot) lines.push(`  hot: every seed from terminal ${a.hot}, only frames the codec says must be answered (${a.skippedWouldClose} others not sent), in bursts of ${HOT_BURST} per write: that terminal is over its request rate and the acceptor answers 65 itself; ${a.burstCuts.length} bursts cut short by a close`);
      lines.push(`  ${p.kind}: ${a.sent} frames on ${FUZZ_CONNECTIONS} connections in ${a.seconds} s on (${a.framesPerSecond}/s); answered ${a.answered}, closed ${a.closed}, no answer in 5 s ${a.timeouts}, could not connect ${a.noConnection}; ${a.connections} connections opened; unsolicited answers ${a.unsolicitedAnswers}, undecodable answers ${a.undecodableAnswers}`);
      lines.push(`  fuzz answers by code: ${JSON.stringify(sortedCodes(a.codes))}`);
      lines.push(`  against the codec's verdict (answerable: decodes with a request MTI, or has a request MTI and F41): ${a.unexpected.closedThoughAnswerable} closed though answerable, ${a.unexpected.answeredThoughUndecodable} answered though not; ${a.skippedNormalTid} generated frames skipped for carrying a normal terminal's TID; ${a.mutationUndone} mutated frames came out valid (counted as valid)`);
      for (const [cat, c] of Object.entries(a.byCategory as Record<string, { sent: number; answered: number; closed: number; timeouts: number; codes: Record<string, number> }>).sort((x, y) => y[1].sent - x[1].sent)) {
        lines.push(`    ${cat.padEnd(26)} ${String(c.sent).padStart(7)} sent, ${String(c.closed).padStart(6)} closed, ${c.timeouts} timeouts, answered ${JSON.stringify(sortedCodes(c.codes))}`);
      }
      lines.push(`  switch anonymous RSS during the fuzz, highest in each tenth: ${m.anonMBByTenth.join(' ')} MB`);
      if (a.examples.length) lines.push(`  worth a look (${a.examples.length}, hex in attack.json): ${a.examples.map((e: { category: string; mutation: string; outcome: string; where: string }) => `${e.category} ${e.mutation} (${e.where}): ${e.outcome}`).join('; ')}`);
    } else if (p.kind === 'flood') {
      lines.push(`  flood from ${FLOOD_SOURCE}: ${a.attempts} connection attempts in ${a.seconds} s on (${a.attemptsPerSecond}/s), ${a.connected} connected, ${a.cutBySwitch} cut by the switch (p50 ${a.cutAfterConnectMs.p50} ms, p99 ${a.cutAfterConnectMs.p99} ms after connecting), held at the end of each window ${JSON.stringify(a.heldAtWindowEnd)} (limit ${MAX_PER_SOURCE}); connect errors ${JSON.stringify(a.connectErrors)}`);
    } else if (p.kind === 'loris') {
      lines.push(`  slow-loris from ${LORIS_SOURCE}: ${a.senders} senders, ${a.connections} connections in ${a.seconds} s on, ${a.cutBySwitch} cut by the switch, ${a.stillOpenWhenGivenUp} still open when given up; byte to cut ${a.cutAfterByteMs.min}/${a.cutAfterByteMs.p50}/${a.cutAfterByteMs.p99}/${a.cutAfterByteMs.max} ms (min/p50/p99/max; frame timeout ${FRAME_TIMEOUT_MS} ms); connect errors ${JSON.stringify(a.connectErrors)}`);
    }
  }
  lines.push(`switch: ${sw.exited ? `EXITED ${JSON.stringify(sw.exited)}` : 'up to the end'}; /health at the end ${r.finalHealth}; terminal connections at the end ${r.finalGauges?.terminalConnections}; RSS over the run ${all.rssMB.min}-${all.rssMB.max} MB (first ${all.rssMB.first}, last ${all.rssMB.last}); anonymous ${all.anonMB.min}-${all.anonMB.max} MB (first ${all.anonMB.first}, last ${all.anonMB.last}); file-backed ${all.fileMB.first} -> ${all.fileMB.last} MB`);
  if (sw.exited) lines.push(`the switch's last lines:\n  ${sw.logTail.slice(-25).join('\n  ')}`);
  lines.push(`firewall refusals over the run: ${JSON.stringify(r.finalGauges?.refused)}`);
  lines.push(`switch log: ${sw.logLines} lines (${round(sw.logBytes / 1e6, 1)} MB) at warn and above: ${JSON.stringify(sw.logByMessage)}`);
  lines.push(`normal terminals over the run: ${load.answers.length} answers, ${load.errorsByKind.length} errors${load.errorsByKind.length ? ` (by TID ${JSON.stringify(load.errorsByTid)})` : ''}, ${load.reconnects} reconnects`);
  for (const e of sw.logErrors.slice(0, 3)) lines.push(`switch error line: ${e.slice(0, 1500)}`);
  lines.push(`written ${path.relative(ROOT, OUT)}`);
  console.log(lines.join('\n'));
}

function sortedCodes(codes: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(codes).sort((a, b) => b[1] - a[1]));
}

function longestGap(times: number[], start: number, end: number): number {
  let last = start;
  let gap = 0;
  for (const t of times) {
    gap = Math.max(gap, t - last);
    last = t;
  }
  return Math.max(gap, end - last);
}

function fdLimit(): string {
  try {
    const limits = fs.readFileSync('/proc/self/limits', 'utf8');
    const m = /Max open files\s+(\d+)\s+(\d+)/.exec(limits);
    return m ? `${m[1]} soft / ${m[2]} hard` : 'unknown';
  } catch {
    return 'unknown';
  }
}

// ------------------------------------------------------------------------------------------ entry

const attackerArg = argValue('attacker');
if (attackerArg !== undefined) {
  attacker(JSON.parse(attackerArg) as AttackerArgs).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
