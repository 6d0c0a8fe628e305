/**
 * Ring benchmark: round trips per second of 100-byte messages main → worker → main.
 *
 *   ring       two SAB rings and one long-lived echo loop (a Piscina-hosted task, as in the
 *              product), many messages in flight, batched flush/notify
 *   piscina    Piscina run() per message (the worker returns the bytes), many in flight
 *   port       MessagePort postMessage echo with a plain Worker, many in flight
 *
 * Every method uses one worker thread. Three rounds each (interleaved), medians reported; JSON in
 * bench/results/ring.json. Run: npx tsc -p . && node dist/bench/ring.bench.js
 * Options (environment): RING_BENCH_SECONDS (per round and method, default 2); RING_IN_FLIGHT,
 * PISCINA_IN_FLIGHT, PORT_IN_FLIGHT (messages outstanding; defaults 4096, 256, 256).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { Ring } from '../src/ring/index.js';
import type { RingEchoResult, RingEchoTask } from './ring-workers.js';

const here = dirname(fileURLToPath(import.meta.url)); // dist/bench
const WORKER_FILE = join(here, 'ring-workers.js');
const RESULTS = join(here, '..', '..', 'bench', 'results', 'ring.json');

const MSG_BYTES = 100;
const SECONDS = Number(process.env.RING_BENCH_SECONDS ?? 2);
const ROUNDS = 3;
const RING_CAPACITY = 1 << 20;
const RING_IN_FLIGHT = Number(process.env.RING_IN_FLIGHT ?? 4096);
const PISCINA_IN_FLIGHT = Number(process.env.PISCINA_IN_FLIGHT ?? 256);
const PORT_IN_FLIGHT = Number(process.env.PORT_IN_FLIGHT ?? 256);

interface RoundResult {
  messages: number;
  seconds: number;
  perSecond: number;
  extra?: Record<string, number>;
}

function payload(): Uint8Array {
  const b = new Uint8Array(MSG_BYTES);
  for (let i = 0; i < MSG_BYTES; i++) b[i] = (i * 7 + 3) & 0xff;
  return b;
}

// ------------------------------------------------------------------------------------------------

async function ringRound(pool: Piscina): Promise<RoundResult> {
  const toWorker = Ring.create(RING_CAPACITY);
  const fromWorker = Ring.create(RING_CAPACITY);
  const task: RingEchoTask = { input: toWorker.sab, output: fromWorker.sab };
  const done = pool.run(task) as Promise<RingEchoResult>;
  const msg = Buffer.from(payload());
  let sent = 0;
  let received = 0;
  let bad = 0;
  let expectTag = 0;
  const onEcho = (tag: number, data: Buffer, start: number, end: number): void => {
    if (tag !== expectTag || end - start !== MSG_BYTES || data[start + 99] !== msg[99]) bad++;
    expectTag = (expectTag + 1) | 0;
    received++;
  };
  // Warm-up of ~0.2 s, then the measured interval.
  const t0 = performance.now();
  const warmEnd = t0 + 200;
  let end = Infinity;
  let mStart = -1;
  let mReceived = 0;
  let now = t0;
  for (;;) {
    while (sent - received < RING_IN_FLIGHT) {
      msg[0] = sent & 0xff; // a per-message byte, as a real frame would differ
      if (!toWorker.push(sent, msg, 0, MSG_BYTES)) break;
      sent++;
    }
    toWorker.flush();
    await fromWorker.waitForData();
    fromWorker.drain(onEcho);
    now = performance.now();
    if (mStart < 0 && now >= warmEnd) {
      mStart = now;
      mReceived = received;
      end = now + SECONDS * 1000;
    }
    if (now >= end) break;
  }
  const measured = received - mReceived;
  const seconds = (now - mStart) / 1000;
  // Stop the loop: close the input, collect what is still in flight.
  toWorker.close();
  for (;;) {
    await fromWorker.waitForData();
    fromWorker.drain(onEcho);
    if (fromWorker.closed && !fromWorker.hasData) break;
  }
  const res = await done;
  if (bad > 0 || received !== sent || res.echoed !== sent) {
    throw new Error(`ring echo mismatch: sent ${sent}, received ${received}, echoed ${res.echoed}, bad ${bad}`);
  }
  return {
    messages: measured,
    seconds,
    perSecond: measured / seconds,
    extra: {
      workerSleepsPerMsg: res.sleeps / sent,
      workerWakeupsOfMainPerMsg: res.wakeups / sent,
      mainWakeupsOfWorkerPerMsg: toWorker.wakeups / sent,
    },
  };
}

async function piscinaRound(pool: Piscina): Promise<RoundResult> {
  const msg = payload();
  let received = 0;
  let bad = 0;
  let stopAt = Infinity;
  let inFlight = 0;
  const t0 = performance.now();
  const warmEnd = t0 + 200;
  let mStart = -1;
  let mReceived = 0;
  let mEnd = 0;
  await new Promise<void>((resolve, reject) => {
    const onDone = (r: Uint8Array): void => {
      inFlight--;
      if (r.length !== MSG_BYTES || r[99] !== msg[99]) bad++;
      received++;
      const now = performance.now();
      if (mStart < 0 && now >= warmEnd) {
        mStart = now;
        mReceived = received;
        stopAt = now + SECONDS * 1000;
      }
      if (now < stopAt) issue();
      else if (mEnd === 0) mEnd = now;
      if (inFlight === 0 && mEnd !== 0) resolve();
    };
    const issue = (): void => {
      inFlight++;
      (pool.run(msg) as Promise<Uint8Array>).then(onDone, reject);
    };
    for (let i = 0; i < PISCINA_IN_FLIGHT; i++) issue();
  });
  if (bad > 0) throw new Error(`piscina echo: ${bad} bad replies`);
  const measured = received - mReceived;
  const seconds = (mEnd - mStart) / 1000;
  return { messages: measured, seconds, perSecond: measured / seconds };
}

async function portRound(): Promise<RoundResult> {
  const worker = new Worker(WORKER_FILE, { workerData: { portEcho: true } });
  await new Promise<void>((resolve, reject) => {
    worker.once('online', resolve);
    worker.once('error', reject);
  });
  const msg = payload();
  let received = 0;
  let bad = 0;
  let stopAt = Infinity;
  let inFlight = 0;
  const t0 = performance.now();
  const warmEnd = t0 + 200;
  let mStart = -1;
  let mReceived = 0;
  let mEnd = 0;
  await new Promise<void>((resolve) => {
    worker.on('message', (r: Uint8Array) => {
      inFlight--;
      if (r.length !== MSG_BYTES || r[99] !== msg[99]) bad++;
      received++;
      const now = performance.now();
      if (mStart < 0 && now >= warmEnd) {
        mStart = now;
        mReceived = received;
        stopAt = now + SECONDS * 1000;
      }
      if (now < stopAt) {
        inFlight++;
        worker.postMessage(msg);
      } else if (mEnd === 0) mEnd = now;
      if (inFlight === 0 && mEnd !== 0) resolve();
    });
    for (let i = 0; i < PORT_IN_FLIGHT; i++) {
      inFlight++;
      worker.postMessage(msg);
    }
  });
  await worker.terminate();
  if (bad > 0) throw new Error(`port echo: ${bad} bad replies`);
  const measured = received - mReceived;
  const seconds = (mEnd - mStart) / 1000;
  return { messages: measured, seconds, perSecond: measured / seconds };
}

// ------------------------------------------------------------------------------------------------

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

async function main(): Promise<void> {
  // Two pools so neither method's worker state affects the other: the ring loop is one long
  // task; the baseline pool gets one run() per message.
  const ringPool = new Piscina({ filename: WORKER_FILE, minThreads: 1, maxThreads: 1, idleTimeout: 60_000 });
  const taskPool = new Piscina({ filename: WORKER_FILE, minThreads: 1, maxThreads: 1, idleTimeout: 60_000 });
  const rounds: Record<'ring' | 'piscina' | 'port', RoundResult[]> = { ring: [], piscina: [], port: [] };
  for (let r = 0; r < ROUNDS; r++) {
    rounds.ring.push(await ringRound(ringPool));
    rounds.piscina.push(await piscinaRound(taskPool));
    rounds.port.push(await portRound());
    console.error(
      `round ${r + 1}: ring ${fmt(rounds.ring[r].perSecond)}/s, piscina ${fmt(rounds.piscina[r].perSecond)}/s, port ${fmt(rounds.port[r].perSecond)}/s`,
    );
  }
  await ringPool.destroy();
  await taskPool.destroy();

  const med = {
    ring: median(rounds.ring.map((x) => x.perSecond)),
    piscina: median(rounds.piscina.map((x) => x.perSecond)),
    port: median(rounds.port.map((x) => x.perSecond)),
  };
  const ratios = { ringOverPiscina: med.ring / med.piscina, ringOverPort: med.ring / med.port };
  const rows: string[][] = [
    ['method', 'in flight', 'round trips/s (median)', 'µs per round trip', 'ring ÷ method'],
    ['ring (2 SAB rings, 1 long-lived worker loop)', String(RING_IN_FLIGHT), fmt(med.ring), (1e6 / med.ring).toFixed(2), '1.0×'],
    ['Piscina run() per message', String(PISCINA_IN_FLIGHT), fmt(med.piscina), (1e6 / med.piscina).toFixed(2), `${ratios.ringOverPiscina.toFixed(1)}×`],
    ['MessagePort postMessage echo', String(PORT_IN_FLIGHT), fmt(med.port), (1e6 / med.port).toFixed(2), `${ratios.ringOverPort.toFixed(1)}×`],
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  console.log(`\n${MSG_BYTES}-byte messages, main → worker → main, 1 worker thread, ${ROUNDS} rounds × ${SECONDS} s, medians`);
  for (const [i, row] of rows.entries()) {
    console.log(row.map((c, j) => (j === 0 ? c.padEnd(widths[j]) : c.padStart(widths[j]))).join('  '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
  const target = 20;
  console.log(`\ntarget ring ≥ ${target}× Piscina run(): ${ratios.ringOverPiscina >= target ? 'met' : 'NOT met'} (${ratios.ringOverPiscina.toFixed(1)}×)`);

  const json = {
    benchmark: 'ring',
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    messageBytes: MSG_BYTES,
    secondsPerRound: SECONDS,
    rounds: ROUNDS,
    workers: 1,
    inFlight: { ring: RING_IN_FLIGHT, piscina: PISCINA_IN_FLIGHT, port: PORT_IN_FLIGHT },
    ringCapacity: RING_CAPACITY,
    medianPerSecond: med,
    ratios,
    targetRingOverPiscina: target,
    targetMet: ratios.ringOverPiscina >= target,
    perRound: rounds,
  };
  mkdirSync(dirname(RESULTS), { recursive: true });
  writeFileSync(RESULTS, JSON.stringify(json, null, 2) + '\n');
  console.log(`\nwrote ${RESULTS}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
