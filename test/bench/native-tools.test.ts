/**
 * The native benchmark tools (native-bench/): built with make, the C echo server and the C load
 * generator run against each other for about a second, and the load generator's response checks
 * (MTI, F11, F39 found by walking the terminal bitmap) run against a small fake switch here.
 * Frame files (`posp frames`): the --mix parsing, and a file with every kind (voids and completions
 * of originals performed live) played by the C load generator against a real switch, all `00`;
 * off-us frames are on the off-us BIN and the host simulator of `posp start --demo --host-sim`
 * approves them.
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
import { framesCommand } from '../../src/cli/frames.js';
import { decodeFrameFile, encodeFrameFile, kindCounts, parseFrameMix, writeFrameFile, type FrameKind, type FramesOptions } from '../../src/loadgen/frames.js';
import { SimTerminal } from '../../src/loadgen/terminal.js';
import { DEMO, demoOffUsPan, demoPan } from '../../src/store/index.js';
import { DEFAULTS, startSwitch } from '../../src/switch/index.js';
import { classify, type TxnType } from '../../src/txn/index.js';
import { readSettlement } from '../hostsim/host-client.js';
import { RawClient, card, signedIn, sleep, startDemo, type Demo } from '../switch/harness.js';
import { suiteLogging } from '../suite-log.js';

const logging = suiteLogging('native-tools');

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
  errorSamples: string[];
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

const REALISTIC = 'sale:60,balance:15,void:10,preauth:8,completion:7';

t.test('--mix: the seven kinds with weights, and every bad input refused with a reason', async (t) => {
  t.same(parseFrameMix('sale'), { sale: 1, balance: 0, void: 0, preauth: 0, completion: 0, offus: 0, echo: 0 }, 'a bare kind weighs 1');
  t.same(parseFrameMix(REALISTIC), { sale: 60, balance: 15, void: 10, preauth: 8, completion: 7, offus: 0, echo: 0 });
  t.same(parseFrameMix('void:0.5,completion:2,balance:0'), { sale: 0, balance: 0, void: 0.5, preauth: 0, completion: 2, offus: 0, echo: 0 }, 'fractions and zeros');
  t.same(parseFrameMix('sale:3,offus'), { sale: 3, balance: 0, void: 0, preauth: 0, completion: 0, offus: 1, echo: 0 }, 'off-us sales');
  const bad: [string, RegExp][] = [
    ['refund:5', /unknown request kind "refund".*known: sale, balance, void, preauth, completion, offus, echo/],
    ['Sale', /unknown request kind "Sale"/],
    ['', /unknown request kind ""/],
    ['sale:60,,void:5', /unknown request kind ""/],
    ['sale:-1', /weight of sale .* non-negative number, got "-1"/],
    ['void:x', /weight of void .* got "x"/],
    ['preauth:', /weight of preauth .* got ""/],
    ['sale:1:2', /weight of sale .* got "1:2"/],
    ['completion:1e3', /weight of completion .* got "1e3"/],
    ['sale:1,sale:2', /sale appears twice/],
    ['sale:0,void:0', /at least one positive weight/],
  ];
  for (const [text, reason] of bad) t.throws(() => parseFrameMix(text), reason, `refused: "${text}"`);
});

t.test('every terminal gets the frames split by weight (largest remainder)', async (t) => {
  const mix = parseFrameMix(REALISTIC);
  t.same(kindCounts(mix, 100), { sale: 60, balance: 15, void: 10, preauth: 8, completion: 7, offus: 0, echo: 0 });
  t.same(kindCounts(mix, 60), { sale: 36, balance: 9, void: 6, preauth: 5, completion: 4, offus: 0, echo: 0 }, '36 9 6 4.8 4.2');
  t.same(kindCounts(mix, 1), { sale: 1, balance: 0, void: 0, preauth: 0, completion: 0, offus: 0, echo: 0 });
  t.same(kindCounts(parseFrameMix('sale:1,balance:1,void:1'), 7), { sale: 3, balance: 2, void: 2, preauth: 0, completion: 0, offus: 0, echo: 0 }, 'ties go to the earlier kind');
  t.same(kindCounts(parseFrameMix('void:0,completion'), 5), { sale: 0, balance: 0, void: 0, preauth: 0, completion: 5, offus: 0, echo: 0 }, 'a zero weight gets none');
  for (const n of [1, 7, 33, 1000]) {
    const c = kindCounts(mix, n);
    t.equal(Object.values(c).reduce((a, b) => a + b, 0), n, `${n} frames in all`);
  }
});

t.test('posp frames: usage errors exit 2 before anything is sent', async (t) => {
  const run = async (args: string[]): Promise<{ code: number; err: string }> => {
    let err = '';
    const code = await framesCommand(args, { out: () => undefined, err: (s) => (err += s) });
    return { code, err };
  };
  const out = path.join(os.tmpdir(), 'posp-frames-never-written.pfrm');
  const badMix = await run(['--out', out, '--port', '1', '--mix', 'sale:60,refund:5']);
  t.equal(badMix.code, 2);
  t.match(badMix.err, /unknown request kind "refund"/);
  t.match((await run(['--out', out, '--port', '1', '--mix'])).err, /--mix needs a value/);
  // 999000 frames fit the STANs alone, not with a live original for each void.
  const stans = await run(['--out', out, '--port', '1', '--per-terminal', '999000', '--mix', 'sale:1,void:1']);
  t.equal(stans.code, 2, 'refused before connecting (port 1 would fail otherwise)');
  t.match(stans.err, /plus 499500 live originals exceeds 999000 STANs/);
  t.notOk(fs.existsSync(out), 'no file written');
});

/** The Luhn check, done here rather than with the code that made the check digit. */
function luhnValid(pan: string): boolean {
  let sum = 0;
  for (let i = 0; i < pan.length; i++) {
    const d = Number(pan[pan.length - 1 - i]);
    sum += i % 2 === 0 ? d : d * 2 > 9 ? d * 2 - 9 : d * 2;
  }
  return sum % 10 === 0;
}

/** Until the switch's host link is up an off-us sale is `91`: waits for a live one (another terminal's) to get past that. */
async function hostLinkUp(t: Tap, demo: Demo): Promise<void> {
  const term = await signedIn(t, demo, 60);
  for (let i = 0; i < 100; i++) {
    const res = await term.request(term.sale({ pan: demoOffUsPan(1), expiry: DEMO.expiry, pin: DEMO.pin }, 100));
    if (res.text(39) !== '91') return;
    await sleep(100);
  }
  throw new Error('the host link did not come up within 10 s');
}

t.test('offus frames: off-us demo cards, and posp start --demo --host-sim gets each the host simulator\'s approval', async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'posp-frames-offus-'));
  const sw = await startSwitch(
    { ...DEFAULTS, dataDir, posPort: 0, adminPort: 0, demo: true, hostSim: true, hostSimPort: 0, workers: 1, ...logging.config },
    logging.log,
  );
  t.teardown(async () => {
    await sw.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  // Played before the link is up, an off-us frame would be 91 for good: its STAN is spent.
  await hostLinkUp(t, { sw, dataDir, journalPath: '' });

  const file = path.join(dataDir, 'offus.pfrm');
  const summary = await writeFrameFile(file, {
    host: '127.0.0.1', port: sw.posPort, terminals: 2, perTerminal: 12, mix: parseFrameMix('sale:1,offus:2'), firstTid: DEMO.firstTid + 40,
    mid: DEMO.mid, tmk: DEMO.tmk, cards: 20, firstStan: 800, seed: 5,
  });
  t.same(summary.kinds, { sale: 8, balance: 0, void: 0, preauth: 0, completion: 0, offus: 16, echo: 0 }, '12 split 4/8 on each of 2 terminals');
  const frames = decodeFrameFile(fs.readFileSync(file));
  const requests = frames.map((terminal) => terminal.map((f) => decodeTerminalFrame(f, 0, f.length, true)));
  const offUs = requests.flat().filter((m) => m.text(2)!.startsWith(DEMO.offUsBin));
  t.equal(offUs.length, 16, 'the off-us frames are on BIN 621700');
  t.ok(offUs.every((m) => luhnValid(m.text(2)!)), 'with a good Luhn check digit');
  t.ok(offUs.every((m) => classify(m)?.type === 'sale' && m.has(52) && m.has(64)), 'sales with a PIN block, MACed');
  t.ok(offUs.every((m) => Number(m.text(4)) % 100 === 0), 'of whole yuan');
  t.ok(requests.flat().filter((m) => !offUs.includes(m)).every((m) => m.text(2)!.startsWith(DEMO.onUsBin)), 'the sales are on-us');

  // Played as the C loadgen plays a file: one connection per terminal, frames in order.
  const answered: { request: TerminalMessage; response: TerminalMessage }[] = [];
  for (const [i, terminal] of frames.entries()) {
    const client = await RawClient.connect(sw.posPort, t);
    for (const [k, frame] of terminal.entries()) {
      const response = await client.exchange(frame, 30_000);
      if (response === undefined) throw new Error(`terminal ${i} frame ${k}: no answer`);
      answered.push({ request: requests[i][k], response: decodeTerminalFrame(response, 0, response.length, true) });
    }
    client.close();
  }
  const codes: Record<string, number> = {};
  for (const { response } of answered) codes[response.text(39) ?? 'no F39'] = (codes[response.text(39) ?? 'no F39'] ?? 0) + 1;
  t.same(codes, { '00': 24 }, 'every frame approved');
  const settled = readSettlement(path.join(dataDir, 'hostsim'));
  const byHost = answered.filter(({ response }) => settled.some((r) => r.rrn === response.text(37) && r.auth_code === response.text(38) && r.response_code === '00'));
  t.same(byHost.map(({ request }) => request), offUs, "the off-us ones, and only those, carry the host simulator's approval (its settlement file has each RRN and auth code)");
});

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

  t.test('a frame file with every kind, played once by the C loadgen against a real switch: all 00', async (t) => {
    const demo = await startDemo(t);
    const kindOf: Partial<Record<TxnType, FrameKind>> = { sale: 'sale', 'balance-inquiry': 'balance', 'sale-void': 'void', 'pre-auth': 'preauth', 'pre-auth-completion': 'completion' };
    const options = (firstTid: number, seed: number): FramesOptions => ({
      host: '127.0.0.1', port: demo.sw.posPort, terminals: 3, perTerminal: 40, mix: parseFrameMix(REALISTIC), firstTid, mid: DEMO.mid,
      tmk: DEMO.tmk, cards: 20, firstStan: 500, seed,
    });
    /** Kinds of each terminal's frames in file order, with the decoded requests. */
    const kindsIn = (frames: Buffer[][]) => frames.map((terminal) => terminal.map((f) => {
      const msg = decodeTerminalFrame(f, 0, f.length, true);
      return { kind: kindOf[classify(msg)!.type]!, msg };
    }));
    const order = async (file: string, firstTid: number, seed: number): Promise<FrameKind[][]> => {
      await writeFrameFile(file, options(firstTid, seed));
      return kindsIn(decodeFrameFile(fs.readFileSync(file))).map((terminal) => terminal.map((f) => f.kind));
    };

    const file = path.join(work, 'mix.pfrm');
    const summary = await writeFrameFile(file, options(DEMO.firstTid + 10, 7));
    t.same(summary.kinds, { sale: 72, balance: 18, void: 12, preauth: 9, completion: 9, offus: 0, echo: 0 }, '40 split 24/6/4/3/3 on each of 3 terminals');
    t.equal(summary.originals, 21, 'a live sale per void and a live pre-auth per completion');
    t.equal(summary.firstStan, '000502', 'after the sign-in (501)');
    t.equal(summary.lastStan, '000548', 'the 7 originals, then the 40 frames');
    const frames = decodeFrameFile(fs.readFileSync(file));
    t.equal(frames.length, 3);
    const decoded = kindsIn(frames);
    for (const [i, term] of decoded.entries()) {
      const count = (k: FrameKind) => term.filter((f) => f.kind === k).length;
      t.same([count('sale'), count('balance'), count('void'), count('preauth'), count('completion')], [24, 6, 4, 3, 3], `terminal ${i}: every kind`);
      t.not(term.map((f) => f.kind).join(), [...term.map((f) => f.kind)].sort().join(), `terminal ${i}: kinds interleaved`);
      t.ok(term.every((f) => f.msg.text(41) === String(DEMO.firstTid + 10 + i) && f.msg.has(64)), `terminal ${i}: its TID, MACed`);
      for (const f of term.filter((f) => f.kind === 'void')) {
        t.match(f.msg.text(37), /^\d{12}$/, 'void: the live sale\'s RRN');
        t.match(f.msg.text(61), /^000001\d{6}/, 'void: the live sale\'s batch and STAN in F61');
      }
      for (const f of term.filter((f) => f.kind === 'completion')) {
        t.match(f.msg.text(38), /^[0-9A-Za-z]{6}$/, 'completion: the live pre-auth\'s auth code');
        t.match(f.msg.text(61), /^0{12}\d{4}$/, 'completion: the pre-auth date in 61.3');
      }
    }
    // Played one terminal per loadgen (the loadgen ends a run when its first terminal runs out), all at once.
    const played = await Promise.all(frames.map((terminal, i) => {
      const one = path.join(work, `mix-${i}.pfrm`);
      fs.writeFileSync(one, encodeFrameFile([terminal]));
      return loadgen(['--port', String(demo.sw.posPort), '--frames', one, '--duration', '60']);
    }));
    for (const [i, r] of played.entries()) {
      t.equal(r.ended, 'frames', `terminal ${i}: played to its last frame`);
      t.equal(r.framesUsed, 40, `terminal ${i}: every frame sent once`);
      t.same(r.codes, { '00': 40 }, `terminal ${i}: every answer 00 ${JSON.stringify(r.errorSamples)}`);
      t.equal(r.errors, 0, `terminal ${i}: no errors ${JSON.stringify(r.errorKinds)}`);
    }

    // The order depends on the seed and the terminal's place in the file, not on keys or TIDs.
    const first = decoded.map((terminal) => terminal.map((f) => f.kind));
    t.same(await order(path.join(work, 'same.pfrm'), DEMO.firstTid + 20, 7), first, 'same seed, same order');
    t.notSame(await order(path.join(work, 'other.pfrm'), DEMO.firstTid + 23, 8), first, 'another seed, another order');
  });

  t.test('echo test frames: an 0820 301 each, no MAC, every one answered 00 by a real switch', async (t) => {
    const demo = await startDemo(t);
    const file = path.join(work, 'echo.pfrm');
    const summary = await writeFrameFile(file, {
      host: '127.0.0.1', port: demo.sw.posPort, terminals: 1, perTerminal: 30, mix: parseFrameMix('echo'), firstTid: DEMO.firstTid + 50,
      mid: DEMO.mid, tmk: DEMO.tmk, cards: 20, firstStan: 900, seed: 3,
    });
    t.same(summary.kinds, { sale: 0, balance: 0, void: 0, preauth: 0, completion: 0, offus: 0, echo: 30 });
    const requests = decodeFrameFile(fs.readFileSync(file))[0].map((f) => decodeTerminalFrame(f, 0, f.length, true));
    t.ok(requests.every((m) => m.mti === '0820' && m.text(60)!.endsWith('301') && !m.has(64)), 'echo tests, without a MAC');
    const r = await loadgen(['--port', String(demo.sw.posPort), '--frames', file, '--duration', '60']);
    t.equal(r.framesUsed, 30, 'every frame sent once');
    t.same(r.codes, { '00': 30 }, `every answer 00 ${JSON.stringify(r.errorSamples)}`);
    t.equal(r.errors, 0, 'and checked: MTI 0830, its STAN');
  });

  t.test('a void or completion naming its original wrongly is counted as an error (the check above can fail)', async (t) => {
    const demo = await startDemo(t);
    const term = await signedIn(t, demo, 30);
    const c = card(7);
    const sale = term.sale(c, 1234);
    const preAuth = term.preAuth(c, 2000);
    const receipt = term.receipt(sale, await term.request(sale), 'sale');
    const held = term.receipt(preAuth, await term.request(preAuth), 'pre-auth');
    const file = path.join(work, 'wrong.pfrm');
    fs.writeFileSync(file, encodeFrameFile([[
      term.pack(term.saleVoid({ ...receipt, rrn: receipt.rrn === '000000000001' ? '000000000002' : '000000000001' })),
      term.pack(term.completion({ ...held, authCode: held.authCode === '000000' ? '000001' : '000000' }, 2000)),
      term.pack(term.saleVoid(receipt)),
    ]]));
    term.close();
    const r = await loadgen(['--port', String(demo.sw.posPort), '--frames', file, '--duration', '60']);
    t.same(r.codes, { '25': 2, '00': 1 }, 'wrong RRN and wrong auth code: 25; the right void: 00');
    t.equal(r.errorKinds.code, 2, 'each 25 is an error');
  });
}
