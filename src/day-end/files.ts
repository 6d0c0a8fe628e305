import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Where the back line keeps what it makes: `<dataDir>/backline`. */
export function backlineDir(dataDir: string): string {
  return join(dataDir, 'backline');
}

/** One business day's back-line files, `<dataDir>/backline/YYYYMMDD` (each writer creates it). */
export function dayDir(dataDir: string, date: string): string {
  if (!/^\d{8}$/.test(date)) throw new Error(`a business date is YYYYMMDD, not '${date}'`);
  return join(backlineDir(dataDir), date);
}

/**
 * Writes the whole file or nothing: a back line stopped half-way through a day leaves the previous
 * file (or none), never a torn one that a resumed run would take as done.
 */
export function writeAtomically(path: string, text: string): void {
  const temporary = temporaryBeside(path);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(temporary, text);
  renameSync(temporary, path);
}

/** A name beside `path` that no other writer of the same file uses (a report command may run while the back line does). */
export function temporaryBeside(path: string): string {
  return `${path}.${randomBytes(6).toString('hex')}.tmp`;
}

/** One CSV line (RFC 4180): a value is quoted only when it holds a comma, a quote or a line break. */
export function csvLine(values: readonly (string | number)[]): string {
  return values.map((v) => (typeof v === 'string' && /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : String(v))).join(',') + '\n';
}
