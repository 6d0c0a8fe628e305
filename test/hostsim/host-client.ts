/**
 * The switch's side of a host link, as much as the host simulator tests need: connect, sign on,
 * exchange keys (decrypted under the ZMK and checked against their KCVs), send MACed requests and
 * wait for the answer that matches on F11 + F41. Also the simulator as a child process and the
 * settlement file reader. Not a test file itself (no `.test.` in the name).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { HostMessage, decodeHostFrame, encodeHostFrame } from '../../src/codec/index.js';
import pino from 'pino';
import type { Test } from 'tap';
import { DEMO_ZMK, HostSimulator, SETTLEMENT_COLUMNS, type HostSimulatorOptions } from '../../src/hostsim/index.js';
import { DesKey, encryptPinBlock, kcv, x919Mac } from '../../src/security/index.js';
import { CHILD_ENV, POSP_BIN } from '../switch/harness.js';

export const PAN = '6217001234567894';
export const PIN = '123456';

export interface Answer {
  msg: HostMessage;
  frame: Buffer;
  /** Milliseconds from the request's write to its answer. */
  ms: number;
}

export interface ZoneKeys {
  zpk: Buffer;
  zak: Buffer;
}

export { sleep } from '../switch/harness.js';

/** Encodes `msg`; with `zak`, F128 is the X9.19 MAC over MTI..the field before it. */
export function pack(msg: HostMessage, zak?: Buffer): Buffer {
  const out = Buffer.alloc(10_004);
  msg.set(128, zak ? Buffer.alloc(8) : undefined);
  const end = encodeHostFrame(msg, out, 0, true);
  if (zak) {
    const mac = x919Mac(new DesKey(zak), out, msg.mabStart, msg.mabEnd);
    out.write(mac.toString('hex').toUpperCase(), end - 16, 16, 'latin1');
  }
  return Buffer.from(out.subarray(0, end));
}

/** True when the frame's F128 is the X9.19 MAC under `zak` of what precedes it. */
export function macVerifies(frame: Buffer, zak: Buffer): boolean {
  const msg = decodeHostFrame(frame);
  const mac = msg.binary(128);
  return mac !== undefined && x919Mac(new DesKey(zak), frame, msg.mabStart, msg.mabEnd).equals(mac);
}

export function transmissionTime(): string {
  const d = new Date();
  const two = (n: number) => String(n).padStart(2, '0');
  return two(d.getMonth() + 1) + two(d.getDate()) + two(d.getHours()) + two(d.getMinutes()) + two(d.getSeconds());
}

export class HostClient {
  readonly socket: Socket;
  readonly closed: Promise<void>;
  keys: ZoneKeys | undefined;
  #stan: number;
  #rest = Buffer.alloc(0);
  readonly #waiting = new Map<string, { done: (a: Answer | undefined) => void; sentAt: number }>();
  /** Every answer, in arrival order. */
  readonly answers: HostMessage[] = [];

  private constructor(socket: Socket, firstStan: number) {
    this.socket = socket;
    this.#stan = firstStan;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        // Nothing more can come: whoever still waits hears "no answer" now.
        for (const waiter of this.#waiting.values()) waiter.done(undefined);
        this.#waiting.clear();
        resolve();
      }),
    );
    socket.on('error', () => undefined);
  }

  static connect(port: number, firstStan = 1): Promise<HostClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.off('error', reject);
        resolve(new HostClient(socket, firstStan));
      });
      socket.once('error', reject);
    });
  }

  nextStan(): string {
    return String(this.#stan++ % 1_000_000).padStart(6, '0');
  }

  #onData(chunk: Buffer): void {
    let buf = Buffer.concat([this.#rest, chunk]);
    while (buf.length >= 4) {
      const len = Number(buf.toString('latin1', 0, 4));
      if (buf.length < 4 + len) break;
      const frame = buf.subarray(0, 4 + len);
      buf = buf.subarray(4 + len);
      const msg = decodeHostFrame(frame);
      this.answers.push(msg);
      const key = (msg.text(11) ?? '') + '|' + (msg.text(41) ?? '');
      const waiter = this.#waiting.get(key);
      if (waiter) {
        this.#waiting.delete(key);
        waiter.done({ msg, frame: Buffer.from(frame), ms: Date.now() - waiter.sentAt });
      }
    }
    this.#rest = Buffer.from(buf);
  }

  /** Writes the frame of `msg` (MACed under the zone ZAK unless it is an 0800 or `mac` is false). */
  send(msg: HostMessage, mac = msg.mti !== '0800'): Buffer {
    const frame = pack(msg, mac ? this.keys?.zak : undefined);
    this.socket.write(frame);
    return frame;
  }

  /** The answer matching `msg` on F11 + F41, or undefined when none came within `ms` or the link closed. */
  answer(msg: HostMessage, ms = 5000): Promise<Answer | undefined> {
    const key = (msg.text(11) ?? '') + '|' + (msg.text(41) ?? '');
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(key);
        resolve(undefined);
      }, ms);
      this.#waiting.set(key, {
        sentAt: Date.now(),
        done: (a) => {
          clearTimeout(timer);
          resolve(a);
        },
      });
    });
  }

  /** Sends `msg` and resolves with its answer; rejects when none comes within `ms`. */
  async request(msg: HostMessage, ms = 5000, mac?: boolean): Promise<Answer> {
    const answer = this.answer(msg, ms);
    this.send(msg, mac);
    const a = await answer;
    if (a === undefined) throw new Error(`no answer to ${msg.mti} STAN ${msg.text(11)} within ${ms} ms`);
    return a;
  }

  networkManagement(code: string): HostMessage {
    return new HostMessage('0800').set(7, transmissionTime()).set(11, this.nextStan()).set(70, code);
  }

  /** 0800/101: the zone keys from F48, decrypted under the ZMK; throws when a KCV does not match. */
  async keyExchange(zmk = DEMO_ZMK): Promise<ZoneKeys> {
    const { msg } = await this.request(this.networkManagement('101'));
    if (msg.text(39) !== '00') throw new Error(`key exchange answered ${msg.text(39)}`);
    this.keys = openZoneKeys(msg.text(48) ?? '', zmk);
    return this.keys;
  }

  /** A financial request of `tid` (0200 sale unless told), with a PIN block under the ZPK when `pin`. */
  transaction(
    amount: number | undefined,
    o: { mti?: string; processingCode?: string; tid?: string; pan?: string; pin?: string; pinBlock?: Buffer; stan?: string } = {},
  ): HostMessage {
    const msg = new HostMessage(o.mti ?? '0200')
      .set(2, o.pan ?? PAN)
      .set(3, o.processingCode ?? '000000')
      .set(7, transmissionTime())
      .set(11, o.stan ?? this.nextStan())
      .set(32, '48020000')
      .set(37, String(Date.now()).slice(-12))
      .set(41, o.tid ?? '10000001')
      .set(42, '898100012340001')
      .set(49, '156');
    if (amount !== undefined) msg.set(4, String(amount).padStart(12, '0'));
    if (o.pinBlock) msg.set(52, o.pinBlock);
    else if (o.pin && this.keys) msg.set(52, encryptPinBlock(this.keys.zpk, o.pan ?? PAN, o.pin));
    return msg;
  }

  /** The 0420 naming `original` in F90 (it repeats the original's F2, F3, F4, F41, F42, F49). */
  reversalOf(original: HostMessage): HostMessage {
    const f90 = original.mti + original.text(11)! + original.text(7)! + original.text(32)!.padStart(11, '0') + '0'.repeat(11);
    const msg = new HostMessage('0420').set(7, transmissionTime()).set(11, this.nextStan()).set(90, f90).set(39, '98');
    for (const id of [2, 3, 4, 32, 37, 41, 42, 49]) msg.set(id, original.fields[id]);
    return msg;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** F48 of a key exchange: ZPK(32 hex) KCV(6) ZAK(32) KCV(6), each key 3DES-ECB under the ZMK. */
export function openZoneKeys(f48: string, zmk: string): ZoneKeys {
  if (!/^[0-9A-F]{76}$/.test(f48)) throw new Error(`F48 is not 76 uppercase hex characters: ${f48.length}`);
  const kek = new DesKey(Buffer.from(zmk, 'hex'));
  const open = (at: number, name: string): Buffer => {
    const clear = kek.decryptEcb(Buffer.from(f48.slice(at, at + 32), 'hex'));
    const check = kcv(new DesKey(clear)).subarray(0, 3).toString('hex').toUpperCase();
    if (check !== f48.slice(at + 32, at + 38)) throw new Error(`${name} KCV ${f48.slice(at + 32, at + 38)} does not match the key (${check})`);
    return clear;
  };
  return { zpk: open(0, 'ZPK'), zak: open(38, 'ZAK') };
}

export type SettlementRow = Record<(typeof SETTLEMENT_COLUMNS)[number], string>;

/** Every line of every settlement file in `dir`; checks each file's header. */
export function readSettlement(dir: string): SettlementRow[] {
  const rows: SettlementRow[] = [];
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => /^settlement-\d{8}\.csv$/.test(f)).sort();
  } catch {
    return rows;
  }
  for (const file of files) {
    const [header, ...lines] = readFileSync(join(dir, file), 'utf8').split('\n');
    if (header !== SETTLEMENT_COLUMNS.join(',')) throw new Error(`${file}: header is ${header}`);
    for (const line of lines) {
      if (line === '') continue;
      const cells = line.split(',');
      if (cells.length !== SETTLEMENT_COLUMNS.length) throw new Error(`${file}: line has ${cells.length} columns: ${line}`);
      rows.push(Object.fromEntries(SETTLEMENT_COLUMNS.map((c, i) => [c, cells[i]])) as SettlementRow);
    }
  }
  return rows;
}

export interface SimProcess {
  proc: ChildProcess;
  port: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: () => string;
}

/** `posp sim-host --port 0 [--data DIR] ...args` as a child process, once its ready line names the port. */
export function startSimHost(dir: string | undefined, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<SimProcess> {
  const proc = spawn(process.execPath, [POSP_BIN, 'sim-host', '--port', '0', ...(dir === undefined ? [] : ['--data', dir]), ...args], {
    env: { ...CHILD_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sim-host not ready after 30 s:\n${out}`)), 30_000);
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /posp sim-host: listening on [^\s]+:(\d+), data in /.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, port: Number(m[1]), exited, output: () => out });
      }
    });
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`sim-host exited before ready (code ${code}, signal ${signal}):\n${out}`));
    });
  });
}

/** A simulator in this process on a fresh directory (silent unless given a logger), stopped at teardown. */
export async function inProcess(t: Test, options: HostSimulatorOptions = {}): Promise<{ sim: HostSimulator; dir: string }> {
  const dir = t.testdir();
  const sim = new HostSimulator({ port: 0, dataDir: dir, log: pino({ level: 'silent' }), ...options });
  await sim.start();
  t.teardown(() => sim.stop());
  return { sim, dir };
}

/** A connection that has signed on and exchanged keys, closed at teardown. */
export async function keyedClient(t: Test, port: number, zmk = DEMO_ZMK, firstStan = 1): Promise<HostClient> {
  const client = await HostClient.connect(port, firstStan);
  t.teardown(() => client.close());
  const { msg } = await client.request(client.networkManagement('001'));
  if (msg.text(39) !== '00') throw new Error(`sign-on answered ${msg.text(39)}`);
  await client.keyExchange(zmk);
  return client;
}
