import * as hdr from 'hdr-histogram-js';
import { DEMO, demoPan, demoTid } from '../store/index.js';
import { SimTerminal, type Receipt } from './terminal.js';
import type { TerminalMessage } from '../codec/index.js';

export type MixKind = 'sale' | 'void' | 'balance' | 'refund' | 'reversal' | 'echo';
const KINDS: readonly MixKind[] = ['sale', 'void', 'balance', 'refund', 'reversal', 'echo'];

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
  firstTid: number;
  mid: string;
  tmk: string;
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

/** Which response codes count as the expected answer for each kind. */
const EXPECTED: Record<MixKind, ReadonlySet<string>> = {
  sale: new Set(['00']),
  void: new Set(['00']),
  balance: new Set(['00']),
  refund: new Set(['00']),
  reversal: new Set(['00']),
  echo: new Set(['00']),
};

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
  const started = Date.now();
  const deadline = options.durationMs !== undefined ? started + options.durationMs : Infinity;
  const limit = options.count ?? Infinity;
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
  let lastDone = 0;
  const ticker = setInterval(() => {
    const elapsed = (Date.now() - started) / 1000;
    options.progress?.(`${elapsed.toFixed(0)}s ${done} txns, ${done - lastDone}/s, errors ${errors}`);
    lastDone = done;
  }, 1000);

  const runTerminal = async (index: number): Promise<void> => {
    const term = new SimTerminal({
      host: options.host,
      port: options.port,
      tid: String(options.firstTid + index),
      mid: options.mid,
      tmk: options.tmk,
      // A STAN anywhere in the range, so a rerun in the same batch does not repeat request keys (94).
      firstStan: Math.floor(Math.random() * 900_000),
    });
    await term.connect();
    const signIn = await term.signIn('003');
    if (signIn.text(39) !== '00') return fail(`sign-in of ${term.options.tid} answered ${signIn.text(39)}`);
    const sales: { request: TerminalMessage; receipt: Receipt }[] = [];
    while (done + 1 <= limit && Date.now() < deadline) {
      done++;
      let kind = pick();
      if ((kind === 'void' || kind === 'refund' || kind === 'reversal') && sales.length === 0) kind = 'sale';
      const card = { pan: demoPan(1 + Math.floor(Math.random() * options.cards)), expiry: DEMO.expiry, pin: DEMO.pin };
      let request: TerminalMessage;
      let original: { request: TerminalMessage; receipt: Receipt } | undefined;
      switch (kind) {
        case 'sale':
          request = term.sale(card, 1 + Math.floor(Math.random() * 10_000));
          break;
        case 'balance':
          request = term.balanceInquiry(card);
          break;
        case 'echo':
          request = term.echo();
          break;
        default:
          original = sales.splice(Math.floor(Math.random() * sales.length), 1)[0];
          request =
            kind === 'void' ? term.saleVoid(original.receipt) :
            kind === 'refund' ? term.refund(original.receipt, original.receipt.amount) :
            term.reversal(original.request);
      }
      const sent = process.hrtime.bigint();
      try {
        if (options.short) {
          term.close();
          await term.connect();
        }
        const response = await term.request(request);
        histogram.recordValue(Math.max(1, Number((process.hrtime.bigint() - sent) / 1000n)));
        const code = response.text(39) ?? '--';
        codes[code] = (codes[code] ?? 0) + 1;
        if (!EXPECTED[kind].has(code)) fail(`${kind} on ${term.options.tid} answered ${code}`);
        else if (kind === 'sale') {
          sales.push({ request, receipt: term.receipt(request, response, 'sale') });
          if (sales.length > 32) sales.shift();
        }
      } catch (err) {
        fail(`${kind} on ${term.options.tid}: ${(err as Error).message}`);
        if (!term.connected) await term.connect();
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
  return {
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
}

export function defaultLoadTarget(): Pick<LoadOptions, 'firstTid' | 'mid' | 'tmk' | 'cards'> {
  return { firstTid: Number(demoTid(0)), mid: DEMO.mid, tmk: DEMO.tmk, cards: DEMO.cards };
}
