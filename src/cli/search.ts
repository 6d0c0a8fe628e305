import { existsSync } from 'node:fs';
import { SearchQueryError, searchTransactions, type PageRequest, type SearchResult, type TransactionQuery } from '../day-end/index.js';
import { journalDir } from '../store/index.js';
import { DEFAULTS } from '../switch/index.js';
import { parseBusinessDate } from '../txn/index.js';

export const SEARCH_USAGE = `posp search [--data DIR] [--from D] [--to D] [--tid T] [--mid M] [--last4 NNNN] [--rrn R]
            [--amount FEN | --amount MIN..MAX] [--code RC] [--type T] [--page N] [--size N] [--before SEQ] [--json]
  Finds journalled transactions across today and every earlier business day (D: YYYYMMDD or
  YYYY-MM-DD), newest first, a page at a time (--size ≤ 500, default 50); the card number masked.`;

type Io = { out: (s: string) => void; err: (s: string) => void };

/** Flags that take a value, and where it goes. */
const VALUE_FLAGS = ['data', 'from', 'to', 'tid', 'mid', 'last4', 'rrn', 'amount', 'code', 'type', 'page', 'size', 'before'] as const;
type ValueFlag = (typeof VALUE_FLAGS)[number];

/** `posp search`: a table (or JSON) of one page of matching transactions; exit 2 for options that cannot be asked, 1 without a journal. */
export async function searchCommand(args: string[], io: Io): Promise<number> {
  let parsed: { dataDir: string; query: TransactionQuery; page: PageRequest; json: boolean };
  let result: SearchResult;
  try {
    parsed = parseSearchArgs(args);
    result = searchTransactions(parsed.dataDir, parsed.query, parsed.page);
  } catch (err) {
    if (!(err instanceof SearchQueryError)) throw err;
    io.err(`${err.message}\n${SEARCH_USAGE}`);
    return 2;
  }
  // A mistyped --data would otherwise look like a day with nothing in it.
  if (!existsSync(journalDir(parsed.dataDir))) {
    io.err(`no journal in ${parsed.dataDir}`);
    return 1;
  }
  if (parsed.json) io.out(JSON.stringify(result));
  else printTable(result, io);
  return 0;
}

function parseSearchArgs(args: string[]): { dataDir: string; query: TransactionQuery; page: PageRequest; json: boolean } {
  const values = new Map<ValueFlag, string>();
  let json = false;
  for (let i = 0; i < args.length; i++) {
    const name = args[i].replace(/^--/, '');
    if (args[i] === '--json') json = true;
    else if (args[i].startsWith('--') && (VALUE_FLAGS as readonly string[]).includes(name) && args[i + 1] !== undefined) values.set(name as ValueFlag, args[++i]);
    else throw new SearchQueryError(`unexpected ${args[i]}${args[i].startsWith('--') ? ' (or its value is missing)' : ''}`);
  }
  const query: TransactionQuery = {
    from: date(values.get('from'), 'from'),
    to: date(values.get('to'), 'to'),
    tid: values.get('tid'),
    mid: values.get('mid'),
    last4: values.get('last4'),
    rrn: values.get('rrn'),
    responseCode: values.get('code'),
    type: values.get('type'),
    ...amounts(values.get('amount')),
  };
  const page: PageRequest = { size: whole(values.get('size'), 'size'), number: whole(values.get('page'), 'page'), before: whole(values.get('before'), 'before') };
  return { dataDir: values.get('data') ?? process.env.POSP_DATA ?? DEFAULTS.dataDir, query: dropUndefined(query), page: dropUndefined(page), json };
}

function date(text: string | undefined, name: string): string | undefined {
  if (text === undefined) return undefined;
  const d = parseBusinessDate(text);
  if (d === undefined) throw new SearchQueryError(`--${name} must be a date YYYYMMDD or YYYY-MM-DD, got ${text}`);
  return d;
}

/** `FEN` exactly, or `MIN..MAX` with either end left open. */
function amounts(text: string | undefined): Pick<TransactionQuery, 'amount' | 'minAmount' | 'maxAmount'> {
  if (text === undefined) return {};
  const range = /^(\d*)\.\.(\d*)$/.exec(text);
  if (range !== null && (range[1] !== '' || range[2] !== '')) {
    return { minAmount: range[1] === '' ? undefined : Number(range[1]), maxAmount: range[2] === '' ? undefined : Number(range[2]) };
  }
  if (!/^\d+$/.test(text)) throw new SearchQueryError(`--amount must be fen (e.g. 12300) or a range MIN..MAX, got ${text}`);
  return { amount: Number(text) };
}

function whole(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new SearchQueryError(`--${name} must be a whole number, got ${text}`);
  return Number(text);
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

const TABLE_COLUMNS = ['DATE', 'TIME', 'SEQ', 'TYPE', 'TID', 'MID', 'BATCH', 'STAN', 'RRN', 'AUTH', 'PAN', 'AMOUNT(FEN)', 'RC', 'ROUTE'];

function printTable(result: SearchResult, io: Io): void {
  io.out(TABLE_COLUMNS.join('\t'));
  for (const r of result.rows) {
    io.out([r.businessDate, localTime(r.at), r.seq, r.type, r.tid, r.mid, r.batch, r.stan, r.rrn, r.authCode, r.panMasked, r.amount, r.responseCode, r.route].join('\t'));
  }
  const more = result.next === undefined ? '' : `; next page: --page ${result.page + 1} (or --before ${result.next})`;
  io.out(`page ${result.page}: ${result.rows.length} row${result.rows.length === 1 ? '' : 's'}${more}`);
}

function localTime(ms: number): string {
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}
