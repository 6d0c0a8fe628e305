import { CutoverRefused, SearchQueryError, backlineDays, reportDay, searchTransactions, type DayCut, type PageRequest, type TransactionQuery } from '../day-end/index.js';
import { journalDates } from '../store/index.js';
import { HttpError, businessDateOf, type ApiRoutes } from './http.js';

/**
 * `/api/v1/day-cut`: cut the business day over now (body `{}`, or `{"date": "YYYYMMDD"}` to name
 * the new day), answered once the new day's first entry is durable. `/api/v1/backline`: where each
 * ended day stands in the back line. `/api/v1/transactions`: search across today and the archives
 * (the query string takes `posp search`'s criteria). `/api/v1/reports/:date`: a day's report.
 */
export function dayEndApi(api: ApiRoutes, dayCut: DayCut, dataDir: string): void {
  api
    .post('/api/v1/day-cut', 'operator', async (req) => {
      const date = dateOf(req.body);
      try {
        return { status: 200, body: await dayCut.cut(date) };
      } catch (err) {
        if (err instanceof CutoverRefused) throw new HttpError(409, err.message);
        throw err;
      }
    })
    .get('/api/v1/backline', () => ({ status: 200, body: { days: backlineDays(dataDir) } }))
    .get('/api/v1/transactions', (req) => {
      const { query, page } = searchOf(req.query);
      try {
        return { status: 200, body: searchTransactions(dataDir, query, page) };
      } catch (err) {
        if (err instanceof SearchQueryError) throw new HttpError(400, err.message);
        throw err;
      }
    })
    .get('/api/v1/reports/:date', async (req) => {
      const date = businessDateOf('the date', req.params[0]);
      if (!journalDates(dataDir).includes(date)) throw new HttpError(404, `no journal for business day ${date}`);
      return { status: 200, body: await reportDay({ dataDir, date }) };
    });
}

function dateOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'the body is an object: {} or {"date": "YYYYMMDD"}');
  const { date, ...rest } = body as { date?: unknown };
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw new HttpError(400, `unknown field ${unknown[0]}`);
  return date === undefined ? undefined : businessDateOf('date', date);
}

/** Query-string names and the search criteria they set; anything else is refused with its name. */
const TEXT_CRITERIA = { tid: 'tid', mid: 'mid', last4: 'last4', rrn: 'rrn', code: 'responseCode', type: 'type' } as const;
const NUMBER_CRITERIA = { amount: 'amount', minAmount: 'minAmount', maxAmount: 'maxAmount' } as const;
const PAGE_FIELDS = { page: 'number', size: 'size', before: 'before' } as const;

function searchOf(params: URLSearchParams): { query: TransactionQuery; page: PageRequest } {
  const query: TransactionQuery = {};
  const page: PageRequest = {};
  for (const [name, value] of params) {
    if (name === 'from' || name === 'to') {
      query[name] = businessDateOf(name, value);
    } else if (name in TEXT_CRITERIA) {
      query[TEXT_CRITERIA[name as keyof typeof TEXT_CRITERIA]] = value;
    } else if (name in NUMBER_CRITERIA) {
      query[NUMBER_CRITERIA[name as keyof typeof NUMBER_CRITERIA]] = wholeNumber(name, value);
    } else if (name in PAGE_FIELDS) {
      page[PAGE_FIELDS[name as keyof typeof PAGE_FIELDS]] = wholeNumber(name, value);
    } else {
      throw new HttpError(400, `unknown search parameter ${name}`);
    }
  }
  return { query, page };
}

function wholeNumber(name: string, value: string): number {
  if (!/^\d{1,15}$/.test(value)) throw new HttpError(400, `${name} must be a whole number, got ${JSON.stringify(value)}`);
  return Number(value);
}
