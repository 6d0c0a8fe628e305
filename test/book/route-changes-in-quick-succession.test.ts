/**
 * Two route changes that follow each other faster than LMDB applies them both reach the workers:
 * a worker keeps the rules by the book's notices, in order, rather than re-reading LMDB (which may
 * not have the first change yet when the second is announced).
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimTerminal } from '../../src/loadgen/index.js';
import { DEMO, DEMO_OFF_US_ROUTE, demoOffUsPan, demoTid } from '../../src/store/index.js';
import { DEFAULTS, startSwitch } from '../../src/switch/index.js';
import { suiteLogging } from '../suite-log.js';

const logging = suiteLogging('route-changes-in-quick-succession');

t.test('back-to-back route changes are both in force in a worker before LMDB has applied them', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'posp-routes-quick-'));
  // LMDB applies at most every 2 s here, so the second notice comes before the first change is in LMDB.
  const sw = await startSwitch({ ...DEFAULTS, dataDir, posPort: 0, adminPort: 0, demo: true, workers: 1, ...logging.config, applyIntervalMs: 2000 }, logging.log);
  const term = new SimTerminal({ host: '127.0.0.1', port: sw.posPort, tid: demoTid(41), mid: DEMO.mid, tmk: DEMO.tmk });
  t.teardown(async () => {
    term.close();
    await sw.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  await term.connect();
  t.equal((await term.signIn()).text(39), '00', 'signed in');
  const card = { pan: demoOffUsPan(1), expiry: DEMO.expiry, pin: DEMO.pin };
  t.equal((await term.request(term.sale(card, 5000))).text(39), '91', 'the demo route sends BIN 621700 to link sim, which is not configured: 91');
  const [first, second] = await Promise.all([
    sw.control({ kind: 'reference', table: 'routes', key: DEMO_OFF_US_ROUTE, value: { match: { binPrefix: DEMO.offUsBin }, to: { reject: '57' } } }),
    sw.control({ kind: 'reference', table: 'routes', key: 'visa', value: { match: { binPrefix: '4' }, to: { reject: '58' } } }),
  ]);
  t.match([first, second], [{ seq: Number }, { seq: Number }], 'both changes durable');
  t.equal((await term.request(term.sale(card, 5000))).text(39), '57', 'the first change is in force after the second');
});
