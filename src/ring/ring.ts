/**
 * Single-producer single-consumer queue of variable-length messages over a SharedArrayBuffer.
 *
 * Used between the connection acceptor (main thread) and the long-lived worker loops, and between
 * workers and the journal thread. One side only pushes, the other side only drains; each side
 * builds its own `Ring` object over the same buffer (`create` on one side, `attach` on the other).
 *
 * Layout of the SharedArrayBuffer (all offsets in bytes):
 *
 *   control block (CONTROL_BYTES), one 64-byte line per writer so no line is written by both sides:
 *     line 0  [0]   magic, [1] capacity, [2] layout version            (written once at create)
 *     line 1  [16]  TAIL: producer's published write position, [17] messages pushed (producer)
 *     line 2  [32]  HEAD: consumer's read position,             [33] messages drained (consumer)
 *     line 3  [48]  SLEEPING: 1 while the consumer is (about to be) parked in waitAsync
 *     line 4  [64]  SPACE_WANTED: 1 while the producer is parked waiting for free space
 *     line 5  [80]  CLOSED: 1 once either side called close()
 *   data area (capacity bytes, a power of two), a sequence of 8-byte aligned records:
 *     int32 length | uint32 tag | payload (length bytes) | padding to a multiple of 8
 *     length = -1 is a skip marker: the rest of the area up to its end is unused and the next
 *     record starts at offset 0 (a record never straddles the end).
 *
 * Positions (HEAD, TAIL) are 32-bit counters that only grow (wrapping modulo 2^32); the offset in
 * the data area is `position & (capacity - 1)`, and the bytes in use are `(tail - head) | 0`.
 *
 * Memory ordering: the producer writes the record (payload, then header) with plain stores and
 * only then publishes it with `Atomics.store(TAIL)`; the consumer reads TAIL with `Atomics.load`
 * before it reads any record, and hands the space back with `Atomics.store(HEAD)` after it has
 * finished with the records. Atomics operations are sequentially consistent, which also makes the
 * two sleep/wake handshakes below race-free (Dekker-style: each side stores its own word, then
 * loads the other's; at least one of them sees the other's store):
 *
 *   consumer: store SLEEPING=1; load TAIL; if nothing new waitAsync(SLEEPING, 1)
 *   producer: store TAIL;       load SLEEPING; if 1: store SLEEPING=0, notify
 *
 * If the producer clears the flag between the consumer's re-check and its waitAsync call,
 * waitAsync sees 0 instead of the expected 1 and returns at once: no lost wake-up. The same
 * pattern with HEAD and SPACE_WANTED wakes a producer waiting for space, and only when it asked.
 *
 * Hot-path rules: push/reserve/commit/flush/drain allocate nothing (payloads up to
 * COPY_LOOP_MAX bytes are copied with a word loop; larger ones use one TypedArray.set over a
 * transient subarray view), no closures are created per message, there is no JSON.
 */

const MAGIC = 0x52494e47; // 'RING'
const VERSION = 1;

/** Bytes of the control block in front of the data area (six 64-byte lines). */
export const CONTROL_BYTES = 384;
const CONTROL_INTS = CONTROL_BYTES >> 2;

const I_MAGIC = 0;
const I_CAPACITY = 1;
const I_VERSION = 2;
const I_TAIL = 16;
const I_PUSHED = 17;
const I_HEAD = 32;
const I_DRAINED = 33;
const I_SLEEPING = 48;
const I_SPACE_WANTED = 64;
const I_CLOSED = 80;

/** Record header bytes: int32 length + uint32 tag. */
export const HEADER_BYTES = 8;
const SKIP = -1;

export const MIN_CAPACITY = 64;
export const MAX_CAPACITY = 1 << 30;

/** Payloads up to this many bytes are copied with a loop (no allocation); larger with set(). */
const COPY_LOOP_MAX = 256;

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Space a record with a payload of `length` bytes takes: header + payload rounded up to 8. */
function recordBytes(length: number): number {
  return (length + HEADER_BYTES + 7) & ~7;
}

type WaitAsyncResult = { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
type WaitAsync = (ta: Int32Array, index: number, value: number, timeout?: number) => WaitAsyncResult;
const waitAsync: WaitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;
if (typeof waitAsync !== 'function') throw new Error('Atomics.waitAsync is not available (Node 16+ required)');

const RESOLVED: Promise<void> = Promise.resolve();
const noop = (): void => {};
function resolveOnImmediate(resolve: () => void): void {
  setImmediate(resolve);
}

export type DrainHandler = (tag: number, data: Buffer, start: number, end: number) => void | boolean;

export interface RingOptions {
  /**
   * `waitForData` resolves at once while data is available, which on its own would let a busy
   * consumer loop (`await waitForData(); drain()`) run on microtasks forever and starve the
   * thread's timers and I/O (lmdb-js commits, sockets). After this many consecutive immediate
   * resolutions it resolves through `setImmediate` instead, letting the event loop turn.
   * Default 32; 0 disables.
   */
  yieldEvery?: number;
}

export interface RingCreateOptions extends RingOptions {
  /**
   * Initial value of both position counters (for tests: start near 2^32 to exercise the counter
   * wrap-around). Must be a multiple of 8. Default 0.
   */
  startPosition?: number;
}

export class Ring {
  /** The shared buffer: post it to the other thread, which calls `Ring.attach(sab)`. */
  readonly sab: SharedArrayBuffer;
  /** The data area as a Buffer over the SharedArrayBuffer (zero-copy reads and writes). */
  readonly data: Buffer;
  /** Bytes of the data area (a power of two). */
  readonly capacity: number;
  /** Largest payload one message may have: capacity/2 minus the header. */
  readonly maxMessageSize: number;

  /** Producer side: how many times flush() had to wake a sleeping consumer. */
  wakeups = 0;
  /** Producer side: pushes/reserves refused because the ring was full. */
  fullCount = 0;

  private readonly ctrl: Int32Array;
  private readonly i32: Int32Array;
  private readonly u32: Uint32Array;
  private readonly mask: number;
  private readonly yieldEvery: number;

  // Producer-local state.
  private tailLocal: number;
  private tailPublished: number;
  private headCache: number;
  private pushedLocal: number;
  private reservedOff = -1;
  private reservedMax = 0;
  private blocked = false;
  private blockedHead = 0;

  // Consumer-local state.
  private headLocal: number;
  private drainedLocal: number;
  private immediateStreak = 0;

  // Keeps the thread alive while parked in waitAsync (which holds no event-loop handle).
  private keepAlive: NodeJS.Timeout | undefined;
  private parked = 0;
  private readonly afterDataWait: () => void;
  private readonly afterSpaceWait: () => void;

  private constructor(sab: SharedArrayBuffer, options: RingOptions | undefined) {
    const ctrl = new Int32Array(sab, 0, CONTROL_INTS);
    if (Atomics.load(ctrl, I_MAGIC) !== MAGIC || Atomics.load(ctrl, I_VERSION) !== VERSION) {
      throw new TypeError('Ring.attach: not a ring buffer (bad magic or version)');
    }
    const capacity = Atomics.load(ctrl, I_CAPACITY);
    if (sab.byteLength !== CONTROL_BYTES + capacity) {
      throw new TypeError(`Ring.attach: buffer is ${sab.byteLength} bytes, expected ${CONTROL_BYTES + capacity}`);
    }
    this.sab = sab;
    this.ctrl = ctrl;
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.maxMessageSize = (capacity >> 1) - HEADER_BYTES;
    this.data = Buffer.from(sab, CONTROL_BYTES, capacity);
    this.i32 = new Int32Array(sab, CONTROL_BYTES, capacity >> 2);
    this.u32 = new Uint32Array(sab, CONTROL_BYTES, capacity >> 2);
    this.yieldEvery = options?.yieldEvery ?? 32;

    const tail = Atomics.load(ctrl, I_TAIL);
    const head = Atomics.load(ctrl, I_HEAD);
    this.tailLocal = tail;
    this.tailPublished = tail;
    this.headCache = head;
    this.pushedLocal = Atomics.load(ctrl, I_PUSHED);
    this.headLocal = head;
    this.drainedLocal = Atomics.load(ctrl, I_DRAINED);

    this.afterDataWait = () => {
      Atomics.store(this.ctrl, I_SLEEPING, 0);
      this.unpark();
    };
    this.afterSpaceWait = () => {
      Atomics.store(this.ctrl, I_SPACE_WANTED, 0);
      this.unpark();
    };
  }

  /** Allocates a SharedArrayBuffer with a control block and `capacity` bytes of data (power of two). */
  static create(capacity: number, options?: RingCreateOptions): Ring {
    if (!Number.isInteger(capacity) || capacity < MIN_CAPACITY || capacity > MAX_CAPACITY || (capacity & (capacity - 1)) !== 0) {
      throw new RangeError(`Ring capacity must be a power of two in [${MIN_CAPACITY}, ${MAX_CAPACITY}], got ${capacity}`);
    }
    const start = options?.startPosition ?? 0;
    if (!Number.isInteger(start) || start % 8 !== 0) throw new RangeError('Ring startPosition must be an integer multiple of 8');
    const sab = new SharedArrayBuffer(CONTROL_BYTES + capacity);
    const ctrl = new Int32Array(sab, 0, CONTROL_INTS);
    ctrl[I_CAPACITY] = capacity;
    ctrl[I_VERSION] = VERSION;
    ctrl[I_TAIL] = start | 0;
    ctrl[I_HEAD] = start | 0;
    Atomics.store(ctrl, I_MAGIC, MAGIC);
    return new Ring(sab, options);
  }

  /** The other side attaches to the same buffer (after it was posted to a worker). */
  static attach(sab: SharedArrayBuffer, options?: RingOptions): Ring {
    if (!(sab instanceof SharedArrayBuffer) || sab.byteLength < CONTROL_BYTES + MIN_CAPACITY) {
      throw new TypeError('Ring.attach: expected the SharedArrayBuffer of a Ring');
    }
    return new Ring(sab, options);
  }

  // ---------------------------------------------------------------------------------------------
  // Producer

  /** Makes room for a record of `need` bytes at the local tail; returns its offset or -1. */
  private claim(need: number): number {
    let tail = this.tailLocal;
    const pos = tail & this.mask;
    const toEnd = this.capacity - pos;
    const total = need <= toEnd ? need : toEnd + need;
    if (((tail - this.headCache) | 0) + total > this.capacity) {
      const head = Atomics.load(this.ctrl, I_HEAD);
      this.headCache = head;
      if (((tail - head) | 0) + total > this.capacity) {
        this.blocked = true;
        this.blockedHead = head;
        this.fullCount++;
        return -1;
      }
    }
    this.blocked = false;
    if (need <= toEnd) return pos;
    // The record would straddle the end: mark the rest as skipped and start at 0.
    this.i32[pos >> 2] = SKIP;
    tail = (tail + toEnd) | 0;
    this.tailLocal = tail;
    return 0;
  }

  /**
   * Copies one message (a 32-bit tag, e.g. a connection id, plus src[start..end]) in. Returns
   * false when it does not fit: the caller keeps it and retries (back-pressure; see
   * waitForSpace). Not visible to the consumer until flush().
   */
  push(tag: number, src: Uint8Array, start: number, end: number): boolean {
    const length = end - start;
    if (!(start >= 0 && length >= 0 && end <= src.length)) {
      throw new RangeError(`Ring.push: bad range [${start}, ${end}) of ${src.length} bytes`);
    }
    if (length > this.maxMessageSize) {
      throw new RangeError(`Ring.push: message of ${length} bytes exceeds the maximum ${this.maxMessageSize}`);
    }
    if (this.reservedOff >= 0) throw new Error('Ring.push: a reserve() is pending commit');
    const need = recordBytes(length);
    const off = this.claim(need);
    if (off < 0) return false;
    const w = off >> 2;
    this.i32[w] = length;
    this.u32[w + 1] = tag;
    const dst = off + HEADER_BYTES;
    if (length <= COPY_LOOP_MAX) {
      if (LITTLE_ENDIAN) {
        // Word stores into the (8-aligned) destination, byte loads from any source alignment.
        const i32 = this.i32;
        let i = start;
        let d = (w + 2) | 0;
        const end4 = end - 3;
        for (; i < end4; i += 4) i32[d++] = src[i] | (src[i + 1] << 8) | (src[i + 2] << 16) | (src[i + 3] << 24);
        const data = this.data;
        let o = d << 2;
        for (; i < end; i++) data[o++] = src[i];
      } else {
        const data = this.data;
        for (let i = start, o = dst; i < end; i++) data[o++] = src[i];
      }
    } else {
      this.data.set(src.subarray(start, end), dst);
    }
    this.tailLocal = (this.tailLocal + need) | 0;
    this.pushedLocal = (this.pushedLocal + 1) | 0;
    return true;
  }

  /**
   * Zero-copy variant: reserves room for a payload of up to `length` bytes. Write the payload
   * at data[offset .. offset + length), then commit(tag, actualLength). Returns -1 when full.
   */
  reserve(length: number): number {
    if (!(length >= 0 && length <= this.maxMessageSize)) {
      throw new RangeError(`Ring.reserve: ${length} bytes is outside [0, ${this.maxMessageSize}]`);
    }
    if (this.reservedOff >= 0) throw new Error('Ring.reserve: a reserve() is already pending commit');
    const off = this.claim(recordBytes(length));
    if (off < 0) return -1;
    this.reservedOff = off;
    this.reservedMax = length;
    return off + HEADER_BYTES;
  }

  /** Completes the pending reserve() with the payload's tag and actual length (≤ reserved). */
  commit(tag: number, length: number): void {
    const off = this.reservedOff;
    if (off < 0) throw new Error('Ring.commit: nothing reserved');
    if (!(length >= 0 && length <= this.reservedMax)) {
      throw new RangeError(`Ring.commit: length ${length} is outside the reserved [0, ${this.reservedMax}]`);
    }
    const w = off >> 2;
    this.i32[w] = length;
    this.u32[w + 1] = tag;
    this.reservedOff = -1;
    this.tailLocal = (this.tailLocal + recordBytes(length)) | 0;
    this.pushedLocal = (this.pushedLocal + 1) | 0;
  }

  /**
   * Makes the pushed messages visible and wakes the consumer only if it is sleeping. Call once
   * per burst of pushes.
   */
  flush(): void {
    const tail = this.tailLocal;
    if (tail === this.tailPublished) return;
    this.tailPublished = tail;
    Atomics.store(this.ctrl, I_PUSHED, this.pushedLocal);
    Atomics.store(this.ctrl, I_TAIL, tail); // publication point: the records before it are complete
    if (Atomics.load(this.ctrl, I_SLEEPING) !== 0) this.wakeConsumer();
  }

  private wakeConsumer(): void {
    // Clear first: a consumer between its re-check and waitAsync then sees 0 and does not park.
    if (Atomics.compareExchange(this.ctrl, I_SLEEPING, 1, 0) === 1) {
      Atomics.notify(this.ctrl, I_SLEEPING, 1);
      this.wakeups++;
    }
  }

  /**
   * Producer side: resolves when space has been freed since the last failed push/reserve
   * (at once if it already has, or if nothing failed). The consumer notifies only when asked.
   */
  waitForSpace(): Promise<void> {
    if (!this.blocked) return RESOLVED;
    const ctrl = this.ctrl;
    Atomics.store(ctrl, I_SPACE_WANTED, 1);
    const head = Atomics.load(ctrl, I_HEAD);
    if (head !== this.blockedHead || Atomics.load(ctrl, I_CLOSED) !== 0) {
      Atomics.store(ctrl, I_SPACE_WANTED, 0);
      this.headCache = head;
      this.blocked = false;
      return RESOLVED;
    }
    const r = waitAsync(ctrl, I_SPACE_WANTED, 1);
    if (!r.async) {
      Atomics.store(ctrl, I_SPACE_WANTED, 0);
      return RESOLVED;
    }
    this.park();
    return r.value.then(this.afterSpaceWait);
  }

  // ---------------------------------------------------------------------------------------------
  // Consumer

  /**
   * Calls handler(tag, data, start, end) for up to `max` messages, in order, then frees their
   * space. The bytes are valid only during the call. If the handler returns `false` the message
   * is left in the ring (it is delivered again by the next drain) and draining stops; if it
   * throws, the message counts as consumed and the error propagates. Returns the number of
   * messages consumed.
   */
  drain(handler: DrainHandler, max = 0x7fffffff): number {
    const tail = Atomics.load(this.ctrl, I_TAIL);
    let head = this.headLocal;
    if (head === tail) return 0;
    const i32 = this.i32;
    const u32 = this.u32;
    const data = this.data;
    const mask = this.mask;
    let n = 0;
    try {
      while (head !== tail && n < max) {
        const pos = head & mask;
        const w = pos >> 2;
        const length = i32[w];
        if (length === SKIP) {
          head = (head + this.capacity - pos) | 0;
          continue;
        }
        const cur = head;
        head = (head + recordBytes(length)) | 0;
        n++;
        const start = pos + HEADER_BYTES;
        if (handler(u32[w + 1], data, start, start + length) === false) {
          head = cur;
          n--;
          break;
        }
      }
    } finally {
      if (head !== this.headLocal) this.release(head, n);
    }
    return n;
  }

  /** Publishes the consumer's head and wakes the producer if it is waiting for space. */
  private release(head: number, consumed: number): void {
    this.headLocal = head;
    this.drainedLocal = (this.drainedLocal + consumed) | 0;
    const ctrl = this.ctrl;
    Atomics.store(ctrl, I_DRAINED, this.drainedLocal);
    Atomics.store(ctrl, I_HEAD, head);
    if (Atomics.load(ctrl, I_SPACE_WANTED) !== 0 && Atomics.compareExchange(ctrl, I_SPACE_WANTED, 1, 0) === 1) {
      Atomics.notify(ctrl, I_SPACE_WANTED, 1);
    }
  }

  /** Consumer: true when a drain() would deliver something now. */
  get hasData(): boolean {
    return Atomics.load(this.ctrl, I_TAIL) !== this.headLocal;
  }

  /**
   * Consumer: resolves when messages are available (immediately if any; see
   * RingOptions.yieldEvery), or when the ring is closed, or after `timeoutMs`. Parks on the
   * sleep flag with Atomics.waitAsync, so the thread's event loop keeps running; while parked the
   * ring holds a ref'd timer handle so the thread does not exit under it.
   */
  waitForData(timeoutMs?: number): Promise<void> {
    const ctrl = this.ctrl;
    if (Atomics.load(ctrl, I_TAIL) !== this.headLocal || Atomics.load(ctrl, I_CLOSED) !== 0) return this.ready();
    Atomics.store(ctrl, I_SLEEPING, 1);
    // Re-check after announcing sleep: a producer that published before seeing the flag.
    if (Atomics.load(ctrl, I_TAIL) !== this.headLocal || Atomics.load(ctrl, I_CLOSED) !== 0) {
      Atomics.store(ctrl, I_SLEEPING, 0);
      return this.ready();
    }
    this.immediateStreak = 0;
    const r = waitAsync(ctrl, I_SLEEPING, 1, timeoutMs);
    if (!r.async) {
      Atomics.store(ctrl, I_SLEEPING, 0);
      return RESOLVED;
    }
    this.park();
    return r.value.then(this.afterDataWait);
  }

  private ready(): Promise<void> {
    if (this.yieldEvery > 0 && ++this.immediateStreak >= this.yieldEvery) {
      this.immediateStreak = 0;
      return new Promise(resolveOnImmediate);
    }
    return RESOLVED;
  }

  // ---------------------------------------------------------------------------------------------
  // Both sides

  /**
   * Marks the ring closed (either side) after flushing what this side pushed, and wakes a parked
   * peer. The consumer should drain until empty after it sees `closed`.
   */
  close(): void {
    this.flush();
    const ctrl = this.ctrl;
    Atomics.store(ctrl, I_CLOSED, 1);
    if (Atomics.compareExchange(ctrl, I_SLEEPING, 1, 0) === 1) Atomics.notify(ctrl, I_SLEEPING);
    if (Atomics.compareExchange(ctrl, I_SPACE_WANTED, 1, 0) === 1) Atomics.notify(ctrl, I_SPACE_WANTED);
  }

  /** True while the consumer is parked (or about to park) in waitForData. */
  get consumerSleeping(): boolean {
    return Atomics.load(this.ctrl, I_SLEEPING) !== 0;
  }

  get closed(): boolean {
    return Atomics.load(this.ctrl, I_CLOSED) !== 0;
  }

  /** Bytes currently queued (published and not yet drained, headers and padding included). */
  get usedBytes(): number {
    // Head first: read the other way round, the head could pass the tail that was read.
    const head = Atomics.load(this.ctrl, I_HEAD);
    return (Atomics.load(this.ctrl, I_TAIL) - head) | 0;
  }

  /** Messages currently queued (published and not yet drained). */
  get usedMessages(): number {
    // Drained first: reading it before PUSHED keeps the difference from going negative.
    const drained = Atomics.load(this.ctrl, I_DRAINED);
    return (Atomics.load(this.ctrl, I_PUSHED) - drained) | 0;
  }

  /** Bytes free for the producer (from its point of view, unflushed pushes included). */
  get freeBytes(): number {
    return this.capacity - ((this.tailLocal - Atomics.load(this.ctrl, I_HEAD)) | 0);
  }

  /** Producer side: true when the last push/reserve failed and no space was seen freed since. */
  get isBlocked(): boolean {
    return this.blocked;
  }

  private park(): void {
    if (this.parked++ === 0) {
      if (this.keepAlive === undefined) this.keepAlive = setInterval(noop, 1 << 30);
      else this.keepAlive.ref();
    }
  }

  private unpark(): void {
    if (--this.parked === 0 && this.keepAlive !== undefined) this.keepAlive.unref();
  }
}
