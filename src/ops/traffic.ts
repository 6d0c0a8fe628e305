import * as hdr from 'hdr-histogram-js';
import type { EntrySummary } from '../book/index.js';
import type { Metric } from './metrics.js';

/** Upper bounds, in seconds, of the latency histogram /metrics exposes: from well under a fsync to a host's timeout. */
export const LATENCY_BOUNDS_S: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const LATENCY_BOUNDS_US = LATENCY_BOUNDS_S.map((s) => s * 1e6);

/** Most transactions of a second the live tail shows, spread evenly over the second. */
export const TAIL_PER_SECOND = 20;

/**
 * Most distinct transaction types and response codes kept as labels: both come from the switch's
 * own tables, so this bounds a mistake, not normal traffic; the rest is counted as `other`.
 */
const MAX_LABEL_VALUES = 64;
const OTHER = 'other';

/**
 * Journal entries that are not a terminal's request answered: changes made through the control
 * channel (reference data, business date), and the request leg of an off-us transaction, whose
 * outcome is an entry of its own.
 */
function isTransaction(s: EntrySummary): boolean {
  return s.route !== 'control' && s.type !== 'host-request';
}

/** A transaction in the live tail: what the journal's summary shows, the card masked (first 6, last 4). */
export interface TailEntry {
  seq: number;
  at: number;
  type: string;
  code: string;
  amount: number;
  latencyUs: number;
  route: string;
  mid: string;
  tid: string;
  card: string;
}

/** One closed window of traffic (about a second), as the live monitor shows it. */
export interface TrafficWindow {
  seconds: number;
  transactions: number;
  tps: number;
  tpsByType: Record<string, number>;
  /** Transactions of the window by response code. */
  codes: Record<string, number>;
  latencyUs: { p50: number; p90: number; p99: number; max: number };
  tail: TailEntry[];
}

/** Everything counted of one transaction type since start, and its count in the open window. */
class TypeTally {
  window = 0;
  latencySumUs = 0;
  readonly codes = new Map<string, number>();
  /** Latency observations per bucket of LATENCY_BOUNDS (not cumulative); the last is above every bound. */
  readonly buckets = new Float64Array(LATENCY_BOUNDS_US.length + 1);
}

/**
 * Transaction traffic as the operations plane sees it, from the book's event feed (never from
 * SQLite): cumulative counters and latency histograms by type and response code for /metrics, and
 * a window of the current second for the live monitor (TPS by type, code mix, latency percentiles,
 * a sampled tail). It sees every transaction on the acceptor's thread, so recording one allocates
 * nothing: tallies per type are made once, counts are numbers in maps and typed arrays.
 * Also keeps which terminals are signed in, from their sign-in and sign-off entries.
 */
export class TrafficStats {
  private readonly types = new Map<string, TypeTally>();
  private readonly windowCodes = new Map<string, number>();
  private readonly windowLatency = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 2 });
  private windowCount = 0;
  private windowOpenedAt: number;
  private readonly tail: EntrySummary[] = [];
  /** Every how many transactions one goes into the tail: last window's count spread over TAIL_PER_SECOND. */
  private tailStride = 1;
  private readonly signedIn: Set<string>;

  /** `signedIn`: the terminals LMDB has signed in when the feed starts. */
  constructor(signedIn: Iterable<string>, now = Date.now()) {
    this.signedIn = new Set(signedIn);
    this.windowOpenedAt = now;
  }

  /** Terminals signed in now. */
  get signedInTerminals(): number {
    return this.signedIn.size;
  }

  /** Counts one durable journal entry; the feed's subscriber (bound once, no closure per entry). */
  readonly record = (s: EntrySummary): void => {
    if (!isTransaction(s)) return;
    if (s.responseCode === '00') {
      if (s.type === 'sign-in') this.signedIn.add(s.tid);
      else if (s.type === 'sign-off') this.signedIn.delete(s.tid);
    }
    const tally = this.tallyOf(s.type);
    const code = labelValue(tally.codes, s.responseCode);
    tally.codes.set(code, (tally.codes.get(code) ?? 0) + 1);
    tally.window++;
    tally.latencySumUs += s.latencyUs;
    tally.buckets[bucketOf(s.latencyUs)]++;
    const windowCode = labelValue(this.windowCodes, s.responseCode);
    this.windowCodes.set(windowCode, (this.windowCodes.get(windowCode) ?? 0) + 1);
    this.windowLatency.recordValue(Math.round(s.latencyUs));
    if (this.windowCount % this.tailStride === 0 && this.tail.length < TAIL_PER_SECOND) this.tail.push(s);
    this.windowCount++;
  };

  /** Closes the open window and returns it; the next one starts now. */
  roll(now = Date.now()): TrafficWindow {
    const seconds = Math.max(0.001, (now - this.windowOpenedAt) / 1000);
    const tpsByType: Record<string, number> = {};
    for (const [type, tally] of this.types) {
      if (tally.window > 0) tpsByType[type] = round(tally.window / seconds);
      tally.window = 0;
    }
    const h = this.windowLatency;
    const window: TrafficWindow = {
      seconds: Math.round(seconds * 1000) / 1000,
      transactions: this.windowCount,
      tps: round(this.windowCount / seconds),
      tpsByType,
      codes: Object.fromEntries(this.windowCodes),
      latencyUs: this.windowCount === 0 ? { p50: 0, p90: 0, p99: 0, max: 0 } : { p50: Math.min(h.getValueAtPercentile(50), h.maxValue), p90: Math.min(h.getValueAtPercentile(90), h.maxValue), p99: Math.min(h.getValueAtPercentile(99), h.maxValue), max: h.maxValue },
      tail: this.tail.map((s) => ({ seq: s.seq, at: s.at, type: s.type, code: s.responseCode, amount: s.amount, latencyUs: s.latencyUs, route: s.route, mid: s.mid, tid: s.tid, card: s.panMasked })),
    };
    this.tailStride = Math.max(1, Math.ceil(this.windowCount / TAIL_PER_SECOND));
    this.windowCount = 0;
    this.windowCodes.clear();
    h.reset();
    this.tail.length = 0;
    this.windowOpenedAt = now;
    return window;
  }

  /** Counters by type and code, latency histograms by type, signed-in terminals. */
  metrics(): Metric[] {
    const counts = [];
    const latency = [];
    for (const [type, tally] of this.types) {
      for (const [code, value] of tally.codes) counts.push({ labels: { type, code }, value });
      latency.push({ labels: { type }, counts: tally.buckets, sum: tally.latencySumUs / 1e6 });
    }
    return [
      { name: 'posp_transactions_total', help: 'Durable transactions by type and response code, since start.', type: 'counter', samples: counts },
      { name: 'posp_transaction_latency_seconds', help: 'Time from request to durable response, by transaction type.', type: 'histogram', bounds: LATENCY_BOUNDS_S, series: latency },
      { name: 'posp_terminals_signed_in', help: 'Terminals signed in (working keys issued, not signed off).', type: 'gauge', value: this.signedIn.size },
    ];
  }

  private tallyOf(type: string): TypeTally {
    let tally = this.types.get(type);
    if (tally !== undefined) return tally;
    const label = this.types.size < MAX_LABEL_VALUES - 1 ? type : OTHER;
    tally = this.types.get(label);
    if (tally === undefined) this.types.set(label, (tally = new TypeTally()));
    return tally;
  }
}

/** `value` as a label of `counts`, or `other` once the labels are used up. */
function labelValue(counts: Map<string, number>, value: string): string {
  return counts.size < MAX_LABEL_VALUES - 1 || counts.has(value) ? value : OTHER;
}

function bucketOf(latencyUs: number): number {
  let i = 0;
  while (i < LATENCY_BOUNDS_US.length && latencyUs > LATENCY_BOUNDS_US[i]) i++;
  return i;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
