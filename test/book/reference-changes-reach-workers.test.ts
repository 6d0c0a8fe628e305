/**
 * A reference change made through the book's control channel reaches every worker as soon as its
 * entry is durable: the book sends a notice behind the replies on each worker's ring. A worker
 * that holds the terminal (signed in, keys loaded) sees its new status on the very next request,
 * with no cache to wait out, whether the pipeline runs on a worker thread or on the acceptor's.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { SimTerminal } from '../../src/loadgen/index.js';
import { DEMO, StateStore, demoPan, demoTid, merchantAccountId } from '../../src/store/index.js';
import { DEFAULTS, startSwitch } from '../../src/switch/index.js';
import { suiteLogging } from '../suite-log.js';

const logging = suiteLogging('reference-changes-reach-workers');

const card = { pan: demoPan(4321), expiry: DEMO.expiry, pin: DEMO.pin };

for (const workers of [1, 0]) {
  t.test(`${workers === 0 ? 'inline pipeline' : 'worker thread'}: a suspended terminal is refused at once, and reinstated at once`, async (t) => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'posp-reference-'));
    const sw = await startSwitch({ ...DEFAULTS, dataDir, posPort: 0, adminPort: 0, demo: true, workers, ...logging.config }, logging.log);
    t.teardown(async () => {
      await sw.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });
    const tid = demoTid(77);
    const term = new SimTerminal({ host: '127.0.0.1', port: sw.posPort, tid, mid: DEMO.mid, tmk: DEMO.tmk });
    await term.connect();
    t.teardown(() => term.close());
    t.equal((await term.signIn()).text(39), '00', 'signed in: the worker holds the terminal');
    t.equal((await term.request(term.sale(card, 100))).text(39), '00', 'a sale while active');

    t.match(await sw.control({ kind: 'reference', table: 'terminals', key: tid, value: { status: 'suspended' } }), { seq: Number });
    t.equal((await term.request(term.sale(card, 100))).text(39), '58', 'the next sale: 58, not permitted to the terminal');
    t.equal((await term.request(term.echo())).text(39), '58', 'every request of a suspended terminal');

    t.match(await sw.control({ kind: 'reference', table: 'terminals', key: tid, value: { status: 'active' } }), { seq: Number });
    t.equal((await term.request(term.sale(card, 100))).text(39), '00', 'reinstated: approved again, its session and keys kept');

    t.match(await sw.control({ kind: 'reference', table: 'merchants', key: DEMO.mid, value: { name: 'RENAMED STORE' } }), { seq: Number });
    t.equal((await term.request(term.sale(card, 100))).text(39), '00', 'a merchant renamed: still approved (its account and status kept)');
    t.match(await sw.control({ kind: 'reference', table: 'merchants', key: DEMO.mid, value: { status: 'suspended' } }), { seq: Number });
    t.equal((await term.request(term.sale(card, 100))).text(39), '03', 'a suspended merchant: 03 on the next sale');

    // LMDB took the changed fields over the records it had: nothing else of them was lost.
    await sw.close();
    const state = new StateStore(dataDir);
    t.teardown(() => state.close());
    const terminal = state.terminals.get(tid)!;
    t.equal(terminal.status, 'active');
    t.equal(terminal.signedIn, true, 'the session kept');
    t.ok(Buffer.isBuffer(terminal.tmk) && terminal.tmk.length > 0, 'the TMK kept');
    t.equal(state.merchants.get(DEMO.mid)?.name, 'RENAMED STORE', 'the merchant keeps its new name');
    t.equal(state.merchants.get(DEMO.mid)?.account, merchantAccountId(DEMO.mid), 'and its account');
    t.equal(state.merchants.get(DEMO.mid)?.status, 'suspended');
  });
}
