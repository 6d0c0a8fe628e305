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
 * Voids and completions name an original by what the switch answered it (F37 RRN, F38 auth code,
 * F13 date), which no one can know ahead of time. So while a terminal is signed in, it also
 * performs live the sales its void frames will void and the pre-auths its completion frames will
 * complete, and those frames are built from the real answers. Every frame of a file is approved
 * when the file is played once, in order, one connection per terminal (off-us sales: when the
 * switch has a host link up that approves them, such as `posp start --demo --host-sim`).
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
import { DEMO, demoOffUsPan, demoPan } from '../store/index.js';
import { SimTerminal, type CardData, type Receipt } from './terminal.js';

export const FRAME_FILE_MAGIC = 'PFRM';

export class FramesUsageError extends Error {}

/**
 * Request kinds of a frame file: sale, balance inquiry, sale void (of a sale done live), pre-auth,
 * pre-auth completion (of a pre-auth done live), a sale on an off-us demo card (BIN 621700,
 * which the demo routes to the host link `sim`), and an echo test (0820 301: what every request
 * costs the switch, journal entry included, with no business work). Names as in `posp loadgen
 * --mix`; a new kind goes last, so that files of older mixes keep their order for a given seed.
 */
export const FRAME_KINDS = ['sale', 'balance', 'void', 'preauth', 'completion', 'offus', 'echo'] as const;
export type FrameKind = (typeof FRAME_KINDS)[number];

/** Relative weights of the request kinds a frame file holds. */
export type FrameMix = Record<FrameKind, number>;

function isFrameKind(name: string): name is FrameKind {
  return (FRAME_KINDS as readonly string[]).includes(name);
}

/** `sale`, `balance`, or weights such as `sale:60,balance:15,void:10,preauth:8,completion:7,offus:5` (no weight = 1). */
export function parseFrameMix(text: string): FrameMix {
  const mix = Object.fromEntries(FRAME_KINDS.map((k) => [k, 0])) as FrameMix;
  const given = new Set<FrameKind>();
  for (const part of text.split(',')) {
    const colon = part.indexOf(':');
    const name = colon < 0 ? part : part.slice(0, colon);
    const weight = colon < 0 ? '1' : part.slice(colon + 1);
    if (!isFrameKind(name)) throw new FramesUsageError(`unknown request kind "${name}" in --mix (known: ${FRAME_KINDS.join(', ')})`);
    if (given.has(name)) throw new FramesUsageError(`${name} appears twice in --mix`);
    if (!/^\d+(\.\d+)?$/.test(weight)) throw new FramesUsageError(`weight of ${name} in --mix must be a non-negative number, got "${weight}"`);
    given.add(name);
    mix[name] = Number(weight);
  }
  if (FRAME_KINDS.every((k) => mix[k] === 0)) throw new FramesUsageError('--mix needs at least one positive weight');
  return mix;
}

/**
 * How many requests of each kind one terminal gets: `perTerminal` split by weight, rounded by
 * largest remainder. Every terminal gets the same counts, so the file holds the asked mix however
 * few frames a terminal has, and every terminal uses the same STAN range.
 */
export function kindCounts(mix: FrameMix, perTerminal: number): Record<FrameKind, number> {
  const total = FRAME_KINDS.reduce((sum, k) => sum + mix[k], 0);
  const exact = FRAME_KINDS.map((k) => (perTerminal * mix[k]) / total);
  const counts = exact.map(Math.floor);
  let left = perTerminal - counts.reduce((sum, c) => sum + c, 0);
  const byRemainder = FRAME_KINDS.map((_, i) => i).sort((a, b) => exact[b] - counts[b] - (exact[a] - counts[a]) || a - b);
  for (const i of byRemainder) {
    if (left === 0) break;
    counts[i]++;
    left--;
  }
  return Object.fromEntries(FRAME_KINDS.map((k, i) => [k, counts[i]])) as Record<FrameKind, number>;
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
   * STAN before the sign-in's (the sign-in uses firstStan + 1, the live originals and then the
   * frames follow). Runs against the same switch and batch must use ranges that do not overlap, or
   * their requests are retransmissions.
   */
  firstStan: number;
  /** Seed of the card, amount and kind choices (the file is reproducible for given keys and answers). */
  seed: number;
  /** Terminals signing in and performing originals at once. */
  concurrency?: number;
}

export interface FramesSummary {
  terminals: number;
  perTerminal: number;
  frames: number;
  /** Frames of each kind, all terminals. */
  kinds: Record<FrameKind, number>;
  /** Sales and pre-auths performed live for the void and completion frames, all terminals. */
  originals: number;
  bytes: number;
  firstTid: string;
  /** First and last STAN each terminal uses after its sign-in (firstStan + 1): live originals, then frames. */
  firstStan: string;
  lastStan: string;
  /** Signing the terminals in and performing the originals, over TCP. */
  liveMs: number;
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

/** One terminal of the file: its own random stream, so its choices do not depend on which terminal signs in first. */
interface TerminalPlan {
  term: SimTerminal;
  random: () => number;
  /** Its frames' kinds in file order. */
  kinds: FrameKind[];
  /** Approved live, voided and completed by its frames in this order. */
  sales: Receipt[];
  preAuths: Receipt[];
}

function plan(options: FramesOptions, counts: Record<FrameKind, number>, i: number): TerminalPlan {
  const random = prng(options.seed ^ Math.imul(i + 1, 0x9e3779b1));
  const kinds = FRAME_KINDS.flatMap((k) => new Array<FrameKind>(counts[k]).fill(k));
  for (let k = kinds.length - 1; k > 0; k--) {
    const j = Math.floor(random() * (k + 1));
    [kinds[k], kinds[j]] = [kinds[j], kinds[k]];
  }
  const term = new SimTerminal({ host: options.host, port: options.port, tid: String(options.firstTid + i), mid: options.mid, tmk: options.tmk, firstStan: options.firstStan });
  return { term, random, kinds, sales: [], preAuths: [] };
}

function randomCard(random: () => number, cards: number): CardData {
  return { pan: demoPan(1 + Math.floor(random() * cards)), expiry: DEMO.expiry, pin: DEMO.pin };
}

/** The off-us demo card of the same number as `randomCard` draws: the host's card, not the account system's. */
function randomOffUsCard(random: () => number, cards: number): CardData {
  return { pan: demoOffUsPan(1 + Math.floor(random() * cards)), expiry: DEMO.expiry, pin: DEMO.pin };
}

function randomAmount(random: () => number): number {
  return 1 + Math.floor(random() * 10_000);
}

/** Whole yuan: the host simulator decides by the last two digits, and `00` is an approval. */
function randomWholeYuan(random: () => number): number {
  return 100 * (1 + Math.floor(random() * 100));
}

/** Sends the originals of one signed-in terminal (pipelined: the switch answers a connection in order) and keeps their receipts. */
async function performOriginals(p: TerminalPlan, options: FramesOptions, counts: Record<FrameKind, number>): Promise<void> {
  const { term, random } = p;
  const requests = [
    ...Array.from({ length: counts.void }, () => ({ type: 'sale' as const, msg: term.sale(randomCard(random, options.cards), randomAmount(random)) })),
    ...Array.from({ length: counts.completion }, () => ({ type: 'pre-auth' as const, msg: term.preAuth(randomCard(random, options.cards), randomAmount(random)) })),
  ];
  const responses = await Promise.all(requests.map((r) => term.request(r.msg)));
  for (const [k, { type, msg }] of requests.entries()) {
    const res = responses[k];
    if (res.text(39) !== '00') throw new Error(`${type} of terminal ${term.options.tid} (an original for the frame file) answered ${res.text(39) ?? 'no F39'}`);
    (type === 'sale' ? p.sales : p.preAuths).push(term.receipt(msg, res, type));
  }
}

/** Signs every terminal in and performs its originals, at most `concurrency` terminals at a time; closes their connections. */
async function prepareAll(plans: TerminalPlan[], options: FramesOptions, counts: Record<FrameKind, number>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < plans.length) {
      const p = plans[next++];
      await p.term.connect();
      try {
        const res = await p.term.signIn('003');
        const code = res.text(39);
        if (code !== '00') throw new Error(`sign-in of terminal ${p.term.options.tid} answered ${code ?? 'no F39'}`);
        await performOriginals(p, options, counts);
      } finally {
        p.term.close();
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 32, plans.length) }, worker));
  } catch (err) {
    // Stop the other workers from starting terminals, and end the ones in flight.
    failed = true;
    for (const p of plans) p.term.close();
    throw err;
  }
}

/** Frames of one terminal in its planned order, each a full wire frame (2-byte length + bytes). */
function buildTerminalFrames(p: TerminalPlan, options: FramesOptions): Buffer[] {
  const { term, random } = p;
  let voids = 0;
  let completions = 0;
  return p.kinds.map((kind) => {
    switch (kind) {
      case 'sale': return term.pack(term.sale(randomCard(random, options.cards), randomAmount(random)));
      case 'balance': return term.pack(term.balanceInquiry(randomCard(random, options.cards)));
      case 'preauth': return term.pack(term.preAuth(randomCard(random, options.cards), randomAmount(random)));
      case 'offus': return term.pack(term.sale(randomOffUsCard(random, options.cards), randomWholeYuan(random)));
      case 'echo': return term.pack(term.echo());
      case 'void': return term.pack(term.saleVoid(p.sales[voids++]));
      case 'completion': {
        const preAuth = p.preAuths[completions++];
        return term.pack(term.completion(preAuth, preAuth.amount));
      }
    }
  });
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

/** Signs the terminals in, performs the originals live, builds every frame and writes the frame file at `path`. */
export async function writeFrameFile(path: string, options: FramesOptions): Promise<FramesSummary> {
  const counts = kindCounts(options.mix, options.perTerminal);
  // Live originals and frames share the terminal's STANs, which must not wrap onto its own earlier ones.
  const originals = counts.void + counts.completion;
  if (originals + options.perTerminal > 999_000) {
    throw new FramesUsageError(`--per-terminal ${options.perTerminal} plus ${originals} live originals exceeds 999000 STANs per terminal (STANs are 6 digits)`);
  }
  const t0 = Date.now();
  const plans = Array.from({ length: options.terminals }, (_, i) => plan(options, counts, i));
  await prepareAll(plans, options, counts);
  const t1 = Date.now();
  const fd = fs.openSync(path, 'w');
  let bytes = 0;
  const put = (chunks: Buffer[]): void => {
    const buf = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    fs.writeSync(fd, buf);
    bytes += buf.length;
  };
  try {
    put([Buffer.from(FRAME_FILE_MAGIC, 'latin1'), u32(plans.length)]);
    for (const p of plans) put([u32(options.perTerminal), ...buildTerminalFrames(p, options)]);
  } finally {
    fs.closeSync(fd);
  }
  return {
    terminals: plans.length,
    perTerminal: options.perTerminal,
    frames: plans.length * options.perTerminal,
    kinds: Object.fromEntries(FRAME_KINDS.map((k) => [k, counts[k] * plans.length])) as Record<FrameKind, number>,
    originals: originals * plans.length,
    bytes,
    firstTid: String(options.firstTid),
    firstStan: stanAfter(options.firstStan, 2),
    lastStan: stanAfter(options.firstStan, 1 + originals + options.perTerminal),
    liveMs: t1 - t0,
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
