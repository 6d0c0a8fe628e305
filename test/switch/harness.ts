/**
 * Shared set-up for the switch integration tests: a real switch on ephemeral ports with the demo
 * set-up in a fresh data directory, simulated terminals over TCP, a raw TCP client that sees the
 * exact bytes, and small helpers. Tests of business rules use the same helpers with the switch in
 * process instead (`startInProcess`: pipeline and book over real LMDB and SQLite, no sockets).
 * Not a test file itself (no `.test.` in the name).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TerminalMessage, decodeTerminalFrame, encodeTerminalFrame, parseBalance } from '../../src/codec/index.js';
import { SimTerminal, type CardData, type FrameTransport } from '../../src/loadgen/terminal.js';
import { DesKey, computeMac } from '../../src/security/index.js';
import { DEMO, demoPan, demoTid } from '../../src/store/index.js';
import { DEFAULTS, InProcessSwitch, startSwitch, type RunningSwitch } from '../../src/switch/index.js';
import { luhnCheckDigit } from '../../src/txn/index.js';
import { suiteLogging } from '../suite-log.js';

/** `bin/posp.js`, for tests that run the switch, the host simulator or a command as a child process. */
export const POSP_BIN = fileURLToPath(new URL('../../../bin/posp.js', import.meta.url));

/** A child process's environment without tap's NODE_OPTIONS (its loader hooks slow start-up and are not needed). */
export const CHILD_ENV: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: undefined };

/** What a `posp` command run as a child process printed, and its exit code. */
export interface PospRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `posp ARGS` as a real process (killed after a minute), with `input` on stdin. */
export function runPosp(args: string[], input = ''): Promise<PospRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [POSP_BIN, ...args], { env: CHILD_ENV, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill(), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

/** Demo cards the in-process tests seed: enough for every card number they use, far quicker than 100,000. */
export const TEST_CARDS = 10_000;

/** What the helpers need of a tap test: somewhere to register clean-up. */
export interface HasTeardown {
  teardown(fn: () => unknown): void;
}

export interface Demo<S = RunningSwitch> {
  sw: S;
  dataDir: string;
  /** `<dataDir>/journal/<businessDate>.sqlite` */
  journalPath: string;
  /** Set when the switch runs in this process: terminals then talk to it through this, with no socket. */
  transport?: FrameTransport;
}

/** The demo switch in this process (`InProcessSwitch`), reached through `transport`. */
export interface InProcessDemo extends Demo<InProcessSwitch> {
  transport: InProcessSwitch;
}

/** Starts the real switch with the demo set-up; `t.teardown` closes it and deletes its data. */
export async function startDemo(t: HasTeardown): Promise<Demo> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'posp-switch-test-'));
  const logging = suiteLogging();
  const sw = await startSwitch({ ...DEFAULTS, dataDir, posPort: 0, adminPort: 0, demo: true, workers: 1, ...logging.config }, logging.log);
  t.teardown(async () => {
    await sw.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  return { sw, dataDir, journalPath: path.join(dataDir, 'journal', `${sw.businessDate}.sqlite`) };
}

/**
 * The pipeline and book of the demo switch in this process, over real LMDB and SQLite in a fresh
 * data directory; every answer comes once its entry is durable and applied to LMDB, so nothing
 * needs to wait. `t.teardown` closes it (if the test has not) and deletes its data.
 */
export async function startInProcess(t: HasTeardown): Promise<InProcessDemo> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'posp-inproc-test-'));
  const sw = await InProcessSwitch.open({ dataDir, demo: true, demoCards: TEST_CARDS });
  // Closed once, however often it is asked to (a test may close it before its teardown does).
  const close = sw.close.bind(sw);
  let closing: Promise<void> | undefined;
  sw.close = () => (closing ??= close());
  t.teardown(async () => {
    await sw.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  return { sw, dataDir, journalPath: path.join(dataDir, 'journal', `${sw.businessDate}.sqlite`), transport: sw };
}

/** Demo terminal number `n` (0-based: n = 0 is TID 10000001), connected (or in process), closed at teardown. */
export async function terminal(t: HasTeardown, demo: Demo | InProcessDemo, n: number, mid: string = DEMO.mid): Promise<SimTerminal> {
  if (demo.transport !== undefined) return new SimTerminal({ host: '', port: 0, transport: demo.transport, tid: demoTid(n), mid, tmk: DEMO.tmk });
  // Without a transport the switch is the TCP one.
  const term = new SimTerminal({ host: '127.0.0.1', port: (demo as Demo).sw.posPort, tid: demoTid(n), mid, tmk: DEMO.tmk });
  await term.connect();
  t.teardown(() => term.close());
  return term;
}

/** A connected demo terminal that has signed in (double-length keys unless told). */
export async function signedIn(t: HasTeardown, demo: Demo | InProcessDemo, n: number, mode: '001' | '003' | '004' = '003'): Promise<SimTerminal> {
  const term = await terminal(t, demo, n);
  const res = await term.signIn(mode);
  if (res.text(39) !== '00') throw new Error(`sign-in of terminal ${n} answered ${res.text(39)}`);
  return term;
}

/** Demo card `n` with its expiry and PIN. */
export function card(n: number, withPin = true): CardData {
  return withPin ? { pan: demoPan(n), expiry: DEMO.expiry, pin: DEMO.pin } : { pan: demoPan(n), expiry: DEMO.expiry };
}

/** A Luhn-valid PAN: `prefix` + zero-padded `n` to 18 digits + check digit. */
export function luhnPan(prefix: string, n: number, length = 19): string {
  const body = prefix + String(n).padStart(length - 1 - prefix.length, '0');
  return body + String(luhnCheckDigit(body));
}

/** Available balance of a card in fen, by a balance inquiry over the terminal (must be approved). */
export async function balanceOf(term: SimTerminal, c: CardData): Promise<number> {
  const res = await term.request(term.balanceInquiry(c));
  if (res.text(39) !== '00') throw new Error(`balance inquiry answered ${res.text(39)}`);
  const f54 = res.text(54);
  if (f54 === undefined) throw new Error('balance inquiry approved without F54');
  return Number(parseBalance(f54).amount);
}

/** Packs `msg` (F64 included) with a MAC under a clear MAK of our choosing (CUP-ECB). */
export function packWithMak(msg: TerminalMessage, mak: Buffer): Buffer {
  const out = Buffer.alloc(4096);
  msg.set(64, Buffer.alloc(8));
  const end = encodeTerminalFrame(msg, out, 0, true);
  computeMac(new DesKey(mak), 'cup-ecb', out, msg.mabStart, msg.mabEnd, out, end - 8);
  return Buffer.from(out.subarray(0, end));
}

/** Decodes a raw response frame (with its 2-byte length). */
export function decode(frame: Buffer): TerminalMessage {
  return decodeTerminalFrame(frame, 0, frame.length, true);
}

/** True when the frame's F64 is the CUP-ECB MAC of its MAB under `mak`. */
export function macVerifies(frame: Buffer, mak: Buffer): boolean {
  const msg = decode(frame);
  const f64 = msg.binary(64);
  if (f64 === undefined) return false;
  return computeMac(new DesKey(mak), 'cup-ecb', frame, msg.mabStart, msg.mabEnd).equals(f64);
}

/**
 * A plain TCP client that hands back the exact response frames (length prefix included) and
 * notices when the switch closes the connection.
 */
export class RawClient {
  readonly socket: net.Socket;
  private buffered = Buffer.alloc(0);
  private readonly frames: Buffer[] = [];
  private readonly waiters: ((f: Buffer | undefined) => void)[] = [];
  closed = false;
  private readonly closedPromise: Promise<void>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 2) {
        const len = this.buffered.readUInt16BE(0);
        if (this.buffered.length < len + 2) break;
        const frame = Buffer.from(this.buffered.subarray(0, len + 2));
        this.buffered = this.buffered.subarray(len + 2);
        const w = this.waiters.shift();
        if (w) w(frame);
        else this.frames.push(frame);
      }
    });
    socket.on('error', () => undefined);
    this.closedPromise = new Promise((resolve) =>
      socket.on('close', () => {
        this.closed = true;
        for (const w of this.waiters.splice(0)) w(undefined);
        resolve();
      }),
    );
  }

  static connect(port: number, t?: HasTeardown): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(client));
      const client = new RawClient(socket);
      socket.once('error', reject);
      t?.teardown(() => socket.destroy());
    });
  }

  write(bytes: Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(bytes, (err) => (err ? reject(err) : resolve())));
  }

  /** The next response frame, or `undefined` if the connection closed or nothing came in time. */
  next(timeoutMs = 5000): Promise<Buffer | undefined> {
    const ready = this.frames.shift();
    if (ready) return Promise.resolve(ready);
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(deliver);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(undefined);
      }, timeoutMs);
      const deliver = (f: Buffer | undefined): void => {
        clearTimeout(timer);
        resolve(f);
      };
      this.waiters.push(deliver);
    });
  }

  /** Sends `bytes` and awaits one response frame. */
  async exchange(bytes: Buffer, timeoutMs = 5000): Promise<Buffer | undefined> {
    await this.write(bytes);
    return this.next(timeoutMs);
  }

  /** True if the switch closes the connection within `timeoutMs`. */
  async closedWithin(timeoutMs: number): Promise<boolean> {
    if (this.closed) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const result = await Promise.race([this.closedPromise.then(() => true), timeout]);
    clearTimeout(timer);
    return result;
  }

  close(): void {
    this.socket.destroy();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `p`, or a rejection naming `what` if it has not settled within `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms))),
  ]);
}

export { DEMO, demoPan, demoTid };
