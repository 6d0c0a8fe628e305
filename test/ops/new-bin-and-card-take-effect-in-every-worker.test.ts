/**
 * A card BIN and an on-us card created through the admin API are in force in every pipeline worker
 * within a second, without a restart: a card number both workers refused as of no known issuer
 * (15) is approved on each after the BIN and the card are added, debiting the account the card was
 * opened with; its PIN is checked against the verifier the security module made; lost, it answers
 * 41 on both. The card number is masked in every answer and never in the switch's log.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import t from 'tap';
import { SimTerminal } from '../../src/loadgen/index.js';
import { DEMO, demoTid } from '../../src/store/index.js';
import { luhnCheckDigit, maskPan } from '../../src/txn/index.js';
import { eventually, startApiSwitch } from './api-harness.js';

const WORKERS = 2;
const BIN = '623501';
const body = `${BIN}000000042`;
const PAN = body + luhnCheckDigit(body);
const PIN = '2468';
const OPENING = 10_000;

/** The pipeline worker the acceptor gives a terminal's frames to (FNV-1a of F41, src/channels/acceptor.ts). */
function workerOf(tid: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < tid.length; i++) hash = Math.imul(hash ^ tid.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % WORKERS;
}

t.test('a new BIN and card are in force in every worker at once', async (t) => {
  let logged = '';
  const log = pino({ level: 'trace' }, new Writable({ write: (chunk, _enc, done) => ((logged += String(chunk)), done()) }));
  const { sw, api, tokenOf } = await startApiSwitch(t, { workers: WORKERS }, log);
  const operator = await tokenOf('operator');

  // One terminal on each worker.
  const tids = Array.from({ length: WORKERS }, (_, w) => Array.from({ length: 100 }, (_, n) => demoTid(n)).find((tid) => workerOf(tid) === w)!);
  const terminals: SimTerminal[] = [];
  for (const tid of tids) {
    const term = new SimTerminal({ host: '127.0.0.1', port: sw.posPort, tid, mid: DEMO.mid, tmk: DEMO.tmk });
    await term.connect();
    t.teardown(() => term.close());
    t.equal((await term.signIn()).text(39), '00', `terminal ${tid} (worker ${workerOf(tid)}) signed in`);
    terminals.push(term);
  }
  const card = { pan: PAN, expiry: '3012', pin: PIN };
  const sell = (term: SimTerminal, amount: number, pin = PIN) => term.request(term.sale({ ...card, pin }, amount)).then((m) => m.text(39));
  for (const term of terminals) t.equal(await sell(term, 100), '15', `worker ${workerOf(term.options.tid)}: no issuer for BIN ${BIN} yet (and it has cached that)`);

  t.match(await api('PUT', `/api/v1/cards/${PAN}`, { expiry: '3012', pin: PIN }), { status: 400, body: { error: `no card BIN matches ${maskPan(PAN)}` } }, 'no card before its BIN');
  t.equal((await api('PUT', `/api/v1/bins/${BIN}`, { issuer: 'POSP BANK 2', organisation: 'CUP', onUs: true, domestic: true })).status, 200, 'the BIN added');
  const bad = PAN.slice(0, -1) + ((Number(PAN.at(-1)) + 1) % 10);
  t.match(await api('PUT', `/api/v1/cards/${bad}`, { expiry: '3012', pin: PIN }), { status: 400, body: { error: /fails its Luhn check/ } }, 'a number failing its Luhn check');
  const offUs = `${DEMO.offUsBin}000000042`;
  t.match(await api('PUT', `/api/v1/cards/${offUs + luhnCheckDigit(offUs)}`, { expiry: '3012', pin: PIN }), { status: 400, body: { error: /BIN 621700 is not on-us/ } }, 'a card of an off-us BIN');
  t.match(await api('PUT', `/api/v1/cards/${PAN}`, { expiry: '3012', pin: '12' }), { status: 400, body: { error: 'pin must be 4–12 digits' } }, 'a PIN too short');
  t.match(await api('PUT', `/api/v1/cards/${PAN}`, { expiry: '3012', pin: PIN, openingBalance: -5 }), { status: 400, body: { error: /^openingBalance must be a whole number of fen/ } }, 'a negative opening balance');
  t.match(await api('PUT', `/api/v1/cards/${PAN}`, { expiry: '1213', pin: PIN }), { status: 400, body: { error: 'expiry must be YYMM, got "1213"' } }, 'a bad expiry');
  t.equal((await api('PUT', `/api/v1/cards/${PAN}`, { expiry: '3012', pin: PIN }, operator)).status, 403, 'an operator may not create cards');

  const created = await api('PUT', `/api/v1/cards/${PAN}`, { expiry: '3012', pin: PIN, openingBalance: OPENING });
  t.equal(created.status, 200, 'the card created');
  t.match(created.body, { card: { pan: maskPan(PAN), expiry: '3012', status: 'active', account: /^card:[0-9a-f]{32}$/ }, account: { kind: 'card', balance: OPENING, held: 0, opening: OPENING } }, 'with its account, opened with the opening balance');
  const account = created.body.card.account as string;
  t.equal((await api('PUT', `/api/v1/cards/${PAN}`, { expiry: '3012', pin: PIN })).status, 409, 'creating it again: 409');

  const addedAt = Date.now();
  for (const term of terminals) {
    let code: string | undefined;
    while ((code = await sell(term, 2_000)) !== '00' && Date.now() - addedAt < 1000) await new Promise((r) => setTimeout(r, 20));
    t.equal(code, '00', `worker ${workerOf(term.options.tid)}: the card is approved within a second (${Date.now() - addedAt} ms)`);
  }
  t.equal(await sell(terminals[0], 100, '1111'), '55', 'a wrong PIN: 55 (the verifier is of the PIN given)');
  t.ok(await eventually(async () => (await api('GET', `/api/v1/accounts/${account}`)).body.balance === OPENING - 2 * 2_000), 'two sales debited the account');
  t.same((await api('GET', `/api/v1/accounts/${account}`)).body, { id: account, kind: 'card', balance: OPENING - 4_000, held: 0, currency: '156', opening: OPENING, available: OPENING - 4_000 }, "the account's balance, holds and opening");

  const read = await api('GET', `/api/v1/cards/${PAN}`, undefined, await tokenOf('viewer'));
  t.same(read.body, { pan: maskPan(PAN), expiry: '3012', status: 'active', account }, 'a viewer reads the card: number masked, no PIN verifier');
  t.match(await api('GET', '/api/v1/cards/62350100000x'), { status: 400, body: { error: /^pan must be 13–19 digits/ } }, 'a malformed number: 400');
  const other = `${BIN}000000043`;
  t.match(await api('GET', `/api/v1/cards/${other + luhnCheckDigit(other)}`), { status: 404, body: { error: `no card ${maskPan(other + luhnCheckDigit(other))}` } }, 'an unknown card: 404, masked');

  t.match(await api('PUT', `/api/v1/cards/${PAN}/status`, { status: 'misplaced' }, operator), { status: 400, body: { error: /^status must be one of active, suspended, closed, lost, stolen/ } }, 'an unknown status');
  const lost = await api('PUT', `/api/v1/cards/${PAN}/status`, { status: 'lost' }, operator);
  t.match(lost, { status: 200, body: { card: { pan: maskPan(PAN), status: 'lost' } } }, 'an operator reports it lost');
  for (const term of terminals) t.equal(await sell(term, 100), '41', `worker ${workerOf(term.options.tid)}: a lost card answers 41`);

  const answers = [created, read, lost].map((a) => a.text).join('\n');
  t.notOk(answers.includes(PAN), 'no answer holds the card number in clear');
  t.notOk(/pinVerifier/.test(answers), 'nor a PIN verifier');
  t.ok(logged.length > 0, 'the switch logged');
  t.notOk(logged.includes(PAN), 'and its log never holds the card number');
});
