/**
 * Cut-over benchmark: how long the longest response takes, and how far throughput dips, when the
 * business day is cut over under load.
 *
 *   npm run bench:cutover            (tsc -p . && node dist/bench/cutover.js)
 *   node dist/bench/cutover.js [--terminals 200] [--cuts 3] [--every 5] [--out bench/results/cutover.json]
 *
 * The switch runs as a child process (`posp start --demo --cutover-at off`) on a new temporary data
 * directory. Simulated terminals in this process keep one on-us sale outstanding each. Every
 * `--every` seconds the benchmark cuts the day over through the admin API (as `posp day-cut` does)
 * and notes when it asked and when the answer came. Reported, never asserted:
 *   - per cut: how long the book thread spent on it (from /health: the time every terminal waited
 *     because of it), the time `day-cut` took; the longest response among sales in flight at any moment
 *     while the cut ran; the longest response in the second around it;
 *   - throughput in 100 ms buckets: the median over the run, and the lowest bucket within
 *     ±300 ms of each cut (the dip), as a ratio of that median;
 *   - the longest response of the run away from any cut, for comparison.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SimTerminal } from '../src/loadgen/index.js';
import { DEMO, demoPan, demoTid } from '../src/store/index.js';
import { ROOT, startSwitchChild, stop } from './child.js';

const TOKEN = 'cutover-bench';

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const TERMINALS = Number(argValue('terminals') ?? 200);
const CUTS = Number(argValue('cuts') ?? 3);
const EVERY_S = Number(argValue('every') ?? 5);
const OUT = path.resolve(ROOT, argValue('out') ?? 'bench/results/cutover.json');
const BUCKET_MS = 100;
const DIP_WINDOW_MS = 300;

interface Answer {
  sent: number;
  answered: number;
}
interface Cut {
  asked: number;
  answered: number;
  to: string;
  /** What the switch's /health says the book thread spent on it: the time every terminal waited because of the cut. */
  bookMs: number;
}

async function main(): Promise<void> {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'posp-cutover-bench-'));
  const sw = await startSwitchChild(data, TOKEN);
  const terms = Array.from({ length: TERMINALS }, (_, i) => new SimTerminal({ host: '127.0.0.1', port: sw.posPort, tid: demoTid(i), mid: DEMO.mid, tmk: DEMO.tmk }));
  try {
    for (const term of terms) {
      await term.connect();
      if ((await term.signIn()).text(39) !== '00') throw new Error(`sign-in of ${term.options.tid} refused`);
    }
    const answers: Answer[] = [];
    let errors = 0;
    let selling = true;
    const start = performance.now();
    const drive = async (term: SimTerminal, i: number): Promise<void> => {
      for (let k = 0; selling; k++) {
        const sent = performance.now();
        const res = await term.request(term.sale({ pan: demoPan(1 + ((i * 7 + k) % 1000)), expiry: DEMO.expiry, pin: DEMO.pin }, 100 + (k % 100)));
        answers.push({ sent: sent - start, answered: performance.now() - start });
        if (res.text(39) !== '00') errors++;
      }
    };
    const drivers = terms.map(drive);
    const cuts: Cut[] = [];
    for (let c = 0; c < CUTS; c++) {
      await new Promise((r) => setTimeout(r, EVERY_S * 1000));
      const asked = performance.now() - start;
      const res = await fetch(`http://127.0.0.1:${sw.adminPort}/api/v1/day-cut`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: '{}' });
      const body = (await res.json()) as { to?: string; error?: string };
      if (!res.ok) throw new Error(`day-cut refused: ${body.error}`);
      const answered = performance.now() - start;
      const health = (await (await fetch(`http://127.0.0.1:${sw.adminPort}/health`)).json()) as { cutover: { lastBookMs: number } };
      cuts.push({ asked, answered, to: body.to!, bookMs: health.cutover.lastBookMs });
    }
    await new Promise((r) => setTimeout(r, EVERY_S * 1000));
    selling = false;
    await Promise.all(drivers);
    report(answers, cuts, errors);
  } finally {
    for (const term of terms) term.close();
    await stop(sw.child);
    fs.rmSync(data, { recursive: true, force: true });
  }
}

function report(answers: Answer[], cuts: Cut[], errors: number): void {
  const end = most(answers.map((a) => a.answered));
  const buckets = new Array<number>(Math.ceil(end / BUCKET_MS) + 1).fill(0);
  for (const a of answers) buckets[Math.floor(a.answered / BUCKET_MS)]++;
  // The first and last second are ramp-up and wind-down.
  const steady = buckets.slice(10, -10);
  const median = [...steady].sort((a, b) => a - b)[Math.floor(steady.length / 2)] * (1000 / BUCKET_MS);
  const latency = (a: Answer) => a.answered - a.sent;
  const near = (a: Answer, cut: Cut, ms: number) => a.answered >= cut.asked - ms && a.sent <= cut.answered + ms;
  const perCut = cuts.map((cut) => {
    const during = answers.filter((a) => near(a, cut, 0));
    const around = answers.filter((a) => near(a, cut, 500));
    const from = Math.floor((cut.asked - DIP_WINDOW_MS) / BUCKET_MS);
    const to = Math.floor((cut.answered + DIP_WINDOW_MS) / BUCKET_MS);
    const lowest = buckets.slice(from, to + 1).reduce((m, n) => Math.min(m, n), Infinity) * (1000 / BUCKET_MS);
    return {
      to: cut.to,
      bookMs: round(cut.bookMs),
      dayCutMs: round(cut.answered - cut.asked),
      longestInFlightMs: round(most(during.map(latency))),
      longestWithinHalfSecondMs: round(most(around.map(latency))),
      lowestTpsNearCut: lowest,
      dipRatio: round(lowest / median),
    };
  });
  const away = answers.filter((a) => cuts.every((c) => !near(a, c, 1000)));
  const result = {
    terminals: TERMINALS,
    transactions: answers.length,
    errors,
    medianTps: median,
    longestAwayFromCutsMs: round(most(away.map(latency))),
    cuts: perCut,
  };
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, JSON.stringify(result, null, 2) + '\n');
  console.log(`${answers.length} sales from ${TERMINALS} terminals, ${errors} not approved; median ${median} TPS (100 ms buckets)`);
  console.log(`longest response away from any cut: ${result.longestAwayFromCutsMs} ms`);
  for (const c of perCut) {
    console.log(
      `cut to ${c.to}: book held ${c.bookMs} ms; day-cut ${c.dayCutMs} ms; longest response in flight during it ${c.longestInFlightMs} ms (within ±0.5 s: ${c.longestWithinHalfSecondMs} ms); lowest 100 ms bucket near it ${c.lowestTpsNearCut} TPS = ${c.dipRatio} of median`,
    );
  }
  console.log(`written ${path.relative(ROOT, OUT)}`);
}

/** The largest of many values (0 for none): spreading a hundred thousand into Math.max overflows the stack. */
function most(values: readonly number[]): number {
  return values.reduce((m, v) => (v > m ? v : m), 0);
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
