import type { ParameterSet } from '../store/index.js';
import { HttpError, type ApiRoutes } from './http.js';
import type { ReferenceDesk } from './reference.js';
import { bodyOf, checkKey, checkedChange, requireFields, storedRecord } from './reference-api.js';

/** A parameter set as the API shows and takes it: each item one or more TLV records in hex. */
export interface ParameterSetView {
  kind: string;
  version: number;
  items: string[];
}

const USAGE = '{"version": above the stored one, "items": ["hex TLV", ...]}';
const HEX = /^(?:[0-9A-Fa-f]{2})+$/;

/**
 * `/api/v1/parameters`: the parameter sets terminals download (magstripe, ca-key, aid). A new set
 * must carry a higher version: terminals see it in the header of their next answer and download it.
 */
export function parametersApi(api: ApiRoutes, desk: ReferenceDesk): void {
  const view = (set: ParameterSet): ParameterSetView => ({ kind: set.kind, version: set.version, items: set.items.map((item) => Buffer.from(item).toString('hex').toUpperCase()) });
  api
    .get('/api/v1/parameters', () => ({ status: 200, body: { parameters: Array.from(desk.state.parameters.getRange(), ({ value }) => view(value)) } }))
    .get('/api/v1/parameters/:kind', (req) => ({ status: 200, body: view(storedRecord<ParameterSet>(desk, 'parameters', req.params[0])) }))
    .put('/api/v1/parameters/:kind', 'admin', async (req) => {
      const kind = req.params[0];
      checkKey('parameters', kind);
      const body = bodyOf(req.body, ['version', 'items'], USAGE);
      requireFields(body, ['version', 'items'], 'parameter set');
      if (!Array.isArray(body.items)) throw new HttpError(400, `items must be a list of hex strings: ${USAGE}`);
      const items = body.items.map((item: unknown, i) => {
        if (typeof item !== 'string' || !HEX.test(item)) throw new HttpError(400, `items[${i}] must be hex digits, two per byte`);
        return Buffer.from(item, 'hex');
      });
      const seq = await checkedChange(desk, 'parameters', kind, { kind, version: body.version, items }, req.who);
      return { status: 200, body: { seq, parameters: view(storedRecord<ParameterSet>(desk, 'parameters', kind)) } };
    });
}
