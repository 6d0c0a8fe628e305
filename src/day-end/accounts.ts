import { createWriteStream, existsSync, mkdirSync, readFileSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { JournalReader, journalDates, type Account } from '../store/index.js';
import { dayJournalPath, sha256Of, syncFile } from './seal.js';

/** Where a business day's account archives go: beside its journal's archive, one folder per day. */
export function archiveDir(dataDir: string, date: string): string {
  return join(dataDir, 'archive', date);
}

/** One account's day: the balance it opened and closed with, and what moved it. */
export interface AccountDay {
  account: string;
  kind: string;
  opening: number;
  debits: number;
  credits: number;
  closing: number;
}

export interface AccountsClosed {
  accounts: number;
  postings: number;
  /** Sum of every account's closing balance (double entry: what it was the day before). */
  total: number;
}

const PAGE = 10_000;
const BALANCES = 'balances.csv';
const STATEMENT = 'statement.csv';
const BALANCE_HEADER = 'account,kind,opening,debits,credits,closing\n';
const STATEMENT_HEADER = 'account,seq,type,rrn,amount,balance\n';

/**
 * The account system's day-end for business day `date`: a balance snapshot per account and a
 * statement of every posting, written to `archive/D/` with a SHA256SUMS file, from the sealed
 * journal alone. Each day opens with the previous day's snapshot; without one (the first day, or
 * days before this feature) with each account's `opening` plus every posting of the days before.
 * `accounts` is every account the ledger holds (LMDB), for the ids, kinds and openings.
 */
export async function closeAccounts(dataDir: string, date: string, accounts: Iterable<Account>): Promise<AccountsClosed> {
  const balances = new Map<string, AccountDay>();
  for (const a of accounts) balances.set(a.id, { account: a.id, kind: a.kind, opening: a.opening, debits: 0, credits: 0, closing: a.opening });
  const earlier = journalDates(dataDir).filter((d) => d < date);
  const base = [...earlier].reverse().find((d) => existsSync(join(archiveDir(dataDir, d), BALANCES)));
  if (base !== undefined) openWith(balances, join(archiveDir(dataDir, base), BALANCES));
  for (const day of earlier.filter((d) => base === undefined || d > base)) {
    forEachPosting(dataDir, day, (account, amount) => (account.closing += amount), balances);
  }
  for (const b of balances.values()) b.opening = b.closing;

  const dir = archiveDir(dataDir, date);
  mkdirSync(dir, { recursive: true });
  const statement = new CsvFile(join(dir, STATEMENT), STATEMENT_HEADER);
  const lines: { account: string; line: string }[] = [];
  let postings = 0;
  forEachPosting(
    dataDir,
    date,
    (account, amount, seq, type, rrn) => {
      account.closing += amount;
      if (amount < 0) account.debits -= amount;
      else account.credits += amount;
      lines.push({ account: account.account, line: `${csv(account.account)},${seq},${type},${rrn},${amount},${account.closing}\n` });
      postings++;
    },
    balances,
  );
  // By account, then seq (the sort is stable and the lines came in seq order).
  lines.sort((a, b) => (a.account < b.account ? -1 : a.account > b.account ? 1 : 0));
  for (const { line } of lines) await statement.write(line);
  await statement.close();

  const snapshot = new CsvFile(join(dir, BALANCES), BALANCE_HEADER);
  let total = 0;
  for (const id of [...balances.keys()].sort()) {
    const b = balances.get(id)!;
    total += b.closing;
    await snapshot.write(`${csv(b.account)},${b.kind},${b.opening},${b.debits},${b.credits},${b.closing}\n`);
  }
  await snapshot.close();
  await writeSums(dir);
  return { accounts: balances.size, postings, total };
}

/** The closing balances of an earlier snapshot become this day's opening ones. */
function openWith(balances: Map<string, AccountDay>, file: string): void {
  const lines = readFileSync(file, 'utf8').split('\n');
  for (let i = 1; i < lines.length; i++) {
    if (lines[i] === '') continue;
    const cells = lines[i].split(',');
    const id = unquote(cells.slice(0, cells.length - 5).join(','));
    const closing = Number(cells[cells.length - 1]);
    const b = balances.get(id);
    if (b !== undefined) b.closing = closing;
    else balances.set(id, { account: id, kind: cells[cells.length - 5], opening: closing, debits: 0, credits: 0, closing });
  }
}

/** Every posting of a day's journal, in seq order, against the account it moves. */
function forEachPosting(
  dataDir: string,
  date: string,
  visit: (account: AccountDay, amount: number, seq: number, type: string, rrn: string) => void,
  balances: Map<string, AccountDay>,
): void {
  const reader = new JournalReader(dayJournalPath(dataDir, date));
  try {
    for (let after = 0; ; ) {
      const entries = reader.entries(after, Number.MAX_SAFE_INTEGER, PAGE);
      if (entries.length === 0) return;
      for (const entry of entries) {
        for (const leg of entry.effects.postings ?? []) {
          let account = balances.get(leg.account);
          if (account === undefined) {
            // An account the ledger no longer lists still has its postings on the statement.
            account = { account: leg.account, kind: 'unknown', opening: 0, debits: 0, credits: 0, closing: 0 };
            balances.set(leg.account, account);
          }
          visit(account, leg.amount, entry.seq, entry.type, entry.rrn);
        }
      }
      after = entries[entries.length - 1].seq;
    }
  } finally {
    reader.close();
  }
}

/** `sha256sum -c` compatible checksums of the day's archive files. */
async function writeSums(dir: string): Promise<void> {
  const names = readdirSync(dir).filter((n) => n.endsWith('.csv')).sort();
  const sums = new CsvFile(join(dir, 'SHA256SUMS'), '');
  for (const name of names) await sums.write(`${sha256Of(join(dir, name))}  ${name}\n`);
  await sums.close();
}

function csv(value: string): string {
  return /[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function unquote(value: string): string {
  return value.startsWith('"') ? value.slice(1, -1).replace(/""/g, '"') : value;
}

/** A file written whole under a temporary name, synced, then renamed into place: a crash leaves the old one or none. */
class CsvFile {
  private readonly tmp: string;
  private readonly stream;

  constructor(
    private readonly path: string,
    header: string,
  ) {
    this.tmp = path + '.tmp';
    this.stream = createWriteStream(this.tmp);
    if (header !== '') this.stream.write(header);
  }

  async write(line: string): Promise<void> {
    if (!this.stream.write(line)) await once(this.stream, 'drain');
  }

  async close(): Promise<void> {
    this.stream.end();
    await once(this.stream, 'finish');
    syncFile(this.tmp);
    renameSync(this.tmp, this.path);
  }
}
