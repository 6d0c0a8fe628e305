/**
 * Nothing a host may have approved is left unreversed when its answer was lost, whichever side
 * dies: the reversal advice is owed in LMDB (written only by journal entries), sent until a 0430
 * comes back, across restarts of the host and of the switch, and never again after it.
 * Both the switch and the host simulator run as their own processes here.
 */
import t, { type Test } from 'tap';
import Database from 'better-sqlite3';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_ZMK } from '../../src/hostsim/index.js';
import { SimTerminal } from '../../src/loadgen/index.js';
import { DEMO, demoTid } from '../../src/store/index.js';
import { readSettlement, startSimHost, type SimProcess } from '../hostsim/host-client.js';
import { luhnPan, sleep } from '../switch/harness.js';
import { live, startChild } from './crash-harness.js';

const offUs = { pan: luhnPan('621700', 77, 16), expiry: DEMO.expiry, pin: DEMO.pin };

interface Row {
  seq: number;
  type: string;
  rrn: string;
  response_code: string;
  amount: number;
}

function journal(dir: string): Row[] {
  const rows: Row[] = [];
  for (const file of readdirSync(join(dir, 'journal')).filter((f) => /^\d{8}\.sqlite$/.test(f))) {
    const db = new Database(join(dir, 'journal', file), { readonly: true });
    rows.push(...(db.prepare('SELECT seq, type, rrn, response_code, amount FROM entries ORDER BY seq').all() as Row[]));
    db.close();
  }
  return rows;
}

async function until<T>(what: string, probe: () => T | undefined, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(100);
  }
}

/** A signed-in terminal that retries an off-us sale until the link is up (until then: 91). */
async function offUsTerminal(port: number, tidIndex: number): Promise<SimTerminal> {
  const term = new SimTerminal({ host: '127.0.0.1', port, tid: demoTid(tidIndex), mid: DEMO.mid, tmk: DEMO.tmk });
  await term.connect();
  if ((await term.signIn()).text(39) !== '00') throw new Error('sign-in refused');
  return term;
}

async function waitForLink(term: SimTerminal): Promise<void> {
  // A balance inquiry changes nothing at the host's settlement that matters here, and says when the link is up.
  for (let i = 0; i < 150; i++) {
    if ((await term.request(term.balanceInquiry(offUs))).text(39) === '00') return;
    await sleep(100);
  }
  throw new Error('the host link did not come up');
}

/**
 * A host simulator (its own process, `simArgs`) and the switch (its own process) with a link to it,
 * and a signed-in terminal once that link is up; `t.teardown` kills what is left and deletes both
 * data directories. `sims` holds the simulator, and any restarted one, for the teardown.
 */
async function setUp(t: Test, tidIndex: number, simArgs: string[] = []) {
  const simDir = mkdtempSync(join(tmpdir(), 'posp-saf-sim-'));
  const dataDir = mkdtempSync(join(tmpdir(), 'posp-saf-'));
  const sims: SimProcess[] = [await startSimHost(simDir, ['--log-level', 'warn', ...simArgs])];
  const args = ['--links', `sim=127.0.0.1:${sims[0].port}`, '--zmk', DEMO_ZMK];
  const sw = await startChild(dataDir, args);
  const term = await offUsTerminal(sw.port, tidIndex);
  t.teardown(() => {
    term.close();
    for (const sim of sims) sim.proc.kill('SIGKILL');
    for (const proc of live) proc.kill('SIGKILL');
    rmSync(simDir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });
  await waitForLink(term);
  return { simDir, dataDir, sims, args, sw, term };
}

t.test('the host dies with a request in flight: 98, and the advice reaches it once it is back, exactly once', async (t) => {
  const { simDir, dataDir, sims, term } = await setUp(t, 11);
  const [sim] = sims;
  const port = sim.port;

  // Amount ending 91: the host keeps quiet; it is killed while the request waits.
  const answer = term.request(term.sale(offUs, 5591));
  await sleep(500);
  sim.proc.kill('SIGKILL');
  await sim.exited;
  const res = await answer;
  t.equal(res.text(39), '98', 'the terminal gets 98 when the connection goes');
  const rrn = res.text(37)!;
  await sleep(1500);
  t.equal(readSettlement(simDir).filter((r) => r.mti === '0420').length, 0, 'no advice reached a host that is down');

  sims.push(await startSimHost(simDir, ['--port', String(port), '--log-level', 'warn']));
  // The 0420 carries the original's RRN in F37: the restarted host never saw the original, so only F37 names it.
  const reversal = await until('the advice at the restarted host', () => readSettlement(simDir).find((r) => r.mti === '0420' && r.rrn === rrn));
  t.ok(reversal, 'the restarted host got the reversal advice');
  await sleep(3000);
  t.equal(reversal.response_code, '25', 'a reversal of an original it does not know: nothing to undo');
  t.equal(readSettlement(simDir).filter((r) => r.mti === '0420' && r.rrn === rrn).length, 1, 'exactly once, sweeps later');
  const rows = journal(dataDir).filter((r) => r.rrn === rrn);
  t.same(rows.map((r) => [r.type, r.response_code]), [['host-request', ''], ['sale', '98'], ['advice-delivered', '00']], 'journal: request, 98, advice delivered');
});

t.test('kill -9 of the switch while the host holds a request: after restart the advice goes out and both sides agree', async (t) => {
  // The host answers after 3 s: time for the switch to die with the request at the host.
  const set = await setUp(t, 12, ['--latency-ms', '3000']);
  const { simDir, dataDir, args, term } = set;
  let sw = set.sw;

  const answer = term.request(term.sale(offUs, 7700));
  answer.catch(() => undefined);
  await sleep(1000);
  sw.proc.kill('SIGKILL');
  await sw.exited;
  const legs = journal(dataDir).filter((r) => r.type === 'host-request' && r.amount === 7700);
  t.equal(legs.length, 1, 'the request leg was journalled before the kill');
  const rrn = legs[0].rrn;
  t.same(journal(dataDir).filter((r) => r.rrn === rrn).map((r) => r.type), ['host-request'], 'and nothing after it: the switch died waiting');

  // The host approved it after all (its answer found no one).
  const approval = await until('the approval at the host', () => readSettlement(simDir).find((r) => r.rrn === rrn && r.mti === '0200'), 10_000);
  t.equal(approval.response_code, '00', 'the host approved the sale whose answer was lost');

  // Restart: recovery replays the journal; the advice the dead run left goes out.
  sw = await startChild(dataDir, args);
  const reversal = await until('the advice after the restart', () => readSettlement(simDir).find((r) => r.mti === '0420' && r.rrn === rrn));
  t.equal(reversal.response_code, '00', 'the host undid the approval');
  await until('the advice settled in the journal', () => (journal(dataDir).some((r) => r.rrn === rrn && r.type === 'advice-delivered') ? true : undefined));
  await sleep(2500);
  const atHost = readSettlement(simDir).filter((r) => r.rrn === rrn);
  const net = atHost.reduce((sum, r) => sum + (r.mti === '0420' ? (r.response_code === '00' ? -Number(r.amount) : 0) : Number(r.amount)), 0);
  t.equal(net, 0, "the host's settlement nets to nothing for the sale, as posp's journal has no approval of it");
  t.equal(atHost.filter((r) => r.mti === '0420').length, 1, 'one advice, not repeated after it was taken');
  t.same(journal(dataDir).filter((r) => r.rrn === rrn).map((r) => r.type), ['host-request', 'advice-delivered'], 'journal: the request leg, then its advice delivered');
});
