import Database from 'better-sqlite3';
import { closeSync, fdatasync, fsyncSync, mkdirSync, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { decodeEffects, encodeEffects } from './entry-codec.js';
import type { JournalEntry } from './records.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS entries (
  seq INTEGER PRIMARY KEY,
  at_ms INTEGER NOT NULL,
  business_date TEXT NOT NULL,
  type TEXT NOT NULL,
  mti TEXT NOT NULL,
  mid TEXT NOT NULL,
  tid TEXT NOT NULL,
  batch TEXT NOT NULL,
  stan TEXT NOT NULL,
  rrn TEXT NOT NULL,
  auth_code TEXT NOT NULL,
  pan_masked TEXT NOT NULL,
  pan_hash TEXT NOT NULL,
  amount INTEGER NOT NULL,
  currency TEXT NOT NULL,
  response_code TEXT NOT NULL,
  original_key TEXT NOT NULL,
  route TEXT NOT NULL,
  latency_us INTEGER NOT NULL,
  request_key TEXT NOT NULL,
  effects BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_rrn ON entries(rrn);
`;

/**
 * The write-ahead log: one SQLite file per business day in WAL mode. Rows are appended inside an
 * open transaction; `commit()` writes the group to the WAL file and `sync()` makes everything
 * written so far durable with one fdatasync of that file, on libuv's thread pool, so the next group
 * is entered and written while the disk works. SQLite itself runs with synchronous = NORMAL, which
 * still syncs the WAL before a checkpoint and the database after one: only the per-commit sync
 * is ours.
 */
export class Journal {
  readonly businessDate: string;
  readonly path: string;
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private readonly beginStmt: Database.Statement;
  private readonly commitStmt: Database.Statement;
  private readonly checkpointStmt: Database.Statement;
  private open = false;
  /** The WAL file, opened once more for fsync (fsync flushes the file, whichever descriptor wrote it). */
  private readonly walFd: number;

  constructor(dataDir: string, businessDate: string) {
    const dir = journalDir(dataDir);
    mkdirSync(dir, { recursive: true });
    this.businessDate = businessDate;
    this.path = join(dir, `${businessDate}.sqlite`);
    this.db = new Database(this.path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    // Never checkpoint inside a commit (a copy of every page and two syncs would stall the book): the
    // apply thread copies the pages in the background and the book finishes with `checkpoint()`.
    this.db.pragma('wal_autocheckpoint = 0');
    this.db.exec(SCHEMA);
    this.walFd = openSync(`${this.path}-wal`, 'r');
    // A new day's files must survive a power cut too: their directory entries are made durable once.
    const dirFd = openSync(dir, 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
    this.insert = this.db.prepare('INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    this.beginStmt = this.db.prepare('BEGIN');
    this.commitStmt = this.db.prepare('COMMIT');
    this.checkpointStmt = this.db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
  }

  /** Adds a row to the open group; it is durable only after `commit()` returns. */
  append(entry: JournalEntry): void {
    if (!this.open) {
      this.beginStmt.run();
      this.open = true;
    }
    // Positional parameters, in the table's column order: binding by name costs a lookup per column.
    const e = entry;
    this.insert.run(e.seq, e.at, e.businessDate, e.type, e.mti, e.mid, e.tid, e.batch, e.stan, e.rrn, e.authCode, e.panMasked,
      e.panHash, e.amount, e.currency, e.responseCode, e.originalKey, e.route, e.latencyUs, e.requestKey, encodeEffects(e.effects));
  }

  /** Ends the open group: its rows are written to the WAL file, durable only once a later `sync()` resolves. */
  commit(): void {
    if (!this.open) return;
    this.commitStmt.run();
    this.open = false;
  }

  /**
   * Copies into the database file what the WAL holds beyond the last checkpoint, between two groups.
   * When that is all of it, the next group starts the WAL from its beginning, so the WAL stays small.
   * Cheap when the apply thread's checkpoint has just copied nearly everything.
   */
  checkpoint(): void {
    if (!this.open) this.checkpointStmt.run();
  }

  /** Resolves when every row committed before the call is on disk (one fdatasync, off this thread). */
  sync(): Promise<void> {
    return new Promise((resolve, reject) => fdatasync(this.walFd, (err) => (err ? reject(err) : resolve())));
  }

  close(): void {
    this.commit();
    fsyncSync(this.walFd);
    closeSync(this.walFd);
    this.db.close();
  }
}

/**
 * One day's journal as the thread that applies durable entries to LMDB sees it: it reads every
 * committed row (which are durable is the book's to say, `upTo`) and does the bulk of each WAL
 * checkpoint, so that the book's `Journal.checkpoint()` has little left to copy.
 */
export class JournalReader {
  private readonly db: Database.Database;
  private readonly between: Database.Statement;
  private readonly passiveCheckpoint: Database.Statement;

  constructor(path: string) {
    this.db = new Database(path, { fileMustExist: true });
    this.between = this.db.prepare('SELECT * FROM entries WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?');
    this.passiveCheckpoint = this.db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
  }

  /** Copies the WAL's committed pages into the database file without waiting for the writer. */
  checkpoint(): void {
    this.passiveCheckpoint.run();
  }

  /** Up to `limit` entries after `seq` and up to `upTo`, oldest first. */
  entries(seq: number, upTo: number, limit: number): JournalEntry[] {
    return (this.between.all(seq, upTo, limit) as Row[]).map(rowToEntry);
  }

  close(): void {
    this.db.close();
  }
}

/**
 * Entries after `seq` in every day's journal, oldest first: what LMDB has not applied yet. Days
 * are read newest first and the walk stops at the first day that holds nothing after `seq`.
 */
export function journalTail(dataDir: string, seq: number): { entries: JournalEntry[]; maxSeq: number } {
  const days: JournalEntry[][] = [];
  let maxSeq = seq;
  for (const date of journalDates(dataDir).reverse()) {
    const db = new Database(join(journalDir(dataDir), `${date}.sqlite`), { readonly: true, fileMustExist: true });
    try {
      const max = (db.prepare('SELECT max(seq) AS s FROM entries').get() as { s: number | null }).s ?? 0;
      maxSeq = Math.max(maxSeq, max);
      if (max <= seq) {
        if (max > 0) break;
        continue;
      }
      days.unshift((db.prepare('SELECT * FROM entries WHERE seq > ? ORDER BY seq').all(seq) as Row[]).map(rowToEntry));
    } finally {
      db.close();
    }
  }
  return { entries: days.flat(), maxSeq };
}

/** The first entry with this RRN (retransmission replays excluded), newest day first. */
export function entryByRrn(dataDir: string, rrn: string): JournalEntry | undefined {
  for (const date of journalDates(dataDir).reverse()) {
    const db = new Database(join(journalDir(dataDir), `${date}.sqlite`), { readonly: true, fileMustExist: true });
    try {
      const row = db.prepare("SELECT * FROM entries WHERE rrn = ? AND route != 'replay' ORDER BY seq LIMIT 1").get(rrn) as Row | undefined;
      if (row !== undefined) return rowToEntry(row);
    } finally {
      db.close();
    }
  }
  return undefined;
}

export function journalDir(dataDir: string): string {
  return join(dataDir, 'journal');
}

/** Business dates that have a journal file, oldest first. */
export function journalDates(dataDir: string): string[] {
  try {
    return readdirSync(journalDir(dataDir))
      .filter((f) => /^\d{8}\.sqlite$/.test(f))
      .map((f) => f.slice(0, 8))
      .sort();
  } catch {
    return [];
  }
}

interface Row {
  seq: number;
  at_ms: number;
  business_date: string;
  type: string;
  mti: string;
  mid: string;
  tid: string;
  batch: string;
  stan: string;
  rrn: string;
  auth_code: string;
  pan_masked: string;
  pan_hash: string;
  amount: number;
  currency: string;
  response_code: string;
  original_key: string;
  route: string;
  latency_us: number;
  request_key: string;
  effects: Buffer;
}

function rowToEntry(r: Row): JournalEntry {
  return {
    seq: r.seq,
    at: r.at_ms,
    businessDate: r.business_date,
    type: r.type,
    mti: r.mti,
    mid: r.mid,
    tid: r.tid,
    batch: r.batch,
    stan: r.stan,
    rrn: r.rrn,
    authCode: r.auth_code,
    panMasked: r.pan_masked,
    panHash: r.pan_hash,
    amount: r.amount,
    currency: r.currency,
    responseCode: r.response_code,
    originalKey: r.original_key,
    route: r.route,
    latencyUs: r.latency_us,
    requestKey: r.request_key,
    effects: decodeEffects(r.effects),
  };
}
