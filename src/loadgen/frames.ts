/**
 * Pre-built request frames for the native load generator (native-bench/loadgen).
 *
 * Terminals sign in over TCP against a running switch (so it holds their working keys), then every
 * request is built ahead of time with a unique STAN, a valid MAC and an encrypted PIN block, and the
 * lot is written to a frame file. The terminals stay signed in: their connections are closed but
 * nothing signs them off or in again, so the frames stay valid until the next sign-in of that TID.
 * A frame file is good for one run: sending a frame twice is a retransmission (the original answer
 * replayed, or `94`), which is not a fair measure of anything.
 *
 * Frame file format ("PFRM"), all integers unsigned big-endian:
 *
 *   magic      4 bytes  ASCII "PFRM"
 *   terminals  u32      number of terminals T
 *   T times:
 *     count    u32      number of frames of this terminal
 *     count times: one frame exactly as it goes on the wire: u16 length, then `length` bytes
 *                  (TPDU, header, MTI, bitmap, fields)
 *
 * Terminal i of the file is played by connection i of the load generator, frames in file order.
 */
import fs from 'node:fs';
import { DEMO, demoPan } from '../store/index.js';
import { SimTerminal, type CardData } from './terminal.js';

export const FRAME_FILE_MAGIC = 'PFRM';

export class FramesUsageError extends Error {}

/** Relative weights of the request kinds a frame file holds. */
export interface FrameMix {
  sale: number;
  balance: number;
}

/** `sale`, `balance`, or weights such as `sale:80,balance:20`. */
export function parseFrameMix(text: string): FrameMix {
  const mix: FrameMix = { sale: 0, balance: 0 };
  for (const part of text.split(',')) {
    const [name, weight] = part.split(':');
    if (name !== 'sale' && name !== 'balance') throw new FramesUsageError(`unknown request kind "${name}" in --mix (known: sale, balance)`);
    const w = Number(weight ?? '1');
    if (!(w >= 0) || !Number.isFinite(w)) throw new FramesUsageError(`weight of ${name} in --mix must be a non-negative number`);
    mix[name] = w;
  }
  if (mix.sale + mix.balance <= 0) throw new FramesUsageError('--mix needs at least one positive weight');
  return mix;
}

export interface FramesOptions {
  host: string;
  port: number;
  terminals: number;
  perTerminal: number;
  mix: FrameMix;
  /** TID of terminal 0 of the file. */
  firstTid: number;
  mid: string;
  tmk: string;
  /** Cards drawn from demo cards 1..cards. */
  cards: number;
  /**
   * STAN before the sign-in's (the sign-in uses firstStan + 1, requests follow). Runs against the
   * same switch and batch must use ranges that do not overlap, or their requests are retransmissions.
   */
  firstStan: number;
  /** Seed of the card, amount and kind choices (the file is reproducible for given keys). */
  seed: number;
  /** Sign-ins in flight at once. */
  concurrency?: number;
}

export interface FramesSummary {
  terminals: number;
  perTerminal: number;
  frames: number;
  sales: number;
  balances: number;
  bytes: number;
  firstTid: string;
  /** First and last STAN of the requests (the sign-in is firstStan + 1). */
  firstStan: string;
  lastStan: string;
  signInMs: number;
  buildMs: number;
}

/** mulberry32: small, fast, seeded. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Signs terminals in (at most `concurrency` at a time); each keeps its connection until closed by the caller. */
async function signInAll(options: FramesOptions): Promise<SimTerminal[]> {
  const terms = Array.from({ length: options.terminals }, (_, i) =>
    new SimTerminal({ host: options.host, port: options.port, tid: String(options.firstTid + i), mid: options.mid, tmk: options.tmk, firstStan: options.firstStan }),
  );
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < terms.length) {
      const term = terms[next++];
      await term.connect();
      const res = await term.signIn('003');
      const code = res.text(39);
      term.close();
      if (code !== '00') throw new Error(`sign-in of terminal ${term.options.tid} answered ${code ?? 'no F39'}`);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 32, terms.length) }, worker));
  } catch (err) {
    for (const t of terms) t.close();
    throw err;
  }
  return terms;
}

/** Frames of one terminal, each a full wire frame (2-byte length + bytes). */
function buildTerminalFrames(term: SimTerminal, options: FramesOptions, random: () => number, counts: { sales: number; balances: number }): Buffer[] {
  const frames: Buffer[] = new Array(options.perTerminal);
  const saleShare = options.mix.sale / (options.mix.sale + options.mix.balance);
  for (let k = 0; k < options.perTerminal; k++) {
    const n = 1 + Math.floor(random() * options.cards);
    const card: CardData = { pan: demoPan(n), expiry: DEMO.expiry, pin: DEMO.pin };
    const sale = random() < saleShare;
    if (sale) {
      const amount = 1 + Math.floor(random() * 10_000);
      frames[k] = term.pack(term.sale(card, amount));
      counts.sales++;
    } else {
      frames[k] = term.pack(term.balanceInquiry(card));
      counts.balances++;
    }
  }
  return frames;
}

/** The STAN `steps` after `stan`, as SimTerminal counts them (1..999999, wrapping). */
function stanAfter(stan: number, steps: number): string {
  return String(((stan + steps - 1) % 999_999) + 1).padStart(6, '0');
}

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n, 0);
  return b;
}

/** Signs the terminals in, builds every frame and writes the frame file at `path`. */
export async function writeFrameFile(path: string, options: FramesOptions): Promise<FramesSummary> {
  if (options.perTerminal > 999_000) throw new FramesUsageError('--per-terminal must be at most 999000 (STANs are 6 digits)');
  const t0 = Date.now();
  const terms = await signInAll(options);
  const t1 = Date.now();
  const random = prng(options.seed);
  const counts = { sales: 0, balances: 0 };
  const fd = fs.openSync(path, 'w');
  let bytes = 0;
  const put = (chunks: Buffer[]): void => {
    const buf = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    fs.writeSync(fd, buf);
    bytes += buf.length;
  };
  try {
    put([Buffer.from(FRAME_FILE_MAGIC, 'latin1'), u32(terms.length)]);
    for (const term of terms) put([u32(options.perTerminal), ...buildTerminalFrames(term, options, random, counts)]);
  } finally {
    fs.closeSync(fd);
  }
  return {
    terminals: terms.length,
    perTerminal: options.perTerminal,
    frames: terms.length * options.perTerminal,
    sales: counts.sales,
    balances: counts.balances,
    bytes,
    firstTid: String(options.firstTid),
    firstStan: stanAfter(options.firstStan, 2),
    lastStan: stanAfter(options.firstStan, 1 + options.perTerminal),
    signInMs: t1 - t0,
    buildMs: Date.now() - t1,
  };
}

/** Encodes frames per terminal as a frame file (no switch needed: for tools tests and echo runs). */
export function encodeFrameFile(terminals: readonly (readonly Buffer[])[]): Buffer {
  const parts: Buffer[] = [Buffer.from(FRAME_FILE_MAGIC, 'latin1'), u32(terminals.length)];
  for (const frames of terminals) {
    parts.push(u32(frames.length));
    for (const f of frames) {
      if (f.length < 2 || f.readUInt16BE(0) !== f.length - 2) throw new Error('a frame must start with its 2-byte length');
      parts.push(f);
    }
  }
  return Buffer.concat(parts);
}

/** Decodes a frame file into frames per terminal (each with its 2-byte length). */
export function decodeFrameFile(buf: Buffer): Buffer[][] {
  if (buf.length < 8 || buf.toString('latin1', 0, 4) !== FRAME_FILE_MAGIC) throw new Error('not a frame file (magic PFRM)');
  const count = buf.readUInt32BE(4);
  let p = 8;
  const out: Buffer[][] = [];
  for (let t = 0; t < count; t++) {
    if (p + 4 > buf.length) throw new Error(`frame file truncated in terminal ${t}`);
    const n = buf.readUInt32BE(p);
    p += 4;
    const frames: Buffer[] = [];
    for (let k = 0; k < n; k++) {
      if (p + 2 > buf.length) throw new Error(`frame file truncated in terminal ${t} frame ${k}`);
      const len = buf.readUInt16BE(p);
      if (p + 2 + len > buf.length) throw new Error(`frame file truncated in terminal ${t} frame ${k}`);
      frames.push(buf.subarray(p, p + 2 + len));
      p += 2 + len;
    }
    out.push(frames);
  }
  return out;
}
