import * as hdr from 'hdr-histogram-js';
import type { TerminalMessage } from '../codec/index.js';
import { DEMO, demoOffUsPan, demoPan } from '../store/index.js';
import { SimTerminal, type CardData, type Receipt } from './terminal.js';

export type MixKind = 'sale' | 'void' | 'balance' | 'refund' | 'reversal' | 'echo' | 'preauth' | 'completion' | 'transfer' | 'bill' | 'offus';
const KINDS: readonly MixKind[] = ['sale', 'void', 'balance', 'refund', 'reversal', 'echo', 'preauth', 'completion', 'transfer', 'bill', 'offus'];

export type Scenario = 'mix' | 'full-day';

export interface LoadOptions {
  host: string;
  port: number;
  terminals: number;
  /** Stop after this many milliseconds, or after `count` transactions in all. */
  durationMs?: number;
  count?: number;
  mix: Map<MixKind, number>;
  /** One TCP connection per transaction (connect, sell, close) instead of persistent ones. */
  short: boolean;
  /** `full-day`: after the mixed day every terminal settles and uploads, and card balances are checked. */
  scenario: Scenario;
  firstTid: number;
  mid: string;
  tmk: string;
  /** Cards drawn from demo cards 1..cards. */
  cards: number;
  progress?: (line: string) => void;
}

export interface LoadReport {
  transactions: number;
  errors: number;
  seconds: number;
  tps: number;
  latencyUs: { p50: number; p90: number; p99: number; max: number };
  responseCodes: Record<string, number>;
  errorSamples: string[];
  /** full-day only. */
  settlements?: { balanced: number; unbalanced: number };
  balanceChecks?: { cards: number; mismatched: number };
}

export class UsageError extends Error {}

/** `sale:90,void:5,balance:5` → weights. */
export function parseMix(text: string): Map<MixKind, number> {
  const mix = new Map<MixKind, number>();
  for (const part of text.split(',')) {
    const [name, weight] = part.split(':');
    if (!KINDS.includes(name as MixKind)) throw new UsageError(`unknown transaction kind "${name}" in --mix (known: ${KINDS.join(', ')})`);
    const w = Number(weight ?? '1');
    if (!(w > 0)) throw new UsageError(`weight of ${name} in --mix must be positive`);
    mix.set(name as MixKind, w);
  }
  return mix;
}

export const FULL_DAY_MIX = 'sale:60,void:5,refund:5,reversal:3,balance:10,preauth:6,completion:5,transfer:3,bill:3';

/** A request and, once approved, what the terminal keeps of it. */
interface Kept {
  request: TerminalMessage;
  receipt: Receipt;
}

/** What the load generator expects each card's available funds to have moved by (fen). */
type Movements = Map<string, number>;

function move(movements: Movements, pan: string, amount: number): void {
  movements.set(pan, (movements.get(pan) ?? 0) + amount);
}

/**
 * One simulated terminal's day: its approved sales and pre-auths (for follow-ups), its own batch
 * totals (for settlement), and the movements it caused on cards.
 */
class TerminalDay {
  readonly sales: Kept[] = [];
  readonly preAuths: Kept[] = [];
  /** Approved debits (sales, completions) and credits (refunds) still standing, by STAN. */
  readonly debits = new Map<string, Receipt>();
  readonly credits = new Map<string, Receipt>();

  constructor(readonly term: SimTerminal, readonly movements: Movements) {}

  /** Builds the next request of `kind` (or a sale when the kind needs an original it has none of). */
  next(kind: MixKind, card: CardData, payee: string): { kind: MixKind; request: TerminalMessage; original?: Kept } {
    const term = this.term;
    const amount = 1 + Math.floor(Math.random() * 10_000);
    if ((kind === 'void' || kind === 'refund' || kind === 'reversal') && this.sales.length === 0) kind = 'sale';
    if (kind === 'completion' && this.preAuths.length === 0) kind = 'preauth';
    switch (kind) {
      case 'sale': return { kind, request: term.sale(card, amount) };
      // A sale on an off-us card, for the host: whole yuan, so no amount ends in a code the host simulator answers with.
      case 'offus': return { kind, request: term.sale(offUsCard(card), 100 * (1 + Math.floor(Math.random() * 100))) };
      case 'balance': return { kind, request: term.balanceInquiry(card) };
      case 'echo': return { kind, request: term.echo() };
      case 'preauth': return { kind, request: term.preAuth(card, amount) };
      case 'transfer': return { kind, request: term.transfer(card, payee, amount) };
      case 'bill': return { kind, request: term.billPayment(card, 'ELEC', '880012345678', amount) };
      case 'completion': {
        const original = this.preAuths.splice(Math.floor(Math.random() * this.preAuths.length), 1)[0];
        return { kind, original, request: term.completion(original.receipt, original.receipt.amount) };
      }
      default: {
        const original = this.sales.splice(Math.floor(Math.random() * this.sales.length), 1)[0];
        const request =
          kind === 'void' ? term.saleVoid(original.receipt) :
          kind === 'refund' ? term.refund(original.receipt, original.receipt.amount) :
          term.reversal(original.request);
        return { kind, original, request };
      }
    }
  }

  /** Books an approval the way the switch should have: follow-ups, totals, card movements. */
  approved(kind: MixKind, request: TerminalMessage, response: TerminalMessage, original: Kept | undefined): void {
    const receipt = this.term.receipt(request, response, 'sale');
    const pan = request.text(2)!;
    switch (kind) {
      case 'offus':
        // In the batch totals; the card is the host's, so no movement to check here.
        this.debits.set(receipt.stan, receipt);
        break;
      case 'sale':
        this.sales.push({ request, receipt });
        if (this.sales.length > 32) this.sales.shift();
        this.debits.set(receipt.stan, receipt);
        move(this.movements, pan, -receipt.amount);
        break;
      case 'void':
      case 'reversal':
        this.debits.delete(original!.receipt.stan);
        move(this.movements, pan, original!.receipt.amount);
        break;
      case 'refund':
        this.credits.set(receipt.stan, receipt);
        move(this.movements, pan, receipt.amount);
        break;
      case 'preauth':
        this.preAuths.push({ request, receipt: { ...receipt, type: 'pre-auth' } });
        if (this.preAuths.length > 32) this.preAuths.shift();
        move(this.movements, pan, -receipt.amount);
        break;
      case 'completion':
        // The hold is released and the same amount captured: available funds do not move.
        this.debits.set(receipt.stan, receipt);
        break;
      case 'transfer':
        move(this.movements, pan, -receipt.amount);
        move(this.movements, request.binary(62)!.toString('latin1'), receipt.amount);
        break;
      case 'bill':
        move(this.movements, pan, -receipt.amount);
        break;
      default:
        break;
    }
  }

  /** Settles with its own totals; when they disagree, uploads its details and ends unbalanced. */
  async settle(): Promise<boolean> {
    const sum = (m: Map<string, Receipt>) => [...m.values()].reduce((a, r) => a + BigInt(r.amount), 0n);
    const side = { debitAmount: sum(this.debits), debitCount: this.debits.size, creditAmount: sum(this.credits), creditCount: this.credits.size, result: 0 };
    const zero = { debitAmount: 0n, debitCount: 0, creditAmount: 0n, creditCount: 0, result: 0 };
    const batch = this.term.batch;
    const res = await this.term.settle({ domestic: side, foreign: zero });
    const balanced = res.text(39) === '00' && res.text(48)?.[30] === '1';
    const details = [...this.debits.values(), ...this.credits.values()];
    for (let i = 0; i < details.length; i += 8) {
      const records = details.slice(i, i + 8).map((r) => ({ cardType: '00', stan: r.stan, pan: r.pan, amount: BigInt(r.amount) }));
      await this.term.request(this.term.batchUpload(records, batch));
    }
    await this.term.request(this.term.batchUploadEnd(details.length, balanced, batch));
    return balanced;
  }
}

/**
 * Simulated terminals over real TCP: each signs in, then keeps one transaction outstanding,
 * with valid MACs and PIN blocks, checking every response's MAC and code.
 */
export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  const codes: Record<string, number> = {};
  const errorSamples: string[] = [];
  let done = 0;
  let errors = 0;
  const fullDay = options.scenario === 'full-day';
  const kinds = [...options.mix.keys()];
  const weights = kinds.map((k) => options.mix.get(k)!);
  const total = weights.reduce((a, b) => a + b, 0);
  const pick = (): MixKind => {
    let r = Math.random() * total;
    for (let i = 0; i < kinds.length; i++) if ((r -= weights[i]) < 0) return kinds[i];
    return kinds[kinds.length - 1];
  };
  const fail = (what: string) => {
    errors++;
    if (errorSamples.length < 20) errorSamples.push(what);
  };
  const newTerminal = (index: number) =>
    new SimTerminal({
      host: options.host,
      port: options.port,
      tid: String(options.firstTid + index),
      mid: options.mid,
      tmk: options.tmk,
      // A STAN anywhere in the range, so a rerun in the same batch does not repeat request keys (94).
      firstStan: Math.floor(Math.random() * 900_000),
    });
  const cardOf = (n: number): CardData => ({ pan: demoPan(n), expiry: DEMO.expiry, pin: DEMO.pin });

  // A full day checks balances: note every card's available funds before the day starts.
  const movements: Movements = new Map();
  const baseline = new Map<string, number>();
  if (fullDay) {
    const checker = newTerminal(0);
    await checker.connect();
    await checker.signIn('003');
    for (let n = 1; n <= options.cards; n++) {
      const res = await checker.request(checker.balanceInquiry(cardOf(n)));
      baseline.set(cardOf(n).pan, Number(res.text(54)?.slice(8) ?? NaN));
    }
    checker.close();
  }

  const started = Date.now();
  const deadline = options.durationMs !== undefined ? started + options.durationMs : Infinity;
  const limit = options.count ?? Infinity;
  let lastDone = 0;
  const ticker = setInterval(() => {
    options.progress?.(`${((Date.now() - started) / 1000).toFixed(0)}s ${done} txns, ${done - lastDone}/s, errors ${errors}`);
    lastDone = done;
  }, 1000);
  const settlements = { balanced: 0, unbalanced: 0 };

  const runTerminal = async (index: number): Promise<void> => {
    const term = newTerminal(index);
    await term.connect();
    const signIn = await term.signIn('003');
    if (signIn.text(39) !== '00') return fail(`sign-in of ${term.options.tid} answered ${signIn.text(39)}`);
    const day = new TerminalDay(term, movements);
    while (done + 1 <= limit && Date.now() < deadline) {
      done++;
      const next = day.next(pick(), cardOf(1 + Math.floor(Math.random() * options.cards)), cardOf(1 + Math.floor(Math.random() * options.cards)).pan);
      const sent = process.hrtime.bigint();
      try {
        if (options.short) {
          term.close();
          await term.connect();
        }
        const response = await term.request(next.request);
        histogram.recordValue(Math.max(1, Number((process.hrtime.bigint() - sent) / 1000n)));
        const code = response.text(39) ?? '--';
        codes[code] = (codes[code] ?? 0) + 1;
        if (code !== '00') fail(`${next.kind} on ${term.options.tid} answered ${code}`);
        else day.approved(next.kind, next.request, response, next.original);
      } catch (err) {
        fail(`${next.kind} on ${term.options.tid}: ${(err as Error).message}`);
        if (!term.connected) await term.connect();
      }
    }
    if (fullDay) {
      if (await day.settle()) settlements.balanced++;
      else {
        settlements.unbalanced++;
        fail(`settlement of ${term.options.tid} unbalanced`);
      }
    }
    term.close();
  };

  try {
    await Promise.all(Array.from({ length: options.terminals }, (_, i) => runTerminal(i).catch((err) => fail(`terminal ${i}: ${(err as Error).message}`))));
  } finally {
    clearInterval(ticker);
  }
  const seconds = (Date.now() - started) / 1000;
  const transactions = Object.values(codes).reduce((a, b) => a + b, 0);
  const report: LoadReport = {
    transactions,
    errors,
    seconds,
    tps: transactions / seconds,
    latencyUs: {
      p50: histogram.getValueAtPercentile(50),
      p90: histogram.getValueAtPercentile(90),
      p99: histogram.getValueAtPercentile(99),
      max: histogram.maxValue,
    },
    responseCodes: codes,
    errorSamples,
  };
  if (fullDay) {
    // The accounts must have moved by exactly what the approvals say.
    const checker = newTerminal(0);
    await checker.connect();
    await checker.signIn('003');
    let mismatched = 0;
    for (const [pan, before] of baseline) {
      const res = await checker.request(checker.balanceInquiry({ pan, expiry: DEMO.expiry, pin: DEMO.pin }));
      const after = Number(res.text(54)?.slice(8) ?? NaN);
      if (after !== before + (movements.get(pan) ?? 0)) {
        mismatched++;
        fail(`card ${pan.slice(0, 6)}…${pan.slice(-4)}: available ${after}, expected ${before + (movements.get(pan) ?? 0)}`);
      }
    }
    checker.close();
    report.errors = errors;
    report.settlements = settlements;
    report.balanceChecks = { cards: baseline.size, mismatched };
  }
  return report;
}

export function defaultLoadTarget(): Pick<LoadOptions, 'firstTid' | 'mid' | 'tmk' | 'cards'> {
  return { firstTid: DEMO.firstTid, mid: DEMO.mid, tmk: DEMO.tmk, cards: DEMO.cards };
}

/** The off-us demo card with the same sequence number as an on-us one. */
function offUsCard(card: CardData): CardData {
  return { pan: demoOffUsPan(Number(card.pan.slice(6, 15))), expiry: card.expiry, pin: card.pin };
}
