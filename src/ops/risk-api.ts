import type { SecurityModule } from '../security/index.js';
import { luhnValid, maskPan, REFERENCE_SPECS, type RiskRule } from '../txn/index.js';
import { HttpError, type ApiAnswer, type ApiRequest, type ApiRoutes } from './http.js';
import type { ReferenceDesk } from './reference.js';
import { bodyOf, checkKey, checkedChange, storedRecord } from './reference-api.js';

/** What a body may hold: a rule's fields but its id (the path's), and for a card blacklist `cards` in clear. */
const FIELDS = REFERENCE_SPECS.riskRules.fields.map((f) => f.name).filter((name) => name !== 'id');
const USAGE = '{"kind", "code"?, and the fields of the kind (GET /api/v1/openapi.json lists them)}';

/**
 * `/api/v1/risk-rules`: the risk rules (reference table `riskRules`, src/txn/risk-rules.ts). A rule
 * is set whole and in force in every worker, and in the book, on the answer. A card blacklist is
 * given its cards as card numbers: the switch keeps only their PAN tokens (what the journal's
 * `pan_hash` holds) and masked numbers, so no rule and no journal entry holds a card number.
 */
export function riskRulesApi(api: ApiRoutes, desk: ReferenceDesk, hsm: SecurityModule): void {
  api
    .get('/api/v1/risk-rules', () => ({ status: 200, body: { rules: Array.from(desk.state.riskRules.getRange(), ({ value }) => value) } }))
    .get('/api/v1/risk-rules/:id', (req) => ({ status: 200, body: storedRecord<RiskRule>(desk, 'riskRules', req.params[0]) }))
    .put('/api/v1/risk-rules/:id', 'admin', (req) => setRule(desk, hsm, req))
    .del('/api/v1/risk-rules/:id', 'admin', async (req) => {
      const id = req.params[0];
      storedRecord<RiskRule>(desk, 'riskRules', id);
      return { status: 200, body: { seq: await checkedChange(desk, 'riskRules', id, null, req.who) } };
    });
}

async function setRule(desk: ReferenceDesk, hsm: SecurityModule, req: ApiRequest): Promise<ApiAnswer> {
  const id = req.params[0];
  checkKey('riskRules', id);
  const body: Record<string, unknown> = bodyOf(req.body, FIELDS, USAGE);
  const rule = body.kind === 'card-blacklist' ? cardBlacklist(hsm, body) : body;
  const seq = await checkedChange(desk, 'riskRules', id, { id, ...rule }, req.who);
  return { status: 200, body: { seq, rule: storedRecord<RiskRule>(desk, 'riskRules', id) } };
}

/** A card blacklist's card numbers as tokens (`values`) and masked (`cards`); a refusal names a card masked. */
function cardBlacklist(hsm: SecurityModule, body: Record<string, unknown>): Record<string, unknown> {
  if (body.values !== undefined) throw new HttpError(400, 'a card blacklist takes its card numbers as cards: the switch keeps their tokens as values');
  const { cards, ...rest } = body;
  if (!Array.isArray(cards) || cards.length === 0) throw new HttpError(400, 'a card-blacklist rule needs cards: a list of card numbers');
  for (const [i, pan] of cards.entries()) {
    if (typeof pan !== 'string' || !/^\d{13,19}$/.test(pan)) throw new HttpError(400, `cards[${i}] must be a card number of 13–19 digits`);
    if (!luhnValid(pan)) throw new HttpError(400, `cards[${i}] ${maskPan(pan)} fails its Luhn check`);
  }
  const pans = cards as string[];
  return { ...rest, values: pans.map((pan) => hsm.panToken(pan)), cards: pans.map(maskPan) };
}
