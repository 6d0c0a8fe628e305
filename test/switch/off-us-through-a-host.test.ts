/**
 * Off-us cards go to a host: the switch (real workers, real TCP) routes BIN 621700 by the demo's
 * routing rule to its link `sim`, a host simulator running as its own process. The request is
 * journalled before it is sent (with the RRN the host then sees) and its outcome after; the
 * terminal gets the host's code, authorisation code and balance under its own MAC; a retransmission
 * is answered from the switch without asking the host again; a silent host is `98`.
 */
import t from 'tap';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseBalance } from '../../src/codec/index.js';
import { DEMO_ZMK } from '../../src/hostsim/index.js';
import { SimTerminal } from '../../src/loadgen/index.js';
import { DEMO, DEMO_OFF_US_ROUTE, demoTid } from '../../src/store/index.js';
import { DEFAULTS, startSwitch } from '../../src/switch/index.js';
import { readSettlement, startSimHost } from '../hostsim/host-client.js';
import { startChild } from '../crash/crash-harness.js';
import { luhnPan, sleep } from './harness.js';
import { suiteLogging } from '../suite-log.js';

const logging = suiteLogging('off-us-through-a-host');

const offUs = { pan: luhnPan('621700', 42, 16), expiry: DEMO.expiry, pin: DEMO.pin };

interface Row {
  seq: number;
  type: string;
  stan: string;
  rrn: string;
  auth_code: string;
  response_code: string;
  route: string;
  amount: number;
}

for (const workers of [1, 0]) {
  t.test(`${workers === 0 ? 'inline pipeline' : 'worker thread'}: off-us sale, decline, balance, retransmission and a silent host`, async (t) => {
    const simDir = mkdtempSync(join(tmpdir(), 'posp-offus-sim-'));
    const sim = await startSimHost(simDir, ['--log-level', 'warn']);
    const dataDir = mkdtempSync(join(tmpdir(), 'posp-offus-'));
    const sw = await startSwitch(
      { ...DEFAULTS, dataDir, posPort: 0, adminPort: 0, demo: true, workers, ...logging.config, links: `sim=127.0.0.1:${sim.port}`, zmk: DEMO_ZMK },
      logging.log,
    );
    const term = new SimTerminal({ host: '127.0.0.1', port: sw.posPort, tid: demoTid(3), mid: DEMO.mid, tmk: DEMO.tmk });
    t.teardown(async () => {
      term.close();
      await sw.close();
      sim.proc.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(simDir, { recursive: true, force: true });
    });
    await term.connect();
    t.equal((await term.signIn()).text(39), '00', 'signed in');

    // The link signs on and exchanges keys in the background: until then off-us cards get 91.
    let sale = term.sale(offUs, 12_300);
    let res = await term.request(sale);
    for (let i = 0; i < 100 && res.text(39) === '91'; i++) {
      await sleep(100);
      sale = term.sale(offUs, 12_300);
      res = await term.request(sale);
    }
    t.equal(res.text(39), '00', 'an off-us sale is approved by the host');
    t.match(res.text(38), /^\d{6}$/, "with the host's authorisation code");
    t.match(res.text(37), /^\d{12}$/, 'and an RRN');
    const rrn = res.text(37)!;

    const again = await term.request(sale);
    t.same([again.text(39), again.text(37), again.text(38)], [res.text(39), rrn, res.text(38)], 'a retransmission gets the same answer');

    // The terminal reverses an approved off-us sale: the switch answers, the host is owed an advice.
    const toReverse = term.sale(offUs, 22_200);
    const reversedSale = await term.request(toReverse);
    t.equal(reversedSale.text(39), '00', 'another off-us sale approved');
    t.equal((await term.request(term.reversal(toReverse))).text(39), '00', "the terminal's reversal of it is answered by the switch");
    let undone: ReturnType<typeof readSettlement>[number] | undefined;
    for (let i = 0; i < 100 && undone === undefined; i++) {
      await sleep(100);
      undone = readSettlement(simDir).find((r) => r.mti === '0420' && r.rrn === reversedSale.text(37));
    }
    t.equal(undone?.response_code, '00', 'the host got the reversal advice and undid its approval');

    // A void of an off-us sale goes to the host that approved it, naming the original in F90.
    const toVoid = term.sale(offUs, 33_300);
    const voidedSale = await term.request(toVoid);
    t.equal(voidedSale.text(39), '00', 'a third off-us sale approved');
    const voided = await term.request(term.saleVoid(term.receipt(toVoid, voidedSale, 'sale'), offUs));
    t.equal(voided.text(39), '00', 'its void is approved by the host');
    t.ok(readSettlement(simDir).some((r) => r.processing_code === '200000' && r.amount === '000000033300'), "the void is in the host's settlement file");
    t.equal((await term.request(term.saleVoid(term.receipt(toVoid, voidedSale, 'sale'), offUs))).text(39), '25', 'a second void of it: original not found (already voided), the host not asked');
    t.equal(readSettlement(simDir).filter((r) => r.processing_code === '200000' && r.amount === '000000033300').length, 1, 'the host saw one void');

    // A refund of an off-us sale also goes to the host that approved it; refunds may not add up beyond it.
    const toRefund = term.sale(offUs, 44_400);
    const refundedSale = await term.request(toRefund);
    t.equal(refundedSale.text(39), '00', 'a fourth off-us sale approved');
    const receipt = term.receipt(toRefund, refundedSale, 'sale');
    t.equal((await term.request(term.refund(receipt, 10_000))).text(39), '00', 'a partial refund of it is approved by the host');
    t.ok(readSettlement(simDir).some((r) => r.mti === '0220' && r.amount === '000000010000'), "the refund is in the host's settlement file");
    t.equal((await term.request(term.refund(receipt, 40_000))).text(39), '64', 'a refund beyond what is left: 64, the host not asked');
    t.equal(readSettlement(simDir).filter((r) => r.mti === '0220').length, 1, 'the host saw one refund');

    // A pre-auth goes to the host; its completion to the host that authorised it.
    const preAuthReq = term.preAuth(offUs, 50_000);
    const preAuthRes = await term.request(preAuthReq);
    t.equal(preAuthRes.text(39), '00', 'an off-us pre-auth is authorised by the host');
    const preAuth = term.receipt(preAuthReq, preAuthRes, 'pre-auth');
    t.equal((await term.request(term.completion(preAuth, 52_000, offUs))).text(39), '00', 'its completion is approved by the same host');
    t.ok(readSettlement(simDir).some((r) => r.mti === '0100' && r.amount === '000000050000'), "the pre-auth is in the host's settlement file");
    t.ok(readSettlement(simDir).some((r) => r.mti === '0200' && r.amount === '000000052000'), 'and its completion');
    t.equal((await term.request(term.completion(preAuth, 52_000, offUs))).text(39), '25', 'a second completion: original not found (completed), the host not asked');

    const declined = await term.request(term.sale(offUs, 12_351));
    t.equal(declined.text(39), '51', "the host's decline passes through");
    t.notOk(declined.has(38), 'with no authorisation code');

    const balance = await term.request(term.balanceInquiry(offUs));
    t.equal(balance.text(39), '00', 'an off-us balance inquiry is answered by the host');
    t.equal(parseBalance(balance.text(54)!).amount, 100_000_000n, "with the host's balance in F54");

    // A silent host: the route's timeout (shortened) ends it with 98.
    t.match(await sw.control({ kind: 'reference', table: 'routes', key: DEMO_OFF_US_ROUTE, value: { match: { binPrefix: DEMO.offUsBin }, to: { links: [{ link: 'sim', weight: 1 }] }, timeoutMs: 800 } }), { seq: Number }, 'the route timeout shortened to 800 ms');
    const started = Date.now();
    const silent = await term.request(term.sale(offUs, 4591));
    t.equal(silent.text(39), '98', 'no answer from the host: 98');
    t.ok(Date.now() - started >= 800, 'after the route timeout');

    // The silent one is owed a reversal advice: it goes out, the host takes it once, an entry settles it.
    let reversals: ReturnType<typeof readSettlement> = [];
    for (let i = 0; i < 100 && reversals.length === 0; i++) {
      await sleep(100);
      reversals = readSettlement(simDir).filter((r) => r.mti === '0420' && r.reverses_rrn === silent.text(37));
    }
    t.equal(reversals.length, 1, 'the host got the reversal advice of the silent sale');
    t.equal(reversals[0]?.response_code, '25', 'and had nothing to undo (it never answered the original)');
    await sleep(2500);
    t.equal(readSettlement(simDir).filter((r) => r.mti === '0420' && r.reverses_rrn === silent.text(37)).length, 1, 'once: not sent again at later sweeps');

    // The journal: each host leg is two entries, the request (with its RRN) before the outcome.
    await sleep(200);
    const db = new Database(join(dataDir, 'journal', `${sw.businessDate}.sqlite`), { readonly: true });
    const rows = db.prepare("SELECT seq, type, stan, rrn, auth_code, response_code, route, amount FROM entries WHERE route LIKE 'host:%' OR route = 'replay' ORDER BY seq").all() as Row[];
    db.close();
    const legs = rows.filter((r) => r.rrn === rrn);
    t.same(
      legs.map((r) => [r.type, r.response_code, r.route]),
      [['host-request', '', 'host:sim'], ['sale', '00', 'host:sim'], ['sale', '00', 'replay']],
      'the approved sale: its request entry, its outcome, and the replay of the retransmission',
    );
    t.ok(legs[0].seq < legs[1].seq, 'the request was journalled first');
    t.equal(legs[1].auth_code, res.text(38), "the outcome keeps the host's authorisation code");
    const silentRows = rows.filter((r) => r.amount === 4591);
    t.same(silentRows.map((r) => [r.type, r.response_code]), [['host-request', ''], ['sale', '98'], ['advice-delivered', '00']], 'the silent one: request, 98, then its advice delivered');

    // The host's own record: one approval with that RRN (the retransmission never reached it).
    const settled = readSettlement(simDir).filter((r) => r.rrn === rrn);
    t.equal(settled.length, 1, "the host's settlement file has the sale once");
    t.equal(settled[0]?.auth_code, res.text(38), 'with the authorisation code the terminal saw');
  });
}

t.test('posp start --demo --host-sim: the simulator beside the switch, named in the ready line, approving off-us sales', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'posp-hostsim-'));
  const child = await startChild(dataDir, ['--host-sim', '--host-sim-port', '0']);
  const term = new SimTerminal({ host: '127.0.0.1', port: child.port, tid: demoTid(4), mid: DEMO.mid, tmk: DEMO.tmk });
  t.teardown(() => {
    term.close();
    child.proc.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });
  t.match(child.output(), /host simulator on 127\.0\.0\.1:\d+[,;]/, 'the ready line says where the simulator listens');
  await term.connect();
  t.equal((await term.signIn()).text(39), '00', 'signed in');
  let code = '91';
  for (let i = 0; i < 100 && code === '91'; i++) {
    code = (await term.request(term.sale(offUs, 5000))).text(39) ?? '';
    if (code === '91') await sleep(100);
  }
  t.equal(code, '00', 'an off-us sale is approved by the simulator in the same process');
  t.equal(readSettlement(join(dataDir, 'hostsim')).length, 1, 'which keeps its settlement file under the data directory');
});
