import { entriesOfType, journalDates, journalledDate, type ApiToken } from '../store/index.js';
import { shownKey, shownRecord } from '../txn/index.js';
import { businessDateOf, type ApiRoutes } from './http.js';

/** One management change: who asked, what it changed, the record before and after, when. */
export interface AuditRecord {
  seq: number;
  at: number;
  businessDate: string;
  by: string;
  table: string;
  key: string;
  before: unknown;
  after: unknown;
}

/**
 * `GET /api/v1/audit?from=D&to=D` (admin): every change made through the admin API, newest first,
 * read from the journal's reference-change entries (which carry who asked and the record before),
 * by default of the newest day with entries (the next day's file, prepared ahead, has none). A
 * token's record is named by its id, never by the hash it is stored under; card numbers are masked
 * and secrets (keys wrapped under the LMK, PIN verifiers) left out, as in every other answer.
 */
export function auditApi(api: ApiRoutes, dataDir: string): void {
  api.get('/api/v1/audit', (req) => {
    const dates = journalDates(dataDir);
    const newest = journalledDate(dataDir) ?? '';
    const from = req.query.has('from') ? businessDateOf('from', req.query.get('from')) : newest;
    const to = req.query.has('to') ? businessDateOf('to', req.query.get('to')) : newest;
    const records: AuditRecord[] = [];
    for (const date of dates.filter((d) => d >= from && d <= to)) {
      for (const entry of entriesOfType(dataDir, date, 'reference-change')) {
        const change = entry.effects.reference;
        if (change?.by === undefined) continue;
        const { table } = change;
        records.push({ seq: entry.seq, at: entry.at, businessDate: entry.businessDate, by: change.by, table, key: keyOf(table, change.key, change.value ?? change.before), before: shownRecord(table, change.before), after: shownRecord(table, change.value) });
      }
    }
    return { status: 200, body: { records: records.reverse() } };
  }, 'admin');
}

function keyOf(table: string, key: string, record: unknown): string {
  return table === 'tokens' ? `token:${(record as Partial<ApiToken> | null)?.id ?? '?'}` : shownKey(table, key);
}

