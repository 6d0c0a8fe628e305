/**
 * Shunting between hosts, with real host simulators as their own processes: a route that splits
 * 70/30 between two links sends 1,000 off-us sales within ±5% of those shares; when one host dies
 * its share goes to the other at once (nothing is refused); a route changed at run time through the
 * control channel is in force for the very next sale (well within a second).
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_ZMK } from '../../src/hostsim/index.js';
import { SimTerminal } from '../../src/loadgen/index.js';
import { DEMO, DEMO_OFF_US_ROUTE, demoOffUsPan, demoTid } from '../../src/store/index.js';
import { DEFAULTS, startSwitch } from '../../src/switch/index.js';
import { readSettlement, startSimHost } from '../hostsim/host-client.js';
import { sleep } from './harness.js';
import { suiteLogging } from '../suite-log.js';

const logging = suiteLogging('shunting-and-failover');

const TERMINALS = 10;
const SALES = 1000;

t.test('a 70/30 split, failover when a host dies, and a route change within a second', async (t) => {
  const dirs = [mkdtempSync(join(tmpdir(), 'posp-shunt-a-')), mkdtempSync(join(tmpdir(), 'posp-shunt-b-'))];
  const [a, b] = await Promise.all(dirs.map((dir) => startSimHost(dir, ['--log-level', 'warn'])));
  const dataDir = mkdtempSync(join(tmpdir(), 'posp-shunt-'));
  const sw = await startSwitch(
    { ...DEFAULTS, dataDir, posPort: 0, adminPort: 0, demo: true, workers: 1, ...logging.config, links: `a=127.0.0.1:${a.port},b=127.0.0.1:${b.port}`, zmk: DEMO_ZMK },
    logging.log,
  );
  const terms = Array.from({ length: TERMINALS }, (_, i) => new SimTerminal({ host: '127.0.0.1', port: sw.posPort, tid: demoTid(20 + i), mid: DEMO.mid, tmk: DEMO.tmk }));
  t.teardown(async () => {
    for (const term of terms) term.close();
    await sw.close();
    a.proc.kill('SIGKILL');
    b.proc.kill('SIGKILL');
    for (const dir of [...dirs, dataDir]) rmSync(dir, { recursive: true, force: true });
  });
  const route = (links: { link: string; weight: number }[]) =>
    sw.control({ kind: 'reference', table: 'routes', key: DEMO_OFF_US_ROUTE, value: { match: { binPrefix: DEMO.offUsBin }, to: { links } } });
  t.match(await route([{ link: 'a', weight: 70 }, { link: 'b', weight: 30 }]), { seq: Number }, 'route: 70% to a, 30% to b');
  for (const term of terms) {
    await term.connect();
    const signIn = await term.signIn();
    if (signIn.text(39) !== '00') throw new Error(`sign-in of ${term.options.tid} answered ${signIn.text(39)}`);
  }
  const card = (n: number) => ({ pan: demoOffUsPan(n), expiry: DEMO.expiry, pin: DEMO.pin });
  /** `count` sales spread over the terminals; their response codes. */
  const sell = async (count: number, amount: number): Promise<Record<string, number>> => {
    const codes: Record<string, number> = {};
    await Promise.all(
      terms.map(async (term, i) => {
        for (let k = i; k < count; k += terms.length) {
          const code = (await term.request(term.sale(card(k + 1), amount))).text(39) ?? '??';
          codes[code] = (codes[code] ?? 0) + 1;
        }
      }),
    );
    return codes;
  };
  // The links sign on in the background: wait for the first approval, then a little for the other link.
  for (let i = 0; i < 100 && !(await sell(terms.length, 100))['00']; i++) await sleep(100);
  await sleep(1500);

  t.same(await sell(SALES, 200), { '00': SALES }, `${SALES} off-us sales, all approved`);
  const shares = dirs.map((dir) => readSettlement(dir).filter((r) => r.amount === '000000000200').length);
  t.equal(shares[0] + shares[1], SALES, 'each went to one host');
  t.ok(Math.abs(shares[0] / SALES - 0.7) <= 0.05, `host a took ${shares[0]} (70% ± 5%)`);
  t.ok(Math.abs(shares[1] / SALES - 0.3) <= 0.05, `host b took ${shares[1]} (30% ± 5%)`);

  // Host a dies: its link goes down at once, and its share goes to b.
  a.proc.kill('SIGKILL');
  await a.exited;
  await sleep(300);
  t.same(await sell(200, 300), { '00': 200 }, 'with host a gone, every sale is still approved');
  t.equal(readSettlement(dirs[1]).filter((r) => r.amount === '000000000300').length, 200, 'all by host b');

  // A route change at run time: b is taken out; within a second sales are refused by the route.
  const changed = Date.now();
  t.match(await route([{ link: 'a', weight: 1 }]), { seq: Number }, 'route: a only (a is down)');
  const code = (await terms[0].request(terms[0].sale(card(5000), 400))).text(39);
  t.equal(code, '91', 'the next sale follows the new route: its only link is down, 91');
  t.comment(`the change was in force ${Date.now() - changed} ms after it was asked for: the very next sale followed it`);
  t.equal(readSettlement(dirs[1]).filter((r) => r.amount === '000000000400').length, 0, 'host b was not asked');
});
