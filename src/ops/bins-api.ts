import type { CardBin } from '../store/index.js';
import type { ApiRoutes } from './http.js';
import type { ReferenceDesk } from './reference.js';
import { bodyOf, checkKey, checkedChange, requireFields, storedRecord } from './reference-api.js';

const FIELDS = ['issuer', 'organisation', 'onUs', 'domestic', 'panLength'] as const;
const REQUIRED = ['issuer', 'organisation', 'onUs', 'domestic'] as const;
const USAGE = '{"issuer", "organisation", "onUs", "domestic", "panLength"?}';

/**
 * `/api/v1/bins`: the card BINs (longest prefix wins). A change is in force in every worker at once:
 * the book's notice makes each drop its cached BINs, and they read the prefix lengths again.
 */
export function binsApi(api: ApiRoutes, desk: ReferenceDesk): void {
  api
    .get('/api/v1/bins', () => ({ status: 200, body: { bins: Array.from(desk.state.bins.getRange(), ({ value }) => value) } }))
    .get('/api/v1/bins/:prefix', (req) => ({ status: 200, body: storedRecord<CardBin>(desk, 'bins', req.params[0]) }))
    .put('/api/v1/bins/:prefix', 'admin', async (req) => {
      const prefix = req.params[0];
      checkKey('bins', prefix);
      const body = bodyOf(req.body, FIELDS, USAGE);
      requireFields(body, REQUIRED, 'card BIN');
      const seq = await checkedChange(desk, 'bins', prefix, { prefix, ...body }, req.who);
      return { status: 200, body: { seq, bin: storedRecord<CardBin>(desk, 'bins', prefix) } };
    })
    .del('/api/v1/bins/:prefix', 'admin', async (req) => {
      const prefix = req.params[0];
      storedRecord<CardBin>(desk, 'bins', prefix);
      return { status: 200, body: { seq: await checkedChange(desk, 'bins', prefix, null, req.who) } };
    });
}
