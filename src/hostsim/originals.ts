/**
 * What the host remembers of the transactions it saw, so a reversal advice (0420) finds its original
 * and undoes it at most once however often the switch resends it.
 *
 * Key (chosen): the original's STAN and F7, as the request had them and as F90 repeats them, plus
 * F41 and F42. The switch's STAN is unique per host link and day, F7 tells two days (and two links
 * that happen to use the same STAN) apart, and TID+MID name the terminal; the connection is not
 * part of the key because a reversal may come on another link or after a reconnect.
 */
export interface Original {
  /** False for a declined or unanswered original, and for one only known from its reversal. */
  readonly approved: boolean;
  /** A reversal has been recorded: later copies change nothing. */
  reversed: boolean;
  readonly amount: string;
  readonly rrn: string;
  readonly authCode: string;
  readonly panMasked: string;
}

export function originalKey(stan: string, transmissionTime: string, tid: string, mid: string): string {
  return stan + transmissionTime + tid + '|' + mid;
}

/**
 * Originals of the current and the previous business day: a reversal just after midnight still
 * finds a transaction from just before, and memory stays bounded to two days.
 */
export class Originals {
  #day = '';
  #today = new Map<string, Original>();
  #yesterday = new Map<string, Original>();

  /** Moves to `day` (YYYYMMDD); the day before it is kept, older ones are forgotten. */
  roll(day: string): void {
    if (day === this.#day) return;
    this.#yesterday = this.#today;
    this.#today = new Map();
    this.#day = day;
  }

  find(key: string): Original | undefined {
    return this.#today.get(key) ?? this.#yesterday.get(key);
  }

  add(key: string, original: Original): void {
    this.#today.set(key, original);
  }
}
