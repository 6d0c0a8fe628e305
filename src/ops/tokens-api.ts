import { randomBytes } from 'node:crypto';
import { ADMIN_ROLES, type AdminRole, type ApiToken } from '../store/index.js';
import { newAdminToken, tokenKey } from './auth.js';
import { HttpError, type ApiRoutes } from './http.js';
import type { ReferenceDesk } from './reference.js';

/**
 * `/api/v1/tokens` (admin): make a token with a role (the answer is the only time it is shown;
 * the switch keeps its SHA-256, journalled like any reference change), list them without their
 * secrets, revoke one by its id.
 */
export function tokensApi(api: ApiRoutes, desk: ReferenceDesk): void {
  api
    .post('/api/v1/tokens', 'admin', async (req) => {
      const { role, label } = tokenRequest(req.body);
      const token = newAdminToken();
      const record: ApiToken = { id: randomBytes(6).toString('hex'), role, label, createdAt: Date.now() };
      const seq = await desk.change('tokens', tokenKey(token), record, req.who);
      return { status: 200, body: { token, ...record, seq } };
    })
    .get('/api/v1/tokens', () => ({ status: 200, body: { tokens: tokensOf(desk).map(({ record }) => record) } }))
    .del('/api/v1/tokens/:id', 'admin', async (req) => {
      const found = tokensOf(desk).find(({ record }) => record.id === req.params[0]);
      if (found === undefined) throw new HttpError(404, `no token ${JSON.stringify(req.params[0])}`);
      return { status: 200, body: { seq: await desk.change('tokens', found.key, null, req.who) } };
    });
}

function tokensOf(desk: ReferenceDesk): { key: string; record: ApiToken }[] {
  return Array.from(desk.state.tokens.getRange(), ({ key, value }) => ({ key, record: value })).sort((a, b) => a.record.createdAt - b.record.createdAt);
}

function tokenRequest(body: unknown): { role: AdminRole; label: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'the body is {"role": ROLE, "label"?: TEXT}');
  const { role, label = '', ...rest } = body as { role?: unknown; label?: unknown };
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw new HttpError(400, `unknown field ${unknown[0]}`);
  if (!ADMIN_ROLES.includes(role as AdminRole)) throw new HttpError(400, `role must be one of ${ADMIN_ROLES.join(', ')}`);
  if (typeof label !== 'string' || label.length > 80) throw new HttpError(400, 'label is text of at most 80 characters');
  return { role: role as AdminRole, label };
}
