/**
 * Admin API tokens with roles: `posp token create --role R` (a real child process) prints a token
 * once; the switch keeps only its SHA-256. A viewer reads but cannot change; an operator may also
 * cut the day over; an admin may change routes and tokens. A revoked token is refused. Every
 * change made through the API is in the audit log: who, what, before, after, when.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_OFF_US_ROUTE } from '../../src/store/index.js';
import { DEFAULTS, startSwitch } from '../../src/switch/index.js';
import { runPosp } from '../switch/harness.js';
import { suiteLogging } from '../suite-log.js';

const logging = suiteLogging('tokens-with-roles');

const BOOTSTRAP = 'bootstrap-admin-token-for-roles';

t.test('tokens made through the API carry a role, are kept hashed and can be revoked', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'posp-tokens-'));
  const sw = await startSwitch({ ...DEFAULTS, dataDir, posPort: 0, adminPort: 0, demo: true, workers: 1, ...logging.config, adminToken: BOOTSTRAP, cutoverAt: 'off' }, logging.log);
  t.teardown(async () => {
    await sw.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const admin = `http://127.0.0.1:${sw.adminPort}`;
  const create = async (role: string) => {
    const run = await runPosp(['token', 'create', '--role', role, '--label', `${role} test`, '--admin', admin, '--token', BOOTSTRAP]);
    t.equal(run.code, 0, `posp token create --role ${role}`);
    return JSON.parse(run.stdout) as { token: string; id: string; role: string };
  };
  const viewer = await create('viewer');
  const operator = await create('operator');
  const second = await create('admin');
  t.match(viewer, { token: /^[A-Za-z0-9_-]{43}$/, role: 'viewer' }, 'the token is printed with its role');

  const call = (token: string, method: string, path: string, body?: unknown) =>
    fetch(admin + path, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const route = { match: { binPrefix: '621700' }, to: { reject: '57' } };

  t.equal((await call(viewer.token, 'GET', '/api/v1/routes')).status, 200, 'a viewer reads the routes');
  const denied = await call(viewer.token, 'PUT', `/api/v1/routes/${DEMO_OFF_US_ROUTE}`, route);
  t.equal(denied.status, 403, 'a viewer may not change a route: 403');
  t.match(await denied.json(), { error: /needs the admin role; the token is viewer/ }, 'with the reason');
  t.equal((await call(viewer.token, 'POST', '/api/v1/day-cut', {})).status, 403, 'nor cut the day over');
  t.equal((await call(operator.token, 'PUT', `/api/v1/routes/${DEMO_OFF_US_ROUTE}`, route)).status, 403, 'an operator may not change a route');
  t.equal((await call(operator.token, 'POST', '/api/v1/day-cut', {})).status, 200, 'an operator cuts the day over');
  t.equal((await call(second.token, 'PUT', `/api/v1/routes/${DEMO_OFF_US_ROUTE}`, route)).status, 200, 'an admin token changes a route');
  t.equal((await call(operator.token, 'POST', '/api/v1/tokens', { role: 'admin' })).status, 403, 'an operator may not make tokens');
  t.equal((await call('not-a-token', 'GET', '/api/v1/routes')).status, 401, 'an unknown token: 401');
  t.equal((await call(second.token, 'POST', '/api/v1/tokens', { role: 'root' })).status, 400, 'an unknown role: 400');

  const list = await runPosp(['token', 'list', '--admin', admin, '--token', viewer.token]);
  const listed = JSON.parse(list.stdout) as { tokens: { id: string; role: string }[] };
  t.same(listed.tokens.map((x) => x.role), ['viewer', 'operator', 'admin'], 'posp token list: the three, without secrets');
  t.notOk(list.stdout.includes(viewer.token), 'no token in the list');
  const stored = (await call(viewer.token, 'GET', '/api/v1/tokens').then((r) => r.text())).includes(createHash('sha256').update(viewer.token).digest('hex'));
  t.notOk(stored, 'nor its hash');

  const revoke = await runPosp(['token', 'revoke', operator.id, '--admin', admin, '--token', second.token]);
  t.equal(revoke.code, 0, 'posp token revoke');
  t.equal((await call(operator.token, 'GET', '/api/v1/routes')).status, 401, 'a revoked token is refused');
  t.equal((await runPosp(['token', 'revoke', operator.id, '--admin', admin, '--token', second.token])).code, 1, 'revoking it again: exit 1 (404)');
  t.equal((await runPosp(['token', 'create', '--admin', admin])).code, 2, 'create without a role: usage, exit 2');

  // The audit log: who changed what, before and after, newest first; admins only.
  t.equal((await call(viewer.token, 'GET', '/api/v1/audit')).status, 403, 'a viewer may not read the audit log');
  // The operator's cut-over moved the day: the log spans both days.
  const auditText = await (await call(BOOTSTRAP, 'GET', `/api/v1/audit?from=${sw.businessDate}`)).text();
  const audit = JSON.parse(auditText) as { records: { by: string; table: string; key: string; before: unknown; after: unknown }[] };
  t.same(
    audit.records.map((r) => [r.by, r.table, r.key]),
    [
      [second.id, 'tokens', `token:${operator.id}`],
      [second.id, 'routes', DEMO_OFF_US_ROUTE],
      ['bootstrap', 'tokens', `token:${second.id}`],
      ['bootstrap', 'tokens', `token:${operator.id}`],
      ['bootstrap', 'tokens', `token:${viewer.id}`],
    ],
    'every change through the API, newest first, with who made it',
  );
  const routeChange = audit.records[1];
  t.match(routeChange, { before: { id: DEMO_OFF_US_ROUTE, to: { links: [{ link: 'sim' }] } }, after: { to: { reject: '57' } } }, 'the route before and after');
  t.match(audit.records[0], { before: { id: operator.id, role: 'operator' }, after: null }, 'a revocation: the token record before, nothing after');
  for (const token of [viewer, operator, second]) {
    t.notOk(auditText.includes(token.token) || auditText.includes(createHash('sha256').update(token.token).digest('hex')), `no token ${token.id} nor its hash in the audit log`);
  }
  t.equal((await call(BOOTSTRAP, 'GET', '/api/v1/audit?from=2026-02-30')).status, 400, 'a bad date: 400');
});
