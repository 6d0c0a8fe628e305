/**
 * A card's account is opened through the book's control channel: journalled with who asked, and
 * applied to LMDB. The book refuses any change to an account that is open (only postings move a
 * balance). After a crash that left LMDB without the opening, recovery replays the journal and the
 * account and card are back with their opening balance. At day end the account snapshot carries
 * the opening: opening − debits + credits = closing = the balance, and the ledger's audit (balance =
 * opening + postings) finds no account out of line.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { auditLedger } from '../../src/ledger/index.js';
import { SimTerminal } from '../../src/loadgen/index.js';
import { DEMO, StateStore, demoPan, demoTid, entriesOfType } from '../../src/store/index.js';
import { DEFAULTS, startSwitch, type RunningSwitch } from '../../src/switch/index.js';
import { ADMIN_TOKEN, eventually } from './api-harness.js';
import { suiteLogging } from '../suite-log.js';

const logging = suiteLogging('account-opening-is-journalled-and-replayed');

/** An on-us number past the demo's 100,000 cards. */
const PAN = demoPan(200_000);
const OPENING = 50_000;
const SALE = 12_345;

t.test('an account opened through the API is journalled, refused any change, replayed and closed at day end', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'posp-account-opening-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const start = () => startSwitch({ ...DEFAULTS, dataDir, posPort: 0, adminPort: 0, demo: true, workers: 1, ...logging.config, adminToken: ADMIN_TOKEN, cutoverAt: 'off' }, logging.log);
  const api = async (sw: RunningSwitch, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> => {
    const res = await fetch(`http://127.0.0.1:${sw.adminPort}${path}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, body: await res.json() };
  };

  let sw = await start();
  const created = await api(sw, 'PUT', `/api/v1/cards/${PAN}`, { expiry: DEMO.expiry, pin: DEMO.pin, openingBalance: OPENING });
  t.equal(created.status, 200, 'a card created with an opening balance');
  const account = created.body.card.account as string;
  const opened = entriesOfType(dataDir, sw.businessDate, 'reference-change').find((e) => e.effects.reference?.key === account);
  t.same(opened?.effects.reference, { table: 'accounts', key: account, value: { id: account, kind: 'card', balance: OPENING, held: 0, currency: '156', opening: OPENING }, by: 'bootstrap', before: null }, 'the opening is journalled with who asked');
  const cardEntry = entriesOfType(dataDir, sw.businessDate, 'reference-change').find((e) => e.effects.reference?.table === 'cards');
  t.equal(cardEntry?.requestKey, `cards|${PAN.slice(0, 6)}******${PAN.slice(-4)}`, "the card entry's request key has the number masked");

  const refusals: [string, unknown, RegExp][] = [
    ['a new balance', { balance: OPENING * 10 }, /only opens accounts: .* is open, and only postings move its balance/],
    ['the same record again', opened?.effects.reference?.value, /only postings move its balance/],
    ['removal', null, /only postings move its balance/],
  ];
  for (const [what, value, reason] of refusals) {
    const result = await sw.control({ kind: 'reference', table: 'accounts', key: account, value });
    t.match(result, { refused: reason }, `the book refuses ${what} of an open account`);
  }
  t.match(await sw.control({ kind: 'reference', table: 'accounts', key: 'card:fresh1', value: { id: 'card:fresh1', kind: 'card', balance: 5, held: 0, currency: '156', opening: 0 } }), { refused: /balance equal to opening/ }, 'and an account opened with a balance other than its opening');
  t.match((await api(sw, 'GET', `/api/v1/accounts/${account}`)).body, { balance: OPENING, opening: OPENING }, 'the balance unchanged');
  await sw.close();

  // A crash between the journal's fsync and LMDB's write: LMDB has neither the account nor the card.
  const lost = new StateStore(dataDir);
  await lost.root.transaction(() => {
    lost.accounts.remove(account);
    lost.cards.remove(PAN);
    lost.meta.put('appliedSeq', opened!.seq - 1);
  });
  await lost.close();

  sw = await start();
  t.equal(sw.replayed, 2, 'recovery replays the opening and the card');
  t.match((await api(sw, 'GET', `/api/v1/accounts/${account}`)).body, { id: account, kind: 'card', balance: OPENING, held: 0, opening: OPENING }, 'the account is back with its opening balance');
  t.match((await api(sw, 'GET', `/api/v1/cards/${PAN}`)).body, { account, status: 'active' }, 'and the card with it');

  const term = new SimTerminal({ host: '127.0.0.1', port: sw.posPort, tid: demoTid(5), mid: DEMO.mid, tmk: DEMO.tmk });
  await term.connect();
  t.teardown(() => term.close());
  t.equal((await term.signIn()).text(39), '00');
  t.equal((await term.request(term.sale({ pan: PAN, expiry: DEMO.expiry, pin: DEMO.pin }, SALE))).text(39), '00', 'the card sells');
  term.close();

  const day = sw.businessDate;
  t.equal((await api(sw, 'POST', '/api/v1/day-cut', {})).status, 200, 'the day cut over');
  const balances = join(dataDir, 'archive', day, 'balances.csv');
  t.ok(await eventually(() => existsSync(balances), 60_000), 'the back line closed the accounts of the day');
  const row = readFileSync(balances, 'utf8').split('\n').find((line) => line.startsWith(`${account},`));
  t.equal(row, `${account},card,${OPENING},${SALE},0,${OPENING - SALE}`, 'the snapshot: opened with the opening balance, the sale debited, closing at the balance');
  t.match((await api(sw, 'GET', `/api/v1/accounts/${account}`)).body, { balance: OPENING - SALE }, 'the balance the snapshot closed with');
  await sw.close();

  const state = new StateStore(dataDir);
  t.teardown(() => state.close());
  const audit = auditLedger(dataDir, state);
  t.same(audit.mismatches, [], `every account's balance is its opening plus its postings (${audit.accounts} accounts)`);
  t.same(audit.unbalancedEntries, [], 'every entry balances');
});
