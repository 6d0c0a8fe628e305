/**
 * HTTP channel benchmark: on-us sales through the HTTP channel (signed JSON, one virtual terminal
 * per client) beside the same sales from terminals over TCP, on the same switch and machine.
 *
 *   npm run bench:http            (tsc -p . && node dist/bench/http-channel.js)
 *   node dist/bench/http-channel.js [--runs 4] [--seconds 8] [--parallel 100] [--out bench/results/http-channel.json]
 *
 * The switch runs as a child process (`posp start --demo --api-port P`) on a new temporary data
 * directory. `--parallel` clients are created through the admin API (each with its virtual
 * terminal); a terminal run has as many demo terminals over TCP (the project's load generator,
 * `posp loadgen`), an HTTP run as many clients with one keep-alive connection each (`posp loadgen
 * --http`): one request outstanding per terminal either way, and a terminal (virtual or not) has
 * its requests processed in order, so both arms offer the same parallelism. Terminal runs use new
 * demo terminals each time; HTTP requests each have a new Idempotency-Key. After a warm-up of each
 * arm, runs alternate terminal, HTTP, HTTP, terminal, ... so that drift falls on both alike.
 * Reported, never asserted: TPS of each run, each arm's median, their ratio (HTTP / terminal), the
 * median ratio of adjacent pairs, p99 latency and the switch's CPU time per transaction (from /proc).
 * Differences between the arms to bear in mind: terminal sales carry a PIN block the switch
 * verifies; HTTP sales are keyed in without PIN (entry mode 012) and cost the switch the HTTP
 * parsing, the HMAC check, the Idempotency-Key record and the JSON answer instead.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { defaultLoadTarget, parseMix, runHttpLoad, runLoad, type HttpClientCredentials, type LoadReport } from '../src/loadgen/index.js';
import { DEMO } from '../src/store/index.js';
import { ROOT, cpuSeconds, startSwitchChild, stop, type SwitchChild } from './child.js';

const TOKEN = 'http-channel-bench';

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const RUNS = Number(argValue('runs') ?? 4);
const SECONDS = Number(argValue('seconds') ?? 8);
const PARALLEL = Number(argValue('parallel') ?? 100);
const OUT = path.resolve(ROOT, argValue('out') ?? 'bench/results/http-channel.json');

type Arm = 'terminal' | 'http';

interface Run {
  arm: Arm;
  tps: number;
  transactions: number;
  errors: number;
  p50Us: number;
  p99Us: number;
  /** The switch's CPU time (all threads) per transaction, µs. */
  serverCpuUsPerTxn: number;
  errorSamples?: string[];
}

/** A port free now (the switch binds it a moment later). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

async function createClients(adminPort: number, count: number): Promise<HttpClientCredentials[]> {
  const clients: HttpClientCredentials[] = [];
  for (let i = 1; i <= count; i++) {
    const id = `bench-${i}`;
    const res = await fetch(`http://127.0.0.1:${adminPort}/api/v1/clients/${id}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ mid: DEMO.mid }),
    });
    const body = (await res.json()) as { secret?: string; error?: string };
    if (res.status !== 200 || body.secret === undefined) throw new Error(`client ${id}: ${res.status} ${body.error}`);
    clients.push({ id, secret: body.secret });
  }
  return clients;
}

/** Run `index` of `arm`: terminal runs each on demo terminals of their own. */
async function measure(sw: SwitchChild, apiPort: number, clients: HttpClientCredentials[], arm: Arm, index: number): Promise<Run> {
  const cpuBefore = cpuSeconds(sw.child.pid!);
  const report: LoadReport =
    arm === 'terminal'
      ? await runLoad({
          host: '127.0.0.1',
          port: sw.posPort,
          terminals: PARALLEL,
          durationMs: SECONDS * 1000,
          mix: parseMix('sale:1'),
          short: false,
          scenario: 'mix',
          ...defaultLoadTarget(),
          firstTid: DEMO.firstTid + index * PARALLEL,
        })
      : await runHttpLoad({ host: '127.0.0.1', port: apiPort, clients, connections: 1, durationMs: SECONDS * 1000, cards: DEMO.cards });
  const cpu = cpuSeconds(sw.child.pid!) - cpuBefore;
  return {
    arm,
    tps: Math.round(report.tps),
    transactions: report.transactions,
    errors: report.errors,
    p50Us: report.latencyUs.p50,
    p99Us: report.latencyUs.p99,
    serverCpuUsPerTxn: Math.round((cpu * 1e6) / Math.max(1, report.transactions)),
    ...(report.errors > 0 ? { errorSamples: report.errorSamples.slice(0, 3) } : {}),
  };
}

function median(values: number[]): number {
  const v = [...values].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function line(label: string, run: Run): string {
  return `${label}: ${run.arm.padEnd(8)} ${String(run.tps).padStart(6)} TPS  p50 ${(run.p50Us / 1000).toFixed(1)} ms  p99 ${(run.p99Us / 1000).toFixed(1)} ms  switch CPU ${run.serverCpuUsPerTxn} µs/txn  errors ${run.errors}${run.errorSamples ? `  (${run.errorSamples.join('; ')})` : ''}`;
}

async function main(): Promise<void> {
  // Terminal runs: a warm-up and RUNS measured, each on terminals of its own.
  if (PARALLEL * (RUNS + 1) > DEMO.terminals) throw new Error(`${RUNS + 1} terminal runs of ${PARALLEL} terminals need more than the ${DEMO.terminals} demo terminals`);
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'posp-http-bench-'));
  const apiPort = await freePort();
  const sw = await startSwitchChild(data, TOKEN, ['--api-port', String(apiPort)]);
  try {
    const clients = await createClients(sw.adminPort, PARALLEL);
    console.log(`${PARALLEL} terminals vs ${PARALLEL} HTTP clients, on-us sales, one outstanding each, ${SECONDS} s a run, ${RUNS} runs each (${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(2)})`);
    let terminalRuns = 0;
    const next = (arm: Arm) => measure(sw, apiPort, clients, arm, arm === 'terminal' ? terminalRuns++ : 0);
    console.log(line('warm-up', await next('terminal')));
    console.log(line('warm-up', await next('http')));
    const runs: Run[] = [];
    // terminal, http, http, terminal, terminal, http, ...: each arm as often early as late.
    for (let i = 0; i < 2 * RUNS; i++) {
      const run = await next(i % 4 === 1 || i % 4 === 2 ? 'http' : 'terminal');
      runs.push(run);
      console.log(line(`run ${i + 1}`, run));
    }
    const arm = (name: Arm) => {
      const of = runs.filter((r) => r.arm === name);
      return { medianTps: median(of.map((r) => r.tps)), medianP99Us: median(of.map((r) => r.p99Us)), medianCpuUsPerTxn: median(of.map((r) => r.serverCpuUsPerTxn)) };
    };
    const terminal = arm('terminal');
    const http = arm('http');
    const ratio = round3(http.medianTps / terminal.medianTps);
    // Runs 1-2, 3-4, ...: each pair has one run of each arm, next to each other in time.
    const pairRatios = Array.from({ length: RUNS }, (_, p) => {
      const [a, b] = runs.slice(2 * p, 2 * p + 2);
      return round3(a.arm === 'http' ? a.tps / b.tps : b.tps / a.tps);
    });
    const pairedRatio = round3(median(pairRatios));
    console.log(`median TPS: terminal channel ${terminal.medianTps}, HTTP channel ${http.medianTps}: ratio ${ratio}`);
    console.log(`ratio within adjacent pairs: ${pairRatios.join(', ')}; median ${pairedRatio}`);
    console.log(`median p99: terminal ${(terminal.medianP99Us / 1000).toFixed(1)} ms, HTTP ${(http.medianP99Us / 1000).toFixed(1)} ms`);
    console.log(`median switch CPU per transaction: terminal ${terminal.medianCpuUsPerTxn} µs, HTTP ${http.medianCpuUsPerTxn} µs`);
    fs.mkdirSync(path.dirname(OUT), { recursive: true });
    fs.writeFileSync(OUT, JSON.stringify({ parallel: PARALLEL, seconds: SECONDS, cores: os.cpus().length, terminal, http, ratio, pairRatios, pairedRatio, runs }, null, 2) + '\n');
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
