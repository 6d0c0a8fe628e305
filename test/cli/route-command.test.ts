/**
 * `posp route` against a running switch (a child process, `posp start --demo --host-sim`, with the
 * admin token it prints): a route changed by the command is in force for the very next sale, and
 * setting it back restores the host simulator's answers. Refusals exit 1 with the switch's reason,
 * usage errors 2.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { SimTerminal } from '../../src/loadgen/index.js';
import { DEMO, DEMO_OFF_US_ROUTE, demoOffUsPan, demoTid } from '../../src/store/index.js';
import { live, startChild } from '../crash/crash-harness.js';
import { CHILD_ENV, POSP_BIN, sleep } from '../switch/harness.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `posp ...args` as a child process; resolves with its exit code and output. */
function posp(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [POSP_BIN, ...args], { env: { ...CHILD_ENV, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** The line `admin token: T` the demo switch prints once after its ready line. */
async function printedToken(output: () => string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const m = /^admin token: (\S+)$/m.exec(output());
    if (m) return m[1];
    await sleep(50);
  }
  throw new Error(`no admin token line in:\n${output()}`);
}

t.test('posp route changes the routing of a running switch at once', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'posp-route-cmd-'));
  t.teardown(() => {
    for (const proc of live) proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const child = await startChild(dir, ['--host-sim', '--host-sim-port', '0']);
  const token = await printedToken(child.output);
  t.match(token, /^[A-Za-z0-9_-]{43,}$/, 'a generated token of at least 256 bits, base64url');
  const admin = ['--admin', `http://127.0.0.1:${child.adminPort}`];
  const route = (...args: string[]) => posp(['route', ...args, ...admin], { POSP_ADMIN_TOKEN: token });

  const sale = async (n: number): Promise<string | undefined> =>
    (await term.request(term.sale({ pan: demoOffUsPan(n), expiry: DEMO.expiry, pin: DEMO.pin }, 100))).text(39);
  const term = new SimTerminal({ host: '127.0.0.1', port: child.port, tid: demoTid(30), mid: DEMO.mid, tmk: DEMO.tmk });
  t.teardown(() => term.close());
  await term.connect();
  t.equal((await term.signIn()).text(39), '00', 'terminal signed in');
  // The link to the simulator signs on in the background.
  let first: string | undefined;
  for (let i = 0; i < 100 && (first = await sale(1)) !== '00'; i++) await sleep(100);
  t.equal(first, '00', 'an off-us sale is approved by the host simulator');

  const original = await route('get', DEMO_OFF_US_ROUTE);
  t.equal(original.code, 0, 'route get: exit 0');
  t.match(JSON.parse(original.stdout), { id: DEMO_OFF_US_ROUTE, to: { links: [{ link: 'sim' }] } }, 'prints the rule as JSON');
  t.match(JSON.parse((await route('list')).stdout), { routes: [{ id: DEMO_OFF_US_ROUTE }] }, 'route list');

  const rejecting = await route('set', DEMO_OFF_US_ROUTE, '{"match":{"binPrefix":"621700"},"to":{"reject":"57"}}');
  t.equal(rejecting.code, 0, `route set: exit 0 ${rejecting.stderr}`);
  const changedAt = Date.now();
  t.match(JSON.parse(rejecting.stdout), { seq: Number, route: { to: { reject: '57' } } });
  t.equal(await sale(2), '57', 'the very next sale is refused by the new rule');
  t.ok(Date.now() - changedAt < 1000, 'within a second of the command returning');

  const restoreFile = join(dir, 'route.json');
  writeFileSync(restoreFile, original.stdout);
  const restored = await route('set', DEMO_OFF_US_ROUTE, '--file', restoreFile);
  t.equal(restored.code, 0, `route set --file: exit 0 ${restored.stderr}`);
  t.equal(await sale(3), '00', 'set back: the simulator answers again');
  t.equal(await sale(4), '00');

  const refused = await route('set', DEMO_OFF_US_ROUTE, '{"match":{},"to":{"reject":"00"}}');
  t.equal(refused.code, 1, 'a bad rule: exit 1');
  t.match(refused.stderr, /to\.reject must be a response code other than 00/, "with the switch's reason");
  t.equal(await sale(5), '00', 'and nothing changed');
  const missing = await route('delete', 'nowhere');
  t.equal(missing.code, 1, 'deleting an unknown rule: exit 1');
  t.match(missing.stderr, /404.*no route "nowhere"/);
  const wrongToken = await posp(['route', 'list', ...admin, '--token', 'not-the-token'], { POSP_ADMIN_TOKEN: token });
  t.equal(wrongToken.code, 1, 'a wrong token: exit 1');
  t.match(wrongToken.stderr, /401.*not valid/);
  t.equal((await route('set', DEMO_OFF_US_ROUTE)).code, 2, 'set without a rule: usage, exit 2');
  t.equal((await route('frobnicate')).code, 2, 'an unknown action: exit 2');
});
