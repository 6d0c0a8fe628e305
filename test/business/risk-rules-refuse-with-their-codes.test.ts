/**
 * Legality checks and risk rules against the switch's pipeline and book in process (real LMDB and
 * SQLite, no sockets): each code of the issue (15 PAN length and unknown BIN, 13 currency, 14 Luhn,
 * 61 single and daily limits and card amount velocity, 65 card count velocity, 57 category hours
 * and restrictions, 04/41/43/05 blacklists, 75 after three wrong PINs until the next business day),
 * each refusal by a rule journalled with the rule's id, and a rule removed no longer refusing.
 */
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { TerminalMessage } from '../../src/codec/index.js';
import { SecurityModule, loadLmk } from '../../src/security/index.js';
import type { JournalEntry } from '../../src/store/index.js';
import { dayAfter, maskPan, type RiskRule } from '../../src/txn/index.js';
import { DEMO, card, luhnPan, signedIn } from '../switch/harness.js';
import { startStoppable, type StoppableDemo } from './business-harness.js';

const demo = await startStoppable(t);
const hsm = new SecurityModule(loadLmk({ file: join(demo.dataDir, 'lmk.key') }));

/** Sets (or with null removes) a rule through the book's control channel; a refusal fails the set-up. */
async function setRule(sw: StoppableDemo, id: string, rule: Omit<RiskRule, 'id'> | null): Promise<void> {
  const result = await sw.sw.control({ kind: 'reference', table: 'riskRules', key: id, value: rule === null ? null : { id, ...rule } });
  if ('refused' in result) throw new Error(`rule ${id} refused: ${result.refused}`);
}

/** A rule in force for one subtest, removed when it ends (unless the subtest removed it). */
async function ruleFor(t: Test, id: string, rule: Omit<RiskRule, 'id'>, sw = demo): Promise<void> {
  await setRule(sw, id, rule);
  t.teardown(async () => {
    sw.sw.state.refresh();
    if (sw.sw.state.riskRules.get(id) !== undefined) await setRule(sw, id, null);
  });
}

/** The journal entry that answered `res` (by its RRN). */
function journalled(res: TerminalMessage, sw = demo): JournalEntry | undefined {
  return sw.sw.durable.find((e) => e.rrn === res.text(37) && e.type !== 'host-request');
}

/** `HH:MM` `hours` from now, local time. */
function hoursFromNow(hours: number): string {
  const d = new Date(Date.now() + hours * 3_600_000);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

t.test('15: a card number of a length its issuer does not issue, and a BIN nobody issues', async (t) => {
  const term = await signedIn(t, demo, 0);
  const short = luhnPan(DEMO.onUsBin, 7, 12);
  t.equal((await term.request(term.sale({ pan: short, expiry: DEMO.expiry }, 100))).text(39), '15', 'a 12-digit card of the on-us BIN: below ISO/IEC 7812');
  t.equal((await term.request(term.sale({ pan: luhnPan('411111', 1, 16), expiry: DEMO.expiry }, 100))).text(39), '15', 'an unknown BIN');
  const bin = { prefix: '955500', issuer: 'NINETEEN BANK', organisation: 'CUP', onUs: false, domestic: true, panLength: 19 };
  t.notOk('refused' in (await demo.sw.control({ kind: 'reference', table: 'bins', key: bin.prefix, value: bin })), 'a BIN whose cards have 19 digits');
  t.equal((await term.request(term.sale({ pan: luhnPan('955500', 1, 16), expiry: DEMO.expiry }, 100))).text(39), '15', 'its 16-digit card: 15');
  t.equal((await term.request(term.sale({ pan: luhnPan('955500', 1, 19), expiry: DEMO.expiry }, 100))).text(39), '91', 'its 19-digit card passes the check (and finds no route)');
  t.equal((await term.request(term.sale({ pan: luhnPan(DEMO.onUsBin, 7, 15).replace(/.$/, (d) => String((Number(d) + 1) % 10)), expiry: DEMO.expiry }, 100))).text(39), '14', 'a Luhn failure stays 14');
});

t.test('13: a currency other than CNY', async (t) => {
  const term = await signedIn(t, demo, 1);
  const res = await term.request(term.sale(card(101), 100).set(49, '840'));
  t.equal(res.text(39), '13', 'USD: 13');
  t.equal((await term.request(term.sale(card(101), 100))).text(39), '00', 'CNY: approved');
});

t.test("61: a sale above the merchant's single limit, by MID or by category", async (t) => {
  const term = await signedIn(t, demo, 2);
  await ruleFor(t, 'single-demo', { kind: 'merchant-single-limit', mid: DEMO.mid, maxAmount: 50_000 });
  const above = await term.request(term.sale(card(201), 50_001));
  t.equal(above.text(39), '61', '500.01 over a 500.00 limit');
  t.equal(journalled(above)?.riskRule, 'single-demo', 'journalled with the rule id');
  t.equal((await term.request(term.sale(card(201), 50_000))).text(39), '00', 'the limit itself: approved');
  t.equal((await term.request(term.balanceInquiry(card(201)))).text(39), '00', 'an inquiry carries no amount');
  await ruleFor(t, 'single-grocers', { kind: 'merchant-single-limit', mcc: '5411', maxAmount: 20_000 });
  const byCategory = await term.request(term.sale(card(201), 30_000));
  t.equal(byCategory.text(39), '61', "the category's lower limit");
  t.equal(journalled(byCategory)?.riskRule, 'single-grocers');
});

t.test('57: a sale outside its category hours; inside them, approved', async (t) => {
  const term = await signedIn(t, demo, 3);
  await ruleFor(t, 'grocers-hours', { kind: 'mcc-window', mcc: '5411', from: hoursFromNow(2), to: hoursFromNow(3) });
  const outside = await term.request(term.sale(card(301), 100));
  t.equal(outside.text(39), '57', 'outside the window');
  t.equal(journalled(outside)?.riskRule, 'grocers-hours');
  await setRule(demo, 'grocers-hours', { kind: 'mcc-window', mcc: '5411', from: hoursFromNow(-1), to: hoursFromNow(1) });
  t.equal((await term.request(term.sale(card(301), 100))).text(39), '00', 'the window moved over now: approved');
  await setRule(demo, 'grocers-hours', { kind: 'mcc-window', mcc: '7995', from: hoursFromNow(2), to: hoursFromNow(3) });
  t.equal((await term.request(term.sale(card(301), 100))).text(39), '00', "another category's window does not apply");
});

t.test('57: a card of a BIN or type its merchant category may not take', async (t) => {
  const term = await signedIn(t, demo, 4);
  await ruleFor(t, 'no-622588-groceries', { kind: 'mcc-restriction', mccs: ['5999', '5411'], bin: '622588' });
  const byBin = await term.request(term.sale(card(401), 100));
  t.equal(byBin.text(39), '57', 'by BIN');
  t.equal(journalled(byBin)?.riskRule, 'no-622588-groceries');
  t.equal((await term.request(term.balanceInquiry(card(401)))).text(39), '00', 'an inquiry is no spend');
  await setRule(demo, 'no-622588-groceries', { kind: 'mcc-restriction', mccs: ['5411'], cardType: 'foreign' });
  t.equal((await term.request(term.sale(card(401), 100))).text(39), '00', 'foreign cards only: a domestic card passes');
  await setRule(demo, 'no-622588-groceries', { kind: 'mcc-restriction', mccs: ['5411'], cardType: 'domestic' });
  t.equal((await term.request(term.sale(card(401), 100))).text(39), '57', 'by card type');
});

t.test('65 and 61: per-card daily count and amount, other cards unaffected', async (t) => {
  const term = await signedIn(t, demo, 5);
  await ruleFor(t, 'three-a-day', { kind: 'card-daily-count', maxCount: 3, bin: '622588' });
  for (let i = 0; i < 3; i++) t.equal((await term.request(term.sale(card(501), 100))).text(39), '00', `sale ${i + 1} of 3`);
  const fourth = await term.request(term.sale(card(501), 100));
  t.equal(fourth.text(39), '65', 'the fourth: 65');
  t.equal(journalled(fourth)?.riskRule, 'three-a-day', 'journalled with the rule id, by the book');
  t.equal((await term.request(term.sale(card(502), 100))).text(39), '00', 'another card still sells');
  await setRule(demo, 'three-a-day', null);

  await ruleFor(t, 'card-5000', { kind: 'card-daily-amount', maxAmount: 5_000 });
  t.equal((await term.request(term.sale(card(503), 3_000))).text(39), '00', '3000 of 5000');
  const over = await term.request(term.sale(card(503), 2_001));
  t.equal(over.text(39), '61', '2001 more would make 5001');
  t.equal(journalled(over)?.riskRule, 'card-5000');
  t.equal((await term.request(term.sale(card(503), 2_000))).text(39), '00', 'exactly 5000');
  t.equal((await term.request(term.preAuth(card(503), 1))).text(39), '61', 'a pre-auth is a spend too');
  t.equal((await term.request(term.balanceInquiry(card(503)))).text(39), '00', 'an inquiry is not');
});

t.test('04, 41, 43, 05: blacklisted cards answer the code of their rule; terminals and merchants 05', async (t) => {
  const term = await signedIn(t, demo, 6);
  const cards = [card(601), card(602), card(603), card(604)];
  for (const [i, code] of ['04', '41', '43', '05'].entries()) {
    const pan = cards[i].pan;
    await ruleFor(t, `hot-${code}`, { kind: 'card-blacklist', code, values: [hsm.panToken(pan)], cards: [maskPan(pan)] });
    const res = await term.request(term.sale(cards[i], 100));
    t.equal(res.text(39), code, `card on rule hot-${code}: ${code}`);
    t.equal(journalled(res)?.riskRule, `hot-${code}`, 'journalled with the rule id');
  }
  t.equal((await term.request(term.balanceInquiry(cards[1]))).text(39), '41', 'an inquiry of a listed card too');
  t.equal((await term.request(term.sale(card(605), 100))).text(39), '00', 'a card not listed sells');

  await ruleFor(t, 'bad-terminal', { kind: 'terminal-blacklist', values: [term.tid] });
  const byTerminal = await term.request(term.sale(card(605), 100));
  t.equal(byTerminal.text(39), '05', 'a listed terminal: 05');
  t.equal(journalled(byTerminal)?.riskRule, 'bad-terminal');
  const other = await signedIn(t, demo, 7);
  t.equal((await other.request(other.sale(card(605), 100))).text(39), '00', 'the same merchant, another terminal: approved');
  await setRule(demo, 'bad-terminal', null);

  await ruleFor(t, 'bad-merchant', { kind: 'merchant-blacklist', values: [DEMO.mid] });
  const byMerchant = await other.request(other.sale(card(605), 100));
  t.equal(byMerchant.text(39), '05', 'a listed merchant: 05');
  t.equal(journalled(byMerchant)?.riskRule, 'bad-merchant');
  await setRule(demo, 'bad-merchant', null);
  t.equal((await other.request(other.sale(card(605), 100))).text(39), '00', 'rule removed: approved again');
});

t.test('75: after three wrong PINs a day, every request of the card until the next business day', async (t) => {
  const term = await signedIn(t, demo, 8);
  const right = card(801);
  const wrong = { ...right, pin: '000000' };
  for (let i = 1; i <= 3; i++) t.equal((await term.request(term.sale(wrong, 100))).text(39), '55', `wrong PIN ${i}: 55`);
  const locked = await term.request(term.sale(right, 100));
  t.equal(locked.text(39), '75', 'the right PIN after three wrong ones: 75');
  t.equal(journalled(locked)?.riskRule, 'default-pin-tries', 'journalled with the built-in rule');
  t.equal((await term.request(term.balanceInquiry(right))).text(39), '75', 'a balance inquiry: 75');
  t.equal((await term.request(term.sale(wrong, 100))).text(39), '75', 'another wrong PIN: 75');
  t.equal((await term.request(term.sale(card(802), 100))).text(39), '00', 'another card is not locked');

  await ruleFor(t, 'five-tries', { kind: 'pin-tries', maxTries: 5 });
  t.equal((await term.request(term.sale(right, 100))).text(39), '00', 'a rule allowing five tries: the card sells again');
  await setRule(demo, 'five-tries', null);
  t.equal((await term.request(term.sale(right, 100))).text(39), '75', 'back to three');

  const next = dayAfter(demo.sw.businessDate);
  t.notOk('refused' in (await demo.sw.control({ kind: 'business-date', date: next })), `cut over to ${next}`);
  t.equal((await term.request(term.sale(right, 100))).text(39), '00', 'the next business day: approved');
});

t.test('a merchant day past its limit: 61, counting every terminal of the merchant', async (t) => {
  const fresh = await startStoppable(t);
  const a = await signedIn(t, fresh, 10);
  const b = await signedIn(t, fresh, 11);
  await ruleFor(t, 'demo-day', { kind: 'merchant-daily-limit', mid: DEMO.mid, maxAmount: 10_000 }, fresh);
  const first = a.sale(card(1001), 6_000);
  const firstRes = await a.request(first);
  t.equal(firstRes.text(39), '00', '6000 at one terminal');
  const over = await b.request(b.sale(card(1002), 5_000));
  t.equal(over.text(39), '61', '5000 more at another terminal would make 11000');
  t.equal(journalled(over, fresh)?.riskRule, 'demo-day');
  t.equal((await b.request(b.sale(card(1002), 4_000))).text(39), '00', 'exactly 10000');
  t.equal((await a.request(a.sale(card(1003), 1))).text(39), '61', 'nothing more today');
  t.equal((await a.request(a.refund(a.receipt(first, firstRes, 'sale'), 1_000))).text(39), '00', 'a refund is no spend: approved');
  t.equal((await a.request(a.sale(card(1003), 1))).text(39), '61', 'and gives nothing back to the day');
});
