/**
 * Worker side of bench/ring.bench.ts (compiled to dist/bench/ring-workers.js). One module, three
 * roles:
 *  - Piscina task `{ input, output }` (two Ring SharedArrayBuffers): the long-lived echo loop the
 *    product's workers use; it returns when the input ring is closed and drained.
 *  - Piscina task that is a Uint8Array: echoed back as is (the `run()`-per-message baseline).
 *  - Plain worker_threads Worker with workerData `{ portEcho: true }`: echoes every MessagePort
 *    message (the postMessage baseline).
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Ring } from '../src/ring/index.js';

export interface RingEchoTask {
  input: SharedArrayBuffer;
  output: SharedArrayBuffer;
}

export interface RingEchoResult {
  echoed: number;
  sleeps: number;
  spaceWaits: number;
  wakeups: number;
}

async function ringEcho(task: RingEchoTask): Promise<RingEchoResult> {
  const input = Ring.attach(task.input);
  const output = Ring.attach(task.output);
  // A full output ring refuses the message: it stays in the input ring until there is room.
  const forward = (tag: number, data: Buffer, start: number, end: number): boolean => output.push(tag, data, start, end);
  let echoed = 0;
  let sleeps = 0;
  let spaceWaits = 0;
  for (;;) {
    if (!input.hasData) sleeps++;
    await input.waitForData();
    for (;;) {
      echoed += input.drain(forward, 1024);
      output.flush(); // one publication and at most one notify per batch
      if (!output.isBlocked) break;
      spaceWaits++;
      await output.waitForSpace();
    }
    if (input.closed && !input.hasData) break;
  }
  output.close();
  return { echoed, sleeps, spaceWaits, wakeups: output.wakeups };
}

export default function task(t: Uint8Array | RingEchoTask): Uint8Array | Promise<RingEchoResult> {
  if (t instanceof Uint8Array) return t;
  return ringEcho(t);
}

if (!isMainThread && (workerData as { portEcho?: boolean } | undefined)?.portEcho === true) {
  const port = parentPort!;
  port.on('message', (m: Uint8Array) => port.postMessage(m));
}
