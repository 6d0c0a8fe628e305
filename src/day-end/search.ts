import Database from 'better-sqlite3';
import { join } from 'node:path';
import { journalDates, journalDir } from '../store/index.js';
import { FINANCIAL_TYPES } from '../txn/index.js';

/**
 * Transaction search across today's journal and every earlier day (issue 13): the CLI's
 * `posp search` and, later, the admin API. Each day file is opened read-only and asked with one SQL
 * WHERE (no index is added: the files are the book's, and sealed ones are read-only); days are
 * read newest first and reading stops once the page is full.
 */

/** Every criterion is optional; given ones must all hold. Dates are business dates YYYYMMDD, amounts fen. */
export interface TransactionQuery {
  from?: string;
  to?: string;
  tid?: string;
  mid?: string;
  /** The card number's last 4 digits. */
  last4?: string;
  rrn?: string;
  amount?: number;
  minAmount?: number;
  maxAmount?: number;
  responseCode?: string;
  /**
   * A journal entry type. Without it, financial transactions and reversals only: host-request legs,
   * business-date and reference-change entries, advice-delivered, hold-expiry and management
   * messages are found only when asked for by type.
   */
  type?: string;
}

/**
 * A page, newest first. `before` (a seq, e.g. the previous page's `next`) pins where the pages
 * start, so pages stay the same while the live day grows; `number` counts pages from there.
 */
export interface PageRequest {
  /** Rows per page, 1..MAX_PAGE_SIZE (default DEFAULT_PAGE_SIZE). */
  size?: number;
  /** 1-based. */
  number?: number;
  /** Only entries with a seq below this. */
  before?: number;
}

export const MAX_PAGE_SIZE = 500;
export const DEFAULT_PAGE_SIZE = 50;

/** A journal row as search shows it: the card number masked, never its token, never the effects. */
export interface TransactionRow {
  businessDate: string;
  seq: number;
  /** Epoch ms when the request arrived. */
  at: number;
  type: string;
  mti: string;
  mid: string;
  tid: string;
  batch: string;
  stan: string;
  rrn: string;
  authCode: string;
  panMasked: string;
  amount: number;
  currency: string;
  responseCode: string;
  route: string;
}

export interface SearchResult {
  rows: TransactionRow[];
  page: number;
  size: number;
  /** `before` for the page after this one's rows (with `number` 1); absent when this page is not full, so there is none. */
  next?: number;
}

/** A query or page that cannot be asked, with the reason (the CLI exits 2, the API answers 400). */
export class SearchQueryError extends Error {}

const COLUMNS = 'business_date AS businessDate, seq, at_ms AS at, type, mti, mid, tid, batch, stan, rrn, auth_code AS authCode, pan_masked AS panMasked, amount, currency, response_code AS responseCode, route';
const TRANSACTION_TYPES = [...FINANCIAL_TYPES.map((s) => s.type), 'reversal'];

/**
 * One page of the journal entries that match `query`, newest first (by seq, which grows across
 * days). Retransmissions answered again (route `replay`) are never shown: the original is.
 */
export function searchTransactions(dataDir: string, query: TransactionQuery, page: PageRequest = {}): SearchResult {
  checkQuery(query);
  const size = checkedInteger(page.size ?? DEFAULT_PAGE_SIZE, 'page size', 1, MAX_PAGE_SIZE);
  const number = checkedInteger(page.number ?? 1, 'page number', 1, Number.MAX_SAFE_INTEGER);
  const before = checkedInteger(page.before ?? Number.MAX_SAFE_INTEGER, 'before', 1, Number.MAX_SAFE_INTEGER);
  const { where, params } = whereOf(query, before);
  const rows: TransactionRow[] = [];
  let skip = (number - 1) * size;
  for (const date of journalDates(dataDir).reverse()) {
    if (query.to !== undefined && date > query.to) continue;
    if (query.from !== undefined && date < query.from) break;
    readOnly(dataDir, date, (db) => {
      // Whole days before the page are counted, not read.
      if (skip > 0) {
        const { n } = db.prepare(`SELECT count(*) AS n FROM entries WHERE ${where}`).get(...params) as { n: number };
        if (n <= skip) {
          skip -= n;
          return;
        }
      }
      rows.push(...(db.prepare(`SELECT ${COLUMNS} FROM entries WHERE ${where} ORDER BY seq DESC LIMIT ? OFFSET ?`).all(...params, size - rows.length, skip) as TransactionRow[]));
      skip = 0;
    });
    if (rows.length === size) break;
  }
  return { rows, page: number, size, ...(rows.length === size ? { next: rows[rows.length - 1].seq } : {}) };
}

function whereOf(q: TransactionQuery, before: number): { where: string; params: (string | number)[] } {
  const terms = ["route != 'replay'", 'seq < ?'];
  const params: (string | number)[] = [before];
  const equal = (column: string, value: string | number | undefined): void => {
    if (value === undefined) return;
    terms.push(`${column} = ?`);
    params.push(value);
  };
  equal('tid', q.tid);
  equal('mid', q.mid);
  equal('rrn', q.rrn);
  equal('amount', q.amount);
  equal('response_code', q.responseCode);
  equal('substr(pan_masked, -4)', q.last4);
  if (q.minAmount !== undefined) {
    terms.push('amount >= ?');
    params.push(q.minAmount);
  }
  if (q.maxAmount !== undefined) {
    terms.push('amount <= ?');
    params.push(q.maxAmount);
  }
  if (q.type !== undefined) equal('type', q.type);
  else {
    terms.push(`type IN (${TRANSACTION_TYPES.map(() => '?').join(', ')})`);
    params.push(...TRANSACTION_TYPES);
  }
  return { where: terms.join(' AND '), params };
}

function checkQuery(q: TransactionQuery): void {
  for (const [name, value] of [['from', q.from], ['to', q.to]] as const) {
    if (value !== undefined && !/^\d{8}$/.test(value)) throw new SearchQueryError(`${name} must be a business date YYYYMMDD, got ${JSON.stringify(value)}`);
  }
  if (q.from !== undefined && q.to !== undefined && q.from > q.to) throw new SearchQueryError(`from ${q.from} is after to ${q.to}`);
  if (q.last4 !== undefined && !/^\d{4}$/.test(q.last4)) throw new SearchQueryError(`last4 must be 4 digits, got ${JSON.stringify(q.last4)}`);
  if (q.responseCode !== undefined && !/^[0-9A-Z]{2}$/.test(q.responseCode)) throw new SearchQueryError(`a response code is 2 characters, got ${JSON.stringify(q.responseCode)}`);
  if (q.type !== undefined && !/^[a-z][a-z0-9-]*$/.test(q.type)) throw new SearchQueryError(`type must be a journal entry type such as sale, got ${JSON.stringify(q.type)}`);
  for (const [name, value] of [['tid', q.tid], ['mid', q.mid], ['rrn', q.rrn]] as const) {
    if (value !== undefined && value === '') throw new SearchQueryError(`${name} must not be empty`);
  }
  for (const [name, value] of [['amount', q.amount], ['minAmount', q.minAmount], ['maxAmount', q.maxAmount]] as const) {
    if (value !== undefined) checkedInteger(value, `${name} (fen)`, 0, Number.MAX_SAFE_INTEGER);
  }
  if (q.minAmount !== undefined && q.maxAmount !== undefined && q.minAmount > q.maxAmount) throw new SearchQueryError(`minAmount ${q.minAmount} is above maxAmount ${q.maxAmount}`);
}

function checkedInteger(value: number, name: string, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new SearchQueryError(`${name} must be a whole number from ${min} to ${max}, got ${value}`);
  return value;
}

/** A day's journal, read-only: a live day's WAL is read alongside its writer, a sealed day is a read-only file. */
function readOnly(dataDir: string, date: string, read: (db: Database.Database) => void): void {
  const db = new Database(join(journalDir(dataDir), `${date}.sqlite`), { readonly: true, fileMustExist: true });
  try {
    read(db);
  } finally {
    db.close();
  }
}
