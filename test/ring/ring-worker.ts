/**
 * Worker side of the cross-thread ring tests (dist/test/ring/ring-worker.js, started by
 * ring-cross.test.js). Run directly, as tap does with every file under dist/test, it only
 * reports a skipped plan.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Ring } from '../../src/ring/index.js';
import { checkMessage, writeMessage, type Checker } from './ring-messages.js';

export interface WorkerJob {
  mode: 'produce' | 'consume' | 'echo' | 'timer' | 'park';
  rings: SharedArrayBuffer[];
  count?: number;
  counter?: SharedArrayBuffer;
}

async function produce(job: WorkerJob): Promise<void> {
  const ring = Ring.attach(job.rings[0]);
  const scratch = Buffer.alloc(1024);
  const count = job.count!;
  let seq = 0;
  let waits = 0;
  while (seq < count) {
    let ok: boolean;
    if (seq % 3 === 0) {
      // Zero-copy path for every third message.
      const len = writeMessage(scratch, 0, seq);
      const off = ring.reserve(len);
      ok = off >= 0;
      if (ok) {
        writeMessage(ring.data, off, seq);
        ring.commit(seq ^ 0x5a5a5a5a, len);
      }
    } else {
      const len = writeMessage(scratch, 0, seq);
      ok = ring.push(seq ^ 0x5a5a5a5a, scratch, 0, len);
    }
    if (!ok) {
      ring.flush();
      waits++;
      await ring.waitForSpace();
      continue;
    }
    seq++;
    if ((seq & 31) === 0) ring.flush();
  }
  ring.close();
  parentPort!.postMessage({ done: true, waits, wakeups: ring.wakeups });
}

async function consume(job: WorkerJob): Promise<void> {
  const ring = Ring.attach(job.rings[0]);
  const checker: Checker = { next: 0, bad: 0, firstBad: '' };
  const handler = (tag: number, data: Buffer, start: number, end: number): void => checkMessage(checker, tag, data, start, end);
  let sleeps = 0;
  for (;;) {
    if (!ring.hasData) sleeps++;
    await ring.waitForData();
    ring.drain(handler);
    if (ring.closed && !ring.hasData) break;
  }
  parentPort!.postMessage({ received: checker.next, bad: checker.bad, firstBad: checker.firstBad, sleeps });
}

async function echo(job: WorkerJob): Promise<void> {
  const input = Ring.attach(job.rings[0]);
  const output = Ring.attach(job.rings[1]);
  // A full output ring refuses the message: it stays in the input ring until there is space.
  const forward = (tag: number, data: Buffer, start: number, end: number): boolean => output.push(tag, data, start, end);
  let echoed = 0;
  let spaceWaits = 0;
  for (;;) {
    await input.waitForData();
    for (;;) {
      echoed += input.drain(forward, 256);
      output.flush();
      if (!output.isBlocked) break;
      spaceWaits++;
      await output.waitForSpace();
    }
    if (input.closed && !input.hasData) break;
  }
  output.close();
  parentPort!.postMessage({ echoed, spaceWaits });
}

async function timer(job: WorkerJob): Promise<void> {
  const ring = Ring.attach(job.rings[0]);
  const counter = new Int32Array(job.counter!);
  const interval = setInterval(() => Atomics.add(counter, 0, 1), 5);
  await ring.waitForData();
  const tags: number[] = [];
  ring.drain((tag) => {
    tags.push(tag);
  });
  clearInterval(interval);
  parentPort!.postMessage({ tags, ticks: Atomics.load(counter, 0) });
}

async function park(job: WorkerJob): Promise<void> {
  // Nothing else keeps this thread alive: only the ring's own handle while it is parked.
  const ring = Ring.attach(job.rings[0]);
  await ring.waitForData();
  const tags: number[] = [];
  ring.drain((tag) => {
    tags.push(tag);
  });
  parentPort!.postMessage({ tags });
}

if (isMainThread) {
  console.log('1..0 # SKIP worker script for ring-cross.test.js');
} else {
  const job = workerData as WorkerJob;
  const run = { produce, consume, echo, timer, park }[job.mode];
  run(job).catch((err: unknown) => {
    parentPort!.postMessage({ error: err instanceof Error ? err.stack : String(err) });
  });
}
