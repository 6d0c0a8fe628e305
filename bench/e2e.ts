/**
 * End-to-end benchmark: the switch measured side by side with the loopback ceiling, in one run.
 *
 *   npm run bench:e2e                      (make -C native-bench && tsc -p . && node dist/bench/e2e.js)
 *   node dist/bench/e2e.js [--seconds 5] [--rounds 3] [--scenarios sale-50,sale-200,echo-200,sale-1000,mix-200,short-200,latency,idle]
 *                          [--idle 10000] [--out bench/results/e2e.json] [--cpu-prof DIR] [--workers N]
 *                          [--switch-args '--apply-interval-ms 200 ...']
 *
 * For every scenario and round: `posp frames` signs the terminals in on a fresh switch (started as
 * a child process with the demo set-up in a new temporary data directory) and pre-builds that
 * round's requests; the native load generator (native-bench/loadgen) then plays them against the
 * native echo server (native-bench/echo: the ceiling, same connections, same frames, same client)
 * and against the switch. Every switch response is checked (MTI, F11, F39 = 00); a frame is never
 * sent twice to the switch. Three rounds each, medians reported, echo and switch interleaved so a
 * busy machine hurts both alike. The switch's CPU time per transaction comes from /proc.
 *
 * Scenarios: on-us sales with 50, 200 and 1,000 persistent terminals; a realistic mix of sales,
 * balance inquiries, voids, pre-auths and completions (200 terminals; `posp frames` performs the
 * voided sales and completed pre-auths live while preparing, so every frame is approved); 200
 * terminals with one transaction per connection; latency at 50% of the 200-terminal peak (open
 * loop); the switch's RSS with 10,000 idle connected terminals and active throughput with them vs
 * without. Writes bench/results/e2e.json. Targets are reported, not asserted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuSeconds, stop, threadCpu } from './child.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUILD = path.join(ROOT, 'native-bench', 'build');
const POSP = path.join(ROOT, 'bin', 'posp.js');

// ------------------------------------------------------------------------------------------ options

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const SECONDS = Number(argValue('seconds') ?? 5);
const ROUNDS = Number(argValue('rounds') ?? 3);
const IDLE = Number(argValue('idle') ?? 10_000);
const ALL = ['sale-50', 'sale-200', 'echo-200', 'sale-1000', 'mix-200', 'short-200', 'latency', 'idle'];
const ONLY = new Set((argValue('scenarios') ?? ALL.join(',')).split(','));
const OUT = path.resolve(ROOT, argValue('out') ?? 'bench/results/e2e.json');
/** Where the switch writes a CPU profile of each of its threads (`--cpu-prof`), when asked. */
const CPU_PROF = argValue('cpu-prof');
/** The switch's `--workers` (its own default when not given). */
const WORKERS = argValue('workers');
/** More `posp start` options for the switch under test (an experiment with its settings). */
const SWITCH_ARGS = (argValue('switch-args') ?? '').split(' ').filter(Boolean);
const MIX = 'sale:60,balance:15,void:10,preauth:8,completion:7';
/** `mix sale/balance/void/preauth/completion 60/15/10/8/7`, for the table. */
const MIX_LABEL = `mix ${MIX.split(',').map((p) => p.split(':')[0]).join('/')} ${MIX.split(',').map((p) => p.split(':')[1]).join('/')}`;

// ------------------------------------------------------------------------------------------ child processes

/** Every process this benchmark started, killed by its pid if the benchmark ends early. */
const children = new Set<ChildProcess>();
function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}
function killChildren(): void {
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}
process.on('exit', killChildren);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    killChildren();
    process.exit(130);
  });
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (killed after timeoutMs). */
function run(cmd: string, args: string[], timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = track(spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Resolves with the first stdout line matching `re` (the child keeps running). */
function waitForLine(child: ChildProcess, re: RegExp, timeoutMs: number, what: string): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    let stderr = '';
    const timer = setTimeout(() => done(new Error(`${what} did not report ready within ${timeoutMs} ms: ${stderr.slice(-500)}`)), timeoutMs);
    const onData = (d: Buffer) => {
      buffered += d.toString();
      for (const line of buffered.split('\n')) {
        const m = re.exec(line);
        if (m) return done(undefined, m);
      }
    };
    const onErr = (d: Buffer) => (stderr += d.toString());
    const onExit = (code: number | null) => done(new Error(`${what} exited (${code}) before it was ready: ${stderr.slice(-500)}`));
    const done = (err?: Error, m?: RegExpExecArray) => {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.stderr!.off('data', onErr);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(m!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onErr);
    child.once('exit', onExit);
  });
}

// ------------------------------------------------------------------------------------------ /proc

function rssKB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** VmRSS and its parts (anonymous, file-backed such as LMDB's map, shared memory), in kB. */
function rssParts(pid: number): { rss: number; anon: number; file: number; shmem: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile'), shmem: kb('RssShmem') };
}

function openFds(pid: number): number {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

function machine(): Record<string, unknown> {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  return {
    cores: os.cpus().length,
    model: /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown',
    node: process.version,
    kernel: os.release(),
    memoryMB: Math.round(os.totalmem() / 1048576),
    loadavgAtStart: os.loadavg().map((l) => Number(l.toFixed(2))),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------------------------------ the tools

/** What native-bench/loadgen prints. */
interface LoadgenResult {
  mode: string;
  short: boolean;
  echo: boolean;
  connections: number;
  rateTarget?: number;
  seconds: number;
  ended: string;
  responses: number;
  tps: number;
  latencyUs: { min: number; mean: number; p50: number; p90: number; p99: number; p999: number; max: number };
  checked: number;
  codes: Record<string, number>;
  errors: number;
  errorKinds: Record<string, number>;
  errorSamples: string[];
  framesUsed: number;
  exhausted: boolean;
  clientCpuSeconds: number;
  /** Added here: CPU seconds of the server process over the run, per transaction (µs), load average. */
  serverCpuSeconds?: number;
  serverCpuUsPerTxn?: number;
  loadavg1?: number;
}

async function loadgen(port: number, framesFile: string, extra: string[], serverPid?: number): Promise<LoadgenResult> {
  const before = serverPid ? cpuSeconds(serverPid) : 0;
  const res = await run(path.join(BUILD, 'loadgen'), ['--port', String(port), '--frames', framesFile, ...extra], (SECONDS + 60) * 1000);
  if (res.code !== 0) throw new Error(`loadgen failed (${res.code}): ${res.stderr.trim()}`);
  const out = JSON.parse(res.stdout) as LoadgenResult;
  if (serverPid) {
    out.serverCpuSeconds = cpuSeconds(serverPid) - before;
    out.serverCpuUsPerTxn = out.checked > 0 ? (out.serverCpuSeconds * 1e6) / out.checked : NaN;
  }
  out.loadavg1 = Number(os.loadavg()[0].toFixed(2));
  return out;
}

interface EchoServer {
  port: number;
  child: ChildProcess;
}

async function startEcho(): Promise<EchoServer> {
  const child = track(spawn(path.join(BUILD, 'echo'), ['0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
  const m = await waitForLine(child, /^(\d+)$/, 5000, 'echo server');
  return { port: Number(m[1]), child };
}

interface Switch {
  port: number;
  pid: number;
  child: ChildProcess;
  dataDir: string;
  /** Next free STAN: every frame file gets its own range, so no request is ever a retransmission. */
  nextStan: number;
  logLines: number;
  logTail: string[];
}

async function startSwitch(): Promise<Switch> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'posp-e2e-'));
  // 10,000 idle terminals need more open files than the default limit; exec keeps the pid.
  const script = 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"';
  const profile = CPU_PROF === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', path.resolve(CPU_PROF)];
  const args = [...profile, POSP, 'start', '--demo', '--data', dataDir, '--pos-port', '0', '--admin-port', '0', '--api-port', '0', '--log-level', 'warn', ...(WORKERS === undefined ? [] : ['--workers', WORKERS]), ...SWITCH_ARGS];
  const child = track(spawn('bash', ['-c', script, process.execPath, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
  const m = await waitForLine(child, /posp: terminals on [\d.]+:(\d+)/, 120_000, 'the switch');
  const sw: Switch = { port: Number(m[1]), pid: child.pid!, child, dataDir, nextStan: 1000, logLines: 0, logTail: [] };
  // Keep draining its output (a full pipe would stall it); keep what it logs for the report.
  const onLog = (d: Buffer) => {
    for (const line of d.toString().split('\n')) {
      // The start-up lines (its ports, the demo's admin token) are what it always prints, not news.
      if (!line.trim() || /^posp: |admin token: /.test(line)) continue;
      sw.logLines++;
      sw.logTail.push(line.slice(0, 300));
      if (sw.logTail.length > 5) sw.logTail.shift();
    }
  };
  child.stdout!.on('data', onLog);
  child.stderr!.on('data', onLog);
  return sw;
}

async function stopSwitch(sw: Switch): Promise<void> {
  await stop(sw.child);
  fs.rmSync(sw.dataDir, { recursive: true, force: true });
}

interface FramesSummary {
  file: string;
  terminals: number;
  perTerminal: number;
  frames: number;
  kinds: Record<string, number>;
  /** Sales and pre-auths performed live for the voids and completions. */
  originals: number;
  bytes: number;
  firstStan: string;
  lastStan: string;
  liveMs: number;
  buildMs: number;
}

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'posp-e2e-frames-'));
process.on('exit', () => fs.rmSync(TMP, { recursive: true, force: true }));
let fileSeq = 0;

/** Signs `terminals` in on the switch and writes `perTerminal` requests for each (a fresh STAN range). */
async function frames(sw: Switch, terminals: number, perTerminal: number, mix: string): Promise<FramesSummary> {
  const firstStan = sw.nextStan;
  // The sign-in, at most one live original per frame (voids, completions), the frames.
  if (firstStan + 1 + 2 * perTerminal > 999_000) throw new Error('STAN range of this switch used up: fewer frames per run, or a new switch');
  const file = path.join(TMP, `frames-${++fileSeq}.pfrm`);
  const args = [POSP, 'frames', '--out', file, '--port', String(sw.port), '--terminals', String(terminals), '--per-terminal', String(perTerminal),
    '--mix', mix, '--first-stan', String(firstStan), '--seed', String(fileSeq), '--json'];
  const res = await run(process.execPath, args, 300_000);
  if (res.code !== 0) throw new Error(`posp frames failed (${res.code}): ${res.stderr.trim()}`);
  const summary = JSON.parse(res.stdout.trim().split('\n').pop()!) as FramesSummary;
  sw.nextStan = Number(summary.lastStan) + 1;
  return summary;
}

async function idleConnections(port: number, count: number): Promise<{ child: ChildProcess; connected: number; failed: number; ms: number }> {
  // stdin is a pipe: when this benchmark dies, the holder sees end of file and lets go.
  const child = track(spawn(path.join(BUILD, 'idle'), ['--port', String(port), '--connections', String(count)], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] }));
  const m = await waitForLine(child, /^\{"connected":(\d+),"failed":(\d+),"ms":([\d.]+)\}/, 120_000, 'idle connections');
  return { child, connected: Number(m[1]), failed: Number(m[2]), ms: Number(m[3]) };
}

// ------------------------------------------------------------------------------------------ measuring

function median(values: number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
}

interface Round {
  frames: FramesSummary;
  echo?: LoadgenResult;
  switch: LoadgenResult;
  /** Earlier attempts that ran out of frames too early. */
  retries: number;
  /** CPU of the switch's threads by role over the switch run (µs per response); "main" is the acceptor's thread, "helpers" V8's and libuv's. */
  threads?: { thread: string; cpuSeconds: number; usPerTxn: number }[];
}

interface ScenarioResult {
  id: string;
  label: string;
  terminals: number;
  mode: string;
  mix: string;
  rate?: number;
  rounds: Round[];
  median: {
    echoTps: number;
    switchTps: number;
    ratio: number;
    switchP50Us: number;
    switchP99Us: number;
    echoP50Us: number;
    echoP99Us: number;
    switchCpuUsPerTxn: number;
  };
  switchErrors: number;
  echoErrors: number;
  notes: string[];
}

interface RoundPlan {
  sw: Switch;
  echo: EchoServer | undefined;
  terminals: number;
  mix: string;
  /** Extra loadgen options (--short, --rate R). */
  mode: string[];
  /** Expected switch TPS, to size the frame files. */
  estimate: number;
  seconds: number;
  /** Record the switch's CPU per thread over the switch run. */
  threads?: boolean;
}

/** One round: frames, then echo (if any) and switch with the same frames and options. */
async function round(plan: RoundPlan): Promise<Round> {
  let estimate = plan.estimate;
  let retries = 0;
  for (;;) {
    const perTerminal = Math.min(50_000, Math.ceil((estimate * plan.seconds * 1.5) / plan.terminals) + 20);
    const f = await frames(plan.sw, plan.terminals, perTerminal, plan.mix);
    const common = ['--connections', String(plan.terminals), '--duration', String(plan.seconds), ...plan.mode];
    const echo = plan.echo ? await loadgen(plan.echo.port, f.file, [...common, '--echo']) : undefined;
    const before = plan.threads ? threadCpu(plan.sw.pid) : undefined;
    const sw = await loadgen(plan.sw.port, f.file, common, plan.sw.pid);
    const after = plan.threads ? threadCpu(plan.sw.pid) : undefined;
    fs.rmSync(f.file, { force: true });
    // Out of frames well before the end: the switch was faster than expected; again with more.
    if (sw.exhausted && sw.seconds < 0.8 * plan.seconds && retries < 2) {
      retries++;
      estimate = Math.max(estimate * 2, (sw.tps || 1) * 1.5);
      continue;
    }
    let threads: Round['threads'];
    if (before && after) {
      // By role: the switch names its threads (posp-book, posp-apply, posp-worker-N, ...); the rest are V8's and libuv's.
      const byRole = new Map<string, number>();
      for (const [t, cpu] of after) {
        const [tid, name] = [Number(t.slice(0, t.indexOf(' '))), t.slice(t.indexOf(' ') + 1)];
        const role = tid === plan.sw.pid ? 'main' : name.startsWith('posp-') ? name : 'helpers';
        byRole.set(role, (byRole.get(role) ?? 0) + cpu - (before.get(t) ?? 0));
      }
      threads = [...byRole]
        .map(([thread, cpuSeconds]) => ({ thread, cpuSeconds }))
        .filter((d) => d.cpuSeconds > 0)
        .sort((a, b) => b.cpuSeconds - a.cpuSeconds)
        .map((d) => ({ ...d, usPerTxn: (d.cpuSeconds * 1e6) / Math.max(1, sw.checked) }));
    }
    return { frames: { ...f, file: path.basename(f.file) }, echo, switch: sw, retries, threads };
  }
}

/** A short run on a fresh switch so the JIT has compiled the hot paths; its TPS sizes round 1. */
async function warmUp(sw: Switch, terminals: number, mix: string, mode: string[]): Promise<number> {
  const f = await frames(sw, terminals, 60, mix);
  const res = await loadgen(sw.port, f.file, ['--connections', String(terminals), '--duration', '2', ...mode.filter((m) => m === '--short')]);
  fs.rmSync(f.file, { force: true });
  if (res.errors > 0) throw new Error(`warm-up run had ${res.errors} errors: ${res.errorSamples.join('; ')}`);
  return Math.max(res.tps, 100);
}

function summarize(id: string, label: string, terminals: number, mode: string, mix: string, rounds: Round[], rate?: number): ScenarioResult {
  const echoTps = median(rounds.map((r) => r.echo?.tps ?? NaN));
  const switchTps = median(rounds.map((r) => r.switch.tps));
  const notes: string[] = [];
  const switchErrors = rounds.reduce((a, r) => a + r.switch.errors, 0);
  const echoErrors = rounds.reduce((a, r) => a + (r.echo?.errors ?? 0), 0);
  if (switchErrors > 0) notes.push(`switch errors: ${switchErrors} (${[...new Set(rounds.flatMap((r) => r.switch.errorSamples))].slice(0, 3).join('; ')})`);
  if (echoErrors > 0) notes.push(`echo errors: ${echoErrors}`);
  for (const [i, r] of rounds.entries()) {
    if (r.switch.exhausted && r.switch.seconds < 0.9 * SECONDS) notes.push(`round ${i + 1}: frames ran out after ${r.switch.seconds.toFixed(1)} s (measured window shortened)`);
  }
  return {
    id,
    label,
    terminals,
    mode,
    mix,
    rate,
    rounds,
    median: {
      echoTps,
      switchTps,
      ratio: switchTps / echoTps,
      switchP50Us: median(rounds.map((r) => r.switch.latencyUs.p50)),
      switchP99Us: median(rounds.map((r) => r.switch.latencyUs.p99)),
      echoP50Us: median(rounds.map((r) => r.echo?.latencyUs.p50 ?? NaN)),
      echoP99Us: median(rounds.map((r) => r.echo?.latencyUs.p99 ?? NaN)),
      switchCpuUsPerTxn: median(rounds.map((r) => r.switch.serverCpuUsPerTxn ?? NaN)),
    },
    switchErrors,
    echoErrors,
    notes,
  };
}

function log(line: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

function roundLine(r: Round): string {
  const e = r.echo ? `echo ${r.echo.tps.toFixed(0)} TPS p99 ${(r.echo.latencyUs.p99 / 1000).toFixed(2)} ms, ` : '';
  const s = r.switch;
  return `${e}switch ${s.tps.toFixed(0)} TPS p50 ${(s.latencyUs.p50 / 1000).toFixed(2)} p99 ${(s.latencyUs.p99 / 1000).toFixed(2)} ms, ` +
    `${s.serverCpuUsPerTxn?.toFixed(0)} µs CPU/txn, errors ${s.errors}, load ${s.loadavg1}`;
}

/** A closed- or open-loop scenario on its own fresh switch. */
async function scenario(id: string, label: string, echo: EchoServer, terminals: number, mix: string, mode: string[], opts: { rate?: number; threads?: boolean } = {}): Promise<ScenarioResult> {
  log(`${label}: starting a fresh switch`);
  const sw = await startSwitch();
  try {
    const warm = await warmUp(sw, terminals, mix, mode);
    let estimate = opts.rate ?? warm * 1.5;
    const rounds: Round[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const r = await round({ sw, echo, terminals, mix, mode, estimate, seconds: SECONDS, threads: opts.threads });
      rounds.push(r);
      if (opts.rate === undefined) estimate = Math.max(estimate, r.switch.tps * 1.2);
      log(`${label} round ${i + 1}: ${roundLine(r)}`);
    }
    const result = summarize(id, label, terminals, mode.join(' ') || 'persistent', mix, rounds, opts.rate);
    if (sw.logLines > 0) result.notes.push(`switch logged ${sw.logLines} warn+ lines, last: ${sw.logTail[sw.logTail.length - 1]}`);
    return result;
  } finally {
    await stopSwitch(sw);
  }
}

interface MemoryResult {
  idleConnections: number;
  connected: number;
  failed: number;
  connectMs: number;
  switchAccepted: number;
  rssBaselineKB: number;
  /** The largest of the samples (one per time the idle terminals were connected). */
  rssWithIdleKB: number;
  rssWithIdleSamplesKB: number[];
  rssBeforeConnectKB: number[];
  rssWithIdlePartsKB: { rss: number; anon: number; file: number; shmem: number };
  rssPerConnectionKB: number;
  without: ScenarioResult;
  with: ScenarioResult;
  throughputLoss: number;
}

/**
 * RSS with many idle terminals connected, and active throughput with them vs without. Rounds run
 * in the order without, with, with, without, without, with (...), so warming up and the machine's
 * other work do not favour one side.
 */
async function memoryScenario(echo: EchoServer): Promise<MemoryResult> {
  const terminals = 200;
  log(`memory: starting a fresh switch`);
  const sw = await startSwitch();
  let held: Awaited<ReturnType<typeof idleConnections>> | undefined;
  let echoHeld: ChildProcess | undefined;
  try {
    const warm = await warmUp(sw, terminals, 'sale', []);
    let estimate = warm * 1.5;
    await sleep(500);
    const rssBaselineKB = rssKB(sw.pid);
    const fdsBefore = openFds(sw.pid);
    const rssWith: number[] = [];
    const rssWithParts: ReturnType<typeof rssParts>[] = [];
    let accepted = 0;
    let connected = 0;
    let failed = 0;
    let connectMs = 0;
    const rssBefore: number[] = [];
    const connect = async (): Promise<void> => {
      rssBefore.push(rssKB(sw.pid));
      log(`memory: switch RSS ${(rssBefore[rssBefore.length - 1] / 1024).toFixed(0)} MB; connecting ${IDLE} idle terminals (and as many to the echo server)`);
      const [h, e] = await Promise.all([idleConnections(sw.port, IDLE), idleConnections(echo.port, IDLE)]);
      held = h;
      echoHeld = e.child;
      // Wait until the switch has accepted them all (its open descriptors stop growing).
      accepted = openFds(sw.pid) - fdsBefore;
      for (let i = 0; i < 120 && accepted < h.connected; i++) {
        await sleep(500);
        accepted = openFds(sw.pid) - fdsBefore;
      }
      await sleep(1500);
      rssWith.push(rssKB(sw.pid));
      rssWithParts.push(rssParts(sw.pid));
      connected = h.connected;
      failed = h.failed;
      connectMs = h.ms;
      log(`memory: ${h.connected} connected (${h.failed} failed) in ${h.ms.toFixed(0)} ms, switch accepted ${accepted}, RSS ${(rssWith[rssWith.length - 1] / 1024).toFixed(0)} MB`);
    };
    const disconnect = async (): Promise<void> => {
      if (held) await stop(held.child, 5000);
      if (echoHeld) await stop(echoHeld, 5000);
      held = undefined;
      echoHeld = undefined;
      // Until the switch has closed its side of them.
      for (let i = 0; i < 60 && openFds(sw.pid) > fdsBefore + 50; i++) await sleep(500);
    };
    const without: Round[] = [];
    const withIdle: Round[] = [];
    const order = Array.from({ length: 2 * ROUNDS }, (_, i) => [false, true, true, false][i % 4]);
    for (const idle of order) {
      if (idle && !held) await connect();
      if (!idle && held) await disconnect();
      const r = await round({ sw, echo, terminals, mix: 'sale', mode: [], estimate, seconds: SECONDS });
      estimate = Math.max(estimate, r.switch.tps * 1.2);
      (idle ? withIdle : without).push(r);
      log(`memory, ${idle ? `${IDLE} idle connections` : 'no idle connections'}, round ${(idle ? withIdle : without).length}: ${roundLine(r)}`);
    }
    const withoutResult = summarize('idle-0', `${terminals} terminals, no idle connections`, terminals, 'persistent', 'sale', without);
    const withResult = summarize('idle-10k', `${terminals} terminals + ${IDLE.toLocaleString('en-US')} idle`, terminals, 'persistent', 'sale', withIdle);
    if (sw.logLines > 0) withResult.notes.push(`switch logged ${sw.logLines} warn+ lines, last: ${sw.logTail[sw.logTail.length - 1]}`);
    const rssWithIdleKB = Math.max(...rssWith);
    return {
      idleConnections: IDLE,
      connected,
      failed,
      connectMs,
      switchAccepted: accepted,
      rssBaselineKB,
      rssWithIdleKB,
      rssWithIdleSamplesKB: rssWith,
      rssBeforeConnectKB: rssBefore,
      rssWithIdlePartsKB: rssWithParts[rssWith.indexOf(rssWithIdleKB)],
      // What connecting them added, the first time (RSS just before vs just after).
      rssPerConnectionKB: (rssWith[0] - rssBefore[0]) / Math.max(1, connected),
      without: withoutResult,
      with: withResult,
      throughputLoss: 1 - withResult.median.switchTps / withoutResult.median.switchTps,
    };
  } finally {
    if (held) await stop(held.child, 5000);
    if (echoHeld) await stop(echoHeld, 5000);
    await stopSwitch(sw);
  }
}

// ------------------------------------------------------------------------------------------ report

const fmtInt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');
const fmtMs = (us: number) => (Number.isFinite(us) ? (us / 1000).toFixed(2) : '-');

function table(rows: ScenarioResult[]): string {
  const head = ['scenario', 'echo TPS', 'switch TPS', 'ratio', 'switch p50 / p99 ms', 'CPU µs/txn', 'errors'];
  const body = rows.map((r) => [
    r.label,
    fmtInt(r.median.echoTps),
    fmtInt(r.median.switchTps),
    Number.isFinite(r.median.ratio) ? r.median.ratio.toFixed(3) : '-',
    `${fmtMs(r.median.switchP50Us)} / ${fmtMs(r.median.switchP99Us)}`,
    fmtInt(r.median.switchCpuUsPerTxn),
    String(r.switchErrors),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ') + ' |';
  return [line(head), '|' + widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|', ...body.map(line)].join('\n');
}

// ------------------------------------------------------------------------------------------ main

async function main(): Promise<void> {
  for (const tool of ['echo', 'loadgen', 'idle']) {
    if (!fs.existsSync(path.join(BUILD, tool))) throw new Error(`native-bench/build/${tool} is missing: run make -C native-bench (npm run bench:e2e does)`);
  }
  const started = Date.now();
  const info = machine();
  log(`machine: ${info.cores} cores, ${info.model}, node ${info.node}, load average ${(info.loadavgAtStart as number[]).join(' ')}`);
  log(`${ROUNDS} rounds of ${SECONDS} s per scenario: ${[...ONLY].join(', ')}`);
  const echo = await startEcho();
  const rows: ScenarioResult[] = [];
  let memory: MemoryResult | undefined;
  try {
    if (ONLY.has('sale-50')) rows.push(await scenario('sale-50', 'on-us sale, 50 persistent terminals', echo, 50, 'sale', []));
    let peak200: ScenarioResult | undefined;
    if (ONLY.has('sale-200') || ONLY.has('latency')) {
      peak200 = await scenario('sale-200', 'on-us sale, 200 persistent terminals', echo, 200, 'sale', [], { threads: true });
      rows.push(peak200);
    }
    // What any request costs the switch (framing, a worker, a journal entry, LMDB's apply) with no business work: the floor under the sale.
    if (ONLY.has('echo-200')) rows.push(await scenario('echo-200', 'echo test (0820 301), 200 persistent terminals', echo, 200, 'echo', [], { threads: true }));
    if (ONLY.has('sale-1000')) rows.push(await scenario('sale-1000', 'on-us sale, 1,000 persistent terminals', echo, 1000, 'sale', []));
    if (ONLY.has('mix-200')) rows.push(await scenario('mix-200', `${MIX_LABEL}, 200 persistent`, echo, 200, MIX, []));
    if (ONLY.has('short-200')) rows.push(await scenario('short-200', 'on-us sale, 200 terminals, 1 txn/connection', echo, 200, 'sale', ['--short']));
    if (ONLY.has('latency') && peak200) {
      const rate = Math.max(10, Math.round(peak200.median.switchTps / 2));
      rows.push(await scenario('latency-200', `sale at 50% of 200-terminal peak (${fmtInt(rate)}/s)`, echo, 200, 'sale', ['--rate', String(rate)], { rate }));
      // The same rate of echo tests: the latency of the switch's structure alone (every hop, the journal's fsync).
      rows.push(await scenario('latency-echo-200', `echo test at the same rate (${fmtInt(rate)}/s)`, echo, 200, 'echo', ['--rate', String(rate)], { rate }));
    }
    if (ONLY.has('idle')) {
      memory = await memoryScenario(echo);
      rows.push(memory.without, memory.with);
    }
  } finally {
    await stop(echo.child, 2000);
  }

  const byId = new Map(rows.map((r) => [r.id, r]));
  const targets: { target: string; value: string; met: boolean | null }[] = [];
  const s200 = byId.get('sale-200');
  if (s200) {
    targets.push({ target: 'on-us sale TPS, 200 persistent terminals >= 0.20 of the echo ceiling', value: s200.median.ratio.toFixed(3), met: s200.median.ratio >= 0.2 });
    targets.push({ target: 'on-us sale, 200 persistent terminals: <= 60 µs of switch CPU per transaction', value: `${s200.median.switchCpuUsPerTxn.toFixed(0)} µs`, met: s200.median.switchCpuUsPerTxn <= 60 });
  }
  const lat = byId.get('latency-200');
  if (lat) {
    targets.push({ target: 'p50 <= 2 ms at 50% load', value: `${fmtMs(lat.median.switchP50Us)} ms`, met: lat.median.switchP50Us <= 2000 });
    targets.push({ target: 'p99 <= 10 ms at 50% load', value: `${fmtMs(lat.median.switchP99Us)} ms`, met: lat.median.switchP99Us <= 10_000 });
  }
  if (memory) {
    targets.push({ target: `RSS with ${IDLE.toLocaleString('en-US')} idle terminals <= 400 MB`, value: `${(memory.rssWithIdleKB / 1024).toFixed(0)} MB`, met: memory.rssWithIdleKB <= 400 * 1024 });
    targets.push({ target: `active throughput loss with ${IDLE.toLocaleString('en-US')} idle terminals <= 5%`, value: `${(memory.throughputLoss * 100).toFixed(1)}%`, met: memory.throughputLoss <= 0.05 });
  }
  const short = byId.get('short-200');
  if (short && s200) {
    const share = short.median.switchTps / s200.median.switchTps;
    targets.push({ target: 'short connections >= 25% of persistent (200 terminals)', value: `${(share * 100).toFixed(1)}%`, met: share >= 0.25 });
  }

  const result = {
    benchmark: 'e2e',
    startedAt: new Date(started).toISOString(),
    seconds: (Date.now() - started) / 1000,
    machine: { ...info, loadavgAtEnd: os.loadavg().map((l) => Number(l.toFixed(2))) },
    settings: { secondsPerMeasurement: SECONDS, rounds: ROUNDS, idleConnections: IDLE, mix: MIX, statistic: 'median of rounds' },
    scenarios: rows,
    memory: memory && {
      idleConnections: memory.idleConnections,
      connected: memory.connected,
      failed: memory.failed,
      connectMs: memory.connectMs,
      switchAccepted: memory.switchAccepted,
      rssBaselineKB: memory.rssBaselineKB,
      rssWithIdleKB: memory.rssWithIdleKB,
      rssWithIdleSamplesKB: memory.rssWithIdleSamplesKB,
      rssBeforeConnectKB: memory.rssBeforeConnectKB,
      rssWithIdlePartsKB: memory.rssWithIdlePartsKB,
      rssPerConnectionKB: memory.rssPerConnectionKB,
      throughputWithoutIdle: memory.without.median.switchTps,
      throughputWithIdle: memory.with.median.switchTps,
      throughputLoss: memory.throughputLoss,
    },
    targets,
  };
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT + '.tmp', JSON.stringify(result, null, 2) + '\n');
  fs.renameSync(OUT + '.tmp', OUT);

  const out: string[] = [];
  out.push(`posp end-to-end benchmark: ${info.cores} cores (${info.model}), node ${info.node}, ${ROUNDS} rounds × ${SECONDS} s, medians`);
  out.push(`load average at start ${(info.loadavgAtStart as number[]).join(' ')}, at end ${result.machine.loadavgAtEnd.join(' ')} (the machine is shared: other work skews both columns)`);
  out.push('');
  out.push(table(rows));
  out.push('');
  out.push('echo = native-bench/echo + native-bench/loadgen, same connections, frames and client; ratio = switch / echo;');
  out.push('CPU µs/txn = the switch process\'s CPU time (all threads) over the run per response.');
  if (lat) out.push(`latency at 50% load: switch p50 ${fmtMs(lat.median.switchP50Us)} ms, p99 ${fmtMs(lat.median.switchP99Us)} ms; echo at the same rate p50 ${fmtMs(lat.median.echoP50Us)} ms, p99 ${fmtMs(lat.median.echoP99Us)} ms (open loop, from when each request was due)`);
  if (memory) {
    out.push(`memory: switch RSS ${(memory.rssBaselineKB / 1024).toFixed(0)} MB after warm-up, at most ${(memory.rssWithIdleKB / 1024).toFixed(0)} MB with ${memory.connected.toLocaleString('en-US')} idle terminals connected ` +
      `(anonymous ${(memory.rssWithIdlePartsKB.anon / 1024).toFixed(0)} MB, file-backed ${(memory.rssWithIdlePartsKB.file / 1024).toFixed(0)} MB, shared ${(memory.rssWithIdlePartsKB.shmem / 1024).toFixed(0)} MB) ` +
      `(connecting them added ${memory.rssPerConnectionKB.toFixed(1)} KB each; switch accepted ${memory.switchAccepted}); active throughput ${fmtInt(memory.with.median.switchTps)} TPS with them vs ${fmtInt(memory.without.median.switchTps)} without (${(memory.throughputLoss * 100).toFixed(1)}% loss)`);
  }
  const byThread = rows.filter((r) => r.rounds[r.rounds.length - 1].threads !== undefined);
  for (const r of byThread) {
    const threads = r.rounds[r.rounds.length - 1].threads!;
    out.push(`switch CPU by thread, µs per transaction (${r.label}, last round): ${threads.map((t) => `${t.thread} ${t.usPerTxn.toFixed(0)}`).join(', ')}`);
  }
  if (byThread.length > 0) out.push('  ("main" runs the acceptor; "helpers" are V8\'s and libuv\'s threads: GC, compiler, the journal\'s fsync)');
  for (const r of rows) for (const n of r.notes) out.push(`note (${r.id}): ${n}`);
  out.push('');
  out.push('targets (reported, not asserted):');
  for (const t of targets) out.push(`  ${t.met ? 'met    ' : 'NOT met'}  ${t.target}: ${t.value}`);
  out.push('');
  out.push(`results in ${path.relative(ROOT, OUT)} (${result.seconds.toFixed(0)} s)`);
  process.stdout.write(out.join('\n') + '\n');
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err instanceof Error ? err.stack ?? err.message : String(err));
    killChildren();
    process.exit(1);
  },
);
