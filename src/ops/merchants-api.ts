import { merchantAccountId, type Merchant } from '../store/index.js';
import { HttpError, type ApiAnswer, type ApiRequest, type ApiRoutes } from './http.js';
import type { ReferenceDesk } from './reference.js';
import { bodyOf, checkChange, checkKey, checkedChange, including, listQuery, newAccount, pageOf, requireFields, storedRecord, storedRecords } from './reference-api.js';

const FIELDS = ['name', 'status', 'mcc', 'standInLimit', 'account'] as const;
const USAGE = '{"name", "mcc", "status"?, "standInLimit"?, "account"?}';

/**
 * `/api/v1/merchants`: list (`?offset&limit&status`), read, create or replace (PUT), change some
 * fields (PATCH), remove. A new merchant without an account gets its settlement account
 * `merchant:MID`, opened at 0 through the book before the merchant itself.
 */
export function merchantsApi(api: ApiRoutes, desk: ReferenceDesk): void {
  api
    .get('/api/v1/merchants', (req) => {
      const { offset, limit, filters } = listQuery(req.query, 'merchants', ['status']);
      const page = pageOf(desk.state.merchants.getRange(), (m) => filters.status === undefined || m.status === filters.status, offset, limit, (m) => m);
      return { status: 200, body: { total: page.total, offset, limit, merchants: page.items } };
    })
    .get('/api/v1/merchants/:mid', (req) => ({ status: 200, body: storedRecord<Merchant>(desk, 'merchants', req.params[0]) }))
    .put('/api/v1/merchants/:mid', 'admin', (req) => putMerchant(desk, req))
    .patch('/api/v1/merchants/:mid', 'admin', async (req) => {
      const mid = req.params[0];
      storedRecord<Merchant>(desk, 'merchants', mid);
      const change = bodyOf(req.body, FIELDS, `some of ${USAGE}`);
      if (Object.keys(change).length === 0) throw new HttpError(400, `the body names the fields to change: some of ${USAGE}`);
      const seq = await checkedChange(desk, 'merchants', mid, change, req.who);
      return { status: 200, body: { seq, merchant: storedRecord<Merchant>(desk, 'merchants', mid) } };
    })
    .del('/api/v1/merchants/:mid', 'admin', async (req) => {
      const mid = req.params[0];
      storedRecord<Merchant>(desk, 'merchants', mid);
      let terminals = 0;
      for (const { value } of desk.state.terminals.getRange()) if (value.mid === mid) terminals++;
      // A terminal of a removed merchant would answer every request 03: move or remove them first.
      if (terminals > 0) throw new HttpError(409, `merchant ${mid} has ${terminals} terminal(s): move or remove them first`);
      return { status: 200, body: { seq: await checkedChange(desk, 'merchants', mid, null, req.who) } };
    });
}

/** The whole merchant, created or replaced; left-out optional fields take their defaults, a replaced merchant keeps its account. */
async function putMerchant(desk: ReferenceDesk, req: ApiRequest): Promise<ApiAnswer> {
  const mid = req.params[0];
  checkKey('merchants', mid);
  const body = bodyOf(req.body, FIELDS, USAGE);
  requireFields(body, ['name', 'mcc'], 'merchant');
  const current = desk.state.merchants.get(mid);
  const account = body.account ?? current?.account ?? merchantAccountId(mid);
  const merchant = { mid, status: 'active', standInLimit: 0, ...body, account };
  const stored = storedRecords(desk);
  const opening = account === merchantAccountId(mid) && stored('accounts', account) === undefined ? newAccount(account, 'merchant', 0) : undefined;
  if (opening !== undefined) checkChange('accounts', opening.id, opening, stored);
  const records = opening === undefined ? stored : including(stored, 'accounts', opening.id, opening);
  // Both checked before either is made: a refused merchant opens no account.
  checkChange('merchants', mid, merchant, records);
  if (opening !== undefined) await desk.change('accounts', opening.id, opening, req.who);
  const seq = await desk.change('merchants', mid, merchant, req.who);
  return { status: 200, body: { seq, merchant: storedRecord<Merchant>(desk, 'merchants', mid) } };
}
