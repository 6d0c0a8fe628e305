/**
 * Live monitor benchmark: the switch's throughput with 20 monitor clients attached vs none.
 *
 *   npm run bench:monitor            (tsc -p . && node dist/bench/monitor.js)
 *   node dist/bench/monitor.js [--runs 4] [--seconds 8] [--terminals 100] [--clients 20] [--out bench/results/monitor.json]
 *
 * The switch runs as a child process (`posp start --demo --cutover-at off`) on a new temporary data
 * directory; the project's load generator (src/loadgen, as `posp loadgen` runs it) drives on-us
 * sales from this process, each terminal keeping one outstanding; every run has demo terminals of
 * its own, so no run repeats another's request keys. After a warm-up run, runs with no client and
 * with `--clients` WebSocket clients on /ws/monitor alternate in the order none, watched, watched,
 * none, ... so that drift (JIT, the journal growing, a busy machine) falls on both alike. Each
 * watched run checks that every client received a frame about once a second. Reported, never
 * asserted: TPS of each run, the median of each arm and their ratio (watched / none), the median of
 * the ratios of adjacent pairs (less sensitive to a machine whose load changes), and the switch's
 * CPU time per transaction (from /proc) in each arm.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WebSocketClient } from '../src/cli/ws-client.js';
import { defaultLoadTarget, parseMix, runLoad, type LoadReport } from '../src/loadgen/index.js';
import { DEMO } from '../src/store/index.js';
import { ROOT, cpuSeconds, startSwitchChild, stop, type SwitchChild } from './child.js';

const TOKEN = 'monitor-bench';

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const RUNS = Number(argValue('runs') ?? 4);
const SECONDS = Number(argValue('seconds') ?? 8);
const TERMINALS = Number(argValue('terminals') ?? 100);
const CLIENTS = Number(argValue('clients') ?? 20);
const OUT = path.resolve(ROOT, argValue('out') ?? 'bench/results/monitor.json');

interface Run {
  clients: number;
  tps: number;
  transactions: number;
  errors: number;
  p99Us: number;
  /** The switch's CPU time (all threads) per transaction, µs. */
  serverCpuUsPerTxn: number;
  /** Frames each client received during the run (watched runs only). */
  framesPerClient?: { min: number; max: number };
  errorSamples?: string[];
}

/** Load run number `run` (its own terminals), with `clients` monitor clients watching throughout. */
async function measure(sw: SwitchChild, run: number, clients: number): Promise<Run> {
  const watchers = await Promise.all(Array.from({ length: clients }, () => WebSocketClient.connect(`ws://127.0.0.1:${sw.adminPort}/ws/monitor?token=${TOKEN}`)));
  const frames = watchers.map(() => 0);
  watchers.forEach((w, i) => {
    // Parsed as a console would, so the clients cost this process what real ones would.
    w.onMessage = (text) => {
      JSON.parse(text);
      frames[i]++;
    };
  });
  const cpuBefore = cpuSeconds(sw.child.pid!);
  const report: LoadReport = await runLoad({
    host: '127.0.0.1',
    port: sw.posPort,
    terminals: TERMINALS,
    durationMs: SECONDS * 1000,
    mix: parseMix('sale:1'),
    short: false,
    scenario: 'mix',
    ...defaultLoadTarget(),
    firstTid: DEMO.firstTid + run * TERMINALS,
  });
  const cpu = cpuSeconds(sw.child.pid!) - cpuBefore;
  for (const w of watchers) w.close();
  await Promise.all(watchers.map((w) => w.closed));
  if (clients > 0 && Math.min(...frames) < SECONDS - 2) throw new Error(`a monitor client received ${Math.min(...frames)} frames in ${SECONDS} s`);
  return {
    clients,
    tps: Math.round(report.tps),
    transactions: report.transactions,
    errors: report.errors,
    p99Us: report.latencyUs.p99,
    serverCpuUsPerTxn: Math.round((cpu * 1e6) / Math.max(1, report.transactions)),
    ...(clients > 0 ? { framesPerClient: { min: Math.min(...frames), max: Math.max(...frames) } } : {}),
    ...(report.errors > 0 ? { errorSamples: report.errorSamples.slice(0, 3) } : {}),
  };
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function median(values: number[]): number {
  const v = [...values].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
}

async function main(): Promise<void> {
  if (TERMINALS * (2 * RUNS + 1) > DEMO.terminals) throw new Error(`${2 * RUNS + 1} runs of ${TERMINALS} terminals need more than the ${DEMO.terminals} demo terminals`);
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'posp-monitor-bench-'));
  const sw = await startSwitchChild(data, TOKEN);
  try {
    console.log(`${TERMINALS} terminals, on-us sales, ${SECONDS} s a run, ${RUNS} runs each with 0 and ${CLIENTS} monitor clients (${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(2)})`);
    const warmUp = await measure(sw, 0, 0);
    console.log(`warm-up: ${warmUp.tps} TPS`);
    const runs: Run[] = [];
    // none, watched, watched, none, none, watched, ...: each arm as often early as late.
    for (let i = 0; i < 2 * RUNS; i++) {
      const clients = (i % 4 === 1 || i % 4 === 2) ? CLIENTS : 0;
      const run = await measure(sw, i + 1, clients);
      runs.push(run);
      console.log(`run ${i + 1}: ${String(clients).padStart(2)} clients  ${run.tps} TPS  p99 ${(run.p99Us / 1000).toFixed(1)} ms  switch CPU ${run.serverCpuUsPerTxn} µs/txn  errors ${run.errors}${run.framesPerClient ? `  frames/client ${run.framesPerClient.min}..${run.framesPerClient.max}` : ''}${run.errorSamples ? `  (${run.errorSamples.join('; ')})` : ''}`);
    }
    const arm = (clients: number) => runs.filter((r) => r.clients === clients);
    const none = { medianTps: median(arm(0).map((r) => r.tps)), medianCpuUsPerTxn: median(arm(0).map((r) => r.serverCpuUsPerTxn)) };
    const watched = { medianTps: median(arm(CLIENTS).map((r) => r.tps)), medianCpuUsPerTxn: median(arm(CLIENTS).map((r) => r.serverCpuUsPerTxn)) };
    const ratio = round3(watched.medianTps / none.medianTps);
    // Runs 1-2, 3-4, ...: each pair has one run of each arm, next to each other in time.
    const pairRatios = Array.from({ length: RUNS }, (_, p) => {
      const [a, b] = runs.slice(2 * p, 2 * p + 2);
      return round3(a.clients > 0 ? a.tps / b.tps : b.tps / a.tps);
    });
    const pairedRatio = median(pairRatios);
    console.log(`median TPS: ${none.medianTps} with no client, ${watched.medianTps} with ${CLIENTS} clients: ratio ${ratio}`);
    console.log(`ratio within adjacent pairs: ${pairRatios.join(', ')}; median ${pairedRatio}`);
    console.log(`median switch CPU per transaction: ${none.medianCpuUsPerTxn} µs with none, ${watched.medianCpuUsPerTxn} µs with ${CLIENTS}`);
    fs.mkdirSync(path.dirname(OUT), { recursive: true });
    fs.writeFileSync(OUT, JSON.stringify({ terminals: TERMINALS, seconds: SECONDS, clients: CLIENTS, cores: os.cpus().length, none, watched, ratio, pairRatios, pairedRatio, runs }, null, 2) + '\n');
    console.log(`written ${path.relative(ROOT, OUT)}`);
  } finally {
    await stop(sw.child);
    fs.rmSync(data, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
