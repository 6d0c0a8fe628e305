import Database from 'better-sqlite3';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { SETTLEMENT_COLUMNS, settlementFileName } from '../hostsim/index.js';
import { ENTRY_SCHEMA, NewerFormatError, addTotals, emptyTotals, journalDates, journalDir, type BatchTotals, type Discrepancy, type JournalEntry } from '../store/index.js';
import { UNVERSIONED, type RowReader } from '../store/entry-schema.js';
import { FINANCIAL_TYPES, dayNumber } from '../txn/index.js';

/**
 * Reconciliation of one business day (issue 13): posp's journal against the host's settlement
 * files (the off-us side) and against what the terminals said in their batch uploads and
 * settlements. Reads only: journal files are opened read-only, the host's files are read whole.
 */

/** How an item compares. */
export type ReconciliationClass =
  | 'matched'
  | 'missing-here'
  | 'missing-there'
  | 'amount-differs'
  | 'card-differs'
  | 'status-differs'
  | 'count-differs'
  | 'totals-differ';

/** What posp's journal is compared with. */
export type ReconciliationSource = 'host' | 'terminal';

/** The classes each source gives, in the order the summary lists them. */
export const RECONCILIATION_CLASSES = {
  host: ['matched', 'missing-here', 'missing-there', 'amount-differs'],
  terminal: ['matched', 'missing-here', 'amount-differs', 'card-differs', 'status-differs', 'count-differs', 'totals-differ'],
} as const satisfies Record<ReconciliationSource, readonly ReconciliationClass[]>;

/** One difference (or, counted only, one match). Amounts in fen; the card number masked. */
export interface ReconciliationItem {
  source: ReconciliationSource;
  class: ReconciliationClass;
  tid: string;
  mid: string;
  batch: string;
  /** The terminal's STAN (the host's own STAN, a link's, is in `detail`). */
  stan: string;
  rrn: string;
  panMasked: string;
  /** posp's net amount; undefined where the item is not an amount (a count). */
  posp: number | undefined;
  /** The host's net amount, or what the terminal uploaded; undefined where it is not known. */
  other: number | undefined;
  detail: string;
}

export type ClassCounts = Partial<Record<ReconciliationClass, number>>;

export interface ReconciliationResult {
  date: string;
  /** `<dataDir>/backline/D/reconciliation-D.csv` */
  file: string;
  /** The host settlement files read; undefined when no host settlement was given (the host side is not compared). */
  hostFiles: string[] | undefined;
  counts: { host: ClassCounts | undefined; terminal: ClassCounts };
  /** Every item not matched, in the file's order. */
  items: ReconciliationItem[];
}

export interface ReconcileOptions {
  dataDir: string;
  /** Business date YYYYMMDD. */
  date: string;
  /** The directory of the host's `settlement-YYYYMMDD.csv` files (`posp sim-host --data DIR`); undefined: the host side is not compared. */
  hostSettlement: string | undefined;
}

export const RECONCILIATION_HEADER = 'record,business_date,source,class,count,tid,mid,batch,stan,rrn,pan_masked,posp_amount,other_amount,detail';

/**
 * Reconciles business day `date` and writes `<dataDir>/backline/D/reconciliation-D.csv`: a header,
 * one `item` line per difference (sorted by source, class, TID, MID, batch, STAN, RRN), then
 * `summary` lines per source and class (count and amount sums, matches included). Nothing in it
 * depends on when it runs, so a re-run over the same files writes the same bytes.
 */
export function reconcileDay({ dataDir, date, hostSettlement }: ReconcileOptions): ReconciliationResult {
  const days = new DayFiles(dataDir);
  if (!days.dates.includes(date)) throw new Error(`no journal for business date ${date} in ${journalDir(dataDir)}`);
  let host: (SideResult & { files: string[] }) | undefined;
  let terminal: SideResult;
  try {
    host = hostSettlement === undefined ? undefined : reconcileHost(days, date, hostSettlement);
    terminal = reconcileTerminals(days, date);
  } finally {
    days.close();
  }
  const items = [...(host?.items ?? []), ...terminal.items].sort(byItemOrder);
  const file = join(dataDir, 'backline', date, `reconciliation-${date}.csv`);
  writeAtomically(file, reconciliationCsv(date, items, host, terminal));
  return {
    date,
    file,
    hostFiles: host?.files,
    counts: { host: host && countsOf('host', host.tally), terminal: countsOf('terminal', terminal.tally) },
    items,
  };
}

/** Count and amount (fen) per class, matches included: what the summary lines say. */
type Tally = Map<ReconciliationClass, { count: number; posp: number | undefined; other: number | undefined }>;

/** What one source came to: its differences and its tally. */
interface SideResult {
  items: ReconciliationItem[];
  tally: Tally;
}

// ---------------------------------------------------------------------------------------------
// The host side.

/** One side's net movement for an item: approvals less what reversals undid. */
interface Net {
  count: number;
  amount: number;
}

/** posp's and the host's lines about one RRN (with its TID and MID). */
interface HostMatch {
  tid: string;
  mid: string;
  rrn: string;
  batch: string;
  stan: string;
  panMasked: string;
  posp: Net;
  host: Net;
  /** Either side moved money for it: a decline on both sides is no item. */
  moved: boolean;
  pospEvents: string[];
  hostEvents: string[];
}

/** A line of the host's settlement file (columns SETTLEMENT_COLUMNS). */
type HostLine = Record<(typeof SETTLEMENT_COLUMNS)[number], string>;

const FINANCIAL_LIST = FINANCIAL_TYPES.map((s) => `'${s.type}'`).join(', ');
/** posp's rows the host knows of: outcomes of host legs and stand-in approvals (of any code, to place the host's lines), and delivered 0420s. */
const OFF_US = `route != 'replay' AND ((type IN (${FINANCIAL_LIST}) AND (route LIKE 'host:%' OR route LIKE 'stand-in:%')) OR (type = 'advice-delivered' AND mti = '0420'))`;
const ORIGINAL_CODE = `SELECT response_code FROM entries WHERE rrn = ? AND tid = ? AND mid = ? AND route != 'replay' AND type IN (${FINANCIAL_LIST}) AND (route LIKE 'host:%' OR route LIKE 'stand-in:%') LIMIT 1`;
const HAS_KIND = `SELECT 1 FROM entries WHERE rrn = ? AND tid = ? AND mid = ? AND ${OFF_US} AND (mti = '0420') = ? LIMIT 1`;

interface OffUsRow {
  type: string;
  mti: string;
  tid: string;
  mid: string;
  batch: string;
  stan: string;
  rrn: string;
  pan_masked: string;
  amount: number;
  response_code: string;
}

/**
 * posp's off-us day against the host's lines. Items are RRN + TID + MID (the RRN the switch gave
 * before asking the host, which the host's line carries; a 0420 line names its original by
 * reverses_rrn). Each side's net per item: its approvals (0100/0200/0220 `00`) less the approvals
 * its reversals undid (posp: a delivered 0420 whose original posp approved; the host: a 0420 line
 * `00`). Both nets equal: matched; posp's nothing: missing-here; the host's nothing: missing-there;
 * otherwise amount-differs.
 *
 * Days (chosen): the host's files are per its calendar day, posp's per business day, and a cut-over
 * need not fall at midnight. A host line belongs to the business day whose journal has its
 * counterpart (posp's outcome of that RRN for an approval, the delivered 0420 for a reversal). So
 * day D reads the host's files of calendar days D-1, D and D+1: every line whose counterpart is in
 * D, and the lines of D's own file that have no counterpart in the business days before and after
 * D either (those are missing here). A reversal delivered on a later day than its original counts
 * on the day it was delivered, on both sides; a difference still open at a day's end (a host
 * approval whose answer was lost and whose reversal is delivered the next day) shows on both days,
 * the second time with the opposite sign.
 */
function reconcileHost(days: DayFiles, date: string, dir: string): SideResult & { files: string[] } {
  const matches = new Map<string, HostMatch>();
  const counterparts = pospOffUs(days, date, matches);
  const neighbours = days.dates.filter((_, i, all) => all[i + 1] === date || all[i - 1] === date);
  const files: string[] = [];
  for (const offset of [-1, 0, 1]) {
    const name = settlementFileName(calendarDay(date, offset));
    const path = join(dir, name);
    if (!existsSync(path)) continue;
    files.push(name);
    for (const line of hostLines(path)) {
      const reversal = line.mti === '0420';
      const rrn = reversal ? line.reverses_rrn || line.rrn : line.rrn;
      const kind = kindKey(reversal, itemKey(line.tid, line.mid, rrn));
      const ours = counterparts.has(kind) || (offset === 0 && !neighbours.some((d) => hasCounterpart(days, d, line.tid, line.mid, rrn, reversal)));
      if (!ours) continue;
      const m = matchOf(matches, line.tid, line.mid, rrn);
      m.panMasked ||= line.pan_masked;
      m.hostEvents.push(`${line.mti}:${line.response_code}:stan=${line.stan}`);
      if (line.response_code === '00') move(m, m.host, reversal ? -1 : 1, hostAmount(line, path));
    }
  }
  const items: ReconciliationItem[] = [];
  const tally: Tally = new Map();
  for (const m of matches.values()) {
    if (!m.moved) continue;
    const item = hostItem(m);
    count(tally, item);
    if (item.class !== 'matched') items.push(item);
  }
  return { items, tally, files };
}

/** posp's side of day `date` into `matches`; returns the kind keys (see `kindKey`) of its rows, which place the host's lines. */
function pospOffUs(days: DayFiles, date: string, matches: Map<string, HostMatch>): Set<string> {
  const counterparts = new Set<string>();
  const approvedHere = new Map<string, boolean>();
  const rows = days.get(date).db.prepare(`SELECT type, mti, tid, mid, batch, stan, rrn, pan_masked, amount, response_code FROM entries WHERE ${OFF_US} ORDER BY seq`).all() as OffUsRow[];
  for (const r of rows) {
    const key = itemKey(r.tid, r.mid, r.rrn);
    const reversal = r.type === 'advice-delivered';
    counterparts.add(kindKey(reversal, key));
    const m = matchOf(matches, r.tid, r.mid, r.rrn);
    if (reversal) {
      m.pospEvents.push('0420:delivered');
      if (approvedHere.get(key) ?? approvedBefore(days, date, r)) move(m, m.posp, -1, r.amount);
      continue;
    }
    approvedHere.set(key, r.response_code === '00');
    m.batch = r.batch;
    m.stan = r.stan;
    m.panMasked ||= r.pan_masked;
    m.pospEvents.push(`${r.type}:${r.response_code}`);
    if (r.response_code === '00') move(m, m.posp, 1, r.amount);
  }
  return counterparts;
}

function itemKey(tid: string, mid: string, rrn: string): string {
  return `${tid}|${mid}|${rrn}`;
}

/** An approval and the reversal of it are placed on days separately: each has its own counterpart. */
function kindKey(reversal: boolean, key: string): string {
  return (reversal ? 'R|' : 'A|') + key;
}

function matchOf(matches: Map<string, HostMatch>, tid: string, mid: string, rrn: string): HostMatch {
  const key = itemKey(tid, mid, rrn);
  let m = matches.get(key);
  if (m === undefined) {
    m = { tid, mid, rrn, batch: '', stan: '', panMasked: '', posp: { count: 0, amount: 0 }, host: { count: 0, amount: 0 }, moved: false, pospEvents: [], hostEvents: [] };
    matches.set(key, m);
  }
  return m;
}

function move(m: HostMatch, net: Net, sign: 1 | -1, amount: number): void {
  net.count += sign;
  net.amount += sign * amount;
  m.moved = true;
}

/** Whether posp approved the original a delivered 0420 reverses, when it is from an earlier day (newest first). */
function approvedBefore(days: DayFiles, date: string, advice: OffUsRow): boolean {
  for (const d of days.dates.filter((x) => x < date).reverse()) {
    const original = days.get(d).db.prepare(ORIGINAL_CODE).get(advice.rrn, advice.tid, advice.mid) as { response_code: string } | undefined;
    if (original !== undefined) return original.response_code === '00';
  }
  return false;
}

/** Whether business day `date` has posp's counterpart of a host line. */
function hasCounterpart(days: DayFiles, date: string, tid: string, mid: string, rrn: string, reversal: boolean): boolean {
  return days.get(date).db.prepare(HAS_KIND).get(rrn, tid, mid, reversal ? 1 : 0) !== undefined;
}

function hostItem(m: HostMatch): ReconciliationItem {
  const pospNone = m.posp.count === 0 && m.posp.amount === 0;
  const hostNone = m.host.count === 0 && m.host.amount === 0;
  const cls: ReconciliationClass =
    pospNone && hostNone ? 'matched'
    : pospNone ? 'missing-here'
    : hostNone ? 'missing-there'
    : m.posp.count === m.host.count && m.posp.amount === m.host.amount ? 'matched'
    : 'amount-differs';
  const detail = `posp ${m.pospEvents.join(' ') || 'none'}; host ${m.hostEvents.join(' ') || 'none'}`;
  return { source: 'host', class: cls, tid: m.tid, mid: m.mid, batch: m.batch, stan: m.stan, rrn: m.rrn, panMasked: m.panMasked, posp: m.posp.amount, other: m.host.amount, detail };
}

/** The lines of one of the host's settlement files; a file that is not one is refused with where it is wrong. */
function* hostLines(path: string): Generator<HostLine> {
  const text = readFileSync(path, 'utf8');
  const header = SETTLEMENT_COLUMNS.join(',');
  let at = text.indexOf('\n');
  if (at < 0 || text.slice(0, at) !== header) throw new Error(`${path}: not a host settlement file (header is not ${header})`);
  for (let n = 2; at + 1 < text.length; n++) {
    const end = text.indexOf('\n', at + 1);
    const raw = text.slice(at + 1, end < 0 ? text.length : end);
    at = end < 0 ? text.length : end;
    if (raw === '') continue;
    const cells = csvCells(raw);
    if (cells === undefined || cells.length !== SETTLEMENT_COLUMNS.length) throw new Error(`${path}:${n}: expected ${SETTLEMENT_COLUMNS.length} columns: ${raw}`);
    const line = Object.fromEntries(SETTLEMENT_COLUMNS.map((c, i) => [c, cells[i]])) as HostLine;
    if (!['0100', '0200', '0220', '0420'].includes(line.mti)) throw new Error(`${path}:${n}: mti ${line.mti} is not one a settlement file holds`);
    yield line;
  }
}

function hostAmount(line: HostLine, path: string): number {
  if (!/^\d{0,12}$/.test(line.amount)) throw new Error(`${path}: amount ${JSON.stringify(line.amount)} of RRN ${line.rrn} is not n12`);
  return Number(line.amount || '0');
}

/** One CSV line's cells (quoted cells may hold commas and doubled quotes); undefined if a quote is not closed. */
function csvCells(line: string): string[] | undefined {
  const cells: string[] = [];
  for (let i = 0; i <= line.length; ) {
    if (line[i] !== '"') {
      const comma = line.indexOf(',', i);
      const end = comma < 0 ? line.length : comma;
      cells.push(line.slice(i, end));
      i = end + 1;
      continue;
    }
    let cell = '';
    let j = i + 1;
    for (;;) {
      const quote = line.indexOf('"', j);
      if (quote < 0) return undefined;
      cell += line.slice(j, quote);
      if (line[quote + 1] !== '"') {
        j = quote + 1;
        break;
      }
      cell += '"';
      j = quote + 2;
    }
    cells.push(cell);
    i = j + 1;
  }
  return cells;
}

/** The calendar day `offset` days from `date` (YYYYMMDD). */
function calendarDay(date: string, offset: number): string {
  return new Date((dayNumber(date) + offset) * 86_400_000).toISOString().slice(0, 10).replace(/-/g, '');
}

// ---------------------------------------------------------------------------------------------
// The terminals' side.

const UPLOAD_CLASSES: Record<Discrepancy['kind'], ReconciliationClass> = {
  missing: 'missing-here',
  amount: 'amount-differs',
  card: 'card-differs',
  status: 'status-differs',
  count: 'count-differs',
};

const UPLOAD_DETAILS: Record<Discrepancy['kind'], (d: Discrepancy) => string> = {
  missing: () => 'batch upload: a detail the journal does not have',
  amount: () => 'batch upload: amounts differ',
  card: () => 'batch upload: another card than the journal has',
  status: () => 'batch upload: the journal has it voided, reversed or declined',
  count: (d) => `batch upload end: ${d.uploaded} details uploaded, the journal counts ${d.recorded}`,
};

/**
 * What the terminals said against posp: the differences the switch recorded at each batch upload
 * of the day (journalled with the upload), and each batch settled (0500) that day: balanced is a
 * match; unbalanced is `totals-differ`, posp's totals against the terminal's as the 0500 handler
 * journalled them (a journal from before it did: posp's totals of the batch from the journal, and
 * `other_amount` empty); its upload's differences are the items above. Only the last 0500 of a
 * batch in the day counts (a terminal may settle again after uploading).
 */
function reconcileTerminals(days: DayFiles, date: string): SideResult {
  const items: ReconciliationItem[] = [];
  const tally: Tally = new Map();
  const settled = new Map<string, JournalEntry>();
  const { db, rows } = days.get(date);
  const sql = `SELECT ${rows.columns} FROM entries WHERE type IN ('batch-upload', 'batch-upload-end', 'settlement') AND response_code = '00' AND route != 'replay' ORDER BY seq`;
  for (const raw of db.prepare(sql).raw().iterate() as IterableIterator<unknown[]>) {
    const e = rows.toEntry(raw);
    if (e.type === 'settlement') settled.set(`${e.tid}|${e.batch}`, e);
    for (const d of e.effects.discrepancies ?? []) items.push(uploadItem(e, d));
  }
  for (const e of settled.values()) {
    const unbalanced = e.effects.unbalanced;
    if (e.effects.terminal?.batch !== undefined) count(tally, { class: 'matched', posp: undefined, other: undefined });
    else if (unbalanced !== undefined) items.push(unbalancedItem(e, unbalanced.recorded, unbalanced.declared));
    // A journal from before settlements kept both sides: posp's totals of the batch from the journal alone.
    else items.push(unbalancedItem(e, batchTotals(days, days.dates.filter((d) => d <= date).reverse(), e), undefined));
  }
  for (const item of items) count(tally, item);
  return { items, tally };
}

function uploadItem(e: JournalEntry, d: Discrepancy): ReconciliationItem {
  const amounts = d.kind !== 'count';
  return {
    source: 'terminal', class: UPLOAD_CLASSES[d.kind], tid: d.tid, mid: e.mid, batch: d.batch, stan: d.stan, rrn: '', panMasked: '',
    posp: amounts ? d.recorded : undefined, other: amounts ? d.uploaded : undefined, detail: UPLOAD_DETAILS[d.kind](d),
  };
}

function unbalancedItem(e: JournalEntry, ours: BatchTotals, theirs: BatchTotals | undefined): ReconciliationItem {
  const net = (t: BatchTotals) => t.domestic.debitAmount - t.domestic.creditAmount + t.foreign.debitAmount - t.foreign.creditAmount;
  const side = (name: string, s: BatchTotals['domestic']) => `${name} debits ${s.debitAmount}/${s.debitCount} credits ${s.creditAmount}/${s.creditCount}`;
  const sides = (t: BatchTotals) => `${side('domestic', t.domestic)}; ${side('foreign', t.foreign)}`;
  return {
    source: 'terminal', class: 'totals-differ', tid: e.tid, mid: e.mid, batch: e.batch, stan: e.stan, rrn: '', panMasked: '', posp: net(ours), other: theirs && net(theirs),
    detail: `settlement unbalanced; posp ${sides(ours)}; ${theirs ? `terminal ${sides(theirs)}` : "the terminal's totals are not journalled"} (fen/count)`,
  };
}

/**
 * posp's settlement totals of the batch a 0500 settled, as the journal has them up to it: the
 * totals every approval and reversal of the batch added, read back from `dates` (newest first)
 * until the day that holds the entry that opened the batch (the previous batch's balanced
 * settlement or upload end); a terminal's first batch is read back to the first day.
 */
function batchTotals(days: DayFiles, dates: string[], settlement: JournalEntry): BatchTotals {
  let totals = emptyTotals();
  for (const date of dates) {
    const { db, rows } = days.get(date);
    const ofBatch = `SELECT ${rows.columns} FROM entries WHERE tid = ? AND batch = ? AND seq < ? AND response_code = '00' AND route != 'replay'`;
    for (const raw of db.prepare(ofBatch).raw().iterate(settlement.tid, settlement.batch, settlement.seq) as IterableIterator<unknown[]>) {
      const delta = rows.toEntry(raw).effects.totals;
      if (delta !== undefined) totals = addTotals(totals, delta);
    }
    const moves = `SELECT ${rows.columns} FROM entries WHERE tid = ? AND type IN ('settlement', 'batch-upload-end') AND seq < ? AND response_code = '00' AND route != 'replay'`;
    const opened = (db.prepare(moves).raw().all(settlement.tid, settlement.seq) as unknown[][]).some((raw) => rows.toEntry(raw).effects.terminal?.batch === settlement.batch);
    if (opened) break;
  }
  return totals;
}

// ---------------------------------------------------------------------------------------------
// Shared: day files, tallies, the CSV.

/**
 * The journal's day files, each opened read-only (a live day's WAL included) on first use and kept
 * open for one reconciliation, which may ask a neighbouring day about many RRNs. A file of a newer
 * format is refused.
 */
class DayFiles {
  /** Business dates with a journal file, oldest first. */
  readonly dates: string[];
  private readonly opened = new Map<string, { db: Database.Database; rows: RowReader<JournalEntry> }>();

  constructor(private readonly dataDir: string) {
    this.dates = journalDates(dataDir);
  }

  get(date: string): { db: Database.Database; rows: RowReader<JournalEntry> } {
    let day = this.opened.get(date);
    if (day === undefined) {
      const path = join(journalDir(this.dataDir), `${date}.sqlite`);
      const db = new Database(path, { readonly: true, fileMustExist: true });
      try {
        const format = db.pragma('user_version', { simple: true }) as number;
        if (format > ENTRY_SCHEMA.version) throw new NewerFormatError(`journal ${path} was written by a newer format (${format}); this build reads formats up to ${ENTRY_SCHEMA.version}`);
        const columns = (db.pragma('table_info(entries)') as { name: string }[]).map((c) => c.name);
        day = { db, rows: ENTRY_SCHEMA.rowReader(columns, format === UNVERSIONED) };
      } catch (err) {
        db.close();
        throw err;
      }
      this.opened.set(date, day);
    }
    return day;
  }

  close(): void {
    for (const { db } of this.opened.values()) db.close();
    this.opened.clear();
  }
}

/** Amount sums are over the items that have one: a class whose items have none sums to nothing (empty), not 0. */
function count(tally: Tally, item: { class: ReconciliationClass; posp: number | undefined; other: number | undefined }): void {
  const t = tally.get(item.class) ?? { count: 0, posp: undefined, other: undefined };
  t.count++;
  if (item.posp !== undefined) t.posp = (t.posp ?? 0) + item.posp;
  if (item.other !== undefined) t.other = (t.other ?? 0) + item.other;
  tally.set(item.class, t);
}

/** Every class the source gives, zeros included. */
function countsOf(source: ReconciliationSource, tally: Tally): ClassCounts {
  return Object.fromEntries(RECONCILIATION_CLASSES[source].map((cls) => [cls, tally.get(cls)?.count ?? 0]));
}

const ITEM_ORDER = ['source', 'class', 'tid', 'mid', 'batch', 'stan', 'rrn', 'detail'] as const;

function byItemOrder(a: ReconciliationItem, b: ReconciliationItem): number {
  for (const k of ITEM_ORDER) if (a[k] !== b[k]) return a[k] < b[k] ? -1 : 1;
  return 0;
}

function reconciliationCsv(date: string, items: ReconciliationItem[], host: (SideResult & { files: string[] }) | undefined, terminal: SideResult): string {
  const lines = [RECONCILIATION_HEADER];
  for (const i of items) lines.push(csvLine(['item', date, i.source, i.class, 1, i.tid, i.mid, i.batch, i.stan, i.rrn, i.panMasked, i.posp, i.other, i.detail]));
  if (host === undefined) lines.push(csvLine(['summary', date, 'host', '', '', '', '', '', '', '', '', '', '', 'not compared: no host settlement given']));
  else lines.push(...summaryLines(date, 'host', host.tally, `host files: ${host.files.join(' ') || 'none'}`));
  lines.push(...summaryLines(date, 'terminal', terminal.tally, ''));
  return lines.join('\n') + '\n';
}

/** One line per class the source gives (zero counts included, so every file has the same shape); `detail` on the first. */
function summaryLines(date: string, source: ReconciliationSource, tally: Tally, detail: string): string[] {
  return RECONCILIATION_CLASSES[source].map((cls, i) => {
    const t = tally.get(cls) ?? { count: 0, posp: 0, other: 0 };
    return csvLine(['summary', date, source, cls, t.count, '', '', '', '', '', '', t.posp, t.other, i === 0 ? detail : '']);
  });
}

function csvLine(cells: (string | number | undefined)[]): string {
  return cells.map((c) => (c === undefined ? '' : typeof c === 'number' ? String(c) : /[",\r\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c)).join(',');
}

/** Written beside and renamed over: a reader (or a crash) never sees half a file. */
function writeAtomically(path: string, text: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
