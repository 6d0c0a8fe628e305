/**
 * The native benchmark tools (native-bench/): built with make, the C echo server and the C load
 * generator run against each other for about a second, and the load generator's response checks
 * (MTI, F11, F39 found by walking the terminal bitmap) run against a small fake switch here.
 * A test of the tools, not a timing test: it only asserts that the numbers are sane.
 */
import t from 'tap';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TerminalMessage, decodeTerminalFrame, encodeTerminalFrame, responseTpdu } from '../../src/codec/index.js';
import { decodeFrameFile, encodeFrameFile } from '../../src/loadgen/frames.js';
import { SimTerminal } from '../../src/loadgen/terminal.js';
import { DEMO, demoPan } from '../../src/store/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const NATIVE = path.join(ROOT, 'native-bench');
const BUILD = path.join(NATIVE, 'build');

interface LoadgenJson {
  tps: number;
  responses: number;
  checked: number;
  seconds: number;
  ended: string;
  errors: number;
  errorKinds: Record<string, number>;
  codes: Record<string, number>;
  latencyUs: { min: number; p50: number; p90: number; p99: number; max: number };
  framesUsed: number;
  framesAvailable: number;
  exhausted: boolean;
}

/** The type of a subtest's `t`. */
type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

function has(cmd: string): boolean {
  const r = spawnSync(cmd, ['--version'], { stdio: 'ignore' });
  return r.error === undefined && r.status === 0;
}

function loadgen(args: string[]): Promise<LoadgenJson> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(BUILD, 'loadgen'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`loadgen exited ${code}: ${stderr}`));
      try {
        resolve(JSON.parse(stdout) as LoadgenJson);
      } catch (err) {
        reject(new Error(`loadgen printed no JSON: ${stdout} ${stderr} (${(err as Error).message})`));
      }
    });
  });
}

/** Request frames of `terminals` demo terminals, built by SimTerminal (not signed in: no MAC, no PIN block). */
function buildFrames(terminals: number, perTerminal: number): Buffer[][] {
  return Array.from({ length: terminals }, (_, i) => {
    const term = new SimTerminal({ host: '127.0.0.1', port: 1, tid: String(DEMO.firstTid + i), mid: DEMO.mid, tmk: DEMO.tmk });
    return Array.from({ length: perTerminal }, (_, k) =>
      k % 3 === 2
        ? term.pack(term.balanceInquiry({ pan: demoPan(1 + k), expiry: DEMO.expiry }))
        : term.pack(term.sale({ pan: demoPan(1 + k), expiry: DEMO.expiry }, 100 + k)),
    );
  });
}

function sane(t: Tap, r: LoadgenJson, what: string): void {
  t.ok(r.tps > 0, `${what}: tps > 0 (${r.tps})`);
  t.ok(r.responses > 0, `${what}: responses > 0`);
  t.equal(r.errors, 0, `${what}: no errors ${JSON.stringify(r.errorKinds)}`);
  const l = r.latencyUs;
  t.ok(l.min > 0 && l.min <= l.p50 && l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.max, `${what}: latency percentiles ordered ${JSON.stringify(l)}`);
}

if (!has('make') || !has('cc')) {
  t.skip(`native-bench tools: skipped because ${!has('make') ? 'make' : 'cc (a C compiler)'} is not installed on this machine`, () => undefined);
} else {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'posp-native-tools-'));
  const children: ChildProcess[] = [];
  t.teardown(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    fs.rmSync(work, { recursive: true, force: true });
  });

  t.test('make builds echo, loadgen and idle into native-bench/build', async (t) => {
    const r = spawnSync('make', ['-C', NATIVE], { encoding: 'utf8' });
    t.equal(r.status, 0, `make: ${r.stderr}`);
    for (const tool of ['echo', 'loadgen', 'idle']) t.ok(fs.existsSync(path.join(BUILD, tool)), `${tool} built`);
  });

  const framesFile = path.join(work, 'frames.pfrm');
  t.test('a PFRM file round-trips', async (t) => {
    const frames = buildFrames(4, 30);
    const file = encodeFrameFile(frames);
    t.equal(file.toString('latin1', 0, 4), 'PFRM');
    t.equal(file.readUInt32BE(4), 4, 'terminal count');
    const back = decodeFrameFile(file);
    t.equal(back.length, 4);
    t.ok(back.every((f, i) => f.length === 30 && f.every((b, k) => b.equals(frames[i][k]))), 'same frames, same order');
    fs.writeFileSync(framesFile, file);
  });

  t.test('the C loadgen against the C echo server', async (t) => {
    const echo = spawn(path.join(BUILD, 'echo'), ['0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(echo);
    const port = await new Promise<number>((resolve, reject) => {
      echo.stdout.setEncoding('utf8').once('data', (d: string) => resolve(Number(d.trim())));
      echo.once('exit', (code) => reject(new Error(`echo exited ${code}`)));
    });
    t.ok(port > 0, `echo listens on ${port}`);
    const base = ['--port', String(port), '--frames', framesFile, '--echo'];

    const closed = await loadgen([...base, '--connections', '4', '--duration', '1']);
    sane(t, closed, 'persistent, 1 outstanding');
    t.equal(closed.ended, 'duration');
    t.ok(closed.seconds > 0.9 && closed.seconds < 1.5, `measured about 1 s (${closed.seconds})`);
    t.ok(closed.framesUsed > closed.framesAvailable, 'echo runs reuse frames cyclically');

    const pipelined = await loadgen([...base, '--connections', '4', '--outstanding', '8', '--duration', '0.5']);
    sane(t, pipelined, 'persistent, 8 outstanding');

    const short = await loadgen([...base, '--connections', '4', '--duration', '0.5', '--short']);
    sane(t, short, 'one connection per request');

    const paced = await loadgen([...base, '--connections', '4', '--duration', '1', '--rate', '400']);
    sane(t, paced, 'open loop at 400/s');
    t.ok(paced.tps > 300 && paced.tps < 500, `open loop keeps the rate (${paced.tps}/s)`);

    echo.kill('SIGTERM');
  });

  /** A fake switch: answers every request with F39 from `code(tid)`, echoing F11 as a switch must. */
  async function fakeSwitch(t: Tap, code: (tid: string) => string): Promise<number> {
    const server = net.createServer((socket) => {
      let buf = Buffer.alloc(0);
      const out = Buffer.alloc(4096);
      socket.on('data', (chunk) => {
        buf = Buffer.concat([buf, chunk]);
        while (buf.length >= 2 && buf.length >= buf.readUInt16BE(0) + 2) {
          const frame = buf.subarray(0, buf.readUInt16BE(0) + 2);
          buf = buf.subarray(frame.length);
          const req = decodeTerminalFrame(frame, 0, frame.length, true);
          const res = new TerminalMessage(req.mti.slice(0, 2) + String(Number(req.mti[2]) + 1) + req.mti[3], responseTpdu(req.tpdu), req.header);
          for (const id of [2, 3, 4, 11, 25, 41, 42, 49, 60]) res.fields[id] = req.fields[id];
          res.set(12, '101010').set(13, '1124').set(37, '000000000001').set(39, code(req.text(41)!));
          socket.write(Buffer.from(out.subarray(0, encodeTerminalFrame(res, out, 0, true))));
        }
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const timer = setInterval(() => undefined, 1000); // keep the loop alive while the C client runs
    t.teardown(() => clearInterval(timer));
    return (server.address() as net.AddressInfo).port;
  }

  t.test('the loadgen walks each response to F39 and checks it, and never resends a frame', async (t) => {
    const allApproved = await fakeSwitch(t, () => '00');
    const ok = await loadgen(['--port', String(allApproved), '--frames', framesFile, '--duration', '5']);
    t.equal(ok.errors, 0, `no errors ${JSON.stringify(ok.errorKinds)}`);
    t.equal(ok.ended, 'frames', 'the run ends when a terminal has no frames left');
    t.ok(ok.exhausted);
    t.ok(ok.framesUsed <= ok.framesAvailable, `${ok.framesUsed} of ${ok.framesAvailable} frames sent, none twice`);
    t.equal(ok.codes['00'], ok.checked, 'every response counted under 00');

    const oneDeclines = await fakeSwitch(t, (tid) => (tid === String(DEMO.firstTid + 2) ? '51' : '00'));
    const mixed = await loadgen(['--port', String(oneDeclines), '--frames', framesFile, '--count', '40', '--connections', '4']);
    t.ok(mixed.codes['51'] > 0, `51 counted (${JSON.stringify(mixed.codes)})`);
    t.equal(mixed.errorKinds.code, mixed.codes['51'], 'each 51 is an error when 00 is expected');
    const anyCode = await loadgen(['--port', String(oneDeclines), '--frames', framesFile, '--count', '40', '--any-code']);
    t.equal(anyCode.errors, 0, '--any-code only counts codes');
  });
}
