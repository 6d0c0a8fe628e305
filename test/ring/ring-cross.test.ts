import t from 'tap';
import { Worker } from 'node:worker_threads';
import { Ring } from '../../src/ring/index.js';
import { checkMessage, writeMessage, type Checker } from './ring-messages.js';
import type { WorkerJob } from './ring-worker.js';

const WORKER = new URL('./ring-worker.js', import.meta.url);
const COUNT = 1_000_000;

interface Started {
  worker: Worker;
  result: Promise<Record<string, unknown>>;
  exited: Promise<number>;
}

function start(job: WorkerJob): Started {
  // execArgv: [] — the worker is plain compiled JS; it needs none of tap's import hooks.
  const worker = new Worker(WORKER, { workerData: job, execArgv: [] });
  const result = new Promise<Record<string, unknown>>((resolve, reject) => {
    worker.once('message', (m: Record<string, unknown>) => (m.error ? reject(new Error(String(m.error))) : resolve(m)));
    worker.once('error', reject);
  });
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
  return { worker, result, exited };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test('worker → main: 1,000,000 messages of varying sizes, exact order and content', async (t) => {
  const ring = Ring.create(1 << 16);
  const w = start({ mode: 'produce', rings: [ring.sab], count: COUNT });
  const checker: Checker = { next: 0, bad: 0, firstBad: '' };
  const handler = (tag: number, data: Buffer, start: number, end: number): void => checkMessage(checker, tag, data, start, end);
  let sleeps = 0;
  for (;;) {
    if (!ring.hasData) sleeps++;
    await ring.waitForData();
    ring.drain(handler);
    if (ring.closed && !ring.hasData) break;
  }
  const res = await w.result;
  t.equal(checker.next, COUNT, 'every message received once');
  t.equal(checker.bad, 0, `no message out of order or corrupted ${checker.firstBad}`);
  t.equal(ring.usedBytes, 0, 'ring empty at the end');
  t.ok(Number(res.waits) > 0, `producer hit back-pressure (${res.waits} waits for space)`);
  t.comment(`consumer slept ${sleeps} times, producer woke it ${res.wakeups} times`);
  t.equal(await w.exited, 0);
});

t.test('main → worker: 1,000,000 messages with back-pressure, checked in the worker', async (t) => {
  const ring = Ring.create(1 << 16);
  const w = start({ mode: 'consume', rings: [ring.sab] });
  const scratch = Buffer.alloc(1024);
  let seq = 0;
  let waits = 0;
  while (seq < COUNT) {
    let ok: boolean;
    if (seq % 3 === 1) {
      const len = writeMessage(scratch, 0, seq);
      const off = ring.reserve(len);
      ok = off >= 0;
      if (ok) {
        scratch.copy(ring.data, off, 0, len);
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
  const res = await w.result;
  t.equal(res.received, COUNT, 'worker received every message');
  t.equal(res.bad, 0, `worker found no message out of order or corrupted ${res.firstBad}`);
  t.ok(waits > 0, `producer hit back-pressure (${waits} waits)`);
  t.comment(`consumer slept ${res.sleeps} times, producer woke it ${ring.wakeups} times`);
  t.equal(await w.exited, 0);
});

t.test('bidirectional echo through two rings: main → worker → main, 1,000,000 messages', async (t) => {
  const toWorker = Ring.create(1 << 16);
  const fromWorker = Ring.create(1 << 12); // small: the worker's output hits back-pressure
  const w = start({ mode: 'echo', rings: [toWorker.sab, fromWorker.sab] });
  const scratch = Buffer.alloc(1024);
  const checker: Checker = { next: 0, bad: 0, firstBad: '' };
  const handler = (tag: number, data: Buffer, start: number, end: number): void => checkMessage(checker, tag, data, start, end);
  const WINDOW = 64; // in flight; 64 × ≤ 616-byte records fit the 64 KB input ring
  let sent = 0;
  while (checker.next < COUNT) {
    while (sent < COUNT && sent - checker.next < WINDOW) {
      const len = writeMessage(scratch, 0, sent);
      if (!toWorker.push(sent ^ 0x5a5a5a5a, scratch, 0, len)) t.fail('input ring full despite the window');
      sent++;
    }
    toWorker.flush();
    await fromWorker.waitForData();
    fromWorker.drain(handler);
    if (fromWorker.closed) break;
  }
  toWorker.close();
  const res = await w.result;
  t.equal(checker.next, COUNT, 'every message came back');
  t.equal(checker.bad, 0, `echoes in order and intact ${checker.firstBad}`);
  t.equal(res.echoed, COUNT);
  t.ok(Number(res.spaceWaits) > 0, `worker waited for output space (${res.spaceWaits} times)`);
  t.equal(await w.exited, 0);
});

t.test('a consumer parked in waitForData keeps its event loop running (timers fire)', async (t) => {
  const ring = Ring.create(1024);
  const counter = new SharedArrayBuffer(4);
  const ticks = new Int32Array(counter);
  const w = start({ mode: 'timer', rings: [ring.sab], counter });
  const until = Date.now() + 10000;
  while (!ring.consumerSleeping && Date.now() < until) await sleep(5);
  t.equal(ring.consumerSleeping, true, 'worker parked in waitForData');
  const before = Atomics.load(ticks, 0);
  while (Atomics.load(ticks, 0) < before + 10 && Date.now() < until) await sleep(5);
  const during = Atomics.load(ticks, 0) - before;
  t.ok(during >= 10, `worker timer ticked ${during} times while it was parked`);
  t.equal(ring.consumerSleeping, true, 'and it is still parked');
  ring.push(4242, Buffer.alloc(0), 0, 0);
  ring.flush();
  t.equal(ring.wakeups, 1, 'the consumer was asleep and was notified');
  const res = await w.result;
  t.same(res.tags, [4242], 'then it received the message');
  t.equal(await w.exited, 0);
});

t.test('a parked consumer with nothing else to do stays alive until data arrives', async (t) => {
  const ring = Ring.create(1024);
  const w = start({ mode: 'park', rings: [ring.sab] });
  let exitedEarly = false;
  void w.exited.then(() => {
    exitedEarly = true;
  });
  const until = Date.now() + 10000;
  while (!ring.consumerSleeping && Date.now() < until) await sleep(10);
  t.equal(ring.consumerSleeping, true, 'worker parked in waitForData');
  await sleep(500);
  t.equal(exitedEarly, false, 'worker still running after 500 ms parked');
  ring.push(7, Buffer.alloc(0), 0, 0);
  ring.flush();
  t.equal(ring.wakeups, 1, 'it was parked: flush notified it');
  const res = await w.result;
  t.same(res.tags, [7]);
  t.equal(await w.exited, 0);
});
