import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { SimTerminal } from '../../src/loadgen/index.js';
import { DEMO, StateStore, demoPan, demoTid } from '../../src/store/index.js';
import { DEFAULTS, startSwitch, type SwitchConfig } from '../../src/switch/index.js';
import { suiteLogging } from '../suite-log.js';

const logging = suiteLogging('hold-expiry-and-key-rotation');

function dateAfter(yyyymmdd: string, days: number): string {
  const d = new Date(Date.UTC(Number(yyyymmdd.slice(0, 4)), Number(yyyymmdd.slice(4, 6)) - 1, Number(yyyymmdd.slice(6, 8)) + days));
  return d.toISOString().slice(0, 10).replace(/-/g, '');
}

async function held(dataDir: string, pan: string): Promise<number> {
  const state = new StateStore(dataDir);
  try {
    return state.accounts.get(state.cards.get(pan)!.account)!.held;
  } finally {
    await state.close();
  }
}

t.test('a pre-auth hold is released once it is older than the hold days, and only once', async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'posp-holds-'));
  t.teardown(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const config: SwitchConfig = { ...DEFAULTS, dataDir, posPort: 0, adminPort: 0, demo: true, workers: 1, ...logging.config, holdDays: 30 };
  const pan = demoPan(777);

  let sw = await startSwitch(config, logging.log);
  const term = new SimTerminal({ host: '127.0.0.1', port: sw.posPort, tid: demoTid(70), mid: DEMO.mid, tmk: DEMO.tmk });
  await term.connect();
  await term.signIn('003');
  const res = await term.request(term.preAuth({ pan, expiry: DEMO.expiry, pin: DEMO.pin }, 8_000));
  t.equal(res.text(39), '00', 'pre-auth approved');
  term.close();
  const firstDay = sw.businessDate;

  // 30 days later the hold is still within its days. The sweep runs on request (and at each new day).
  t.match(await sw.control({ kind: 'business-date', date: dateAfter(firstDay, 30) }), { seq: Number });
  t.match(await sw.control({ kind: 'hold-sweep' }), { released: 0 }, 'day 30: nothing released');
  await sw.close();
  t.equal(await held(dataDir, pan), 8_000, 'day 30: still held');

  // 31 days later the sweep releases it, as a journal entry of its own.
  sw = await startSwitch(config, logging.log);
  t.equal(sw.businessDate, dateAfter(firstDay, 30), 'the business date survives a restart');
  t.match(await sw.control({ kind: 'business-date', date: dateAfter(firstDay, 31) }), { seq: Number });
  t.match(await sw.control({ kind: 'hold-sweep' }), { seq: Number }, 'a sweep on day 31');
  await sw.close();
  t.equal(await held(dataDir, pan), 0, 'day 31: released');
  sw = await startSwitch(config, logging.log);
  t.match(await sw.control({ kind: 'hold-sweep' }), { released: 0 }, 'a second sweep releases nothing more');
  await sw.close();
  t.equal(await held(dataDir, pan), 0, 'still released, once');
  const check = new StateStore(dataDir);
  const expired = [...check.txns.getRange()].map(({ value }) => value).filter((r) => r.type === 'pre-auth');
  await check.close();
  t.equal(expired.length, 1);
  t.equal(expired[0].status, 'expired', 'the pre-auth is marked expired');
});

t.test('the response header asks for a new sign-in when the working keys are due for rotation', async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'posp-rotation-'));
  t.teardown(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const sw = await startSwitch({ ...DEFAULTS, dataDir, posPort: 0, adminPort: 0, demo: true, workers: 1, ...logging.config, keyRotationHours: 0 }, logging.log);
  t.teardown(() => sw.close());
  const term = new SimTerminal({ host: '127.0.0.1', port: sw.posPort, tid: demoTid(71), mid: DEMO.mid, tmk: DEMO.tmk });
  await term.connect();
  t.teardown(() => term.close());
  await term.signIn('003');
  await new Promise((r) => setTimeout(r, 5));
  const res = await term.request(term.echo());
  t.equal(res.text(39), '00');
  t.equal(res.header[5], '3', 'processing requirement 3: sign in again');
});
