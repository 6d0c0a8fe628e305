import t from 'tap';
import { Doorbell, MIN_CAPACITY, Outbox, Ring } from '../../src/ring/index.js';

interface Msg {
  tag: number;
  bytes: Buffer;
}

/** A ring of the smallest size: 64 bytes, four 8-byte messages (16 bytes a record). */
function tiny(): { prod: Ring; cons: Ring; bell: Doorbell; out: Outbox } {
  const prod = Ring.create(MIN_CAPACITY);
  const cons = Ring.attach(prod.sab);
  const bell = Doorbell.create();
  return { prod, cons, bell, out: new Outbox(prod, bell) };
}

function collect(ring: Ring, into: Msg[] = [], max?: number): Msg[] {
  ring.drain((tag, data, start, end) => {
    into.push({ tag, bytes: Buffer.from(data.subarray(start, end)) });
  }, max);
  return into;
}

/** Message `seq`'s bytes: `len` bytes derived from seq, different for every seq. */
function content(seq: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  let x = (seq * 2654435761 + 1) >>> 0;
  for (let i = 0; i < len; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

t.test('messages sent while the ring is full arrive later, in order, exactly once', async (t) => {
  const { cons, out } = tiny();
  const src = Buffer.alloc(8);
  const sent: Msg[] = [];
  const direct: boolean[] = [];
  for (let i = 0; i < 10; i++) {
    content(i, 8).copy(src);
    direct.push(out.send(100 + i, src, 0, 8));
    sent.push({ tag: 100 + i, bytes: content(i, 8) });
  }
  t.same(direct, [true, true, true, true, false, false, false, false, false, false], 'four fit, six wait');
  t.equal(out.waiting, 6);
  t.equal(out.blocked, true);
  t.equal(out.retry(), 0, 'no room: nothing moves');

  const got: Msg[] = [];
  t.equal(collect(cons, got).length, 0, 'nothing is visible before publish');
  t.equal(out.publish(), true);
  collect(cons, got);
  t.equal(got.length, 4);

  let rounds = 0;
  while (out.blocked && rounds++ < 10) {
    out.flush();
    collect(cons, got);
  }
  t.equal(out.waiting, 0);
  t.equal(out.blocked, false);
  t.equal(out.flush(), false, 'nothing left waiting');
  collect(cons, got);
  t.same(got, sent, 'every message once, in send order, with its bytes');
  t.equal(cons.usedMessages, 0);
});

t.test('a message sent while others wait goes behind them even when the ring has room', async (t) => {
  const { cons, out } = tiny();
  // 24 bytes of payload: a 32-byte record; two fill the 64-byte ring.
  const big = Buffer.alloc(24, 0xaa);
  t.equal(out.send(1, big, 0, 24), true);
  t.equal(out.send(2, big, 0, 24), true);
  t.equal(out.send(3, big, 0, 24), false, 'full: waits');
  out.publish();
  // The consumer frees 32 bytes: an 8-byte message would fit now, and so would message 3.
  t.equal(collect(cons, [], 1).length, 1);
  t.equal(out.send(4, Buffer.from('small'), 0, 5), false, 'waits behind message 3 although the ring has room');
  t.equal(out.waiting, 2);
  t.equal(cons.usedMessages, 1, 'only message 2 is in the ring');

  // Message 3 fills the ring again; then a 0-byte message, which would fit, still waits behind 4.
  t.equal(out.retry(), 1, 'message 3 goes in, 4 does not fit behind it');
  t.equal(out.send(5, big, 0, 0), false, 'an empty message waits too');
  out.publish();
  const got = collect(cons);
  t.equal(out.flush(), false, 'the rest went in');
  collect(cons, got);
  t.same(
    got.map((m) => [m.tag, m.bytes.toString('latin1')]),
    [
      [2, big.toString('latin1')],
      [3, big.toString('latin1')],
      [4, 'small'],
      [5, ''],
    ],
  );
});

t.test('the bell rings only when something was published, once per publish', async (t) => {
  const { cons, bell, out } = tiny();
  const src = Buffer.alloc(8, 1);
  const rung = (): number => bell.rung;
  t.equal(out.publish(), false, 'nothing pushed: no publish');
  t.equal(rung(), 0);

  for (let i = 0; i < 3; i++) out.send(i, src, 0, 8);
  t.equal(rung(), 0, 'send alone does not ring');
  t.equal(out.publish(), true);
  t.equal(rung(), 1, 'one ring for a burst of three');
  t.equal(out.publish(), false);
  t.equal(rung(), 1, 'a second publish with nothing new does not ring');

  out.send(3, src, 0, 8); // fills the ring
  out.send(4, src, 0, 8); // waits
  out.publish();
  t.equal(rung(), 2);
  out.send(5, src, 0, 8); // waits: nothing pushed
  t.equal(out.flush(), true, 'still blocked');
  t.equal(rung(), 2, 'only waiting messages, nothing pushed: no ring');
  t.equal(cons.usedMessages, 4);

  collect(cons);
  t.equal(out.flush(), false, 'both went in');
  t.equal(rung(), 3, 'a retry that pushed rings');
  t.same(
    collect(cons).map((m) => m.tag),
    [4, 5],
  );
});

t.test('publish wakes a consumer asleep on the bell and one parked on the ring', async (t) => {
  const { cons, bell, out } = tiny();
  const timers: NodeJS.Timeout[] = [];
  t.teardown(() => timers.forEach(clearTimeout));
  const timeout = (ms: number): Promise<string> => new Promise((r) => timers.push(setTimeout(() => r('timed out'), ms)));

  const onBell = bell.sleep(bell.rung, 5000).then(() => 'woken');
  const onRing = cons.waitForData(5000).then(() => 'woken');
  t.equal(cons.consumerSleeping, true, 'the consumer is parked');
  out.send(7, Buffer.from('hello'), 0, 5);
  t.equal(await Promise.race([onBell, timeout(50)]), 'timed out', 'not woken before publish');
  out.publish();
  t.equal(await Promise.race([onBell, timeout(2000)]), 'woken', 'bell sleeper woken');
  t.equal(await Promise.race([onRing, timeout(2000)]), 'woken', 'ring waiter woken');
  t.same(
    collect(cons).map((m) => m.bytes.toString()),
    ['hello'],
  );
});

t.test('the caller reusing its buffer after send does not change what waits', async (t) => {
  const { cons, out } = tiny();
  const src = Buffer.alloc(40);
  const sent: Msg[] = [];
  // Fill the ring, then many more (more bytes than the outbox's first store) from one buffer.
  for (let i = 0; i < 200; i++) {
    const len = i % 25;
    const at = i % 16;
    const bytes = content(i, len);
    bytes.copy(src, at);
    out.send(i, src, at, at + len);
    sent.push({ tag: i, bytes });
    src.fill(0xee); // the caller reuses its buffer at once
  }
  t.ok(out.waiting > 150, `${out.waiting} wait`);
  const got: Msg[] = [];
  let rounds = 0;
  do {
    out.flush();
    collect(cons, got, 2);
  } while ((out.blocked || cons.hasData) && rounds++ < 1000);
  t.equal(got.length, 200);
  t.same(got, sent, 'contents as they were at send');
});

t.test('random sends, drains and reuse against a model: order, contents, exactly once', async (t) => {
  const { cons, out } = tiny();
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const src = Buffer.alloc(64);
  const sent: Msg[] = [];
  const got: Msg[] = [];
  let peak = 0;
  let overtook = 0;
  for (let step = 0; step < 20000; step++) {
    const op = rnd(10);
    if (op < 4) {
      const len = rnd(out.ring.maxMessageSize + 1);
      const at = rnd(64 - len + 1);
      const bytes = content(step, len);
      bytes.copy(src, at);
      const wasBlocked = out.blocked;
      const direct = out.send(step, src, at, at + len);
      if (wasBlocked && direct) overtook++;
      sent.push({ tag: step, bytes });
      src.fill(step & 0xff);
    } else if (op < 6) {
      out.flush();
    } else if (op < 9) {
      collect(cons, got, rnd(5));
    } else if (rnd(200) === 0) {
      // A long stall: many messages pile up (exercises the outbox's compaction and growth).
      for (let k = 0; k < 1500; k++) {
        const len = rnd(3);
        const bytes = content(step * 10000 + k, len);
        out.send(0x80000000 + k, bytes, 0, len);
        sent.push({ tag: 0x80000000 + k, bytes });
      }
    }
    peak = Math.max(peak, out.waiting);
  }
  let rounds = 0;
  while ((out.blocked || cons.hasData) && rounds++ < 100000) {
    out.flush();
    collect(cons, got);
  }
  t.ok(peak > 1024, `up to ${peak} waited at once`);
  t.equal(overtook, 0, 'no message went in while others waited');
  t.equal(got.length, sent.length, `${sent.length} messages`);
  let bad = -1;
  for (let i = 0; i < sent.length && bad < 0; i++) {
    if (got[i]?.tag !== sent[i].tag || !got[i].bytes.equals(sent[i].bytes)) bad = i;
  }
  t.equal(bad, -1, 'every message in order with its bytes');
});

t.test('a message too large for the ring is refused at once, not kept', async (t) => {
  const { cons, out } = tiny();
  const big = Buffer.alloc(100);
  const max = out.ring.maxMessageSize;
  t.throws(() => out.send(1, big, 0, max + 1), RangeError, 'straight into the ring');
  out.send(2, big, 0, max);
  out.send(3, big, 0, max);
  t.equal(out.send(4, big, 0, 8), false);
  t.throws(() => out.send(5, big, 0, max + 1), RangeError, 'behind waiting messages');
  t.throws(() => out.send(6, big, 90, 101), RangeError, 'outside the buffer');
  t.equal(out.waiting, 1, 'the refused ones were not kept');
  out.publish();
  const got = collect(cons);
  out.flush();
  collect(cons, got);
  t.same(
    got.map((m) => m.tag),
    [2, 3, 4],
  );
});

t.test('clear drops what waits; later messages go straight in again', async (t) => {
  const { cons, out } = tiny();
  const src = Buffer.alloc(24);
  out.send(1, src, 0, 24);
  out.send(2, src, 0, 24);
  out.send(3, src, 0, 24);
  t.equal(out.waiting, 1);
  out.clear();
  t.equal(out.waiting, 0);
  t.equal(out.blocked, false);
  out.publish();
  collect(cons);
  t.equal(out.send(4, src, 0, 8), true);
  out.publish();
  t.same(
    collect(cons).map((m) => m.tag),
    [4],
  );
});
