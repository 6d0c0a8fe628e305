/**
 * Soak benchmark: the switch at peak for minutes, optionally with a CPU hog beside it, to see
 * whether throughput, tail latency, apply lag, WAL size and memory stay flat.
 *
 *   npm run bench:soak [-- --hog]           (tsc -p . && node dist/bench/soak.js)
 *   node dist/bench/soak.js [--hog] [--minutes 10] [--every 10] [--terminals 200] [--out bench/results/soak[-hog].json]
 *
 * The switch runs as a child process with the demo set-up in a new temporary data directory
 * (deleted at the end). 200 simulated terminals (SimTerminal, persistent connections, valid MACs
 * and PIN blocks) sign in, then each keeps one request outstanding, mix sale/balance/void/pre-auth/
 * completion 60/15/10/8/7 (voids and completions name the terminal's own earlier approvals). The
 * terminals run in this process: it competes for the CPU with the switch as a separate load
 * generator would. `--hog` spawns one CPU-bound process (`node -e 'for(;;){}'`) just before the
 * load; switch, hog and load are all started from this process, so they share its session and
 * scheduling group.
 *
 * Every `--every` seconds one line: TPS and p99 latency of the interval (every answer counts,
 * whatever its code; a non-00 code or a failed exchange is an error); apply lag (journal entries
 * durable but not yet in LMDB) now and the most seen, sampled every 200 ms from the admin
 * `/metrics`, with its bound; time the book spent throttled in the interval; the largest size of
 * the current day's `-wal` file seen (stat'ed every 200 ms) against the WAL limit; the apply
 * thread's nice value; the switch's anonymous and file-backed RSS; journal and LMDB bytes per
 * transaction since the load started (growth of `<data>/journal/*` incl. -wal/-shm and of
 * `<data>/state*`, divided by the answers the terminals received). At the end a summary and
 * bench/results/soak[-hog].json. Figures are reported, never asserted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as hdr from 'hdr-histogram-js';
import type { TerminalMessage } from '../src/codec/index.js';
import { SimTerminal, type Receipt } from '../src/loadgen/index.js';
import { DEMO, demoPan } from '../src/store/index.js';
import { stop } from './child.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const POSP = path.join(ROOT, 'bin', 'posp.js');

// ------------------------------------------------------------------------------------------ options

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const HOG = process.argv.includes('--hog');
const MINUTES = Number(argValue('minutes') ?? 10);
const EVERY_S = Number(argValue('every') ?? 10);
const TERMINALS = Number(argValue('terminals') ?? 200);
const OUT = path.resolve(ROOT, argValue('out') ?? `bench/results/soak${HOG ? '-hog' : ''}.json`);
const SAMPLE_MS = 200;
const MIX: [Kind, number][] = [['sale', 60], ['balance', 15], ['void', 10], ['preauth', 8], ['completion', 7]];
if (!(MINUTES > 0) || !(EVERY_S > 0) || !(TERMINALS >= 1)) {
  console.error('usage: node dist/bench/soak.js [--hog] [--minutes M] [--every S] [--terminals N] [--out FILE]');
  process.exit(2);
}

// ------------------------------------------------------------------------------------------ child processes

/** Every process this benchmark started, killed by its pid if the benchmark ends early. */
const children = new Set<ChildProcess>();
function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}
const DATA = fs.mkdtempSync(path.join(os.tmpdir(), 'posp-soak-'));
function cleanUp(): void {
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  fs.rmSync(DATA, { recursive: true, force: true });
}
process.on('exit', cleanUp);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    cleanUp();
    process.exit(130);
  });
}

interface Switch {
  child: ChildProcess;
  pid: number;
  port: number;
  adminPort: number;
  logTail: string[];
}

async function startSwitch(): Promise<Switch> {
  const args = [POSP, 'start', '--demo', '--data', DATA, '--pos-port', '0', '--admin-port', '0', '--api-port', '0', '--log-level', 'warn'];
  const child = track(spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
  const logTail: string[] = [];
  // Keep draining its output (a full pipe would stall it); keep the last lines for the report.
  let buffered = '';
  const ready = new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the switch did not report ready within 120 s: ${logTail.join(' | ')}`)), 120_000);
    child.once('exit', (code) => reject(new Error(`the switch exited (${code}) before it was ready: ${logTail.join(' | ')}`)));
    child.stdout!.on('data', (d: Buffer) => {
      buffered += d.toString();
      const m = /posp: terminals on [\d.]+:(\d+), admin and monitor on http:\/\/[\d.]+:(\d+)\//.exec(buffered);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
  });
  const onLog = (d: Buffer) => {
    for (const line of d.toString().split('\n')) {
      if (!line.trim()) continue;
      logTail.push(line.slice(0, 300));
      if (logTail.length > 5) logTail.shift();
    }
  };
  child.stdout!.on('data', onLog);
  child.stderr!.on('data', onLog);
  const m = await ready;
  return { child, pid: child.pid!, port: Number(m[1]), adminPort: Number(m[2]), logTail };
}

// ------------------------------------------------------------------------------------------ what is sampled

/** RSS parts of a process, kB: anonymous (heaps, native buffers) and file-backed (mostly LMDB's map). */
function rssParts(pid: number): { anon: number; file: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  return { anon: kb('RssAnon'), file: kb('RssFile') };
}

/** Bytes of the files in `dir` whose name passes `keep` (recursively). */
function bytesOf(dir: string, keep: (name: string) => boolean = () => true): number {
  let sum = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!keep(e.name)) continue;
    const p = path.join(dir, e.name);
    try {
      sum += e.isDirectory() ? bytesOf(p) : fs.statSync(p).size;
    } catch {
      // removed meanwhile
    }
  }
  return sum;
}
const JOURNAL = path.join(DATA, 'journal');
const journalBytes = () => bytesOf(JOURNAL);
// LMDB's state (src/store/state.ts opens `<data>/state`: the file `state` and its `state-lock`).
const lmdbBytes = () => bytesOf(DATA, (name) => name === 'state' || name.startsWith('state-'));

/** Size of the newest day file's WAL. */
function walBytes(): number {
  const days = fs.readdirSync(JOURNAL).filter((f) => /^\d{8}\.sqlite$/.test(f)).sort();
  if (days.length === 0) return 0;
  try {
    return fs.statSync(path.join(JOURNAL, `${days[days.length - 1]}-wal`)).size;
  } catch {
    return 0;
  }
}

async function metrics(adminPort: number): Promise<Map<string, number>> {
  const res = await fetch(`http://127.0.0.1:${adminPort}/metrics`, { signal: AbortSignal.timeout(2000) });
  const out = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const [name, value] = line.split(' ');
    out.set(name, Number(value));
  }
  return out;
}

// ------------------------------------------------------------------------------------------ the load

type Kind = 'sale' | 'balance' | 'void' | 'preauth' | 'completion';
const MIX_TOTAL = MIX.reduce((a, [, w]) => a + w, 0);
function pick(): Kind {
  let r = Math.random() * MIX_TOTAL;
  for (const [kind, w] of MIX) if ((r -= w) < 0) return kind;
  return 'sale';
}
const randomCard = () => ({ pan: demoPan(1 + Math.floor(Math.random() * DEMO.cards)), expiry: DEMO.expiry, pin: DEMO.pin });

/** What the current interval has seen; replaced at every report. */
class Interval {
  readonly latency = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  answers = 0;
  errors = 0;
  maxLag = 0;
  maxWal = 0;
  minNice = Infinity;
  throttledSeen = false;
  samples = 0;
}
let current = new Interval();
let answers = 0;
const errorSamples: string[] = [];
function fail(what: string): void {
  current.errors++;
  if (errorSamples.length < 10) errorSamples.push(what);
}

/** A signed-in terminal with the approvals its voids and completions may name. */
interface Term {
  sim: SimTerminal;
  sales: Receipt[];
  preAuths: Receipt[];
}

async function signIn(port: number, index: number): Promise<Term> {
  const sim = new SimTerminal({
    host: '127.0.0.1',
    port,
    tid: String(DEMO.firstTid + index),
    mid: DEMO.mid,
    tmk: DEMO.tmk,
    firstStan: Math.floor(Math.random() * 900_000),
  });
  await sim.connect();
  const res = await sim.signIn('003');
  if (res.text(39) !== '00') throw new Error(`sign-in of ${sim.options.tid} answered ${res.text(39)}`);
  return { sim, sales: [], preAuths: [] };
}

function nextRequest(t: Term): { kind: Kind; request: TerminalMessage } {
  let kind = pick();
  if (kind === 'void' && t.sales.length === 0) kind = 'sale';
  if (kind === 'completion' && t.preAuths.length === 0) kind = 'preauth';
  const amount = 1 + Math.floor(Math.random() * 10_000);
  const takeOne = (list: Receipt[]) => list.splice(Math.floor(Math.random() * list.length), 1)[0];
  switch (kind) {
    case 'sale': return { kind, request: t.sim.sale(randomCard(), amount) };
    case 'balance': return { kind, request: t.sim.balanceInquiry(randomCard()) };
    case 'preauth': return { kind, request: t.sim.preAuth(randomCard(), amount) };
    case 'void': return { kind, request: t.sim.saleVoid(takeOne(t.sales)) };
    case 'completion': {
      const preAuth = takeOne(t.preAuths);
      return { kind, request: t.sim.completion(preAuth, preAuth.amount) };
    }
  }
}

let stopping = false;

async function drive(t: Term): Promise<void> {
  while (!stopping) {
    const { kind, request } = nextRequest(t);
    const sent = process.hrtime.bigint();
    try {
      const response = await t.sim.request(request);
      current.latency.recordValue(Math.max(1, Number((process.hrtime.bigint() - sent) / 1000n)));
      current.answers++;
      answers++;
      const code = response.text(39);
      if (code !== '00') fail(`${kind} on ${t.sim.options.tid} answered ${code}`);
      else if (kind === 'sale' || kind === 'preauth') {
        const kept = kind === 'sale' ? t.sales : t.preAuths;
        kept.push(t.sim.receipt(request, response, kind === 'sale' ? 'sale' : 'pre-auth'));
        // The newest 32, as the project's load generator keeps.
        if (kept.length > 32) kept.shift();
      }
    } catch (err) {
      fail(`${kind} on ${t.sim.options.tid}: ${(err as Error).message}`);
      if (!t.sim.connected) await t.sim.connect();
    }
  }
  t.sim.close();
}

// ------------------------------------------------------------------------------------------ reporting

interface Row {
  atS: number;
  tps: number;
  p99Ms: number;
  errors: number;
  applyLag: number;
  maxApplyLag: number;
  throttledS: number;
  throttledSeen: boolean;
  maxWalBytes: number;
  applyNiceMin: number;
  rssAnonMB: number;
  rssFileMB: number;
  journalBytesPerTxn: number;
  lmdbBytesPerTxn: number;
  /** Answers and journal entries since the load started (the denominators of the bytes per transaction). */
  answers: number;
  durableEntries: number;
  metricsSamples: number;
}

const fmtInt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const mb = (bytes: number) => (bytes / 1048576).toFixed(1);

function median(values: number[]): number {
  const v = [...values].sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
}

/** Least-squares slope of y over x. */
function slope(points: [number, number][]): number {
  if (points.length < 2) return NaN;
  const mx = points.reduce((a, [x]) => a + x, 0) / points.length;
  const my = points.reduce((a, [, y]) => a + y, 0) / points.length;
  const sxy = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return sxy / sxx;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------------------------------ main

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  const loadavgAtStart = os.loadavg().map((l) => Number(l.toFixed(2)));
  const sw = await startSwitch();
  const terms = await Promise.all(Array.from({ length: TERMINALS }, (_, i) => signIn(sw.port, i)));
  const first = await metrics(sw.adminPort);
  const bound = first.get('posp_apply_lag_bound_entries') ?? NaN;
  const walLimit = first.get('posp_journal_wal_limit_bytes') ?? NaN;
  process.stdout.write(
    `soak: ${MINUTES} min, ${TERMINALS} terminals, mix sale/balance/void/pre-auth/completion 60/15/10/8/7, ` +
      `${HOG ? 'with a CPU hog' : 'no hog'}, ${os.cpus().length} cores, load ${loadavgAtStart.join(' ')}; ` +
      `apply lag bound ${fmtInt(bound)} entries, WAL limit ${mb(walLimit)} MB\n` +
      `bytes/txn: growth since the load started over the answers the terminals received; throttled *: a sample saw the book throttled\n`,
  );

  const hog = HOG ? track(spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' })) : undefined;
  const base = { journal: journalBytes(), lmdb: lmdbBytes(), durable: first.get('posp_journal_durable_seq') ?? NaN, throttledS: first.get('posp_book_throttled_seconds_total') ?? 0 };
  let last = first;
  let pending: Promise<void> | undefined;
  const takeSample = async () => {
    current.maxWal = Math.max(current.maxWal, walBytes());
    try {
      const m = await metrics(sw.adminPort);
      last = m;
      current.samples++;
      current.maxLag = Math.max(current.maxLag, m.get('posp_apply_lag_entries') ?? 0);
      current.minNice = Math.min(current.minNice, m.get('posp_apply_thread_nice') ?? Infinity);
      if (m.get('posp_book_throttled') === 1) current.throttledSeen = true;
    } catch {
      // no answer within 2 s: the interval shows fewer samples
    }
  };
  // One sample at a time: a slow answer under load skips samples rather than piling them up.
  const sample = () => (pending ??= takeSample().finally(() => (pending = undefined)));
  const sampler = setInterval(sample, SAMPLE_MS);

  const loadStart = performance.now();
  const drivers = terms.map(drive);
  const rows: Row[] = [];
  const endMs = MINUTES * 60_000;
  let dueMs = 0;
  let prevMs = 0;
  let prevThrottledS = base.throttledS;
  while (dueMs < endMs) {
    dueMs = Math.min(endMs, dueMs + EVERY_S * 1000);
    await sleep(loadStart + dueMs - performance.now());
    // A sample at the interval's end, so the row shows where things are even if the sampler stalled.
    await sample();
    const iv = current;
    current = new Interval();
    const nowMs = performance.now() - loadStart;
    const seconds = (nowMs - prevMs) / 1000;
    prevMs = nowMs;
    const m = last;
    const rss = rssParts(sw.pid);
    const throttledS = m.get('posp_book_throttled_seconds_total') ?? prevThrottledS;
    const row: Row = {
      atS: Math.round(dueMs / 1000),
      tps: iv.answers / seconds,
      p99Ms: iv.latency.getValueAtPercentile(99) / 1000,
      errors: iv.errors,
      applyLag: m.get('posp_apply_lag_entries') ?? NaN,
      maxApplyLag: iv.maxLag,
      throttledS: throttledS - prevThrottledS,
      throttledSeen: iv.throttledSeen,
      maxWalBytes: iv.maxWal,
      applyNiceMin: iv.minNice,
      rssAnonMB: rss.anon / 1024,
      rssFileMB: rss.file / 1024,
      journalBytesPerTxn: (journalBytes() - base.journal) / answers,
      lmdbBytesPerTxn: (lmdbBytes() - base.lmdb) / answers,
      answers,
      durableEntries: (m.get('posp_journal_durable_seq') ?? NaN) - base.durable,
      metricsSamples: iv.samples,
    };
    prevThrottledS = throttledS;
    rows.push(row);
    const fewSamples = row.metricsSamples < (seconds * 1000) / SAMPLE_MS / 2 ? ` (only ${row.metricsSamples} metrics samples)` : '';
    process.stdout.write(
      `${String(row.atS).padStart(4)}s  ${fmtInt(row.tps).padStart(6)} TPS  p99 ${row.p99Ms.toFixed(1).padStart(6)} ms  ` +
        `lag ${fmtInt(row.applyLag)} max ${fmtInt(row.maxApplyLag)}  throttled ${row.throttledS.toFixed(2)} s${row.throttledSeen ? '*' : ''}  ` +
        `wal max ${mb(row.maxWalBytes)} MB  nice ${Number.isFinite(row.applyNiceMin) ? row.applyNiceMin : 'n/a'}  ` +
        `rss anon ${row.rssAnonMB.toFixed(0)} MB file ${row.rssFileMB.toFixed(0)} MB  ` +
        `journal ${fmtInt(row.journalBytesPerTxn)} B/txn lmdb ${fmtInt(row.lmdbBytesPerTxn)} B/txn` +
        `${row.errors ? `  errors ${row.errors}` : ''}${fewSamples}\n`,
    );
  }
  clearInterval(sampler);
  stopping = true;
  await Promise.all(drivers);
  if (hog) await stop(hog);
  await stop(sw.child);

  const after = rows.filter((r) => r.atS > 60);
  const rssSlope = slope(after.map((r) => [r.atS / 60, r.rssAnonMB]));
  const lastRow = rows[rows.length - 1];
  const summary = {
    medianTps: median(rows.map((r) => r.tps)),
    worstP99Ms: Math.max(...rows.map((r) => r.p99Ms)),
    maxApplyLag: Math.max(...rows.map((r) => r.maxApplyLag)),
    applyLagBound: bound,
    throttledSeconds: rows.reduce((a, r) => a + r.throttledS, 0),
    maxWalBytes: Math.max(...rows.map((r) => r.maxWalBytes)),
    walLimitBytes: walLimit,
    rssAnonFirstMB: rows[0].rssAnonMB,
    rssAnonLastMB: lastRow.rssAnonMB,
    rssAnonSlopeMBPerMinAfterFirstMinute: rssSlope,
    journalBytesPerTxn: lastRow.journalBytesPerTxn,
    lmdbBytesPerTxn: lastRow.lmdbBytesPerTxn,
    answers: lastRow.answers,
    durableEntries: lastRow.durableEntries,
    errors: rows.reduce((a, r) => a + r.errors, 0),
  };
  const out: string[] = [''];
  out.push(`median ${fmtInt(summary.medianTps)} TPS, worst interval p99 ${summary.worstP99Ms.toFixed(1)} ms, ${fmtInt(summary.answers)} answers, ${summary.errors} errors`);
  out.push(`apply lag at most ${fmtInt(summary.maxApplyLag)} entries (bound ${fmtInt(bound)}); book throttled ${summary.throttledSeconds.toFixed(2)} s in all`);
  out.push(`WAL at most ${mb(summary.maxWalBytes)} MB (limit ${mb(walLimit)} MB)`);
  out.push(
    `RSS anon ${summary.rssAnonFirstMB.toFixed(0)} MB in the first interval, ${summary.rssAnonLastMB.toFixed(0)} MB in the last; ` +
      (Number.isFinite(rssSlope) ? `slope after the first minute ${rssSlope.toFixed(2)} MB/min` : 'slope n/a (fewer than 2 intervals after the first minute)'),
  );
  out.push(
    `journal ${fmtInt(summary.journalBytesPerTxn)} B/txn, LMDB ${fmtInt(summary.lmdbBytesPerTxn)} B/txn ` +
      `(over ${fmtInt(summary.answers)} answers; the journal's durable seq grew by ${fmtInt(summary.durableEntries)} meanwhile)`,
  );
  for (const e of errorSamples) out.push(`error: ${e}`);
  if (summary.errors) out.push(`switch log tail: ${sw.logTail.join(' | ') || '(none)'}`);
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  const machine = { cores: os.cpus().length, model: os.cpus()[0]?.model ?? 'unknown', node: process.version, memoryMB: Math.round(os.totalmem() / 1048576), loadavgAtStart };
  fs.writeFileSync(OUT, JSON.stringify({ startedAt, minutes: MINUTES, everySeconds: EVERY_S, terminals: TERMINALS, hog: HOG, machine, summary, intervals: rows, errorSamples }, null, 2) + '\n');
  out.push(`results in ${OUT.startsWith(ROOT + path.sep) ? path.relative(ROOT, OUT) : OUT}`);
  process.stdout.write(out.join('\n') + '\n');
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err instanceof Error ? err.stack ?? err.message : String(err));
    process.exit(1);
  },
);
