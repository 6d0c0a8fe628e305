/**
 * Wakes a consumer thread that reads from several rings. Producers ring it once per burst;
 * the consumer sleeps with Atomics.waitAsync (never Atomics.wait, which would freeze its event
 * loop, lmdb-js commits and timers included) and is notified only when it is actually asleep.
 */
/** Empty loop turns a consumer stays awake for before it sleeps. */
const SPIN_TURNS = 3;

export class Doorbell {
  readonly sab: SharedArrayBuffer;
  private readonly cells: Int32Array;
  /** Consumer side: loop turns in a row that found nothing to do. */
  private emptyTurns = 0;

  private constructor(sab: SharedArrayBuffer) {
    this.sab = sab;
    // Counter (index 0) and sleep flag (index 16) on separate 64-byte lines.
    this.cells = new Int32Array(sab);
  }

  static create(): Doorbell {
    return new Doorbell(new SharedArrayBuffer(128));
  }

  static attach(sab: SharedArrayBuffer): Doorbell {
    return new Doorbell(sab);
  }

  /**
   * The producer that finds the consumer asleep clears the flag as it wakes it: until the consumer
   * runs again, every other ring (the rest of a burst, another producer) costs no notify.
   */
  ring(): void {
    Atomics.add(this.cells, 0, 1);
    if (Atomics.load(this.cells, 16) === 1 && Atomics.compareExchange(this.cells, 16, 1, 0) === 1) Atomics.notify(this.cells, 0);
  }

  /** The counter, read before draining: `sleep(seen)` returns at once if anyone rang since. */
  get rung(): number {
    return Atomics.load(this.cells, 0);
  }

  /**
   * Ends a consumer's loop turn: a turn that did work, or one of the first SPIN_TURNS empty turns
   * after work, yields one event-loop turn and comes back awake; only then does the consumer sleep.
   * Under load the consumer so stays awake between bursts and producers rarely pay for a notify
   * (a cross-thread wake costs more than a few empty turns).
   */
  async rest(seen: number, work: number, timeoutMs?: number): Promise<void> {
    if (work > 0) this.emptyTurns = 0;
    else if (++this.emptyTurns > SPIN_TURNS) return this.sleep(seen, timeoutMs);
    await new Promise((resolve) => setImmediate(resolve));
  }

  async sleep(seen: number, timeoutMs?: number): Promise<void> {
    Atomics.store(this.cells, 16, 1);
    try {
      if (Atomics.load(this.cells, 0) !== seen) return;
      const wait = Atomics.waitAsync(this.cells, 0, seen, timeoutMs);
      if (wait.async) await wait.value;
    } finally {
      Atomics.store(this.cells, 16, 0);
    }
  }
}
