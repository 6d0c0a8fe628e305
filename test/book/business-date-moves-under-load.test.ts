/**
 * The book owns the business date and moves it through its control channel, between two groups,
 * while terminals keep selling: every entry lands in exactly one day's journal file (the day its
 * business_date column names), the old day's entries all come before the new day's, nothing a
 * terminal saw approved is lost or doubled, answers settle on the new day once the change is
 * durable, and the new date survives a clean restart and a kill -9 (recovery replays the journal
 * tail across the day files).
 *
 * (a) the real switch in this process (`startSwitch`, one pipeline worker, TCP terminals);
 * (b) the switch as a child process (control-child.js), SIGKILLed under load across date changes,
 *     restarted with the same script and finally with `bin/posp.js start`.
 */
import Database from 'better-sqlite3';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { auditLedger } from '../../src/ledger/audit.js';
import { SimTerminal } from '../../src/loadgen/index.js';
import { DEMO, StateStore, demoPan, demoTid, journalEntries, merchantAccountId } from '../../src/store/index.js';
import { DEFAULTS, startSwitch, type SwitchConfig } from '../../src/switch/index.js';
import { dayAfter } from '../../src/txn/index.js';
import { sleep, withTimeout, POSP_BIN, CHILD_ENV } from '../switch/harness.js';
import { suiteLogFlags, suiteLogging } from '../suite-log.js';

const logging = suiteLogging('business-date-moves-under-load');

const CHILD = fileURLToPath(new URL('./control-child.js', import.meta.url));

const CARDS = Array.from({ length: 50 }, (_, i) => demoPan(i + 1));
const REQUEST_TIMEOUT_MS = 10_000;

function dateAfter(yyyymmdd: string, days: number): string {
  const d = new Date(Date.UTC(Number(yyyymmdd.slice(0, 4)), Number(yyyymmdd.slice(4, 6)) - 1, Number(yyyymmdd.slice(6, 8)) + days));
  return d.toISOString().slice(0, 10).replace(/-/g, '');
}

const mmdd = (yyyymmdd: string): string => yyyymmdd.slice(4, 8);

// ---------------------------------------------------------------------------------------------
// Load: terminals selling over TCP, one request outstanding each.

/** What a terminal saw for one sale. */
interface Outcome {
  round: number;
  tid: string;
  stan: string;
  pan: string;
  amount: number;
  code: string;
  rrn: string;
  /** F15: MMDD of the settlement (business) date. */
  f15: string;
  /** The request was written after `mark()` (the control change had resolved). */
  sentAfterMark: boolean;
  /** The answer arrived after `mark()`. */
  receivedAfterMark: boolean;
}

interface Cut {
  tid: string;
  stan: string;
  pan: string;
  amount: number;
}

class Load {
  readonly outcomes: Outcome[] = [];
  /** Requests written but never answered (the switch died). */
  readonly dropped: Cut[] = [];
  readonly badEchoes: string[] = [];
  sent = 0;
  private running = true;
  private marked = false;
  private kill: (() => void) | undefined;
  private sentSinceArmed = 0;
  private loops: Promise<void[]> | undefined;

  private constructor(
    private readonly terminals: SimTerminal[],
    private readonly round: number,
  ) {}

  /** `count` terminals (TIDs from `demoTid(firstTid)`) connect, sign in and start selling. */
  static async start(port: number, round: number, count: number, firstTid = 0): Promise<Load> {
    const terminals = Array.from(
      { length: count },
      (_, i) => new SimTerminal({ host: '127.0.0.1', port, tid: demoTid(firstTid + i), mid: DEMO.mid, tmk: DEMO.tmk, firstStan: round * 100_000 }),
    );
    await Promise.all(terminals.map((term) => term.connect()));
    const signIns = await Promise.all(terminals.map((term) => withTimeout(term.signIn('003'), REQUEST_TIMEOUT_MS, 'sign-in')));
    for (const res of signIns) if (res.text(39) !== '00') throw new Error(`round ${round}: sign-in of ${res.text(41)} answered ${res.text(39)}`);
    const load = new Load(terminals, round);
    load.loops = Promise.all(terminals.map((term) => load.sell(term)));
    return load;
  }

  /** From now on requests and answers count as after the mark. */
  mark(): void {
    this.marked = true;
  }

  /**
   * Calls `kill` synchronously right after the 5th request written from now: it lands among
   * requests in flight. The terminals go on sending until their connections drop, so some requests
   * are in flight when the switch dies, however quickly it answered the ones before the signal.
   */
  armKill(kill: () => void): void {
    this.kill = kill;
  }

  /** Stops sending; resolves when every terminal's last request is answered (or cut) and the terminals are closed. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loops;
    for (const term of this.terminals) term.close();
  }

  /** Resolves when every loop has ended on its own (the switch died). */
  async ended(): Promise<void> {
    await this.loops;
    for (const term of this.terminals) term.close();
  }

  private async sell(term: SimTerminal): Promise<void> {
    const tid = term.options.tid;
    while (this.running && term.connected) {
      const pan = CARDS[Math.floor(Math.random() * CARDS.length)];
      const amount = 1 + Math.floor(Math.random() * 5000);
      const req = term.sale({ pan, expiry: DEMO.expiry, pin: DEMO.pin }, amount);
      const stan = req.text(11)!;
      const sentAfterMark = this.marked;
      const answer = withTimeout(term.request(req), REQUEST_TIMEOUT_MS, `sale ${tid}/${stan}`);
      this.sent++;
      if (this.kill && ++this.sentSinceArmed >= 5) {
        const kill = this.kill;
        this.kill = undefined;
        kill();
      }
      let res;
      try {
        res = await answer;
      } catch {
        this.dropped.push({ tid, stan, pan, amount });
        return;
      }
      if (res.text(11) !== stan || res.text(41) !== tid || Number(res.text(4)) !== amount) {
        this.badEchoes.push(`${tid}/${stan}: response echoes STAN ${res.text(11)}, TID ${res.text(41)}, amount ${res.text(4)}`);
      }
      this.outcomes.push({
        round: this.round, tid, stan, pan, amount,
        code: res.text(39) ?? '??', rrn: res.text(37) ?? '', f15: res.text(15) ?? '',
        sentAfterMark, receivedAfterMark: this.marked,
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The journal as the day files hold it.

interface JournalRow {
  /** The date of the file the row is in. */
  fileDate: string;
  seq: number;
  businessDate: string;
  type: string;
  route: string;
  tid: string;
  stan: string;
  rrn: string;
  requestKey: string;
  responseCode: string;
  amount: number;
  postings: { account: string; amount: number }[];
}

function readJournal(dir: string): JournalRow[] {
  const rows: JournalRow[] = [];
  const journalDir = join(dir, 'journal');
  for (const file of readdirSync(journalDir).filter((f) => /^\d{8}\.sqlite$/.test(f)).sort()) {
    for (const r of journalEntries(join(journalDir, file))) {
      rows.push({
        fileDate: file.slice(0, 8), seq: r.seq, businessDate: r.businessDate, type: r.type, route: r.route, tid: r.tid, stan: r.stan,
        rrn: r.rrn, requestKey: r.requestKey, responseCode: r.responseCode, amount: r.amount, postings: r.effects.postings ?? [],
      });
    }
  }
  return rows;
}

function journalFiles(dir: string): string[] {
  return readdirSync(join(dir, 'journal')).filter((f) => /^\d{8}\.sqlite$/.test(f)).sort();
}

/**
 * The day-file invariants: each seq in one file only, seqs 1..max without a gap, each row's
 * business date its file's, every day's seqs before the next day's, and each later day opened by
 * its `business-date` control entry.
 */
function checkDayFiles(t: Test, rows: JournalRow[], days: string[], label: string): void {
  const count = new Map<number, string[]>();
  for (const r of rows) count.set(r.seq, [...(count.get(r.seq) ?? []), r.fileDate]);
  const twice = [...count].filter(([, files]) => files.length > 1).map(([seq, files]) => `${seq} in ${files.join(' and ')}`);
  t.same(twice.slice(0, 10), [], `${label}: no seq is in two day files (${twice.length})`);
  const maxSeq = rows.reduce((m, r) => Math.max(m, r.seq), 0);
  const missing: number[] = [];
  for (let s = 1; s <= maxSeq; s++) if (!count.has(s)) missing.push(s);
  t.same(missing.slice(0, 10), [], `${label}: the day files together hold seqs 1..${maxSeq} without a gap (${missing.length} missing)`);
  t.same([...new Set(rows.map((r) => r.fileDate))].sort(), days, `${label}: entries in exactly the day files ${days.join(', ')}`);
  const foreign = rows.filter((r) => r.businessDate !== r.fileDate).map((r) => `seq ${r.seq} (${r.type}) dated ${r.businessDate} in ${r.fileDate}`);
  t.same(foreign.slice(0, 10), [], `${label}: every entry's business_date is its file's date (${foreign.length} differ)`);
  for (let i = 1; i < days.length; i++) {
    const before = rows.filter((r) => r.fileDate === days[i - 1]);
    const after = rows.filter((r) => r.fileDate === days[i]);
    const lastBefore = Math.max(...before.map((r) => r.seq));
    const firstAfter = Math.min(...after.map((r) => r.seq));
    t.ok(lastBefore < firstAfter, `${label}: every ${days[i - 1]} entry (last seq ${lastBefore}) comes before every ${days[i]} entry (first seq ${firstAfter})`);
    const opening = after.find((r) => r.seq === firstAfter)!;
    t.same(
      { type: opening.type, route: opening.route, responseCode: opening.responseCode },
      { type: 'business-date', route: 'control', responseCode: '00' },
      `${label}: ${days[i]} opens with its business-date control entry (seq ${firstAfter})`,
    );
  }
  const changes = rows.filter((r) => r.type === 'business-date').map((r) => r.fileDate);
  t.same(changes, days.slice(1), `${label}: one business-date entry per date change, in the new day's file`);
}

/** Each approval a terminal saw is in the journal exactly once, as the approved sale of that terminal, STAN and amount. */
function checkApprovals(t: Test, rows: JournalRow[], outcomes: Outcome[], label: string): void {
  const byRrn = new Map<string, JournalRow[]>();
  for (const r of rows) if (r.rrn !== '') byRrn.set(r.rrn, [...(byRrn.get(r.rrn) ?? []), r]);
  const approvals = outcomes.filter((o) => o.code === '00');
  const lost: string[] = [];
  const twice: string[] = [];
  const wrong: string[] = [];
  for (const a of approvals) {
    const found = byRrn.get(a.rrn) ?? [];
    const what = `round ${a.round} ${a.tid}/${a.stan} RRN ${a.rrn}`;
    if (found.length === 0) lost.push(what);
    else if (found.length > 1) twice.push(`${what}: seqs ${found.map((r) => r.seq).join(',')}`);
    else {
      const r = found[0];
      if (r.type !== 'sale' || r.responseCode !== '00' || r.tid !== a.tid || r.stan !== a.stan || r.amount !== a.amount || mmdd(r.businessDate) !== a.f15) {
        wrong.push(`${what} (${a.amount}, F15 ${a.f15}): journal seq ${r.seq} ${r.type} ${r.responseCode} ${r.tid}/${r.stan} ${r.amount} ${r.businessDate}`);
      }
    }
  }
  t.ok(approvals.length > 0, `${label}: terminals saw ${approvals.length} approvals`);
  t.same(lost.slice(0, 10), [], `${label}: every approval a terminal saw is in the journal (${lost.length} missing)`);
  t.same(twice.slice(0, 10), [], `${label}: ... exactly once (${twice.length} repeated)`);
  t.same(wrong.slice(0, 10), [], `${label}: ... as that terminal's approved sale, amount and settlement date (${wrong.length} differ)`);
  const rrns = rows.filter((r) => r.rrn !== '').map((r) => r.rrn);
  t.equal(new Set(rrns).size, rrns.length, `${label}: no RRN is issued twice`);
}

/**
 * What the terminals saw against the date change at `controlSeq`: an answer's RRN is its entry's
 * seq, so an answer settles on the new day exactly when its entry comes after the change.
 */
function checkAnswerDates(t: Test, outcomes: Outcome[], controlSeq: number, oldDay: string, newDay: string, label: string): void {
  const withSeq = outcomes.filter((o) => /^\d{12}$/.test(o.rrn));
  t.equal(withSeq.length, outcomes.length, `${label}: every sale answer carries an RRN (the entry's seq)`);
  const misdated = withSeq
    .filter((o) => o.f15 !== (Number(o.rrn) > controlSeq ? mmdd(newDay) : mmdd(oldDay)))
    .map((o) => `${o.tid}/${o.stan} seq ${Number(o.rrn)} F15 ${o.f15}`);
  t.same(misdated.slice(0, 10), [], `${label}: answers to entries before seq ${controlSeq} settle on ${oldDay}, after it on ${newDay} (${misdated.length} not)`);
  const before = withSeq.filter((o) => Number(o.rrn) < controlSeq).length;
  const after = withSeq.filter((o) => Number(o.rrn) > controlSeq).length;
  t.ok(before > 0 && after > 0, `${label}: the change landed mid-load (${before} answers before it, ${after} after)`);
  const sentAfter = outcomes.filter((o) => o.sentAfterMark);
  t.ok(sentAfter.length > 0, `${label}: requests were sent after the change resolved (${sentAfter.length})`);
  t.same(
    sentAfter.filter((o) => o.f15 !== mmdd(newDay) || Number(o.rrn) <= controlSeq).map((o) => `${o.tid}/${o.stan} F15 ${o.f15} seq ${Number(o.rrn)}`).slice(0, 10),
    [],
    `${label}: every request sent after the change resolved is entered after it and settles on ${newDay}`,
  );
  // Answers already on their way when the change resolved may still arrive after it, on the old day:
  // replies leave the book before its acknowledgement, but reach the terminal through another thread.
  const lateOld = outcomes.filter((o) => o.receivedAfterMark && !o.sentAfterMark && o.f15 === mmdd(oldDay)).length;
  t.comment(`${label}: ${outcomes.filter((o) => o.receivedAfterMark).length} answers arrived after the change resolved; ${lateOld} of them (sent before it) on the old day`);
}

async function health(adminPort: number): Promise<{ businessDate: string; journalledSeq: number }> {
  const res = await fetch(`http://127.0.0.1:${adminPort}/health`);
  return (await res.json()) as { businessDate: string; journalledSeq: number };
}

/** One sale from a fresh terminal: its answer (F15, RRN). */
async function oneSale(port: number, tid: string, stanBase: number): Promise<{ code: string; f15: string; seq: number }> {
  const term = new SimTerminal({ host: '127.0.0.1', port, tid, mid: DEMO.mid, tmk: DEMO.tmk, firstStan: stanBase });
  await term.connect();
  try {
    const signIn = await withTimeout(term.signIn('003'), REQUEST_TIMEOUT_MS, 'sign-in');
    if (signIn.text(39) !== '00') throw new Error(`sign-in answered ${signIn.text(39)}`);
    const res = await withTimeout(term.request(term.sale({ pan: CARDS[0], expiry: DEMO.expiry, pin: DEMO.pin }, 100)), REQUEST_TIMEOUT_MS, 'sale');
    return { code: res.text(39) ?? '', f15: res.text(15) ?? '', seq: Number(res.text(37)) };
  } finally {
    term.close();
  }
}

// ---------------------------------------------------------------------------------------------

t.test('in process: the business date moves under load from 20 terminals, and stays moved after a restart', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'posp-date-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const config: SwitchConfig = { ...DEFAULTS, dataDir, posPort: 0, adminPort: 0, demo: true, workers: 1, ...logging.config };

  const sw = await startSwitch(config, logging.log);
  let closed = false;
  t.teardown(() => (closed ? undefined : sw.close()));
  const oldDay = sw.businessDate;
  const newDay = dateAfter(oldDay, 1);
  t.equal((await health(sw.adminPort)).businessDate, oldDay, `/health: business date ${oldDay} before the change`);

  const load = await Load.start(sw.posPort, 1, 20);
  await sleep(1000);
  const sentBefore = load.sent;
  const controlAt = Date.now();
  const result = await withTimeout(
    sw.control({ kind: 'business-date', date: newDay }).then((r) => {
      load.mark();
      return r;
    }),
    10_000,
    'business-date control',
  );
  const controlMs = Date.now() - controlAt;
  await sleep(1200);
  await load.stop();

  t.ok('seq' in result && Number.isInteger(result.seq) && result.seq > 0, `the change resolved with a seq: ${JSON.stringify(result)} in ${controlMs} ms`);
  const controlSeq = 'seq' in result ? result.seq : NaN;
  t.ok(sentBefore > 100, `terminals were selling when the change came (${sentBefore} sales sent)`);
  t.same(load.badEchoes, [], 'every answer echoes its request');
  t.same(load.dropped, [], 'every request is answered');
  const codes = new Map<string, number>();
  for (const o of load.outcomes) codes.set(o.code, (codes.get(o.code) ?? 0) + 1);
  t.same([...codes.keys()], ['00'], `every sale approved (${JSON.stringify(Object.fromEntries(codes))})`);
  checkAnswerDates(t, load.outcomes, controlSeq, oldDay, newDay, 'under load');

  // The switch's date now.
  t.equal((await health(sw.adminPort)).businessDate, newDay, `/health: business date ${newDay} after the change`);
  t.match(await sw.control({ kind: 'business-date', date: oldDay }), { refused: /only moves forward/ }, `${oldDay} (backward) is refused now`);
  t.match(await sw.control({ kind: 'business-date', date: newDay }), { refused: /only moves forward/ }, `${newDay} (the date itself) is refused now`);
  const again = await oneSale(sw.posPort, demoTid(100), 900_000);
  t.same({ code: again.code, f15: again.f15 }, { code: '00', f15: mmdd(newDay) }, 'a sale after the load settles on the new day');

  await sw.close();
  closed = true;

  // The day files.
  t.ok(existsSync(join(dataDir, 'journal', `${oldDay}.sqlite`)) && existsSync(join(dataDir, 'journal', `${newDay}.sqlite`)), 'both day files exist');
  const rows = readJournal(dataDir);
  checkDayFiles(t, rows, [oldDay, newDay], 'in process');
  t.equal(rows.find((r) => r.type === 'business-date')?.seq, controlSeq, 'the business-date entry has the seq the control returned');
  checkApprovals(t, rows, load.outcomes, 'in process');
  const maxSeq = rows.reduce((m, r) => Math.max(m, r.seq), 0);

  const state = new StateStore(dataDir);
  try {
    t.equal(state.appliedSeq(), maxSeq, `after a clean stop LMDB has applied every entry of both days (${maxSeq})`);
    t.equal(state.businessDate(), newDay, 'LMDB: the newest applied entry is of the new day');
    const audit = auditLedger(dataDir, state);
    t.same({ unbalanced: audit.unbalancedEntries, mismatches: audit.mismatches.slice(0, 5) }, { unbalanced: [], mismatches: [] }, `audit: every account = opening + journal postings (${audit.entries} entries)`);
  } finally {
    await state.close();
  }

  // Restart on the same directory: the book takes the newest day's journal's date.
  const sw2 = await startSwitch(config, logging.log);
  try {
    t.equal(sw2.businessDate, newDay, `after a restart the business date is still ${newDay}`);
    t.equal((await health(sw2.adminPort)).businessDate, newDay, '/health after the restart');
    const after = await oneSale(sw2.posPort, demoTid(101), 910_000);
    t.same({ code: after.code, f15: after.f15 }, { code: '00', f15: mmdd(newDay) }, 'a sale after the restart settles on the new day');
    t.ok(after.seq > maxSeq, `its seq continues the numbering (${after.seq} > ${maxSeq})`);
  } finally {
    await sw2.close();
  }
  const nextDay = dayAfter(newDay);
  t.same(journalFiles(dataDir), [`${oldDay}.sqlite`, `${newDay}.sqlite`, `${nextDay}.sqlite`], 'besides the two days, only the next day has a file: the one the back line prepares for its cut-over');
  const prepared = new Database(join(dataDir, 'journal', `${nextDay}.sqlite`), { readonly: true });
  try {
    t.equal((prepared.prepare('SELECT count(*) AS n FROM entries').get() as { n: number }).n, 0, 'and it holds no entry');
  } finally {
    prepared.close();
  }
});

// ---------------------------------------------------------------------------------------------
// (b) kill -9 across date changes.

interface Child {
  proc: ChildProcess;
  port: number;
  date: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: () => string;
  /** Resolves with the next `control` line's result. */
  nextControl: () => Promise<{ seq: number } | { refused: string }>;
  send: (line: string) => void;
}

const live = new Set<ChildProcess>();

/**
 * Starts `control-child.js` (or with `cli`, `bin/posp.js start --demo`) on `dir`; resolves at its
 * ready line. The CLI's ready line is its own output, not a log line: with the suite's log
 * directory it logs at debug into a file there (test/suite-log.ts), else its warnings come on its output.
 */
function startChild(dir: string, cli = false): Promise<Child> {
  const args = cli
    ? [POSP_BIN, 'start', '--demo', '--data', dir, '--pos-port', '0', '--admin-port', '0', '--api-port', '0', '--workers', '1',
        ...suiteLogFlags('business-date-moves-under-load-cli')]
    : [CHILD, dir, '1'];
  const proc = spawn(process.execPath, args, { env: CHILD_ENV, stdio: ['pipe', 'pipe', 'pipe'] });
  live.add(proc);
  let out = '';
  const controlWaiters: ((r: { seq: number } | { refused: string }) => void)[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => {
      live.delete(proc);
      resolve({ code, signal });
    }),
  );
  // Writing to a child that died (SIGKILL) must not fail the test.
  proc.stdin!.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`switch not ready after 120 s:\n${out}`)), 120_000);
    let ready = false;
    let partial = '';
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      partial += d;
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        const control = /^control \d{8} (.*)$/.exec(line);
        if (control) controlWaiters.shift()?.(JSON.parse(control[1]));
        const m = cli ? /posp: terminals on [^:\s]+:(\d+).*business date (\d{8})/.exec(line) : /^ready pos=(\d+) admin=\d+ date=(\d{8})/.exec(line);
        if (m && !ready) {
          ready = true;
          clearTimeout(timer);
          resolve({
            proc, port: Number(m[1]), date: m[2], exited, output: () => out,
            nextControl: () => new Promise((r) => controlWaiters.push(r)),
            send: (l) => proc.stdin!.write(`${l}\n`),
          });
        }
      }
    });
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      if (!ready) reject(new Error(`switch exited before ready (code ${code}, signal ${signal}):\n${out}`));
    });
  });
}

/** LMDB's applied seq and the journal's max seq, read beside a switch (or after it). */
async function appliedAndMax(dir: string): Promise<{ appliedSeq: number; journalMax: number; lmdbDate: string | undefined }> {
  const journalMax = readJournal(dir).reduce((m, r) => Math.max(m, r.seq), 0);
  const state = new StateStore(dir);
  try {
    return { appliedSeq: state.appliedSeq(), journalMax, lmdbDate: state.businessDate() };
  } finally {
    await state.close();
  }
}

t.test('child process: kill -9 across date changes loses no approval, doubles none, and keeps the new date', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'posp-date-kill-'));
  t.teardown(() => {
    for (const proc of live) proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const TERMINALS = 15;
  const outcomes: Outcome[] = [];
  const cut: Cut[] = [];

  // Round 1: the date moves mid-load; the load goes on; kill -9 among requests in flight.
  const c1 = await startChild(dir);
  const d0 = c1.date;
  const d1 = dateAfter(d0, 1);
  const d2 = dateAfter(d0, 2);
  const l1 = await Load.start(c1.port, 1, TERMINALS);
  await sleep(800);
  const r1Promise = c1.nextControl();
  c1.send(`date ${d1}`);
  const r1 = await withTimeout(r1Promise, 10_000, 'round 1 control');
  l1.mark();
  await sleep(800);
  l1.armKill(() => c1.proc.kill('SIGKILL'));
  await l1.ended();
  t.equal((await c1.exited).signal, 'SIGKILL', 'round 1: the switch died of SIGKILL');
  t.ok('seq' in r1, `round 1: the change to ${d1} resolved with a seq (${JSON.stringify(r1)})`);
  const seq1 = 'seq' in r1 ? r1.seq : NaN;
  t.same(l1.badEchoes, [], 'round 1: every answer echoes its request');
  t.ok(l1.dropped.length > 0, `round 1: the kill cut requests in flight (${l1.dropped.length})`);
  checkAnswerDates(t, l1.outcomes, seq1, d0, d1, 'round 1');
  const crash1 = await appliedAndMax(dir);
  t.ok(crash1.appliedSeq <= crash1.journalMax, `round 1: at the crash LMDB had applied ${crash1.appliedSeq} of ${crash1.journalMax}`);
  outcomes.push(...l1.outcomes);
  cut.push(...l1.dropped);

  // Round 2: recovery across the two day files; the date moves again and the switch dies as soon
  // as the change is acknowledged (LMDB most likely has not applied it yet).
  const c2 = await startChild(dir);
  t.equal(c2.date, d1, `round 2: after kill -9 and recovery the business date is ${d1}`);
  const l2 = await Load.start(c2.port, 2, TERMINALS);
  await sleep(600);
  const r2Promise = c2.nextControl();
  c2.send(`date ${d2}`);
  const r2 = await withTimeout(r2Promise, 10_000, 'round 2 control');
  l2.armKill(() => c2.proc.kill('SIGKILL'));
  await l2.ended();
  t.equal((await c2.exited).signal, 'SIGKILL', 'round 2: the switch died of SIGKILL');
  t.ok('seq' in r2, `round 2: the change to ${d2} resolved with a seq (${JSON.stringify(r2)})`);
  const seq2 = 'seq' in r2 ? r2.seq : NaN;
  t.same(l2.badEchoes, [], 'round 2: every answer echoes its request');
  const misdated2 = l2.outcomes.filter((o) => o.f15 !== (Number(o.rrn) > seq2 ? mmdd(d2) : mmdd(d1))).length;
  t.equal(misdated2, 0, `round 2: answers settle on ${d1} before seq ${seq2} and on ${d2} after it`);
  const crash2 = await appliedAndMax(dir);
  t.comment(`round 2: at the crash the journal ended at ${crash2.journalMax}, LMDB had applied ${crash2.appliedSeq}; the change was seq ${seq2}`);
  t.ok(crash2.appliedSeq <= crash2.journalMax, 'round 2: LMDB never runs ahead of the journal');
  outcomes.push(...l2.outcomes);
  cut.push(...l2.dropped);

  // Round 3: `posp start` on the same directory: recovery, then a short load and a clean stop.
  const c3 = await startChild(dir, true);
  t.equal(c3.date, d2, `round 3: posp start says business date ${d2}`);
  const recovered = await appliedAndMax(dir);
  t.equal(recovered.appliedSeq, recovered.journalMax, `round 3: after recovery LMDB's appliedSeq is the max seq over all day files (${recovered.journalMax})`);
  t.equal(recovered.lmdbDate, d2, `round 3: LMDB's newest applied entry is of ${d2}`);
  const l3 = await Load.start(c3.port, 3, TERMINALS);
  await sleep(500);
  await l3.stop();
  t.same(l3.dropped, [], 'round 3: every request is answered');
  t.same(l3.outcomes.filter((o) => o.f15 !== mmdd(d2) || Number(o.rrn) <= recovered.journalMax).map((o) => `${o.tid}/${o.stan} ${o.f15} ${o.rrn}`).slice(0, 5), [], `round 3: every answer settles on ${d2}, numbered after the recovered journal`);
  outcomes.push(...l3.outcomes);
  c3.proc.kill('SIGTERM');
  const exit3 = await c3.exited;
  t.equal(exit3.code, 0, `round 3: the recovered switch stops cleanly${exit3.code === 0 ? '' : `:\n${c3.output()}`}`);

  // --- The journal.
  const rows = readJournal(dir);
  checkDayFiles(t, rows, [d0, d1, d2], 'after the kills');
  t.same(rows.filter((r) => r.type === 'business-date').map((r) => r.seq), [seq1, seq2], 'the business-date entries have the seqs the controls returned');
  checkApprovals(t, rows, outcomes, 'after the kills');
  const cutTwice = cut.map((c) => rows.filter((r) => r.tid === c.tid && r.stan === c.stan && r.type === 'sale')).filter((found) => found.length > 1);
  t.same(cutTwice.map((found) => found.map((r) => r.seq)), [], `no request cut by a kill is journalled twice (of ${cut.length} cut, ${cut.filter((c) => rows.some((r) => r.tid === c.tid && r.stan === c.stan)).length} were committed)`);
  const postedKeys = new Map<string, number[]>();
  for (const r of rows) if (r.responseCode === '00' && r.postings.length > 0) postedKeys.set(r.requestKey, [...(postedKeys.get(r.requestKey) ?? []), r.seq]);
  t.same([...postedKeys].filter(([, s]) => s.length > 1).slice(0, 10), [], 'no request key carries postings twice');

  // --- LMDB against the journal and the terminals.
  const maxSeq = rows.reduce((m, r) => Math.max(m, r.seq), 0);
  const state = new StateStore(dir);
  try {
    t.equal(state.appliedSeq(), maxSeq, `LMDB appliedSeq equals the max seq over all day files (${maxSeq})`);
    const sales = new Map<string, number>();
    const seen = new Map<string, number>();
    const salesByRrn = new Map(rows.filter((r) => r.type === 'sale' && r.responseCode === '00').map((r) => [r.rrn, r]));
    // The card of each journalled sale: from what the terminals sent (by TID and STAN).
    const panOf = new Map<string, string>();
    for (const o of outcomes) panOf.set(`${o.tid}|${o.stan}`, o.pan);
    for (const c of cut) panOf.set(`${c.tid}|${c.stan}`, c.pan);
    const unknown: number[] = [];
    for (const r of salesByRrn.values()) {
      const pan = panOf.get(`${r.tid}|${r.stan}`);
      if (pan === undefined) unknown.push(r.seq);
      else sales.set(pan, (sales.get(pan) ?? 0) + r.amount);
    }
    t.same(unknown, [], 'every approved sale in the journal is one the terminals sent');
    for (const o of outcomes) if (o.code === '00') seen.set(o.pan, (seen.get(o.pan) ?? 0) + o.amount);
    const off: string[] = [];
    const short: string[] = [];
    for (const pan of CARDS) {
      const balance = state.accounts.get(state.cards.get(pan)!.account)!.balance;
      if (balance !== DEMO.openingBalance - (sales.get(pan) ?? 0)) off.push(`${pan.slice(-4)}: ${balance} != ${DEMO.openingBalance} - ${sales.get(pan) ?? 0}`);
      if (DEMO.openingBalance - balance < (seen.get(pan) ?? 0)) short.push(`${pan.slice(-4)}: debited ${DEMO.openingBalance - balance}, terminals saw ${seen.get(pan)}`);
    }
    t.same(off.slice(0, 10), [], 'every card: LMDB balance = opening balance - its approved sales in the journal');
    t.same(short.slice(0, 10), [], 'every card is debited at least what its terminals saw approved');
    const merchant = state.accounts.get(merchantAccountId(DEMO.mid))!.balance;
    t.equal(merchant, [...sales.values()].reduce((s, a) => s + a, 0), 'the merchant is credited every approved sale');
    const audit = auditLedger(dir, state);
    t.same({ unbalanced: audit.unbalancedEntries, mismatches: audit.mismatches.slice(0, 5) }, { unbalanced: [], mismatches: [] }, `audit over ${audit.entries} entries in 3 day files: clean`);
    t.equal(state.businessDate(), d2, `LMDB's business date is ${d2}`);
  } finally {
    await state.close();
  }
});
