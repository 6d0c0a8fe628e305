/**
 * Stand-in: while no link of a route is up, a route that stands in has the switch approve sales
 * for the issuer up to the merchant's stand-in limit, journalled as stand-in, and the host is told
 * by a 0220 advice through the store-and-forward queue once it is back. A terminal's reversal of a
 * stand-in approval reaches the host after that approval's advice, never before. Off by default:
 * without it the same sale is `91`. The host simulator is a real process, down and then up.
 */
import t from 'tap';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_ZMK } from '../../src/hostsim/index.js';
import { SimTerminal } from '../../src/loadgen/index.js';
import { DEMO, DEMO_OFF_US_ROUTE, demoOffUsPan, demoTid } from '../../src/store/index.js';
import { DEFAULTS, startSwitch } from '../../src/switch/index.js';
import { readSettlement, startSimHost, type SimProcess } from '../hostsim/host-client.js';
import { sleep } from './harness.js';
import { suiteLogging } from '../suite-log.js';

const logging = suiteLogging('stand-in-while-hosts-are-down');

interface Row {
  type: string;
  mti: string;
  rrn: string;
  auth_code: string;
  response_code: string;
  route: string;
  amount: number;
}

const LIMIT = 10_000;

t.test('stand-in approves within the limit while the host is down, and the host hears of it once it is back', async (t) => {
  const simDir = mkdtempSync(join(tmpdir(), 'posp-standin-sim-'));
  // Where the host will listen: taken by a simulator, then left closed while the switch starts.
  const first = await startSimHost(simDir, ['--log-level', 'warn']);
  const port = first.port;
  first.proc.kill('SIGKILL');
  await first.exited;
  let sim: SimProcess | undefined;

  const dataDir = mkdtempSync(join(tmpdir(), 'posp-standin-'));
  const sw = await startSwitch(
    { ...DEFAULTS, dataDir, posPort: 0, adminPort: 0, demo: true, workers: 1, ...logging.config, links: `sim=127.0.0.1:${port}`, zmk: DEMO_ZMK },
    logging.log,
  );
  const term = new SimTerminal({ host: '127.0.0.1', port: sw.posPort, tid: demoTid(31), mid: DEMO.mid, tmk: DEMO.tmk });
  t.teardown(async () => {
    term.close();
    await sw.close();
    sim?.proc.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(simDir, { recursive: true, force: true });
  });
  await term.connect();
  t.equal((await term.signIn()).text(39), '00', 'signed in');
  const card = (n: number) => ({ pan: demoOffUsPan(n), expiry: DEMO.expiry, pin: DEMO.pin });
  const route = (standIn: boolean | undefined) =>
    sw.control({ kind: 'reference', table: 'routes', key: DEMO_OFF_US_ROUTE, value: { match: { binPrefix: DEMO.offUsBin }, to: { links: [{ link: 'sim', weight: 1 }] }, ...(standIn === undefined ? {} : { standIn }) } });

  t.equal((await term.request(term.sale(card(1), 5000))).text(39), '91', 'host down, route without stand-in: 91');
  t.match(await route(true), { seq: Number }, 'the route stands in');
  t.equal((await term.request(term.sale(card(1), 5000))).text(39), '91', 'a merchant without a stand-in limit: still 91');
  t.match(await sw.control({ kind: 'reference', table: 'merchants', key: DEMO.mid, value: { standInLimit: -1 } }), { refused: /standInLimit/ }, 'a negative limit is refused');
  t.match(await sw.control({ kind: 'reference', table: 'merchants', key: DEMO.mid, value: { standInLimit: LIMIT } }), { seq: Number }, `the merchant's stand-in limit set to ${LIMIT} fen`);

  const approvedReq = term.sale(card(2), 5000);
  const approved = await term.request(approvedReq);
  t.equal(approved.text(39), '00', 'a sale within the limit is approved in stand-in');
  t.match(approved.text(38), /^\d{6}$/, 'with an authorisation code from the switch');
  t.match(approved.text(37), /^\d{12}$/, 'and an RRN');
  t.equal((await term.request(term.sale(card(3), LIMIT + 1))).text(39), '91', 'a sale above the limit: 91');
  t.equal((await term.request(term.balanceInquiry(card(4)))).text(39), '91', 'a balance inquiry cannot be answered in stand-in: 91');
  const reversedReq = term.sale(card(5), LIMIT);
  const reversedSale = await term.request(reversedReq);
  t.equal(reversedSale.text(39), '00', 'a sale of exactly the limit is approved in stand-in');
  t.equal((await term.request(term.reversal(reversedReq))).text(39), '00', "the terminal's reversal of it is answered by the switch");
  t.equal((await term.request(approvedReq)).text(38), approved.text(38), 'a retransmission of a stand-in approval replays it');

  t.match(await route(false), { seq: Number }, 'stand-in switched off again');
  t.equal((await term.request(term.sale(card(6), 5000))).text(39), '91', 'without stand-in the same sale is 91');
  t.match(await route(true), { seq: Number }, 'and on');

  // The host comes back: the queue tells it of both stand-in approvals, then of the reversal.
  await sleep(1500);
  t.equal(readSettlement(simDir).length, 0, 'nothing reached the host while it was down');
  sim = await startSimHost(simDir, ['--log-level', 'warn', '--port', String(port)]);
  let lines = readSettlement(simDir);
  for (let i = 0; i < 300 && lines.length < 3; i++) {
    await sleep(100);
    lines = readSettlement(simDir);
  }
  t.same(
    lines.map((l) => [l.mti, l.rrn, l.auth_code, l.amount, l.response_code]).sort(),
    [
      ['0220', approved.text(37), approved.text(38), '000000005000', '00'],
      ['0220', reversedSale.text(37), reversedSale.text(38), String(LIMIT).padStart(12, '0'), '00'],
      ['0420', reversedSale.text(37), reversedSale.text(38), String(LIMIT).padStart(12, '0'), '00'],
    ].sort(),
    "the host's settlement file: both stand-in approvals with the switch's codes, and the reversal undoing the second",
  );
  const order = lines.map((l) => l.mti + ':' + (l.reverses_rrn || l.rrn));
  t.ok(order.indexOf(`0220:${reversedSale.text(37)}`) < order.indexOf(`0420:${reversedSale.text(37)}`), 'the reversal reached the host after the approval it undoes');

  // Once taken, never again; and the link is up again, so the next sale goes online.
  await sleep(2500);
  t.equal(readSettlement(simDir).length, 3, 'no advice sent twice');
  t.equal((await term.request(term.sale(card(7), 4000))).text(39), '00', 'with the host back, sales go to it again');
  t.equal(readSettlement(simDir).filter((l) => l.mti === '0200').length, 1, 'online, as a 0200');

  await sleep(200);
  const db = new Database(join(dataDir, 'journal', `${sw.businessDate}.sqlite`), { readonly: true });
  const rows = db.prepare('SELECT type, mti, rrn, auth_code, response_code, route, amount FROM entries ORDER BY seq').all() as Row[];
  db.close();
  const standIns = rows.filter((r) => r.route === 'stand-in:sim');
  t.same(standIns.map((r) => [r.type, r.response_code, r.amount]), [['sale', '00', 5000], ['sale', '00', LIMIT]], 'the journal marks both approvals as stand-in on link sim');
  t.equal(standIns[0].auth_code, approved.text(38), 'with the authorisation code the terminal saw');
  t.same(
    rows.filter((r) => r.type === 'advice-delivered').map((r) => r.mti).sort(),
    ['0220', '0220', '0420'],
    'and one delivered entry for each advice',
  );
});
