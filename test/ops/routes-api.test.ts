/**
 * The routes endpoints of the admin API over real HTTP against the real switch: only the admin
 * token gets in, a bad rule or body is refused with the reason and changes nothing, a good rule is
 * stored and read back at once, a removed one is gone. Without any token the API is closed (503).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { DEMO_OFF_US_ROUTE } from '../../src/store/index.js';
import { DEFAULTS, startSwitch, type RunningSwitch, type SwitchConfig } from '../../src/switch/index.js';
import { suiteLogging } from '../suite-log.js';

const logging = suiteLogging('routes-api');

const TOKEN = 'routes-api-test-token-0123456789';

async function start(t: Test, config: Partial<SwitchConfig>): Promise<RunningSwitch> {
  const dataDir = mkdtempSync(join(tmpdir(), 'posp-routes-api-'));
  const sw = await startSwitch({ ...DEFAULTS, dataDir, posPort: 0, adminPort: 0, workers: 1, ...logging.config, ...config }, logging.log);
  t.teardown(async () => {
    await sw.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return sw;
}

/** One request to the admin port; the status and the JSON answer. */
async function call(port: number, method: string, path: string, options: { token?: string; body?: string } = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: options.token === undefined ? {} : { authorization: `Bearer ${options.token}` },
    body: options.body,
  });
  return { status: res.status, body: await res.json() };
}

t.test('routes over the admin API', async (t) => {
  const sw = await start(t, { demo: true, adminToken: TOKEN });
  const api = (method: string, path: string, body?: unknown) =>
    call(sw.adminPort, method, path, { token: TOKEN, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });

  const anonymous = await call(sw.adminPort, 'GET', '/api/v1/routes');
  t.equal(anonymous.status, 401, 'no token: 401');
  t.match(anonymous.body, { error: /admin token is required/ }, 'with the reason');
  const wrong = await call(sw.adminPort, 'GET', '/api/v1/routes', { token: TOKEN + 'x' });
  t.equal(wrong.status, 401, 'a wrong token: 401');
  t.match(wrong.body, { error: /not valid/ });
  t.equal((await call(sw.adminPort, 'PUT', '/api/v1/routes/evil', { token: 'nope', body: JSON.stringify({ match: {}, to: { reject: '57' } }) })).status, 401, 'a change without the token: 401');
  t.equal((await fetch(`http://127.0.0.1:${sw.adminPort}/health`)).status, 200, '/health needs no token');

  const listed = await api('GET', '/api/v1/routes');
  t.equal(listed.status, 200);
  t.same(listed.body.routes.map((r: { id: string }) => r.id), [DEMO_OFF_US_ROUTE], 'the list holds the demo route, and nothing the refused change wanted');
  const demoRoute = listed.body.routes[0];
  t.match(demoRoute, { match: { binPrefix: '621700' }, to: { links: [{ link: 'sim', weight: 1 }] } });
  t.same((await api('GET', `/api/v1/routes/${DEMO_OFF_US_ROUTE}`)).body, demoRoute, 'one route by its id');
  t.equal((await api('GET', '/api/v1/routes/nowhere')).status, 404, 'an unknown id: 404');

  const before = sw.feed.lastSeq;
  const invalid = await api('PUT', `/api/v1/routes/${DEMO_OFF_US_ROUTE}`, { match: { binPrefix: '62x' }, to: { onUs: true } });
  t.equal(invalid.status, 400, 'an invalid rule: 400');
  t.same(invalid.body, { error: 'match.binPrefix must be 1–11 digits' }, "with routeProblem's reason");
  t.equal(sw.feed.lastSeq, before, 'nothing journalled');
  t.same((await api('GET', `/api/v1/routes/${DEMO_OFF_US_ROUTE}`)).body, demoRoute, 'and the rule unchanged');

  const badJson = await api('PUT', '/api/v1/routes/vip', '{"match": {');
  t.equal(badJson.status, 400, 'bad JSON: 400');
  t.match(badJson.body, { error: /^the body is not JSON: / }, "with the parser's reason");
  const tooLarge = await api('PUT', '/api/v1/routes/vip', JSON.stringify({ match: {}, to: { onUs: true }, padding: 'x'.repeat(70_000) }));
  t.equal(tooLarge.status, 413, 'a body over 64 KB: 413');
  t.equal(sw.feed.lastSeq, before, 'neither journalled anything');

  const vip = { match: { binPrefix: '621700', amountMin: 10_000_000 }, to: { reject: '61' }, timeoutMs: 5000 };
  const set = await api('PUT', '/api/v1/routes/vip', vip);
  t.equal(set.status, 200, 'a valid rule: 200');
  t.match(set.body, { seq: Number, route: { id: 'vip', ...vip } }, 'with its journal seq and the rule as stored');
  t.ok(set.body.seq > before, 'journalled');
  t.match((await api('GET', '/api/v1/routes/vip')).body, { id: 'vip', ...vip }, 'read back at once');
  t.same((await api('GET', '/api/v1/routes')).body.routes.map((r: { id: string }) => r.id), [DEMO_OFF_US_ROUTE, 'vip'], 'listed in id order');

  const replaced = await api('PUT', '/api/v1/routes/vip', { match: { organisation: 'CUP' }, to: { onUs: true } });
  t.equal(replaced.status, 200);
  t.notOk('binPrefix' in (await api('GET', '/api/v1/routes/vip')).body.match, 'a PUT replaces the whole rule');

  const removed = await api('DELETE', '/api/v1/routes/vip');
  t.equal(removed.status, 200, 'DELETE: 200');
  t.match(removed.body, { seq: Number });
  t.equal((await api('GET', '/api/v1/routes/vip')).status, 404, 'gone');
  t.same((await api('GET', '/api/v1/routes')).body.routes.map((r: { id: string }) => r.id), [DEMO_OFF_US_ROUTE]);
  const again = await api('DELETE', '/api/v1/routes/vip');
  t.equal(again.status, 404, 'DELETE again: 404');
  t.match(again.body, { error: /no route "vip"/ });
});

t.test('without a token configured the API answers 503 with the reason', async (t) => {
  const sw = await start(t, {});
  const res = await call(sw.adminPort, 'GET', '/api/v1/routes', { token: 'anything' });
  t.equal(res.status, 503);
  t.match(res.body, { error: /no admin token configured/ });
});
