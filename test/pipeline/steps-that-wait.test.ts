/**
 * A step may answer "pending": the request is parked and resumes at the next step when its answer
 * comes, or ends at its deadline with the type's timeout code. Meanwhile its terminal's later
 * requests wait their turn and other terminals are answered. Runs the real pipeline and book in
 * process, with one extra step in front of the switch's own that waits for sales.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { SimTerminal } from '../../src/loadgen/index.js';
import { PENDING, PROCESSING, type Services, type Step, type TxnContext } from '../../src/pipeline/index.js';
import { DEMO, demoPan, demoTid } from '../../src/store/index.js';
import { InProcessSwitch } from '../../src/switch/index.js';
import { TEST_CARDS } from '../switch/harness.js';

/** Sales wait at the gate for an outside answer (as a host leg will); everything else goes straight on. */
class Gate {
  waiting: { ticket: number; services: Services }[] = [];
  waitMs = 60_000;
  private arrived: (() => void)[] = [];

  readonly step: Step = (s: Services, ctx: TxnContext) => {
    if (ctx.classification?.type !== 'sale') return '';
    this.waiting.push({ ticket: ctx.ticket, services: s });
    for (const notify of this.arrived.splice(0)) notify();
    ctx.waitMs = this.waitMs;
    return PENDING;
  };

  /** A fresh gate for the next test: nothing waiting, sales wait `waitMs`. */
  reset(waitMs = 60_000): void {
    this.waiting = [];
    this.waitMs = waitMs;
  }

  /** Resolves once `n` sales are waiting at the gate. */
  async until(n: number): Promise<void> {
    while (this.waiting.length < n) await new Promise<void>((resolve) => this.arrived.push(resolve));
  }

  open(index: number, code: string): void {
    const w = this.waiting[index];
    w.services.resume(w.ticket, code);
  }
}

const gate = new Gate();
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'posp-wait-'));
const sw = await InProcessSwitch.open({ dataDir, demo: true, demoCards: TEST_CARDS, steps: [gate.step, ...PROCESSING] });
t.teardown(async () => {
  await sw.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});
t.beforeEach(() => gate.reset());

/** Demo terminal `n`, signed in through the harness. */
async function term(n: number): Promise<SimTerminal> {
  const terminal = new SimTerminal({ host: '', port: 0, transport: sw, tid: demoTid(n), mid: DEMO.mid, tmk: DEMO.tmk });
  const res = await terminal.signIn();
  if (res.text(39) !== '00') throw new Error(`sign-in answered ${res.text(39)}`);
  return terminal;
}

const card = (n: number) => ({ pan: demoPan(n), expiry: DEMO.expiry, pin: DEMO.pin });

t.test('a waiting sale resumes at the next step when its answer comes', async (t) => {
  const a = await term(0);
  const answer = a.request(a.sale(card(1), 1_234));
  await gate.until(1);
  gate.open(0, '');
  const res = await answer;
  t.equal(res.text(39), '00', 'approved by the steps after the wait');
  t.match(res.text(37), /^\d{12}$/, 'journalled: the book gave it an RRN');
});

t.test('an answer that ends the request is the response code', async (t) => {
  const a = await term(1);
  const answer = a.request(a.sale(card(2), 500));
  await gate.until(1);
  gate.open(0, '05');
  t.equal((await answer).text(39), '05');
});

t.test("the terminal's next request waits its turn; other terminals are answered meanwhile", async (t) => {
  const a = await term(2);
  const b = await term(3);
  const order: string[] = [];
  const sale = a.request(a.sale(card(3), 700)).then((r) => (order.push('a sale'), r));
  await gate.until(1);
  const echo = a.request(a.echo()).then((r) => (order.push('a echo'), r));
  const other = await b.request(b.balanceInquiry(card(4)));
  order.push('b inquiry');
  t.equal(other.text(39), '00', 'another terminal is not delayed by the wait');
  t.strictSame(order, ['b inquiry'], "the waiting terminal's echo has not been answered before its sale");
  gate.open(0, '');
  t.equal((await sale).text(39), '00');
  t.equal((await echo).text(39), '00');
  t.strictSame(order, ['b inquiry', 'a sale', 'a echo'], 'answers keep the terminal’s order');
});

t.test('at its deadline the request ends with the type’s timeout outcome, and a late answer changes nothing', async (t) => {
  gate.reset(20);
  const a = await term(4);
  const c = card(5);
  const before = sw.state.accounts.get(sw.state.cards.get(c.pan)!.account)!.balance;
  const res = await a.request(a.sale(c, 900));
  t.equal(res.text(39), '98', 'no answer in time: 98');
  gate.open(0, '');
  const next = await a.request(a.echo());
  t.equal(next.text(39), '00', 'the terminal’s turn was passed on');
  sw.state.refresh();
  t.equal(sw.state.accounts.get(sw.state.cards.get(c.pan)!.account)!.balance, before, 'the timed-out sale moved no money');
  const journalled = sw.durable.filter((e) => e.type === 'sale' && e.tid === demoTid(4));
  t.equal(journalled.length, 1, 'the timed-out sale is journalled once');
  t.equal(journalled[0].responseCode, '98');
});
