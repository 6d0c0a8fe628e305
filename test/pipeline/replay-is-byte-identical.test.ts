/**
 * PROTOCOL.md section 8: a byte-identical resend gets the first answer again. Found by a terminal
 * client built on another ISO 8583 library: a resent 0400 got F44 and F63 (and so another F64)
 * that the first 0410 did not carry. Every replayed answer, of every type, approved or declined,
 * must be the first answer byte for byte, also after the business date has moved on. And F60 is
 * n..19 (the section 5 MAC vector carries 19 digits). In process: the real pipeline and book.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { decodeTerminalFrame, type TerminalMessage } from '../../src/codec/index.js';
import { SimTerminal } from '../../src/loadgen/index.js';
import { DEMO, demoPan, demoTid } from '../../src/store/index.js';
import { InProcessSwitch } from '../../src/switch/index.js';
import { luhnCheckDigit } from '../../src/txn/index.js';
import { TEST_CARDS } from '../switch/harness.js';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'posp-replay-'));
const sw = await InProcessSwitch.open({ dataDir, demo: true, demoCards: TEST_CARDS, businessDate: '20261124' });
t.teardown(async () => {
  await sw.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});
const term = new SimTerminal({ host: '', port: 0, transport: sw, tid: demoTid(0), mid: DEMO.mid, tmk: DEMO.tmk });
t.equal((await term.signIn()).text(39), '00', 'signed in');
const card = (n: number, pin: string = DEMO.pin) => ({ pan: demoPan(n), expiry: DEMO.expiry, pin });

/** Sends the packed request twice; returns both answers' bytes. */
async function twice(req: TerminalMessage): Promise<{ first: Buffer; again: Buffer; res: TerminalMessage }> {
  const frame = term.pack(req);
  const first = (await sw.inject(frame))!;
  const again = (await sw.inject(frame))!;
  return { first, again, res: decodeTerminalFrame(first, 0, first.length, true) };
}

const cases: [string, () => TerminalMessage, string][] = [];
const sale = term.sale(card(11), 1_500);
cases.push(['approved sale', () => sale, '00']);
cases.push(['its reversal (a 0400 reads no card: no F44/F63 in either answer)', () => term.reversal(sale), '00']);
cases.push(['reversal of an original never seen', () => term.reversal(term.sale(card(12), 900)), '00']);
cases.push(['balance inquiry', () => term.balanceInquiry(card(13)), '00']);
cases.push(['pre-auth', () => term.preAuth(card(14), 3_000), '00']);
cases.push(['sale with a wrong PIN', () => term.sale(card(15, '999999'), 700), '55']);
const badLuhn = demoPan(16).slice(0, 15) + String((Number(demoPan(16)[15]) + 1) % 10);
cases.push(['sale with a Luhn-invalid card (declined before its BIN is known)', () => term.sale({ pan: badLuhn, expiry: DEMO.expiry }, 800), '14']);
const unknownBin = '999999' + '000000001';
cases.push(['sale of an unknown BIN', () => term.sale({ pan: unknownBin + luhnCheckDigit(unknownBin), expiry: DEMO.expiry }, 800), '15']);

for (const [name, build, code] of cases) {
  t.test(`${name}: the resend is answered with the same bytes`, async (t) => {
    const { first, again, res } = await twice(build());
    t.equal(res.text(39), code, `first answer ${code}`);
    t.equal(again.toString('hex'), first.toString('hex'), 'byte for byte');
  });
}

t.test('a void and a refund replay byte for byte', async (t) => {
  const req = term.sale(card(21), 2_000);
  const res = await term.request(req);
  t.equal(res.text(39), '00');
  const receipt = term.receipt(req, res, 'sale');
  const refund = await twice(term.refund(receipt, 500));
  t.equal(refund.res.text(39), '00');
  t.equal(refund.again.toString('hex'), refund.first.toString('hex'), 'refund');
  const other = term.sale(card(22), 2_000);
  const voided = await twice(term.saleVoid(term.receipt(other, await term.request(other), 'sale')));
  t.equal(voided.res.text(39), '00');
  t.equal(voided.again.toString('hex'), voided.first.toString('hex'), 'void');
});

t.test('after the business date moves on, an earlier answer replays unchanged (its F15 too)', async (t) => {
  const req = term.sale(card(31), 1_100);
  const frame = term.pack(req);
  const first = (await sw.inject(frame))!;
  t.equal(decodeTerminalFrame(first, 0, first.length, true).text(15), '1124', 'F15 of the first day');
  t.match(await sw.control({ kind: 'business-date', date: '20261125' }), { seq: Number });
  const again = (await sw.inject(frame))!;
  t.equal(again.toString('hex'), first.toString('hex'), 'byte for byte');
  const next = await term.request(term.sale(card(32), 100));
  t.equal(next.text(15), '1125', 'a new sale settles on the new day');
});

t.test('F60 of 19 digits is accepted and echoed as received', async (t) => {
  const req = term.sale(card(41), 600);
  const f60 = req.text(60)! + '0'.repeat(19 - req.text(60)!.length);
  t.equal(f60.length, 19);
  req.set(60, f60);
  const res = await term.request(req);
  t.equal(res.text(39), '00', 'not a format error');
  t.equal(res.text(60), f60, 'echoed');
});
