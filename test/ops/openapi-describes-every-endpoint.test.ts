/**
 * `GET /api/v1/openapi.json` describes every endpoint the admin server registers and nothing else:
 * each operation carries the role it was registered with (`x-role`), none is registered without a
 * description (`x-undescribed`), and each one documented answers 401 without a token (where an
 * unregistered path answers 404). The document itself needs a token.
 */
import t from 'tap';
import { openApiDocument, type Endpoint } from '../../src/ops/index.js';
import { ADMIN_TOKEN, startApiSwitch } from './api-harness.js';

interface OpenApi {
  openapi: string;
  components: { securitySchemes: Record<string, unknown> };
  security: unknown[];
  paths: Record<string, Record<string, { 'x-role'?: string; 'x-undescribed'?: true; summary: string; parameters?: { name: string; in: string }[]; requestBody?: unknown }>>;
}

const operations = (doc: OpenApi) => Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ method, path, op })));

t.test('the description covers every registered endpoint', async (t) => {
  const { sw, tokenOf } = await startApiSwitch(t, { demo: false });
  const viewer = await tokenOf('viewer');
  const url = `http://127.0.0.1:${sw.adminPort}/api/v1/openapi.json`;
  t.equal((await fetch(url)).status, 401, 'no token: 401');
  const res = await fetch(url, { headers: { authorization: `Bearer ${viewer}` } });
  t.equal(res.status, 200, 'a viewer reads it');
  const doc = (await res.json()) as OpenApi;
  t.equal(doc.openapi, '3.0.3', 'OpenAPI 3.0');
  t.same(doc.components.securitySchemes.bearerAuth, { type: 'http', scheme: 'bearer', description: String((doc.components.securitySchemes.bearerAuth as { description: string }).description) }, 'bearer tokens');
  t.same(doc.security, [{ bearerAuth: [] }], 'required by every operation');

  const ops = operations(doc);
  t.same(ops.filter(({ op }) => op['x-undescribed']).map(({ method, path }) => `${method} ${path}`), [], 'no endpoint is registered without a description');
  t.same(ops.filter(({ op }) => op['x-role'] === undefined).map(({ method, path }) => `${method} ${path}`), [], 'every described endpoint is registered (it has the role it was registered with)');

  const listed = new Set(ops.map(({ method, path }) => `${method} ${path}`));
  for (const expected of [
    'get /api/v1/routes', 'put /api/v1/routes/{id}', 'delete /api/v1/routes/{id}', 'post /api/v1/tokens', 'get /api/v1/tokens', 'delete /api/v1/tokens/{id}',
    'get /api/v1/audit', 'post /api/v1/day-cut', 'get /api/v1/backline', 'get /api/v1/transactions', 'get /api/v1/reports/{date}',
    'get /api/v1/merchants', 'put /api/v1/merchants/{mid}', 'patch /api/v1/merchants/{mid}', 'delete /api/v1/merchants/{mid}',
    'get /api/v1/terminals', 'get /api/v1/terminals/{tid}', 'put /api/v1/terminals/{tid}', 'post /api/v1/terminals/{tid}/disable', 'post /api/v1/terminals/{tid}/enable',
    'get /api/v1/bins', 'put /api/v1/bins/{prefix}', 'get /api/v1/cards/{pan}', 'put /api/v1/cards/{pan}', 'put /api/v1/cards/{pan}/status', 'get /api/v1/accounts/{id}',
    'get /api/v1/parameters', 'put /api/v1/parameters/{kind}', 'get /api/v1/openapi.json',
  ]) {
    t.ok(listed.has(expected), `described: ${expected}`);
  }
  const role = (method: string, path: string) => doc.paths[path][method]['x-role'];
  t.same(
    [role('get', '/api/v1/terminals'), role('post', '/api/v1/terminals/{tid}/disable'), role('put', '/api/v1/cards/{pan}/status'), role('put', '/api/v1/cards/{pan}'), role('put', '/api/v1/bins/{prefix}'), role('get', '/api/v1/audit')],
    ['viewer', 'operator', 'operator', 'admin', 'admin', 'admin'],
    'the roles as registered',
  );

  for (const { method, path, op } of ops) {
    const params = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
    t.same(op.parameters?.filter((p) => p.in === 'path').map((p) => p.name) ?? [], params, `${method} ${path}: its path parameters declared`);
    if (method === 'put' || method === 'patch' || (method === 'post' && path !== '/api/v1/openapi.json')) t.ok(op.requestBody, `${method} ${path}: its body described`);
    const probe = await fetch(`http://127.0.0.1:${sw.adminPort}${path.replace(/\{\w+\}/g, 'sample')}`, { method: method.toUpperCase() });
    t.equal(probe.status, 401, `${method} ${path}: served, behind the token`);
  }
  t.equal((await fetch(`http://127.0.0.1:${sw.adminPort}/api/v1/nowhere`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status, 404, 'while a path nobody registered is 404');
});

t.test('an endpoint registered without a description, or described but not registered, shows in the document', async (t) => {
  const endpoints: Endpoint[] = [{ method: 'get', pattern: '/api/v1/routes', role: 'viewer' }, { method: 'post', pattern: '/api/v1/refunds/:rrn', role: 'operator' }];
  const doc = openApiDocument(endpoints) as OpenApi;
  t.match(doc.paths['/api/v1/refunds/{rrn}'].post, { 'x-undescribed': true, 'x-role': 'operator' }, 'registered, not described: marked x-undescribed');
  t.match(doc.paths['/api/v1/routes'].get, { 'x-role': 'viewer', summary: /routing rules/ }, 'registered and described');
  t.equal(doc.paths['/api/v1/merchants'].get['x-role'], undefined, 'described, not registered: no role');
});
