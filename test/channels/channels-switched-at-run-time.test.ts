/**
 * Access directions switched on and off while the switch runs (`posp channel`, the admin API):
 * - the terminal listener, under load: `posp channel disable terminal` closes the port within a
 *   second (new connections refused), the open connections are closed once what they sent is
 *   answered, and no request the switch took is left unanswered (every unanswered one is in no
 *   journal); `enable` opens it again and terminals sell;
 * - a host link: switched off, routing skips it (an off-us sale answers 91); on again, approved;
 * - the switch is kept across a restart; enabling a listener whose port is taken is refused with
 *   the reason and changes nothing;
 * - `posp start` with a port already taken exits 1 with one line naming the port and the reason.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { SimTerminal } from '../../src/loadgen/index.js';
import { DEMO, demoOffUsPan, demoPan, demoTid } from '../../src/store/index.js';
import { DEFAULTS, startSwitch, type RunningSwitch, type SwitchConfig } from '../../src/switch/index.js';
import { runPosp, sleep } from '../switch/harness.js';
import { suiteLogging } from '../suite-log.js';

const logging = suiteLogging('channels-switched-at-run-time');

const TOKEN = 'channels-test-admin-token-0123456789';
const card = (n: number) => ({ pan: demoPan(n), expiry: DEMO.expiry, pin: DEMO.pin });

async function api(sw: RunningSwitch, method: string, path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://127.0.0.1:${sw.adminPort}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: method === 'POST' ? '{}' : undefined });
  return { status: res.status, body: await res.json() };
}

async function channel(sw: RunningSwitch, name: string): Promise<{ switched: string; now: string; port?: number }> {
  return (await api(sw, 'GET', '/api/v1/channels')).body.channels.find((c: { name: string }) => c.name === name);
}

async function signedIn(port: number, n: number): Promise<SimTerminal> {
  const term = new SimTerminal({ host: '127.0.0.1', port, tid: demoTid(n), mid: DEMO.mid, tmk: DEMO.tmk });
  await term.connect();
  if ((await term.signIn()).text(39) !== '00') throw new Error(`${term.options.tid} could not sign in`);
  return term;
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/** Journal rows of one terminal's STAN, in every day file. */
function journalled(dataDir: string, tid: string, stan: string): number {
  let rows = 0;
  for (const file of readdirSync(join(dataDir, 'journal')).filter((f) => f.endsWith('.sqlite'))) {
    const db = new Database(join(dataDir, 'journal', file), { readonly: true });
    rows += (db.prepare('SELECT count(*) AS n FROM entries WHERE tid = ? AND stan = ?').get(tid, stan) as { n: number }).n;
    db.close();
  }
  return rows;
}

t.test('channels switched off and on while the switch runs', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'posp-channels-'));
  const config: SwitchConfig = { ...DEFAULTS, dataDir, posPort: 0, adminPort: 0, demo: true, hostSim: true, hostSimPort: 0, workers: 2, ...logging.config, adminToken: TOKEN, cutoverAt: 'off' };
  let sw = await startSwitch(config, logging.log);
  t.teardown(async () => {
    await sw.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const admin = `http://127.0.0.1:${sw.adminPort}`;
  const port = sw.posPort;
  t.same(await channel(sw, 'terminal'), { name: 'terminal', kind: 'listener', switched: 'enabled', now: 'enabled', port }, 'the terminal listener is on');
  t.match(await channel(sw, 'sim'), { kind: 'host-link', switched: 'enabled' }, 'and the host link');

  await t.test('the terminal listener, under load', async (t) => {
    const terms = await Promise.all(Array.from({ length: 6 }, (_, i) => signedIn(port, 10 + i)));
    const unanswered: { tid: string; stan: string }[] = [];
    let answered = 0;
    const sells = terms.map(async (term, i) => {
      for (let n = 0; ; n++) {
        const sale = term.sale(card(10 + i), 100 + n);
        try {
          await term.request(sale);
          answered++;
        } catch {
          unanswered.push({ tid: term.options.tid, stan: sale.text(11)! });
          return;
        }
      }
    });
    await sleep(700);
    const asked = Date.now();
    const off = await api(sw, 'POST', '/api/v1/channels/terminal/disable');
    t.equal(off.status, 200, 'the terminal listener is switched off through the admin API');
    t.notOk(await connects(port), 'a new connection is refused');
    const tookMs = Date.now() - asked;
    t.ok(tookMs < 1000, `within a second, under load (${tookMs} ms)`);
    await Promise.race([Promise.all(sells), sleep(5000)]);
    t.equal(unanswered.length, terms.length, 'every terminal was let go once what it sent was answered');
    t.ok(answered > 0, `${answered} sales were answered while the load ran`);
    t.same(unanswered.filter((u) => journalled(dataDir, u.tid, u.stan) > 0), [], 'no request the switch took went unanswered: each one unanswered is in no journal');
    t.match(await channel(sw, 'terminal'), { switched: 'disabled', now: 'disabled' }, 'the listener is off, drained');
    for (const term of terms) term.close();

    const on = await runPosp(['channel', 'enable', 'terminal', '--admin', admin, '--token', TOKEN]);
    t.equal(on.code, 0, `posp channel enable terminal: ${on.stderr.trim() || 'done'}`);
    t.match(JSON.parse(on.stdout), { channel: { name: 'terminal', switched: 'enabled', now: 'enabled', port } }, 'it prints the channel as it now is');
    const back = await signedIn(port, 20);
    t.equal((await back.request(back.sale(card(20), 500))).text(39), '00', 'on again, on the same port: a terminal signs in and sells');
    back.close();
  });

  await t.test('a host link', async (t) => {
    const term = await signedIn(port, 30);
    const offUs = (n: number) => ({ pan: demoOffUsPan(n), expiry: DEMO.expiry, pin: DEMO.pin });
    for (let i = 0; i < 50 && (await channel(sw, 'sim')).now !== 'up'; i++) await sleep(100);
    t.equal((await term.request(term.sale(offUs(1), 1_000))).text(39), '00', 'an off-us sale goes to the host');
    const off = await api(sw, 'POST', '/api/v1/channels/sim/disable');
    t.equal(off.status, 200, 'the link is switched off');
    t.match(off.body.channel, { name: 'sim', switched: 'disabled', now: 'disabled' });
    t.equal((await term.request(term.sale(offUs(2), 2_000))).text(39), '91', 'routing skips it: the off-us sale answers 91');
    t.equal((await api(sw, 'POST', '/api/v1/channels/sim/enable')).status, 200, 'switched on again');
    t.equal((await term.request(term.sale(offUs(3), 3_000))).text(39), '00', 'and the host approves again');
    t.equal((await api(sw, 'POST', '/api/v1/channels/nowhere/disable')).status, 404, 'an unknown channel: 404');
    term.close();
  });

  await t.test('kept across a restart; a taken port is refused with the reason', async (t) => {
    t.equal((await api(sw, 'POST', '/api/v1/channels/terminal/disable')).status, 200, 'the listener is switched off');
    await sw.close();
    // Restarted on the port it had (an ephemeral one would not be known until bound).
    sw = await startSwitch({ ...config, posPort: port }, logging.log);
    t.match(await channel(sw, 'terminal'), { switched: 'disabled', now: 'disabled' }, 'after a restart it is still off');
    t.notOk(await connects(port), 'and its port is closed');
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', () => resolve()));
    const refused = await api(sw, 'POST', '/api/v1/channels/terminal/enable');
    t.equal(refused.status, 409, 'enabling it while another process holds its port: 409');
    t.match(refused.body.error, new RegExp(`terminal port 127\\.0\\.0\\.1:${port} cannot be opened: the address is already in use`), 'with the reason');
    t.match(await channel(sw, 'terminal'), { switched: 'disabled', now: 'disabled' }, 'and it stays off');
    await new Promise<void>((resolve) => squatter.close(() => resolve()));
    t.equal((await api(sw, 'POST', '/api/v1/channels/terminal/enable')).status, 200, 'once the port is free it opens');
    const term = await signedIn(port, 40);
    t.equal((await term.request(term.sale(card(40), 700))).text(39), '00', 'and terminals sell again');
    term.close();
  });
});

t.test('posp start with a port already taken exits 1 with one line naming it', async (t) => {
  const squatter = net.createServer();
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', () => resolve()));
  const taken = (squatter.address() as net.AddressInfo).port;
  t.teardown(() => squatter.close());
  for (const [flag, name] of [['--pos-port', 'terminal'], ['--admin-port', 'admin']] as const) {
    const dataDir = mkdtempSync(join(tmpdir(), 'posp-taken-'));
    const other = flag === '--pos-port' ? '--admin-port' : '--pos-port';
    const run = await runPosp(['start', '--demo', '--data', dataDir, flag, String(taken), other, '0', '--log-level', 'warn']);
    rmSync(dataDir, { recursive: true, force: true });
    t.equal(run.code, 1, `${name} port taken: exit 1`);
    const lines = run.stderr.trim().split('\n');
    t.same(lines, [`posp: the ${name} port 127.0.0.1:${taken} cannot be opened: the address is already in use`], `one line naming the port and the reason: ${lines[0]}`);
  }
});
