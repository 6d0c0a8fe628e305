import Database from 'better-sqlite3';
import { closeSync, existsSync, fdatasync, fstatSync, fsyncSync, linkSync, mkdirSync, openSync, readdirSync, unlinkSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
import { join } from 'node:path';
import { BinaryReader, NewerFormatError } from './entry-codec.js';
import { ENTRY_SCHEMA, UNVERSIONED, type EntrySchema, type JournalEntry, type RowReader } from './entry-schema.js';

/** Rows re-encoded per statement when an unversioned day file is upgraded: bounds the memory it takes. */
const UPGRADE_BATCH = 10_000;
/** What a WAL file is cut back to when it starts over after a complete checkpoint, unless told otherwise. */
const WAL_KEEP_BYTES = 16 * 1024 * 1024;

export interface JournalOptions<E extends JournalEntry> {
  /** The row layout: the real one unless a test brings the next format. */
  schema?: EntrySchema<E>;
  /**
   * What the WAL file is truncated to when SQLite starts it over (after a checkpoint copied all of
   * it): without this a WAL keeps the size of its largest spell between two complete checkpoints.
   */
  walKeepBytes?: number;
}

/**
 * The write-ahead log: one SQLite file per business day in WAL mode. Rows are appended inside an
 * open transaction; `commit()` writes the group to the WAL file and `sync()` makes everything
 * written so far durable with one fdatasync of that file, on libuv's thread pool, so the next group
 * is entered and written while the disk works. SQLite itself runs with synchronous = NORMAL, which
 * still syncs the WAL before a checkpoint and the database after one: only the per-commit sync
 * is ours. Its rows are laid out by an entry schema (the real one unless a test brings the next
 * format); opening a file of an older format upgrades it, one of a newer format is refused.
 */
export class Journal<E extends JournalEntry = JournalEntry> {
  readonly businessDate: string;
  readonly path: string;
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private readonly insertEntry: (stmt: Database.Statement, entry: E) => void;
  private readonly beginStmt: Database.Statement;
  private readonly commitStmt: Database.Statement;
  private readonly checkpointStmt: Database.Statement;
  private open = false;
  /** The WAL file, opened once more for fsync (fsync flushes the file, whichever descriptor wrote it). */
  private readonly walFd: number;

  constructor(dataDir: string, businessDate: string, options: JournalOptions<E> = {}) {
    const schema = options.schema ?? realSchema<E>();
    const dir = journalDir(dataDir);
    mkdirSync(dir, { recursive: true });
    this.businessDate = businessDate;
    this.path = join(dir, `${businessDate}.sqlite`);
    // Files that already exist had their directory entries made durable by whoever created them
    // (the back line prepares the next day's file this way, so a cut-over does not wait for it).
    const created = !existsSync(this.path) || !existsSync(`${this.path}-wal`);
    if (!existsSync(this.path)) createDayFile(this.path, schema);
    this.db = new Database(this.path);
    let format: number;
    try {
      format = formatOf(this.db, schema, this.path);
    } catch (err) {
      this.db.close();
      throw err;
    }
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    // Never checkpoint inside a commit (a copy of every page and two syncs would stall the book): the
    // apply thread copies the pages in the background and the book finishes with `checkpoint()`.
    this.db.pragma('wal_autocheckpoint = 0');
    this.db.pragma(`journal_size_limit = ${Math.floor(options.walKeepBytes ?? WAL_KEEP_BYTES)}`);
    if (format < schema.version) upgrade(this.db, schema);
    // A file made whole as a draft has had no write in WAL mode yet, so no WAL file: one write makes it.
    else if (!existsSync(`${this.path}-wal`)) this.db.pragma(`user_version = ${format}`);
    this.walFd = openSync(`${this.path}-wal`, 'r');
    // A new day's files must survive a power cut too: their directory entries are made durable once.
    if (created) {
      const dirFd = openSync(dir, 'r');
      try {
        fsyncSync(dirFd);
      } finally {
        closeSync(dirFd);
      }
    }
    this.insert = this.db.prepare(schema.insertSql);
    this.insertEntry = schema.insert;
    this.beginStmt = this.db.prepare('BEGIN');
    this.commitStmt = this.db.prepare('COMMIT');
    this.checkpointStmt = this.db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
  }

  /** Adds a row to the open group; it is durable only after `commit()` returns. */
  append(entry: E): void {
    if (!this.open) {
      this.beginStmt.run();
      this.open = true;
    }
    this.insertEntry(this.insert, entry);
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
   * Cheap when the apply thread's checkpoint has just copied nearly everything. True when the WAL
   * is wholly copied: the next group then starts it over (cut back to `walKeepBytes`).
   */
  checkpoint(): boolean {
    if (this.open) return false;
    const result = this.checkpointStmt.get() as { busy: number; log: number; checkpointed: number };
    return result.busy === 0 && result.checkpointed === result.log;
  }

  /** Bytes in the WAL file now: what the checkpoints must keep under its limit. */
  walBytes(): number {
    return fstatSync(this.walFd).size;
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
 * checkpoint, so that the book's `Journal.checkpoint()` has little left to copy. It reads files of
 * its schema's format or an older one (upgrading them is the writer's job).
 */
export class JournalReader<E extends JournalEntry = JournalEntry> {
  private readonly db: Database.Database;
  private readonly rows: RowReader<E>;
  private readonly between: Database.Statement;
  private readonly passiveCheckpoint: Database.Statement;

  constructor(path: string, schema: EntrySchema<E> = realSchema<E>()) {
    this.db = new Database(path, { fileMustExist: true });
    try {
      this.rows = rowReaderOf(this.db, schema, path);
    } catch (err) {
      this.db.close();
      throw err;
    }
    this.between = this.db.prepare(`SELECT ${this.rows.columns} FROM entries WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?`).raw();
    this.passiveCheckpoint = this.db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
  }

  /** Copies the WAL's committed pages into the database file without waiting for the writer. */
  checkpoint(): void {
    this.passiveCheckpoint.run();
  }

  /** Up to `limit` entries after `seq` and up to `upTo`, oldest first. */
  entries(seq: number, upTo: number, limit: number): E[] {
    return (this.between.all(seq, upTo, limit) as unknown[][]).map(this.rows.toEntry);
  }

  close(): void {
    this.db.close();
  }
}

/**
 * Entries after `seq` in every day's journal, oldest first: what LMDB has not applied yet. Days
 * are read newest first and the walk stops at the first day that holds nothing after `seq`.
 */
export function journalTail<E extends JournalEntry = JournalEntry>(
  dataDir: string,
  seq: number,
  schema: EntrySchema<E> = realSchema<E>(),
): { entries: E[]; maxSeq: number } {
  const days: E[][] = [];
  let maxSeq = seq;
  for (const date of journalDates(dataDir).reverse()) {
    const day = readDay(dataDir, date, schema, (db, rows) => {
      const max = (db.prepare('SELECT max(seq) AS s FROM entries').get() as { s: number | null }).s ?? 0;
      const after = max > seq ? (db.prepare(`SELECT ${rows.columns} FROM entries WHERE seq > ? ORDER BY seq`).raw().all(seq) as unknown[][]) : [];
      return { max, entries: after.map(rows.toEntry) };
    });
    maxSeq = Math.max(maxSeq, day.max);
    if (day.max <= seq) {
      if (day.max > 0) break;
      continue;
    }
    days.unshift(day.entries);
  }
  return { entries: days.flat(), maxSeq };
}

/** The entry that answered with this RRN (retransmission replays and a host leg's request entry excluded), newest day first. */
export function entryByRrn<E extends JournalEntry = JournalEntry>(
  dataDir: string,
  rrn: string,
  schema: EntrySchema<E> = realSchema<E>(),
): E | undefined {
  for (const date of journalDates(dataDir).reverse()) {
    const found = readDay(dataDir, date, schema, (db, rows) => {
      const row = db.prepare(`SELECT ${rows.columns} FROM entries WHERE rrn = ? AND route != 'replay' AND type != 'host-request' ORDER BY seq LIMIT 1`).raw().get(rrn) as unknown[] | undefined;
      return row === undefined ? undefined : rows.toEntry(row);
    });
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * Every entry of one day file in seq order, read one row at a time through the journal's own row
 * mapping. Opened read-only: a reader that never writes (the back line, a check) leaves the WAL
 * as it found it, where `JournalReader` opens its file for writing.
 */
export function* journalEntries<E extends JournalEntry = JournalEntry>(path: string, schema: EntrySchema<E> = realSchema<E>()): Generator<E> {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const rows = rowReaderOf(db, schema, path);
    for (const row of db.prepare(`SELECT ${rows.columns} FROM entries ORDER BY seq`).raw().iterate() as IterableIterator<unknown[]>) yield rows.toEntry(row);
  } finally {
    db.close();
  }
}

/** Every entry of `type` in a day's journal, in seq order (the admin API's audit log reads the control changes). */
export function entriesOfType<E extends JournalEntry = JournalEntry>(dataDir: string, date: string, type: string, schema: EntrySchema<E> = realSchema<E>()): E[] {
  return readDay(dataDir, date, schema, (db, rows) => (db.prepare(`SELECT ${rows.columns} FROM entries WHERE type = ? ORDER BY seq`).raw().all(type) as unknown[][]).map(rows.toEntry));
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

/**
 * The business date the journal is at: the newest day whose file holds an entry. A new day's file
 * is created before the entry that opens the day is durable: a crash in between leaves an empty
 * file, and the day it names was never acknowledged.
 */
export function journalledDate(dataDir: string): string | undefined {
  for (const date of journalDates(dataDir).reverse()) {
    const db = new Database(join(journalDir(dataDir), `${date}.sqlite`), { readonly: true, fileMustExist: true });
    try {
      if (db.prepare('SELECT 1 FROM entries LIMIT 1').get() !== undefined) return date;
    } finally {
      db.close();
    }
  }
  return undefined;
}

/** The real schema, where a caller brings none (E is then its default, JournalEntry). */
function realSchema<E extends JournalEntry>(): EntrySchema<E> {
  return ENTRY_SCHEMA as unknown as EntrySchema<E>;
}

/** One day's file, opened read-only for `read`; a file of a newer format than `schema` is refused. */
function readDay<E extends object, T>(dataDir: string, date: string, schema: EntrySchema<E>, read: (db: Database.Database, rows: RowReader<E>) => T): T {
  const path = join(journalDir(dataDir), `${date}.sqlite`);
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return read(db, rowReaderOf(db, schema, path));
  } finally {
    db.close();
  }
}

/** The format a day file records; one newer than `schema` is refused, since its rows may mean more than this build can read. */
function formatOf(db: Database.Database, schema: { readonly version: number }, path: string): number {
  const format = db.pragma('user_version', { simple: true }) as number;
  if (format > schema.version) {
    throw new NewerFormatError(`journal ${path} was written by a newer format (${format}); this build knows formats up to ${schema.version}`);
  }
  return format;
}

function columnsOf(db: Database.Database): string[] {
  return (db.pragma('table_info(entries)') as { name: string }[]).map((c) => c.name);
}

function rowReaderOf<E extends object>(db: Database.Database, schema: EntrySchema<E>, path: string): RowReader<E> {
  const format = formatOf(db, schema, path);
  return schema.rowReader(columnsOf(db), format === UNVERSIONED);
}

/**
 * Makes a new day's file whole before it has its name: its table is made in a draft beside it,
 * which is synced and then linked into place. A reader (recovery after a crash, the audit, search)
 * never finds a day file without its table, and of two creators at once (the book, when the back
 * line was slow to prepare the file) the second's link fails and it opens the first's file.
 */
function createDayFile<E extends object>(path: string, schema: EntrySchema<E>): void {
  const draft = `${path}.${process.pid}-${threadId}.draft`;
  const db = new Database(draft);
  try {
    upgrade(db, schema);
  } finally {
    db.close();
  }
  try {
    const fd = openSync(draft, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    linkSync(draft, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    unlinkSync(draft);
  }
}

/**
 * Brings a day file to `schema`'s format in one transaction: creates the table of a new file,
 * re-encodes the effects of an unversioned one and adds the columns an older format lacks (their
 * rows take the default).
 */
function upgrade<E extends object>(db: Database.Database, schema: EntrySchema<E>): void {
  // IMMEDIATE: another connection may be creating the same new file (the book and the back line
  // both, when the back line was slow to prepare it); this one then waits its turn, and finds the
  // file done. A deferred transaction would fail at once with SQLITE_BUSY when it came to write.
  db.transaction(() => {
    const format = formatOf(db, schema, db.name);
    if (format === schema.version) return;
    const columns = columnsOf(db);
    if (columns.length === 0) {
      db.exec(schema.createTableSql);
    } else {
      if (format === UNVERSIONED) versionEffects(db, schema);
      for (const f of schema.fields) if (!columns.includes(f.column)) db.exec(schema.addColumnSql(f));
    }
    db.exec(schema.indexSql);
    db.pragma(`user_version = ${schema.version}`);
  }).immediate();
}

/** Rewrites the effects of a file from before format versions in the versioned encoding, so one file holds one encoding. */
function versionEffects<E extends object>(db: Database.Database, schema: EntrySchema<E>): void {
  const column = schema.effectsColumn;
  const batch = db.prepare(`SELECT seq, ${column} FROM entries WHERE seq > ? ORDER BY seq LIMIT ${UPGRADE_BATCH}`).raw();
  const rewrite = db.prepare(`UPDATE entries SET ${column} = ? WHERE seq = ?`);
  for (let after = Number.MIN_SAFE_INTEGER; ; ) {
    const rows = batch.all(after) as [number, Buffer][];
    if (rows.length === 0) return;
    for (const [seq, bytes] of rows) rewrite.run(schema.effects.encode(schema.effects.readUnversioned(new BinaryReader(bytes))), seq);
    after = rows[rows.length - 1][0];
  }
}
