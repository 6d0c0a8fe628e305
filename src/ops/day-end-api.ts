import { CutoverRefused, backlineDays, type DayCut } from '../day-end/index.js';
import { parseBusinessDate } from '../txn/index.js';
import { HttpError, type ApiRoutes } from './http.js';

/**
 * `/api/v1/day-cut`: cut the business day over now (body `{}`, or `{"date": "YYYYMMDD"}` to name
 * the new day), answered once the new day's first entry is durable. `/api/v1/backline`: where each
 * ended day stands in the back line.
 */
export function dayEndApi(api: ApiRoutes, dayCut: DayCut, dataDir: string): void {
  api
    .post('/api/v1/day-cut', async (req) => {
      const date = dateOf(req.body);
      try {
        return { status: 200, body: await dayCut.cut(date) };
      } catch (err) {
        if (err instanceof CutoverRefused) throw new HttpError(409, err.message);
        throw err;
      }
    })
    .get('/api/v1/backline', () => ({ status: 200, body: { days: backlineDays(dataDir) } }));
}

function dateOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'the body is an object: {} or {"date": "YYYYMMDD"}');
  const { date, ...rest } = body as { date?: unknown };
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw new HttpError(400, `unknown field ${unknown[0]}`);
  if (date === undefined) return undefined;
  const compact = typeof date === 'string' ? parseBusinessDate(date) : undefined;
  if (compact === undefined) throw new HttpError(400, `date must be a calendar date YYYYMMDD or YYYY-MM-DD, got ${JSON.stringify(date)}`);
  return compact;
}
