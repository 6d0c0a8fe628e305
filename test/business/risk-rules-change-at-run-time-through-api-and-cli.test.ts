/**
 * Risk rules as data, changed while the switch runs (the real switch, two workers, over TCP): a rule
 * set through the admin API refuses the very next sale, well within a second, and a replaced or
 * removed rule stops refusing; a rule is replaced whole; bad rules are refused with the reason and
 * change nothing; a card blacklist takes card numbers but keeps only their tokens and masked forms
 * (no answer and no journal entry holds the number); `posp risk` does the same from the command line.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { SimTerminal } from '../../src/loadgen/index.js';
import { DEMO, demoPan, demoTid, entriesOfType } from '../../src/store/index.js';
import { maskPan } from '../../src/txn/index.js';
import { startApiSwitch } from '../ops/api-harness.js';
import { runPosp } from '../switch/harness.js';

const { sw, dataDir, api, tokenOf } = await startApiSwitch(t, { workers: 2 });
const term = new SimTerminal({ host: '127.0.0.1', port: sw.posPort, tid: demoTid(20), mid: DEMO.mid, tmk: DEMO.tmk });
await term.connect();
t.teardown(() => term.close());
if ((await term.signIn()).text(39) !== '00') throw new Error('the terminal did not sign in');
const card = (n: number) => ({ pan: demoPan(n), expiry: DEMO.expiry, pin: DEMO.pin });
const sale = async (n: number, amount = 100): Promise<string | undefined> => (await term.request(term.sale(card(n), amount))).text(39);

t.test('a rule set through the API refuses the next sale within a second; replaced or removed, it stops', async (t) => {
  const viewer = await tokenOf('viewer');
  t.equal((await api('PUT', '/api/v1/risk-rules/single', { kind: 'merchant-single-limit', mid: DEMO.mid, maxAmount: 1_000 }, viewer)).status, 403, 'a viewer may not set rules');
  t.equal(await sale(1, 5_000), '00', 'no rule: 50.00 approved');

  const started = Date.now();
  const set = await api('PUT', '/api/v1/risk-rules/single', { kind: 'merchant-single-limit', mid: DEMO.mid, maxAmount: 1_000 });
  t.match(set, { status: 200, body: { seq: Number, rule: { id: 'single', kind: 'merchant-single-limit', mid: DEMO.mid, maxAmount: 1_000 } } }, 'set');
  t.equal(await sale(1, 5_000), '61', 'the next sale: 61');
  const took = Date.now() - started;
  t.ok(took < 1_000, `in force within a second of asking (${took} ms)`);
  t.same((await api('GET', '/api/v1/risk-rules', undefined, viewer)).body, { rules: [set.body.rule] }, 'a viewer reads it');

  t.equal((await api('PUT', '/api/v1/risk-rules/single', { kind: 'merchant-single-limit', mid: DEMO.mid, maxAmount: 10_000 })).status, 200, 'raised to 100.00');
  t.equal(await sale(1, 5_000), '00', 'approved again');
  const replaced = await api('PUT', '/api/v1/risk-rules/single', { kind: 'card-daily-count', maxCount: 1, code: '65' });
  t.same(replaced.body.rule, { id: 'single', kind: 'card-daily-count', maxCount: 1, code: '65' }, 'replaced whole: nothing of the limit it was');
  t.equal(await sale(2), '00', 'a fresh card: its first sale');
  t.equal(await sale(2), '65', 'its second: 65');
  t.equal((await api('DELETE', '/api/v1/risk-rules/single')).status, 200, 'removed');
  t.equal(await sale(2), '00', 'approved again');
  t.match(await api('GET', '/api/v1/risk-rules/single', undefined, viewer), { status: 404, body: { error: 'no risk rule single' } });

  const refusals = entriesOfType(dataDir, sw.businessDate, 'sale').filter((e) => e.riskRule !== '');
  t.same(refusals.map((e) => [e.responseCode, e.riskRule]), [['61', 'single'], ['65', 'single']], 'each refusal journalled with the rule id');
});

t.test('bad rules are refused with the reason and change nothing', async (t) => {
  const bad: [string, unknown, RegExp][] = [
    ['an unknown kind', { kind: 'velocity' }, /^kind must be one of merchant-single-limit, merchant-daily-limit, /],
    ['a missing parameter', { kind: 'card-daily-count' }, /^a card-daily-count rule needs maxCount$/],
    ["another kind's field", { kind: 'card-daily-count', maxCount: 3, mid: DEMO.mid }, /^a card-daily-count rule has no mid: it has maxCount, bin\?$/],
    ['both MID and category', { kind: 'merchant-single-limit', mid: DEMO.mid, mcc: '5411', maxAmount: 1 }, /^a merchant-single-limit rule has exactly one of mid, mcc$/],
    ['a code the kind does not answer', { kind: 'terminal-blacklist', values: ['10000001'], code: '41' }, /^a terminal-blacklist rule answers 05, not 41$/],
    ['a code no rule answers', { kind: 'card-daily-count', maxCount: 3, code: '00' }, /^code must be one of /],
    ['a time that is none', { kind: 'mcc-window', mcc: '5411', from: '25:00', to: '06:00' }, /^from must be a local time HH:MM, got "25:00"$/],
    ['an empty window', { kind: 'mcc-window', mcc: '5411', from: '06:00', to: '06:00' }, /window would be empty/],
    ['a zero limit', { kind: 'merchant-daily-limit', mid: DEMO.mid, maxAmount: 0 }, /^maxAmount must be a whole number of fen, 1 or more, got 0$/],
    ['an unknown merchant', { kind: 'merchant-daily-limit', mid: '898100012349999', maxAmount: 1 }, /^no merchant "898100/],
    ['a terminal list with a MID', { kind: 'terminal-blacklist', values: [DEMO.mid] }, /^values\[0\] must be a terminal id$/],
    ['a BIN of 8 digits', { kind: 'card-daily-amount', maxAmount: 1, bin: '62258812' }, /^bin must be the first 3–6 digits of the card number/],
    ['a field no rule has', { kind: 'card-daily-count', maxCount: 1, limit: 3 }, /^unknown field limit$/],
    ['tokens given for a card blacklist', { kind: 'card-blacklist', values: ['x'] }, /takes its card numbers as cards/],
    ['no cards', { kind: 'card-blacklist', cards: [] }, /needs cards/],
    ['not a record', [1, 2], /^the body is an object/],
  ];
  for (const [what, body, reason] of bad) t.match(await api('PUT', '/api/v1/risk-rules/bad', body), { status: 400, body: { error: reason } }, what);
  t.match(await api('PUT', '/api/v1/risk-rules/not%20an%20id', { kind: 'card-daily-count', maxCount: 1 }), { status: 400, body: { error: /^id must be 1–40 letters/ } }, 'a bad id');
  const luhn = demoPan(3).replace(/.$/, (d) => String((Number(d) + 1) % 10));
  const refused = await api('PUT', '/api/v1/risk-rules/bad', { kind: 'card-blacklist', cards: [luhn] });
  t.match(refused, { status: 400, body: { error: `cards[0] ${maskPan(luhn)} fails its Luhn check` } }, 'a card number failing its Luhn check, named masked');
  t.notOk(refused.text.includes(luhn), 'the refusal does not hold the number');
  t.same((await api('GET', '/api/v1/risk-rules')).body, { rules: [] }, 'nothing was stored');
});

t.test('a card blacklist keeps tokens and masked numbers only, and answers its code', async (t) => {
  const pan = demoPan(4);
  const set = await api('PUT', '/api/v1/risk-rules/stolen', { kind: 'card-blacklist', code: '43', cards: [pan] });
  t.equal(set.status, 200, 'set with the card number');
  t.match(set.body.rule, { kind: 'card-blacklist', code: '43', cards: [maskPan(pan)], values: [/^[A-Za-z0-9+/]{22}==$/] }, 'kept as a token and masked');
  t.notOk(set.text.includes(pan), 'the answer does not hold the number');
  t.equal(await sale(4), '43', 'the card: 43');
  t.equal(await sale(5), '00', 'another card sells');
  const refusal = entriesOfType(dataDir, sw.businessDate, 'sale').at(-2);
  t.match(refusal, { responseCode: '43', riskRule: 'stolen', panHash: set.body.rule.values[0] }, "journalled with the rule id; the token is the journal's own pan_hash");
  const journal = readFileSync(join(dataDir, 'journal', `${sw.businessDate}.sqlite`));
  const wal = readFileSync(join(dataDir, 'journal', `${sw.businessDate}.sqlite-wal`));
  t.notOk(journal.includes(pan) || wal.includes(pan), 'the journal holds the number nowhere');
  t.equal((await api('DELETE', '/api/v1/risk-rules/stolen')).status, 200);
});

t.test('posp risk sets, lists, reads and deletes rules on the running switch', async (t) => {
  const admin = ['--admin', `http://127.0.0.1:${sw.adminPort}`, '--token', (await tokenOf('admin'))];
  const set = await runPosp(['risk', 'set', 'night', JSON.stringify({ kind: 'terminal-blacklist', values: [term.tid] }), ...admin]);
  t.equal(set.code, 0, `set: exit 0 ${set.stderr}`);
  t.match(JSON.parse(set.stdout), { rule: { id: 'night', kind: 'terminal-blacklist', values: [term.tid] } });
  t.equal(await sale(6), '05', 'the terminal is refused at once: 05');
  t.match(JSON.parse((await runPosp(['risk', 'list', ...admin])).stdout), { rules: [{ id: 'night' }] }, 'list');
  t.match(JSON.parse((await runPosp(['risk', 'get', 'night', ...admin])).stdout), { id: 'night', values: [term.tid] }, 'get');
  const bad = await runPosp(['risk', 'set', 'night', '{"kind":"terminal-blacklist","values":["10000001"],"code":"04"}', ...admin]);
  t.equal(bad.code, 1, 'a bad rule: exit 1');
  t.match(bad.stderr, /400.*answers 05, not 04/, "with the switch's reason");
  t.equal((await runPosp(['risk', 'delete', 'night', ...admin])).code, 0, 'delete');
  t.equal(await sale(6), '00', 'the terminal sells again');
  t.equal((await runPosp(['risk', 'set', 'night', ...admin])).code, 2, 'set without a rule: usage, exit 2');
});
