import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { temporaryBeside } from './files.js';

/** What DuckDB may hold in memory before it spills to disk: the back line shares the machine with the front line. */
const MEMORY_LIMIT = '512MB';

/**
 * An embedded DuckDB in memory for one piece of back-line work, closed after it. One thread: the
 * front line shares this machine's cores, and one thread keeps the row order (so the bytes) of what
 * it writes the same on every run. What does not fit spills to a directory of its own in
 * `scratchDir` (never the current directory), removed afterwards.
 */
export async function withDuckDb<T>(scratchDir: string, work: (db: DuckDBConnection) => Promise<T>): Promise<T> {
  const spill = temporaryBeside(join(scratchDir, 'duckdb'));
  const instance = await DuckDBInstance.create(':memory:', { threads: '1', memory_limit: MEMORY_LIMIT, temp_directory: spill });
  const db = await instance.connect();
  try {
    return await work(db);
  } finally {
    db.closeSync();
    instance.closeSync();
    rmSync(spill, { recursive: true, force: true });
  }
}

/** A file path as a SQL string literal: `COPY ... TO` and `read_parquet` take no parameter for it. */
export function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/**
 * A query's rows as objects. Counts and sums come back from DuckDB as bigints: they are turned into
 * numbers here (fen totals stay exact far beyond any day's turnover, up to 2^53).
 */
export async function rowsOf(db: DuckDBConnection, sql: string, values?: DuckDBValue[]): Promise<Record<string, string | number | boolean | null>[]> {
  const reader = await db.runAndReadAll(sql, values);
  return reader.getRowObjectsJS().map((row) => {
    const out: Record<string, string | number | boolean | null> = {};
    for (const [name, value] of Object.entries(row)) out[name] = typeof value === 'bigint' ? exactNumber(value) : (value as string | number | boolean | null);
    return out;
  });
}

function exactNumber(value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) throw new Error(`${value} is beyond exact numbers`);
  return Number(value);
}
