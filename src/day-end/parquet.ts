import type { DuckDBAppender, DuckDBConnection } from '@duckdb/node-api';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ENTRY_SCHEMA, journalEntries, type JournalEntry } from '../store/index.js';
import { FINANCIAL_TYPES, MANAGEMENT_TYPES, type TxnType } from '../txn/index.js';
import { sqlString, withDuckDb } from './duckdb.js';
import { dayDir, temporaryBeside } from './files.js';
import { dayJournalPath, isSealed, sealPath } from './seal.js';

/**
 * What a type of approval does to its merchant's clearing: the debits and credits of a terminal's
 * settlement totals (PROTOCOL.md section 8): sales and completions are paid to the merchant,
 * refunds taken back. Transfers and bill payments move money from the card to another card or to a
 * biller's account, never to the merchant, so they clear nowhere here (the reports count them).
 */
const CLEARING_SIGN: Partial<Record<TxnType, 1 | -1>> = {
  sale: 1,
  'pre-auth-completion': 1,
  'pre-auth-completion-notice': 1,
  refund: -1,
};

/**
 * The entry types that are a terminal's request; every other type is an entry the switch makes
 * itself (a host leg's request, a delivered advice, a hold expiry, a business date or reference
 * change) and is not a transaction. `unknown` is a terminal's message the switch could not
 * classify, journalled with its refusal.
 */
const REQUEST_TYPES: readonly { type: string; financial: boolean }[] = [
  ...FINANCIAL_TYPES.map((s) => ({ type: s.type, financial: true })),
  { type: 'reversal', financial: true },
  ...MANAGEMENT_TYPES.map((s) => ({ type: s.type, financial: false })),
  { type: 'unknown', financial: false },
];

/** The journal's own columns (all but the effects blob), in its order and with its names. */
const JOURNAL_COLUMNS = ENTRY_SCHEMA.fields.filter((f) => f.kind !== 'effects');

/** `<dataDir>/backline/YYYYMMDD/entries.parquet` */
export function entriesParquet(dataDir: string, date: string): string {
  return join(dayDir(dataDir, date), 'entries.parquet');
}

/** `<dataDir>/journal/YYYYMMDD.sqlite`, or an error that says the day has no journal. */
export function journalFile(dataDir: string, date: string): string {
  const path = dayJournalPath(dataDir, date);
  if (!existsSync(path)) throw new Error(`no journal for business day ${date} (${path})`);
  return path;
}

/**
 * Writes business day `date`'s journal as `<dataDir>/backline/D/entries.parquet`: one row per
 * entry, the journal's columns (not the effects) plus what clearing and reports derive from them
 * (README, Back line). Written whole or not at all; the same journal gives the same bytes.
 */
export async function exportDay(options: { dataDir: string; date: string }): Promise<{ path: string; entries: number }> {
  const journal = journalFile(options.dataDir, options.date);
  const path = entriesParquet(options.dataDir, options.date);
  const temporary = temporaryBeside(path);
  mkdirSync(dirname(path), { recursive: true });
  try {
    const entries = await withDuckDb(dayDir(options.dataDir, options.date), async (db) => {
      await createTables(db);
      const count = await loadJournal(db, journal);
      await db.run(`COPY (${DERIVED_SQL}) TO ${sqlString(temporary)} (FORMAT parquet)`);
      return count;
    });
    renameSync(temporary, path);
    return { path, entries };
  } finally {
    rmSync(temporary, { force: true });
  }
}

/**
 * The day's Parquet: the one there if it was written after the day was sealed (a sealed day changes
 * no more, so a resumed back line does not export it twice), otherwise exported now. A day still
 * being written (`posp report` for today) is exported each time, so nothing stale is ever cleared.
 */
export async function dayParquet(dataDir: string, date: string): Promise<string> {
  const path = entriesParquet(dataDir, date);
  const fresh = isSealed(dataDir, date) && existsSync(path) && statSync(path).mtimeMs >= statSync(sealPath(dataDir, date)).mtimeMs;
  return fresh ? path : (await exportDay({ dataDir, date })).path;
}

async function createTables(db: DuckDBConnection): Promise<void> {
  const columns = JOURNAL_COLUMNS.map((f) => `${f.column} ${f.kind === 'number' ? 'BIGINT' : 'VARCHAR'}`);
  await db.run(`CREATE TABLE entries (${columns.join(', ')}, local_hour TINYINT)`);
  // Status changes the day's entries made to originals (void, reversal, completion, expiry), in order.
  await db.run('CREATE TABLE changes (key VARCHAR, status VARCHAR, seq BIGINT)');
  await db.run('CREATE TABLE request_types (type VARCHAR, financial BOOLEAN, clearing_sign TINYINT)');
  const types = await db.createAppender('request_types');
  for (const t of REQUEST_TYPES) {
    types.appendVarchar(t.type);
    types.appendBoolean(t.financial);
    types.appendTinyInt(CLEARING_SIGN[t.type as TxnType] ?? 0);
    types.endRow();
  }
  types.closeSync();
}

/**
 * The Parquet's rows: an approved request's final status is the last change the day's entries made
 * to its request key (a replay shares its original's key, and its `replay` flag says what it is).
 */
const DERIVED_SQL = `
  SELECT e.*,
    t.type IS NOT NULL AS request,
    e.route = 'replay' AS replay,
    coalesce(t.financial, false) AS financial,
    e.response_code = '00' AS approved,
    coalesce(t.clearing_sign, 0)::TINYINT AS clearing_sign,
    CASE WHEN e.response_code <> '00' THEN 'declined' ELSE coalesce(c.status, 'approved') END AS final_status
  FROM entries e
  LEFT JOIN request_types t ON t.type = e.type
  LEFT JOIN (SELECT key, arg_max(status, seq) AS status FROM changes GROUP BY key) c ON e.request_key <> '' AND c.key = e.request_key
  ORDER BY e.seq`;

/** Appends every entry of the journal file and the status changes in its effects; returns how many entries. */
async function loadJournal(db: DuckDBConnection, path: string): Promise<number> {
  const entries = await db.createAppender('entries');
  const changes = await db.createAppender('changes');
  let count = 0;
  for (const entry of journalEntries(path)) {
    appendEntry(entries, entry);
    for (const o of entry.effects.originals ?? []) {
      if (o.status === undefined) continue;
      changes.appendVarchar(o.key);
      changes.appendVarchar(o.status);
      changes.appendBigInt(BigInt(entry.seq));
      changes.endRow();
    }
    count++;
  }
  entries.closeSync();
  changes.closeSync();
  return count;
}

function appendEntry(appender: DuckDBAppender, entry: JournalEntry): void {
  const values = entry as unknown as Record<string, string | number>;
  for (const f of JOURNAL_COLUMNS) {
    if (f.kind === 'number') appender.appendBigInt(BigInt(values[f.name]));
    else appender.appendVarchar(values[f.name] as string);
  }
  // The switch's local time, as its F12/F13 say it to terminals.
  appender.appendTinyInt(new Date(entry.at).getHours());
  appender.endRow();
}

