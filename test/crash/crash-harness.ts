/**
 * Shared by the crash tests: the switch as a real child process (bin/posp.js), terminals selling
 * on shared cards over TCP while it may be killed, and the check of the journal and LMDB against
 * what the terminals saw. Not a test file itself (no `.test.` in the name).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import { SimTerminal } from '../../src/loadgen/index.js';
import { DEMO, StateStore, demoPan, demoTid, journalEntries, merchantAccountId } from '../../src/store/index.js';
import { TEST_NAME, suiteLogFlags } from '../suite-log.js';
import { sleep, withTimeout, POSP_BIN, CHILD_ENV } from '../switch/harness.js';

/** Terminals a load runs unless told otherwise. */
export const TERMINALS = 20;
/** The cards every load sells on: shared, so the card balances are contended. */
export const CARDS = Array.from({ length: 50 }, (_, i) => demoPan(i + 1));
export const REQUEST_TIMEOUT_MS = 10_000;

export interface Approval {
  round: number;
  tid: string;
  stan: string;
  rrn: string;
  amount: number;
  pan: string;
}

export interface Child {
  proc: ChildProcess;
  port: number;
  adminPort: number;
  /** Journal entries recovery replayed at start, and the milliseconds recovery took, as the ready line says. */
  replayed: number;
  recoveryMs: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: () => string;
}

/** Switch processes still running: a test's teardown kills them. */
export const live = new Set<ChildProcess>();

/**
 * `posp start --demo` on `dir` (plus `args`); resolves when the ready line names the ports. The
 * ready line is the command's own output, not a log line: with the suite's log directory the child
 * logs at debug into a file there (test/suite-log.ts), else its warnings come on its output.
 */
export function startChild(dir: string, args: string[] = []): Promise<Child> {
  const logFlags = suiteLogFlags(`crash-child-${TEST_NAME}`);
  const logFile = logFlags.includes('--log-file') ? logFlags[logFlags.indexOf('--log-file') + 1] : undefined;
  const proc = spawn(
    process.execPath,
    [POSP_BIN, 'start', '--demo', '--data', dir, '--pos-port', '0', '--admin-port', '0', '--api-port', '0', ...logFlags, ...args],
    { env: CHILD_ENV, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  live.add(proc);
  let out = '';
  // What the child printed, then what it logged (in its log file when it has one).
  const output = (): string => out + (logFile !== undefined && existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => {
      live.delete(proc);
      resolve({ code, signal });
    }),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`switch not ready after 120 s:\n${out}`)), 120_000);
    const onData = (d: string): void => {
      out += d;
      const m = /posp: terminals on [^:\s]+:(\d+), admin and monitor on http:\/\/[^:\s]+:(\d+)\/.*recovery replayed (\d+) journal entries in (\d+) ms/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, port: Number(m[1]), adminPort: Number(m[2]), replayed: Number(m[3]), recoveryMs: Number(m[4]), exited, output });
      }
    };
    proc.stdout!.setEncoding('utf8').on('data', onData);
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`switch exited before ready (code ${code}, signal ${signal}):\n${out}`));
    });
  });
}

export interface Sent {
  tid: string;
  stan: string;
  amount: number;
  pan: string;
}

export interface LoadResult {
  approvals: Approval[];
  sent: number;
  answered: number;
  declined: Record<string, number>;
  /** Requests written to the switch but not answered when it was killed (the connection dropped). */
  dropped: Sent[];
  badEchoes: string[];
}

/** Requests sent after the load time is up, right before the kill: the kill lands among them. */
const SENT_BEFORE_KILL = 5;

/**
 * `count` terminals (TIDs 10000001 on) sign in and sell, one request outstanding each, for
 * `durationMs`. With `kill`: the kill is issued synchronously right after the 5th request written
 * once the time is up, so requests are on their way into the switch when it dies.
 */
export async function load(
  port: number,
  round: number,
  durationMs: number,
  kill: (() => void) | undefined,
  output: () => string,
  count = TERMINALS,
): Promise<LoadResult> {
  const result: LoadResult = { approvals: [], sent: 0, answered: 0, declined: {}, dropped: [], badEchoes: [] };
  const terminals = Array.from(
    { length: count },
    (_, i) =>
      // Each round starts its STANs elsewhere, so no request key repeats a previous round's.
      new SimTerminal({ host: '127.0.0.1', port, tid: demoTid(i), mid: DEMO.mid, tmk: DEMO.tmk, firstStan: round * 100_000 }),
  );
  await Promise.all(terminals.map((term) => term.connect()));
  const signIns = await Promise.all(terminals.map((term) => withTimeout(term.signIn('003'), REQUEST_TIMEOUT_MS, 'sign-in')));
  for (const res of signIns) {
    // 96 here is the acceptor's answer for a request whose pipeline worker died: show the switch's log.
    if (res.text(39) !== '00') throw new Error(`round ${round}: sign-in of ${res.text(41)} answered ${res.text(39)}; switch output:\n${output()}`);
  }

  let running = true;
  const until = Date.now() + durationMs;
  let sentAfterTime = 0;
  let killed: () => void = () => undefined;
  const killedNow = new Promise<void>((r) => (killed = r));
  const loops = terminals.map(async (term) => {
    const tid = term.options.tid;
    while (running && term.connected) {
      const pan = CARDS[Math.floor(Math.random() * CARDS.length)];
      const amount = 1 + Math.floor(Math.random() * 5000);
      const req = term.sale({ pan, expiry: DEMO.expiry, pin: DEMO.pin }, amount);
      const stan = req.text(11)!;
      const answer = withTimeout(term.request(req), REQUEST_TIMEOUT_MS, `sale ${tid}/${stan}`);
      result.sent++;
      if (kill && running && Date.now() >= until && ++sentAfterTime >= SENT_BEFORE_KILL) {
        running = false;
        kill();
        killed();
      }
      let res;
      try {
        res = await answer;
      } catch {
        result.dropped.push({ tid, stan, amount, pan });
        return;
      }
      result.answered++;
      const code = res.text(39) ?? '??';
      if (res.text(11) !== stan || res.text(41) !== tid || Number(res.text(4)) !== amount) {
        result.badEchoes.push(`${tid}/${stan}: response echoes STAN ${res.text(11)}, TID ${res.text(41)}, amount ${res.text(4)}`);
      }
      if (code === '00') result.approvals.push({ round, tid, stan, rrn: res.text(37) ?? '', amount, pan });
      else result.declined[code] = (result.declined[code] ?? 0) + 1;
    }
  });
  const allEnded = Promise.all(loops);
  if (kill) {
    // Every loop ending without the kill (connections lost) must not hang the test.
    await Promise.race([killedNow, allEnded]);
    if (running) {
      running = false;
      kill();
    }
  } else {
    await sleep(durationMs);
    running = false;
  }
  await allEnded;
  for (const term of terminals) term.close();
  return result;
}

export interface JournalRow {
  file: string;
  seq: number;
  type: string;
  tid: string;
  stan: string;
  rrn: string;
  request_key: string;
  response_code: string;
  amount: number;
  postings: { account: string; amount: number }[];
}

export function readJournal(dir: string): JournalRow[] {
  const rows: JournalRow[] = [];
  const journalDir = join(dir, 'journal');
  for (const file of readdirSync(journalDir).filter((f) => /^\d{8}\.sqlite$/.test(f)).sort()) {
    for (const e of journalEntries(join(journalDir, file))) {
      rows.push({
        file, seq: e.seq, type: e.type, tid: e.tid, stan: e.stan, rrn: e.rrn, request_key: e.requestKey, response_code: e.responseCode, amount: e.amount,
        postings: e.effects.postings ?? [],
      });
    }
  }
  return rows;
}

/** After a kill: how far LMDB had got behind the journal (the tail the next start must replay). */
export async function tailAtCrash(dir: string): Promise<{ appliedSeq: number; journalMax: number }> {
  const rows = readJournal(dir);
  const state = new StateStore(dir);
  try {
    return { appliedSeq: state.appliedSeq(), journalMax: rows.reduce((m, r) => Math.max(m, r.seq), 0) };
  } finally {
    await state.close();
  }
}

/**
 * The journal (SQLite) and the state (LMDB) after crashes, against what the terminals saw and
 * against each other: every approval journalled once as that sale, no request cut by a kill
 * journalled twice, no request key posted twice, no RRN issued twice, double entry holds, and every
 * card's and the merchant's LMDB balance equals its opening balance plus its journal postings.
 */
export async function checkJournal(t: Test, dir: string, approvals: Approval[], dropped: Sent[]): Promise<void> {
  // --- The journal against what the terminals saw.
    const rows = readJournal(dir);
    const bySeq = new Map<number, number>();
    for (const r of rows) bySeq.set(r.seq, (bySeq.get(r.seq) ?? 0) + 1);
    const duplicatedSeqs = [...bySeq].filter(([, n]) => n > 1).map(([seq]) => seq);
    t.same(duplicatedSeqs, [], 'no journal seq appears twice');
    const maxSeq = rows.reduce((m, r) => Math.max(m, r.seq), 0);
    const gaps = maxSeq - bySeq.size;
    t.comment(`journal: ${rows.length} rows in ${new Set(rows.map((r) => r.file)).size} file(s), max seq ${maxSeq}, ${gaps} seq(s) never committed`);

    // Card accounts are random numbers; the card records map each PAN to its account.
    const accounts = new StateStore(dir);
    const accountIds = new Map(CARDS.map((pan) => [pan, accounts.cards.get(pan)!.account]));
    await accounts.close();
    const cardAccountId = (pan: string): string => accountIds.get(pan)!;

    const byKey = new Map<string, JournalRow[]>();
    for (const r of rows) {
      const key = `${r.tid}|${r.stan}|${r.rrn}`;
      const list = byKey.get(key);
      if (list) list.push(r);
      else byKey.set(key, [r]);
    }
    const lost: string[] = [];
    const twice: string[] = [];
    const wrong: string[] = [];
    for (const a of approvals) {
      const found = byKey.get(`${a.tid}|${a.stan}|${a.rrn}`) ?? [];
      const label = `round ${a.round} ${a.tid}/${a.stan} RRN ${a.rrn} ${a.amount} fen`;
      if (found.length === 0) lost.push(label);
      else if (found.length > 1) twice.push(`${label}: seqs ${found.map((r) => r.seq).join(',')}`);
      else {
        const r = found[0];
        const card = r.postings.find((p) => p.account === cardAccountId(a.pan));
        if (r.response_code !== '00' || r.type !== 'sale' || r.amount !== a.amount || card?.amount !== -a.amount) {
          wrong.push(`${label}: journal seq ${r.seq} says ${r.type} ${r.response_code} ${r.amount}, card leg ${card?.amount}`);
        }
      }
    }
    // Requests cut by a kill may or may not have been committed: either is allowed (a real terminal
    // would reverse them), but never twice.
    const cut = dropped.map((d) => rows.filter((r) => r.tid === d.tid && r.stan === d.stan && r.type === 'sale'));
    t.comment(`of ${dropped.length} requests cut by the kills, ${cut.filter((c) => c.length === 1).length} had been committed to the journal, ${cut.filter((c) => c.length === 0).length} had not`);
    t.same(cut.filter((c) => c.length > 1).map((c) => c.map((r) => r.seq)), [], 'no request cut by a kill is journalled twice');
    t.equal(approvals.length > 0, true, `terminals saw ${approvals.length} approvals in all`);
    t.same(lost.slice(0, 20), [], `every approval a terminal saw is in the journal (${lost.length} missing)`);
    t.same(twice.slice(0, 20), [], `every approval a terminal saw is in the journal once (${twice.length} repeated)`);
    t.same(wrong.slice(0, 20), [], `each is journalled as the approved sale of that card and amount (${wrong.length} differ)`);

    // No request was approved (posted) twice: approved entries with postings have distinct request keys.
    const postedKeys = new Map<string, number[]>();
    for (const r of rows) {
      if (r.response_code !== '00' || r.postings.length === 0) continue;
      postedKeys.set(r.request_key, [...(postedKeys.get(r.request_key) ?? []), r.seq]);
    }
    const postedTwice = [...postedKeys].filter(([, seqs]) => seqs.length > 1).map(([k, seqs]) => `${k}: ${seqs.join(',')}`);
    t.same(postedTwice.slice(0, 20), [], 'no request key carries postings in two journal entries');
    const rrns = rows.filter((r) => r.rrn !== '').map((r) => r.rrn);
    t.equal(new Set(rrns).size, rrns.length, 'no RRN is issued twice');

    // --- Double entry.
    const unbalanced = rows.filter((r) => r.postings.reduce((s, p) => s + p.amount, 0) !== 0).map((r) => r.seq);
    t.same(unbalanced, [], 'every journal entry’s postings sum to zero');
    const sums = new Map<string, number>();
    let total = 0;
    for (const r of rows) {
      for (const p of r.postings) {
        sums.set(p.account, (sums.get(p.account) ?? 0) + p.amount);
        total += p.amount;
      }
    }
    t.equal(total, 0, 'the sum of all postings in the journal is 0');
    const unexpectedAccounts = [...sums.keys()].filter(
      (a) => a !== merchantAccountId(DEMO.mid) && !CARDS.some((pan) => cardAccountId(pan) === a),
    );
    t.same(unexpectedAccounts, [], 'postings touch only the cards used and the demo merchant');

    // --- LMDB against the journal.
    const state = new StateStore(dir);
    try {
      const off: string[] = [];
      for (const pan of CARDS) {
        const id = cardAccountId(pan);
        const balance = state.accounts.get(id)?.balance;
        const expected = DEMO.openingBalance + (sums.get(id) ?? 0);
        if (balance !== expected) off.push(`${id}: LMDB ${balance}, journal says ${expected} (diff ${(balance ?? NaN) - expected})`);
      }
      t.same(off, [], 'every card used: LMDB balance = opening balance + its journal postings');
      const merchant = merchantAccountId(DEMO.mid);
      t.equal(state.accounts.get(merchant)?.balance, sums.get(merchant) ?? 0, 'merchant account: LMDB balance = sum of its journal postings');
      t.equal(state.appliedSeq(), maxSeq, `LMDB appliedSeq equals the journal's max seq (${maxSeq})`);
      const seenDebits = new Map<string, number>();
      for (const a of approvals) seenDebits.set(a.pan, (seenDebits.get(a.pan) ?? 0) + a.amount);
      const shortfall = [...seenDebits].filter(([pan, seen]) => -(sums.get(cardAccountId(pan)) ?? 0) < seen).map(([pan]) => pan);
      t.same(shortfall, [], 'each card is debited at least what its terminals saw approved');
    } finally {
      await state.close();
    }
}
