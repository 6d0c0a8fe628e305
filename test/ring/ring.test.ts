import t from 'tap';
import { CONTROL_BYTES, Ring } from '../../src/ring/index.js';

interface Msg {
  tag: number;
  bytes: Buffer;
}

function collect(ring: Ring, max?: number): Msg[] {
  const out: Msg[] = [];
  ring.drain((tag, data, start, end) => {
    out.push({ tag, bytes: Buffer.from(data.subarray(start, end)) });
  }, max);
  return out;
}

/** Deterministic content for message `seq` of `len` bytes. */
function fill(buf: Buffer, seq: number, len: number, at = 0): void {
  let x = (seq * 2654435761) >>> 0;
  for (let i = 0; i < len; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    buf[at + i] = x >>> 24;
  }
}

t.test('create validates capacity; attach validates the buffer', async (t) => {
  t.throws(() => Ring.create(100), RangeError);
  t.throws(() => Ring.create(32), RangeError);
  t.throws(() => Ring.create(1.5), RangeError);
  const r = Ring.create(1024);
  t.equal(r.sab.byteLength, CONTROL_BYTES + 1024);
  t.equal(r.data.length, 1024);
  t.equal(r.capacity, 1024);
  t.equal(r.maxMessageSize, 512 - 8);
  t.throws(() => Ring.attach(new SharedArrayBuffer(CONTROL_BYTES + 1024)), TypeError, 'no magic');
  const other = Ring.attach(r.sab);
  t.equal(other.capacity, 1024);
  t.equal(other.data.buffer, r.sab, 'data is a view over the shared buffer');
});

t.test('push/drain keeps order, tags and contents; nothing visible before flush', async (t) => {
  const prod = Ring.create(4096);
  const cons = Ring.attach(prod.sab);
  const src = Buffer.alloc(300);
  const sent: Msg[] = [];
  for (let i = 0; i < 10; i++) {
    const len = [0, 1, 3, 4, 7, 8, 9, 100, 257, 300][i];
    fill(src, i, len, 5);
    // Push from an offset inside a larger buffer.
    const big = Buffer.alloc(len + 10);
    src.copy(big, 3, 5, 5 + len);
    t.equal(prod.push(0xfffffff0 + i, big, 3, 3 + len), true);
    sent.push({ tag: 0xfffffff0 + i, bytes: Buffer.from(big.subarray(3, 3 + len)) });
  }
  t.equal(cons.drain(() => t.fail('nothing flushed yet')), 0, 'unflushed messages are invisible');
  t.equal(cons.usedMessages, 0);
  prod.flush();
  t.equal(cons.usedMessages, 10);
  const got = collect(cons);
  t.equal(got.length, 10);
  t.same(
    got.map((m) => m.tag),
    sent.map((m) => m.tag),
    'tags in order, returned as unsigned 32-bit',
  );
  for (let i = 0; i < 10; i++) t.ok(got[i].bytes.equals(sent[i].bytes), `message ${i} content (${sent[i].bytes.length} bytes)`);
  t.equal(cons.usedBytes, 0);
  t.equal(cons.usedMessages, 0);
  t.equal(cons.drain(() => t.fail('empty')), 0);
});

t.test('drain respects max and a handler returning false keeps the message', async (t) => {
  const r = Ring.create(1024);
  const b = Buffer.from([1, 2, 3]);
  for (let i = 0; i < 5; i++) r.push(i, b, 0, 3);
  r.flush();
  t.same(
    collect(r, 2).map((m) => m.tag),
    [0, 1],
  );
  let calls = 0;
  const n = r.drain((tag) => {
    calls++;
    return tag !== 3; // refuse message 3
  });
  t.equal(n, 1, 'only message 2 consumed');
  t.equal(calls, 2);
  t.same(
    collect(r).map((m) => m.tag),
    [3, 4],
    'refused message delivered again',
  );
});

t.test('a throwing handler consumes its message', async (t) => {
  const r = Ring.create(1024);
  const b = Buffer.alloc(4);
  for (let i = 0; i < 3; i++) r.push(i, b, 0, 4);
  r.flush();
  t.throws(() =>
    r.drain((tag) => {
      if (tag === 1) throw new Error('boom');
    }),
  );
  t.same(
    collect(r).map((m) => m.tag),
    [2],
  );
});

t.test('wrap-around with varied sizes over many laps (and 32-bit position wrap)', async (t) => {
  for (const startPosition of [0, 0xffffffff - 4095 - 7]) {
    const cap = 4096;
    const prod = Ring.create(cap, { startPosition: startPosition & ~7 });
    const cons = Ring.attach(prod.sab);
    const src = Buffer.alloc(prod.maxMessageSize + 16);
    let sent = 0;
    let received = 0;
    let bad = 0;
    let bytes = 0;
    let x = 12345;
    const handler = (tag: number, data: Buffer, start: number, end: number): void => {
      const expectLen = tag & 0xffff ? (tag * 7919) % (prod.maxMessageSize + 1) : 0;
      if (tag !== received || end - start !== expectLen) bad++;
      else {
        fill(src, tag, expectLen, 16);
        if (data.compare(src, 16, 16 + expectLen, start, end) !== 0) bad++;
      }
      received++;
      bytes += end - start;
    };
    while (sent < 20000) {
      // Push a random-sized burst until the ring refuses, then drain a random part of it.
      x = (x * 1103515245 + 12345) >>> 0;
      const burst = 1 + (x % 20);
      for (let i = 0; i < burst; i++) {
        const len = sent & 0xffff ? (sent * 7919) % (prod.maxMessageSize + 1) : 0;
        fill(src, sent, len, 16);
        if (!prod.push(sent, src, 16, 16 + len)) break;
        sent++;
      }
      prod.flush();
      cons.drain(handler, 1 + ((x >>> 8) % 20));
    }
    cons.drain(handler);
    t.equal(received, sent, `all received (start ${startPosition})`);
    t.equal(bad, 0, 'every message in order with the right length and content');
    t.ok(bytes / cap > 100, `many laps (${(bytes / cap).toFixed(0)})`);
    t.equal(cons.usedBytes, 0);
  }
});

t.test('full ring: push returns false, then succeeds after a drain', async (t) => {
  const r = Ring.create(1024);
  const msg = Buffer.alloc(120, 7); // 128-byte records: 8 fit exactly
  let n = 0;
  while (r.push(n, msg, 0, msg.length)) n++;
  t.equal(n, 8, '8 records of 128 bytes fill 1024');
  t.equal(r.isBlocked, true);
  t.equal(r.fullCount, 1);
  t.equal(r.push(99, msg, 0, 1), false, 'even a tiny one does not fit');
  r.flush();
  t.equal(r.usedBytes, 1024);
  t.equal(r.usedMessages, 8);
  t.equal(r.freeBytes, 0);
  t.equal(r.drain(() => {}, 1), 1);
  t.equal(r.usedBytes, 1024 - 128);
  t.equal(r.push(8, msg, 0, msg.length), true, 'room again after a drain');
  t.equal(r.isBlocked, false);
  t.equal(r.push(9, msg, 0, msg.length), false);
  r.flush();
  t.same(
    collect(r).map((m) => m.tag),
    [1, 2, 3, 4, 5, 6, 7, 8],
  );
});

t.test('a record that would straddle the end writes a skip marker and starts at 0', async (t) => {
  const r = Ring.create(256);
  const a = Buffer.alloc(100, 1); // 112-byte records
  t.ok(r.push(1, a, 0, 100));
  t.ok(r.push(2, a, 0, 100)); // tail at 224, 32 bytes to the end
  r.flush();
  t.equal(r.drain(() => {}), 2);
  const b = Buffer.alloc(40, 2); // 48-byte record: does not fit in 32
  t.ok(r.push(3, b, 0, 40));
  r.flush();
  t.equal(r.usedBytes, 32 + 48, 'skipped bytes count as used until drained');
  t.equal(r.data.readInt32LE(224), -1, 'skip marker');
  t.equal(r.data.readInt32LE(0), 40, 'record at offset 0');
  t.equal(r.data.readUInt32LE(4), 3);
  const got = collect(r);
  t.equal(got.length, 1);
  t.equal(got[0].tag, 3);
  t.ok(got[0].bytes.equals(b));
  t.equal(r.usedBytes, 0);
});

t.test('an empty ring always takes a message of maxMessageSize; larger throws RangeError', async (t) => {
  const r = Ring.create(256);
  const big = Buffer.alloc(r.maxMessageSize, 9);
  for (let i = 0; i < 50; i++) {
    // Vary the position so the maximum message meets every alignment against the end.
    const small = Buffer.alloc(i % 7);
    t.ok(r.push(i, small, 0, small.length));
    r.flush();
    r.drain(() => {});
    if (!r.push(i, big, 0, big.length)) t.fail(`max message refused by an empty ring at lap ${i}`);
    r.flush();
    r.drain(() => {});
  }
  t.throws(() => r.push(0, Buffer.alloc(r.maxMessageSize + 1), 0, r.maxMessageSize + 1), RangeError);
  t.throws(() => r.reserve(r.maxMessageSize + 1), RangeError);
  t.throws(() => r.push(0, big, 5, 2), RangeError, 'inverted range');
  t.throws(() => r.push(0, big, 0, big.length + 1), RangeError, 'range past the source');
});

t.test('reserve/commit writes in place (zero-copy), may commit less than reserved', async (t) => {
  const r = Ring.create(1024);
  const off = r.reserve(64);
  t.ok(off >= 0);
  t.equal(off % 8, 0, 'payload offset is 8-aligned');
  r.data.write('hello, ring', off, 'latin1');
  t.throws(() => r.reserve(8), Error, 'only one reservation at a time');
  t.throws(() => r.push(1, Buffer.alloc(1), 0, 1), Error, 'no push while reserved');
  t.throws(() => r.commit(7, 65), RangeError, 'cannot commit more than reserved');
  r.commit(7, 11);
  t.throws(() => r.commit(7, 1), Error, 'nothing reserved');
  t.ok(r.push(8, Buffer.from('x'), 0, 1));
  r.flush();
  t.equal(r.usedBytes, 24 + 16, 'committed record sized by its actual length');
  const got = collect(r);
  t.same(
    got.map((m) => [m.tag, m.bytes.toString('latin1')]),
    [
      [7, 'hello, ring'],
      [8, 'x'],
    ],
  );
  // Reserve refuses when full.
  const full = Ring.create(64);
  t.ok(full.reserve(24) >= 0);
  full.commit(1, 24);
  t.ok(full.reserve(24) >= 0);
  full.commit(2, 24);
  t.equal(full.reserve(0), -1, 'full: -1');
  t.equal(full.isBlocked, true);
});

t.test('reserve across the end uses a skip marker too', async (t) => {
  const r = Ring.create(128);
  t.ok(r.push(1, Buffer.alloc(40), 0, 40)); // 48
  t.ok(r.push(2, Buffer.alloc(40), 0, 40)); // 96
  r.flush();
  r.drain(() => {});
  const off = r.reserve(40); // 48 bytes, only 32 to the end
  t.equal(off, 8, 'payload right after the header at 0');
  r.data.fill(0xab, off, off + 40);
  r.commit(3, 40);
  r.flush();
  const got = collect(r);
  t.equal(got.length, 1);
  t.ok(got[0].bytes.equals(Buffer.alloc(40, 0xab)));
});

t.test('usedBytes and usedMessages track both sides', async (t) => {
  const prod = Ring.create(1024);
  const cons = Ring.attach(prod.sab);
  t.equal(cons.usedBytes, 0);
  prod.push(1, Buffer.alloc(10), 0, 10); // 24
  prod.push(2, Buffer.alloc(16), 0, 16); // 24
  prod.push(3, Buffer.alloc(17), 0, 17); // 32
  t.equal(prod.usedBytes, 0, 'not published yet');
  prod.flush();
  t.equal(prod.usedBytes, 80);
  t.equal(cons.usedBytes, 80);
  t.equal(cons.usedMessages, 3);
  cons.drain(() => {}, 1);
  t.equal(prod.usedBytes, 56);
  t.equal(prod.usedMessages, 2);
  t.equal(prod.freeBytes, 1024 - 56);
});

t.test('waitForData resolves at once when data is queued; flush wakes a sleeping consumer only', async (t) => {
  const prod = Ring.create(1024);
  const cons = Ring.attach(prod.sab);
  prod.push(1, Buffer.alloc(1), 0, 1);
  prod.flush();
  t.equal(prod.wakeups, 0, 'no wake-up when nobody sleeps');
  await cons.waitForData();
  t.equal(cons.drain(() => {}), 1);

  let woke = false;
  const waiting = cons.waitForData().then(() => {
    woke = true;
  });
  await new Promise((r) => setTimeout(r, 20));
  t.equal(woke, false, 'parked while empty');
  prod.push(2, Buffer.alloc(1), 0, 1);
  prod.flush();
  t.equal(prod.wakeups, 1, 'flush woke the sleeper');
  await waiting;
  t.equal(woke, true);
  prod.push(3, Buffer.alloc(1), 0, 1);
  prod.flush();
  t.equal(prod.wakeups, 1, 'consumer awake: no second notify');
  t.equal(cons.drain(() => {}), 2);
});

t.test('waitForData with a timeout, and close() wakes the consumer', async (t) => {
  const r = Ring.create(256);
  const t0 = Date.now();
  await r.waitForData(30);
  t.ok(Date.now() - t0 >= 25, 'timed out after ~30 ms');
  const p = r.waitForData();
  setTimeout(() => r.close(), 10);
  await p;
  t.equal(r.closed, true);
});

t.test('waitForData yields to the event loop during a long busy streak', async (t) => {
  const r = Ring.create(1024, { yieldEvery: 8 });
  let timerFired = false;
  setTimeout(() => {
    timerFired = true;
  }, 1);
  const msg = Buffer.alloc(8);
  const until = Date.now() + 2000;
  // A consumer loop that always finds data: without yielding it would spin on microtasks.
  while (!timerFired && Date.now() < until) {
    r.push(1, msg, 0, 8);
    r.flush();
    await r.waitForData();
    r.drain(() => {});
  }
  t.equal(timerFired, true, 'the timer ran while data kept arriving');
});

t.test('waitForSpace resolves once the consumer frees space', async (t) => {
  const prod = Ring.create(256);
  const cons = Ring.attach(prod.sab);
  await prod.waitForSpace(); // nothing failed: at once
  const msg = Buffer.alloc(56); // 64-byte records
  let n = 0;
  while (prod.push(n, msg, 0, 56)) n++;
  prod.flush();
  t.equal(n, 4);
  let resolved = false;
  const p = prod.waitForSpace().then(() => {
    resolved = true;
  });
  await new Promise((r) => setTimeout(r, 20));
  t.equal(resolved, false, 'still full: producer waits');
  cons.drain(() => {}, 1);
  await p;
  t.equal(resolved, true);
  t.ok(prod.push(n, msg, 0, 56));
  // Space freed between the failed push and waitForSpace: resolves at once.
  t.equal(prod.push(99, msg, 0, 56), false);
  cons.drain(() => {}, 1);
  await prod.waitForSpace();
  t.ok(prod.push(99, msg, 0, 56));
});
