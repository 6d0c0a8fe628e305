import type { SecurityModule } from '../security/index.js';
import { newCardAccountId, type Account, type Card } from '../store/index.js';
import { CARD_STATUSES, maskPan, shownRecord } from '../txn/index.js';
import { HttpError, type ApiAnswer, type ApiRequest, type ApiRoutes } from './http.js';
import type { ReferenceDesk } from './reference.js';
import { accountView, bodyOf, checkChange, checkKey, checkedChange, including, newAccount, requireFields, storedRecord, storedRecords } from './reference-api.js';

const CREATE_FIELDS = ['expiry', 'pin', 'openingBalance', 'status'] as const;
const CREATE_USAGE = '{"expiry": "YYMM", "pin": 4–12 digits, "openingBalance"?: fen, "status"?}';
const PIN = /^\d{4,12}$/;
/** Account ids are short (`card:` and 32 hex digits, `merchant:MID`, `biller:CODE`). */
const ACCOUNT_ID = /^[a-z]+:[0-9A-Za-z]{1,40}$/;

/**
 * `/api/v1/cards/:pan`: on-us cards, looked up by card number only (no listing). Every answer
 * shows the number masked and never the PIN verifier. A new card comes with its own account,
 * opened through the book with the opening balance before the card itself; after that only
 * postings move the balance. `/api/v1/accounts/:id`: an account's balance, holds and opening.
 */
export function cardsApi(api: ApiRoutes, desk: ReferenceDesk, hsm: SecurityModule): void {
  const shown = (pan: string) => shownRecord('cards', storedRecord<Card>(desk, 'cards', pan));
  api
    .get('/api/v1/cards/:pan', (req) => ({ status: 200, body: shown(req.params[0]) }))
    .put('/api/v1/cards/:pan', 'admin', (req) => createCard(desk, hsm, req))
    .put('/api/v1/cards/:pan/status', 'operator', async (req) => {
      const pan = req.params[0];
      storedRecord<Card>(desk, 'cards', pan);
      const { status } = bodyOf(req.body, ['status'], `{"status": one of ${CARD_STATUSES.join(', ')}}`);
      if (status === undefined) throw new HttpError(400, `the body names the new status: {"status": one of ${CARD_STATUSES.join(', ')}}`);
      const seq = await checkedChange(desk, 'cards', pan, { status }, req.who);
      return { status: 200, body: { seq, card: shown(pan) } };
    })
    .get('/api/v1/accounts/:id', (req) => {
      const id = req.params[0];
      if (!ACCOUNT_ID.test(id)) throw new HttpError(400, `an account id is KIND:ID (card:…, merchant:…, biller:…), got ${JSON.stringify(id.slice(0, 60))}`);
      const account = desk.state.accounts.get(id);
      if (account === undefined) throw new HttpError(404, `no account ${id}`);
      return { status: 200, body: accountView(account) };
    });
}

/** A new on-us card and its account; the card number must be new, Luhn-valid and of an on-us BIN. */
async function createCard(desk: ReferenceDesk, hsm: SecurityModule, req: ApiRequest): Promise<ApiAnswer> {
  const pan = req.params[0];
  checkKey('cards', pan);
  const body = bodyOf(req.body, CREATE_FIELDS, CREATE_USAGE);
  requireFields(body, ['expiry', 'pin'], 'card');
  if (desk.state.cards.get(pan) !== undefined) throw new HttpError(409, `card ${maskPan(pan)} exists: change its status with PUT /api/v1/cards/PAN/status`);
  const { pin, openingBalance = 0, ...fields } = body;
  if (typeof pin !== 'string' || !PIN.test(pin)) throw new HttpError(400, 'pin must be 4–12 digits');
  if (!(Number.isSafeInteger(openingBalance) && (openingBalance as number) >= 0)) throw new HttpError(400, `openingBalance must be a whole number of fen, 0 or more, got ${JSON.stringify(openingBalance)}`);
  const account: Account = newAccount(newCardAccountId(), 'card', openingBalance as number);
  const stored = storedRecords(desk);
  checkChange('accounts', account.id, account, stored);
  const card = { pan, status: 'active', ...fields, account: account.id, pinVerifier: hsm.makePinVerifier(pan, pin) };
  // The card is checked (Luhn, an on-us BIN, its fields) before the account is opened: a refused card opens none.
  checkChange('cards', pan, card, including(stored, 'accounts', account.id, account));
  await desk.change('accounts', account.id, account, req.who);
  const seq = await desk.change('cards', pan, card, req.who);
  return { status: 200, body: { seq, card: shownRecord('cards', storedRecord<Card>(desk, 'cards', pan)), account: accountView(desk.state.accounts.get(account.id)!) } };
}
