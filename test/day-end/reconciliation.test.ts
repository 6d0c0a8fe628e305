/**
 * Reconciliation of a business day made by the real switch (TCP terminals, one host link) and a
 * real host simulator (its own process, writing its settlement file): off-us approvals, a host
 * decline, a terminal's reversal of an off-us sale (a 0420 advice delivered), on-us sales, an
 * unbalanced settlement with its batch upload, a balanced settlement, and one off-us sale on the
 * next business day. The untouched pair reconciles clean on both days (the next day's sale is in
 * the host's file of the first calendar day); then differences of every kind are injected into
 * copies of the files and each is found and classified; a re-run writes the same bytes.
 */
import t from 'tap';
import Database from 'better-sqlite3';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SettlementSide, UploadRecord } from '../../src/codec/index.js';
import { RECONCILIATION_HEADER, reconcileDay, type ReconciliationItem } from '../../src/day-end/index.js';
import { DEMO_ZMK, SETTLEMENT_COLUMNS } from '../../src/hostsim/index.js';
import { SimTerminal, type CardData } from '../../src/loadgen/index.js';
import { DEMO, demoTid } from '../../src/store/index.js';
import { DEFAULTS, startSwitch } from '../../src/switch/index.js';
import { readSettlement, startSimHost } from '../hostsim/host-client.js';
import { card, luhnPan, sleep } from '../switch/harness.js';
import { suiteLogging } from '../suite-log.js';

const logging = suiteLogging('reconciliation');

const offUs: CardData = { pan: luhnPan('621700', 77, 16), expiry: DEMO.expiry, pin: DEMO.pin };

function side(debitAmount: number, debitCount: number): SettlementSide {
  return { debitAmount: BigInt(debitAmount), debitCount, creditAmount: 0n, creditCount: 0, result: 0 };
}
const ZERO = side(0, 0);

// ---------------------------------------------------------------------------------------------
// The day: the switch and the simulator, then both stopped.

const simDir = mkdtempSync(join(tmpdir(), 'posp-recon-sim-'));
const dataDir = mkdtempSync(join(tmpdir(), 'posp-recon-'));
const work = mkdtempSync(join(tmpdir(), 'posp-recon-copies-'));
t.teardown(() => {
  for (const dir of [simDir, dataDir, work]) rmSync(dir, { recursive: true, force: true });
});
const sim = await startSimHost(simDir, ['--log-level', 'warn']);
t.teardown(() => sim.proc.kill('SIGKILL'));
const sw = await startSwitch(
  { ...DEFAULTS, dataDir, posPort: 0, adminPort: 0, demo: true, workers: 0, ...logging.config, links: `sim=127.0.0.1:${sim.port}`, zmk: DEMO_ZMK },
  logging.log,
);
const day1 = sw.businessDate;
const day2 = dayAfter(day1);

async function terminal(n: number): Promise<SimTerminal> {
  const term = new SimTerminal({ host: '127.0.0.1', port: sw.posPort, tid: demoTid(n), mid: DEMO.mid, tmk: DEMO.tmk });
  await term.connect();
  if ((await term.signIn()).text(39) !== '00') throw new Error(`terminal ${n} did not sign in`);
  return term;
}

/** Sends `req` and expects `code`; returns the RRN the terminal got. */
async function expect(term: SimTerminal, req: ReturnType<SimTerminal['sale']>, code: string, what: string): Promise<string> {
  const res = await term.request(req);
  if (res.text(39) !== code) throw new Error(`${what} answered ${res.text(39)}, not ${code}`);
  return res.text(37) ?? '';
}

const offUsTerm = await terminal(5);
// The link signs on and exchanges keys in the background: until then off-us cards get 91.
let x1 = '';
for (let i = 0; i < 100 && x1 === ''; i++) {
  const res = await offUsTerm.request(offUsTerm.sale(offUs, 10_100));
  if (res.text(39) === '00') x1 = res.text(37)!;
  else await sleep(100);
}
const x2 = await expect(offUsTerm, offUsTerm.sale(offUs, 20_200), '00', 'off-us sale x2');
const x3 = await expect(offUsTerm, offUsTerm.sale(offUs, 30_300), '00', 'off-us sale x3');
const x4req = offUsTerm.sale(offUs, 40_400);
const x4 = await expect(offUsTerm, x4req, '00', 'off-us sale x4');
const x5 = await expect(offUsTerm, offUsTerm.sale(offUs, 50_500), '00', 'off-us sale x5');
const declined = await expect(offUsTerm, offUsTerm.sale(offUs, 12_351), '51', 'off-us sale the host declines');
await expect(offUsTerm, offUsTerm.reversal(x4req), '00', 'reversal of x4');
await expect(offUsTerm, offUsTerm.sale(card(9), 6_000), '00', 'on-us sale');

// Terminal 6: two on-us sales, a settlement with wrong totals, an upload with a wrong amount, the right count.
const unbalancedTerm = await terminal(6);
const r1req = unbalancedTerm.sale(card(10), 1_000);
const r1res = await unbalancedTerm.request(r1req);
const r2req = unbalancedTerm.sale(card(11), 2_000);
const r2res = await unbalancedTerm.request(r2req);
if (r1res.text(39) !== '00' || r2res.text(39) !== '00') throw new Error('on-us sales of terminal 6 declined');
const unbalanced = await unbalancedTerm.settle({ domestic: side(3_001, 2), foreign: ZERO });
if (unbalanced.text(48)?.[30] !== '2') throw new Error('the wrong totals were not unbalanced');
const upload = (req: ReturnType<SimTerminal['sale']>, amount: number): UploadRecord => ({ cardType: '00', stan: req.text(11)!, pan: req.text(2)!, amount: BigInt(amount) });
const unbalancedBatch = unbalancedTerm.batch;
await expect(unbalancedTerm, unbalancedTerm.batchUpload([upload(r1req, 1_001), upload(r2req, 2_000)]), '00', 'batch upload');
await expect(unbalancedTerm, unbalancedTerm.batchUploadEnd(2, false), '00', 'batch upload end');

// Terminal 7: one on-us sale, settled balanced.
const balancedTerm = await terminal(7);
await expect(balancedTerm, balancedTerm.sale(card(12), 7_000), '00', 'on-us sale of terminal 7');
if ((await balancedTerm.settle({ domestic: side(7_000, 1), foreign: ZERO })).text(48)?.[30] !== '1') throw new Error('the right totals were not balanced');

// The host takes x4's reversal advice; the switch journals that it did.
for (let i = 0; i < 100 && !adviceDelivered(x4); i++) await sleep(100);
if (!adviceDelivered(x4)) throw new Error("x4's reversal advice was not delivered");

// The next business day: one off-us sale (in the host's file of the same calendar day).
const moved = await sw.control({ kind: 'business-date', date: day2 });
if ('refused' in moved) throw new Error(`date change refused: ${moved.refused}`);
const y1 = await expect(offUsTerm, offUsTerm.sale(offUs, 60_600), '00', 'off-us sale y1 on day 2');

for (const term of [offUsTerm, unbalancedTerm, balancedTerm]) term.close();
await sw.close();
sim.proc.kill('SIGKILL');
await sim.exited;

function adviceDelivered(rrn: string): boolean {
  const db = new Database(join(dataDir, 'journal', `${day1}.sqlite`), { readonly: true, fileMustExist: true });
  try {
    return db.prepare("SELECT 1 FROM entries WHERE type = 'advice-delivered' AND mti = '0420' AND rrn = ?").get(rrn) !== undefined;
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Copies to reconcile and to break.

let copies = 0;
/** A copy of the switch's journal files and the host's settlement files. */
function copyOfDay(): { data: string; host: string } {
  const root = join(work, String(copies++));
  const data = join(root, 'data');
  const host = join(root, 'host');
  mkdirSync(join(data, 'journal'), { recursive: true });
  mkdirSync(host, { recursive: true });
  for (const f of readdirSync(join(dataDir, 'journal')).filter((f) => /^\d{8}\.sqlite(-wal)?$/.test(f))) {
    copyFileSync(join(dataDir, 'journal', f), join(data, 'journal', f));
    // A sealed day is read-only; the copy is ours to break.
    chmodSync(join(data, 'journal', f), 0o644);
  }
  for (const f of readdirSync(simDir).filter((f) => f.startsWith('settlement-'))) copyFileSync(join(simDir, f), join(host, f));
  return { data, host };
}

type HostLines = { header: string; lines: string[][] };

function hostFile(host: string, date: string): HostLines {
  const [header, ...lines] = readFileSync(join(host, `settlement-${date}.csv`), 'utf8').trimEnd().split('\n');
  return { header, lines: lines.map((l) => l.split(',')) };
}

function writeHostFile(host: string, date: string, file: HostLines): void {
  writeFileSync(join(host, `settlement-${date}.csv`), [file.header, ...file.lines.map((l) => l.join(','))].join('\n') + '\n');
}

const col = (name: (typeof SETTLEMENT_COLUMNS)[number]): number => SETTLEMENT_COLUMNS.indexOf(name);

function itemOf(items: ReconciliationItem[], rrn: string): ReconciliationItem | undefined {
  return items.find((i) => i.source === 'host' && i.rrn === rrn);
}

// ---------------------------------------------------------------------------------------------

t.test('the simulator wrote what the day did', async (t) => {
  const host = readSettlement(simDir);
  t.same(host.filter((r) => r.mti === '0200').map((r) => r.rrn), [x1, x2, x3, x4, x5, y1], 'six approvals (the decline not written)');
  t.same(host.filter((r) => r.mti === '0420').map((r) => [r.reverses_rrn, r.response_code]), [[x4, '00']], "x4's reversal, undone");
  t.notOk(host.some((r) => r.rrn === declined), 'no line for the decline');
});

t.test('the untouched pair reconciles clean on both days; the terminal side has what the terminals did', async (t) => {
  const { data, host } = copyOfDay();
  const first = reconcileDay({ dataDir: data, date: day1, hostSettlement: host });
  t.same(first.counts.host, { matched: 5, 'missing-here': 0, 'missing-there': 0, 'amount-differs': 0 }, 'day 1: x1..x5 matched (x4 reversed on both sides), y1 left to day 2');
  t.same(first.hostFiles, [`settlement-${day1}.csv`], "the host's file of the day read");
  t.same(first.items.filter((i) => i.source === 'host'), [], 'no host differences');
  t.same(first.counts.terminal, { matched: 1, 'missing-here': 0, 'amount-differs': 1, 'card-differs': 0, 'status-differs': 0, 'count-differs': 0, 'totals-differ': 1 }, 'terminals: one balanced batch, one upload difference, one unbalanced batch');
  const totals = first.items.find((i) => i.class === 'totals-differ');
  t.match(totals, { source: 'terminal', tid: demoTid(6), batch: unbalancedBatch, posp: 3_000, other: 3_001 }, "the unbalanced batch: posp's totals against the terminal's declared ones");
  t.match(totals?.detail, /posp domestic debits 3000\/2 credits 0\/0.*terminal domestic debits 3001\/2 credits 0\/0/, 'both sides, amounts and counts, in the detail');
  t.match(first.items.find((i) => i.class === 'amount-differs'), { source: 'terminal', tid: demoTid(6), stan: r1req.text(11), posp: 1_000, other: 1_001 }, 'the uploaded amount that differs');

  const csv = readFileSync(first.file, 'utf8');
  t.equal(first.file, join(data, 'backline', day1, `reconciliation-${day1}.csv`), 'written under backline/D');
  const lines = csv.trimEnd().split('\n');
  t.equal(lines[0], RECONCILIATION_HEADER, 'a header');
  t.same(lines.filter((l) => l.startsWith('item,')).length, 2, 'one line per difference');
  t.ok(lines.includes(`summary,${day1},host,matched,5,,,,,,,${10_100 + 20_200 + 30_300 + 50_500},${10_100 + 20_200 + 30_300 + 50_500},host files: settlement-${day1}.csv`), 'the host summary: matched count and amounts (x4 nets to 0)');
  t.notOk(csv.includes(offUs.pan) || csv.includes(card(10).pan), 'no card number in the file');

  const second = reconcileDay({ dataDir: data, date: day2, hostSettlement: host });
  t.same(second.counts.host, { matched: 1, 'missing-here': 0, 'missing-there': 0, 'amount-differs': 0 }, "day 2: y1 matched from the host's file of the day before");
  t.same(second.items, [], 'day 2 has no differences');
});

t.test('every kind of difference injected into copies is found and classified', async (t) => {
  const { data, host } = copyOfDay();
  const file = hostFile(host, day1);
  const line = (rrn: string, mti = '0200') => file.lines.find((l) => l[col('mti')] === mti && l[col(mti === '0420' ? 'reverses_rrn' : 'rrn')] === rrn)!;
  // x1's line moves to the host's next calendar day: still matched (a line's counterpart places it).
  const x1line = line(x1);
  writeHostFile(host, day2, { header: file.header, lines: [x1line] });
  // x2: the host lost it → posp has it, the host not: missing there.
  // x3: the host has another amount → amount differs.
  line(x3)[col('amount')] = String(30_301).padStart(12, '0');
  // x4: the host lost the reversal → the host still has the approval posp reversed: missing here.
  const x4reversal = line(x4, '0420');
  // A host approval posp never saw → missing here.
  const stranger = [...line(x5)];
  stranger[col('rrn')] = '999999999999';
  stranger[col('stan')] = '999999';
  stranger[col('amount')] = String(777).padStart(12, '0');
  file.lines = [...file.lines.filter((l) => l !== x1line && l !== line(x2) && l !== x4reversal), stranger];
  writeHostFile(host, day1, file);
  // x5: posp's outcome row deleted from the journal → the host has it, posp not: missing here.
  const db = new Database(join(data, 'journal', `${day1}.sqlite`));
  const deleted = db.prepare("DELETE FROM entries WHERE rrn = ? AND type = 'sale'").run(x5).changes;
  db.close();
  t.equal(deleted, 1, "x5's outcome deleted from the copy");

  const result = reconcileDay({ dataDir: data, date: day1, hostSettlement: host });
  t.same(result.counts.host, { matched: 1, 'missing-here': 3, 'missing-there': 1, 'amount-differs': 1 }, 'counts per class');
  t.same(result.hostFiles, [`settlement-${day1}.csv`, `settlement-${day2}.csv`], "the host's day and the day after read");
  t.equal(itemOf(result.items, x1), undefined, 'x1, in the next calendar day\'s file: matched');
  t.match(itemOf(result.items, x2), { class: 'missing-there', posp: 20_200, other: 0, tid: demoTid(5), mid: DEMO.mid, stan: String, panMasked: /^621700\*+\d{4}$/ }, 'x2: missing there');
  t.match(itemOf(result.items, x3), { class: 'amount-differs', posp: 30_300, other: 30_301 }, 'x3: amount differs');
  t.match(itemOf(result.items, x4), { class: 'missing-here', posp: 0, other: 40_400 }, 'x4: missing here (the host has not undone it)');
  t.match(itemOf(result.items, x4)?.detail, /posp sale:00 0420:delivered; host 0200:00/, 'x4: both sides described');
  t.match(itemOf(result.items, x5), { class: 'missing-here', posp: 0, other: 50_500 }, 'x5: missing here');
  t.match(itemOf(result.items, '999999999999'), { class: 'missing-here', posp: 0, other: 777 }, 'the stranger: missing here');
  t.equal(itemOf(result.items, declined), undefined, 'a decline on both sides is no item');
  t.equal(itemOf(result.items, y1), undefined, "y1 (the next business day's) is not day 1's");

  const csv = readFileSync(result.file);
  const again = reconcileDay({ dataDir: data, date: day1, hostSettlement: host });
  t.ok(readFileSync(again.file).equals(csv), 're-run: byte-identical CSV');
  t.same(again.items, result.items, 're-run: the same items');
  const itemLines = csv.toString('utf8').split('\n').filter((l) => l.startsWith('item,'));
  t.equal(itemLines.length, 7, 'five host differences and two terminal ones in the file');
  t.same(itemLines.map((l) => l.split(',')[2]), ['host', 'host', 'host', 'host', 'host', 'terminal', 'terminal'], 'sorted by source');
  t.same(itemLines.slice(0, 5).map((l) => l.split(',')[3]), ['amount-differs', 'missing-here', 'missing-here', 'missing-here', 'missing-there'], 'then by class');
});

t.test('without a host settlement the host side is not compared; a file that is not one is refused', async (t) => {
  const { data, host } = copyOfDay();
  const alone = reconcileDay({ dataDir: data, date: day1, hostSettlement: undefined });
  t.equal(alone.counts.host, undefined, 'no host counts');
  t.match(readFileSync(alone.file, 'utf8'), new RegExp(`summary,${day1},host,,,,,,,,,,,not compared: no host settlement given`), 'the file says so');
  writeFileSync(join(host, `settlement-${day1}.csv`), 'date,time\n1,2\n');
  t.throws(() => reconcileDay({ dataDir: data, date: day1, hostSettlement: host }), /not a host settlement file/, 'a wrong header is refused');
  t.throws(() => reconcileDay({ dataDir: data, date: '20000101', hostSettlement: host }), /no journal for business date 20000101/, 'a day with no journal is refused');
});

function dayAfter(yyyymmdd: string): string {
  const d = new Date(Date.UTC(Number(yyyymmdd.slice(0, 4)), Number(yyyymmdd.slice(4, 6)) - 1, Number(yyyymmdd.slice(6, 8)) + 1));
  return d.toISOString().slice(0, 10).replace(/-/g, '');
}
