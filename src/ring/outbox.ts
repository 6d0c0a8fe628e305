import type { Doorbell } from './doorbell.js';
import type { Ring } from './ring.js';

/** Waiting messages' copies are kept in one byte store; a store this large is let go once empty. */
const STORE_MIN = 256;
const STORE_KEEP_MAX = 1 << 20;
/** Sent-off slots at the front of the index arrays before they are compacted. */
const COMPACT_AT = 1024;

const EMPTY = Buffer.alloc(0);

/**
 * The producer's end of one ring, with back-pressure that loses nothing: a message goes straight
 * into the ring while nothing waits and the ring has room; otherwise a copy of its bytes waits,
 * behind any earlier ones, until `retry()` finds room. Messages reach the ring in `send` order.
 *
 * Nothing pushed is visible until `publish()`, which flushes the ring and rings the consumer's
 * bell, and does so only when something was pushed since the last publish: call it once per
 * burst. A caller whose `waiting` is not zero should come back soon (poll) and `retry()`.
 *
 * Hot path (nothing waiting, room in the ring): no allocation, no closure, one `Ring.push`.
 * Copies of waiting messages go into one growing byte store, not one Buffer per message.
 */
export class Outbox {
  readonly ring: Ring;
  /** Rung by `publish()` (the consumer's doorbell); none: the ring's own wake-up is enough. */
  readonly bell: Doorbell | undefined;

  /** Pushed since the last publish. */
  private pushed = false;
  /** Waiting messages: tag and end offset in `store` (each starts where the previous ended). */
  private readonly tags: number[] = [];
  private readonly ends: number[] = [];
  /** Index in tags/ends of the oldest waiting message. */
  private first = 0;
  /** Store offsets: the oldest waiting message's start, and where the next copy goes. */
  private readAt = 0;
  private writeAt = 0;
  private store: Buffer = EMPTY;

  constructor(ring: Ring, bell?: Doorbell) {
    this.ring = ring;
    this.bell = bell;
  }

  /** Messages kept back, not yet in the ring. */
  get waiting(): number {
    return this.tags.length - this.first;
  }

  /** True while some messages wait for room. */
  get blocked(): boolean {
    return this.first < this.tags.length;
  }

  /**
   * Queues `src[start, end)` with `tag` for the consumer. Returns true when it went into the ring
   * now, false when a copy waits (the caller may reuse `src` either way). Throws a RangeError for a
   * message larger than the ring can ever take.
   */
  send(tag: number, src: Uint8Array, start: number, end: number): boolean {
    if (this.first === this.tags.length && this.ring.push(tag, src, start, end)) {
      this.pushed = true;
      return true;
    }
    this.keep(tag, src, start, end);
    return false;
  }

  /** Pushes waiting messages, oldest first, as far as the ring has room; returns how many went. */
  retry(): number {
    const tags = this.tags;
    const ends = this.ends;
    let i = this.first;
    if (i === tags.length) return 0;
    let at = this.readAt;
    while (i < tags.length && this.ring.push(tags[i], this.store, at, ends[i])) at = ends[i++];
    const sent = i - this.first;
    if (sent === 0) return 0;
    this.pushed = true;
    if (i === tags.length) {
      this.reset();
    } else {
      this.first = i;
      this.readAt = at;
    }
    return sent;
  }

  /**
   * Makes what was pushed since the last publish visible (`Ring.flush`, which also wakes a consumer
   * parked on the ring itself) and rings the bell. Does nothing, and returns false, when nothing was.
   */
  publish(): boolean {
    if (!this.pushed) return false;
    this.pushed = false;
    this.ring.flush();
    this.bell?.ring();
    return true;
  }

  /**
   * One burst's end: `retry()`, then `publish()`. Returns true while messages still wait (the
   * caller should come back soon rather than sleep long).
   */
  flush(): boolean {
    this.retry();
    this.publish();
    return this.first < this.tags.length;
  }

  /** Forgets the waiting messages (their consumer is gone). */
  clear(): void {
    this.reset();
  }

  private keep(tag: number, src: Uint8Array, start: number, end: number): void {
    const length = end - start;
    const max = this.ring.maxMessageSize;
    // Checked now: a message the ring can never take would otherwise block everything behind it.
    if (!(start >= 0 && length >= 0 && end <= src.length && length <= max)) {
      throw new RangeError(`Outbox.send: [${start}, ${end}) of ${src.length} bytes is not a message of at most ${max} bytes`);
    }
    if (this.writeAt + length > this.store.length || this.first >= COMPACT_AT) this.compact(length);
    this.store.set(src.subarray(start, end), this.writeAt);
    this.writeAt += length;
    this.tags.push(tag);
    this.ends.push(this.writeAt);
  }

  /** Moves the waiting messages to the front (of a larger store if `more` bytes would not fit). */
  private compact(more: number): void {
    const live = this.writeAt - this.readAt;
    const from = this.readAt;
    if (live + more > this.store.length) {
      const bigger = Buffer.allocUnsafe(Math.max(STORE_MIN, this.store.length * 2, live + more));
      this.store.copy(bigger, 0, from, this.writeAt);
      this.store = bigger;
    } else if (from > 0) {
      this.store.copyWithin(0, from, this.writeAt);
    }
    this.tags.splice(0, this.first);
    this.ends.splice(0, this.first);
    for (let i = 0; i < this.ends.length; i++) this.ends[i] -= from;
    this.first = 0;
    this.readAt = 0;
    this.writeAt = live;
  }

  private reset(): void {
    this.tags.length = 0;
    this.ends.length = 0;
    this.first = 0;
    this.readAt = 0;
    this.writeAt = 0;
    if (this.store.length > STORE_KEEP_MAX) this.store = EMPTY;
  }
}
