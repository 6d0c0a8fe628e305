import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fsyncSync, openSync, readFileSync, readSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { journalDir } from '../store/index.js';

/** A day's journal file. */
export function dayJournalPath(dataDir: string, date: string): string {
  return join(journalDir(dataDir), `${date}.sqlite`);
}

/** The checksum file beside a sealed day's journal, in `sha256sum` format. */
export function sealPath(dataDir: string, date: string): string {
  return dayJournalPath(dataDir, date) + '.sha256';
}

export function isSealed(dataDir: string, date: string): boolean {
  return existsSync(sealPath(dataDir, date));
}

/** Highest seq in a day's journal (0 when it holds none). */
export function lastSeqOf(dataDir: string, date: string): number {
  const db = new Database(dayJournalPath(dataDir, date), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT COALESCE(MAX(seq), 0) AS seq FROM entries').get() as { seq: number }).seq;
  } finally {
    db.close();
  }
}

/**
 * Seals a finished day's journal as an archive: every page the WAL holds copied into the file, the
 * file made self-contained (rollback journal mode, no -wal or -shm beside it) and synced, then
 * read-only, with its SHA-256 written beside it (atomically, synced). Only for a day the book has
 * closed and the apply thread has passed: the caller checks. Sealing a sealed day does nothing.
 */
export function sealDay(dataDir: string, date: string): string {
  const path = dayJournalPath(dataDir, date);
  if (isSealed(dataDir, date)) return readFileSync(sealPath(dataDir, date), 'latin1').slice(0, 64);
  const db = new Database(path, { fileMustExist: true });
  try {
    const [checkpoint] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
    if (checkpoint.busy) throw new Error(`journal ${date} is still in use: its WAL could not be checkpointed`);
    db.pragma('journal_mode = DELETE');
  } finally {
    db.close();
  }
  syncFile(path);
  chmodSync(path, 0o444);
  const digest = sha256Of(path);
  const tmp = sealPath(dataDir, date) + '.tmp';
  writeFileSync(tmp, `${digest}  ${basename(path)}\n`);
  syncFile(tmp);
  renameSync(tmp, sealPath(dataDir, date));
  syncFile(dirname(path));
  return digest;
}

/** Whether a sealed day's journal still has the checksum it was sealed with. */
export function verifySeal(dataDir: string, date: string): boolean {
  const recorded = readFileSync(sealPath(dataDir, date), 'latin1').slice(0, 64);
  return sha256Of(dayJournalPath(dataDir, date)) === recorded;
}

/** SHA-256 of a file, read a megabyte at a time (a busy day's journal is hundreds of them). */
export function sha256Of(path: string): string {
  const hash = createHash('sha256');
  const chunk = Buffer.allocUnsafe(1 << 20);
  const fd = openSync(path, 'r');
  try {
    for (let n; (n = readSync(fd, chunk, 0, chunk.length, null)) > 0; ) hash.update(chunk.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

export function syncFile(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
