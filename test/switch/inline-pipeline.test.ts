import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import t from 'tap';
import { SimTerminal } from '../../src/loadgen/index.js';
import { DEMO, demoPan, demoTid } from '../../src/store/index.js';
import { DEFAULTS, startSwitch } from '../../src/switch/index.js';
import { suiteLogging } from '../suite-log.js';

const logging = suiteLogging('inline-pipeline');

t.test('--workers 0 runs the same pipeline on the acceptor thread', async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'posp-inline-'));
  const sw = await startSwitch({ ...DEFAULTS, dataDir, posPort: 0, adminPort: 0, demo: true, workers: 0, ...logging.config }, logging.log);
  t.teardown(async () => {
    await sw.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  const term = new SimTerminal({ host: '127.0.0.1', port: sw.posPort, tid: demoTid(90), mid: DEMO.mid, tmk: DEMO.tmk });
  await term.connect();
  t.teardown(() => term.close());
  t.equal((await term.signIn('004')).text(39), '00', 'sign-in');
  const card = { pan: demoPan(9090), expiry: DEMO.expiry, pin: DEMO.pin };
  const balance = async () => Number((await term.request(term.balanceInquiry(card))).text(54)!.slice(8));
  const opening = await balance();
  const sale = term.sale(card, 2_500);
  const sold = await term.request(sale);
  t.equal(sold.text(39), '00', 'sale');
  t.equal(await balance(), opening - 2_500);
  const replay = await term.sendRaw(term.pack(sale));
  t.equal(replay.text(37), sold.text(37), 'retransmission replays the answer');
  t.equal((await term.request(term.saleVoid(term.receipt(sale, sold, 'sale')))).text(39), '00', 'void');
  t.equal(await balance(), opening, 'void restored the balance');
  const sale2 = term.sale(card, 700);
  t.equal((await term.request(sale2)).text(39), '00');
  t.equal((await term.request(term.reversal(sale2))).text(39), '00', 'reversal');
  t.equal(await balance(), opening, 'reversal restored the balance');
  t.equal((await term.request(term.sale({ ...card, pin: '000000' }, 100))).text(39), '55', 'wrong PIN');

  // Garbage closes that connection only.
  const closed = await new Promise<boolean>((resolve) => {
    const s = net.connect(sw.posPort, '127.0.0.1', () => s.write(Buffer.from('000512345678ff', 'hex')));
    s.on('close', () => resolve(true));
    s.on('error', () => undefined);
  });
  t.ok(closed, 'an undecodable frame closes its connection');
  t.equal((await term.request(term.echo())).text(39), '00', 'other terminals carry on');
});
