import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import t from 'tap';
import { DEMO, StateStore, demoPan } from '../../src/store/index.js';
import { signedIn, startInProcess } from '../switch/harness.js';

const run = promisify(execFile);

/** Runs the real CLI; resolves with its exit code and output (a non-zero exit is not an error here). */
async function posp(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['bin/posp.js', ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

t.test('receipts reprint journalled transactions and the audit balances the books', async (t) => {
  const demo = await startInProcess(t);
  const term = await signedIn(t, demo, 7);
  const card = { pan: demoPan(4242), expiry: DEMO.expiry, pin: DEMO.pin };
  const sale = term.sale(card, 12_345);
  const res = await term.request(sale);
  t.equal(res.text(39), '00', 'sale approved');
  const rrn = res.text(37)!;
  const voided = await term.request(term.saleVoid(term.receipt(sale, res, 'sale')));
  t.equal(voided.text(39), '00', 'then voided');
  const pre = term.preAuth(card, 5_000);
  const held = await term.request(pre);
  t.equal(held.text(39), '00', 'a pre-auth left holding funds');
  await demo.sw.close();

  const text = await posp('receipt', rrn, '--data', demo.dataDir);
  t.equal(text.code, 0, 'receipt found');
  t.match(text.stdout, /MERCHANT NAME: DEMO STORE/);
  t.match(text.stdout, new RegExp(`TERMINAL NO:\\s+${term.options.tid}`));
  t.match(text.stdout, /CARD NO:\s+622588\*{6}\d{4} CUP/, 'masked PAN and card organisation');
  t.notMatch(text.stdout, card.pan, 'never the full PAN');
  t.match(text.stdout, /AMOUNT:\s+CNY 123\.45/);
  t.match(text.stdout, new RegExp(`REF NO:\\s+${rrn}`));
  t.match(text.stdout, new RegExp(`AUTH NO:\\s+${res.text(38)}`));
  t.match(text.stdout, /RESULT:\s+APPROVED \(VOIDED SINCE\)/, 'the reprint says the sale was voided since');

  const html = await posp('receipt', rrn, '--data', demo.dataDir, '--html');
  t.equal(html.code, 0);
  t.match(html.stdout, /^<section class="receipt">/);
  t.match(html.stdout, /<th>REF NO<\/th><td>\d{12}<\/td>/);

  const missing = await posp('receipt', '999999999999', '--data', demo.dataDir);
  t.equal(missing.code, 1, 'unknown RRN: exit 1');
  t.match(missing.stderr, /no transaction with RRN 999999999999/);
  t.equal((await posp('receipt', 'not-an-rrn!', '--data', demo.dataDir)).code, 2, 'malformed RRN: usage');

  const audit = await posp('audit', '--data', demo.dataDir, '--json');
  t.equal(audit.code, 0, 'audit passes');
  const report = JSON.parse(audit.stdout);
  t.ok(report.entries >= 4, 'the journal entries were read');
  t.same(report.unbalancedEntries, []);
  t.same(report.mismatches, []);

  // Tamper with one balance: the audit must notice.
  const state = new StateStore(demo.dataDir);
  const account = state.cards.get(card.pan)!.account;
  await state.root.transaction(() => {
    const a = state.accounts.get(account)!;
    state.accounts.put(account, { ...a, balance: a.balance + 1 });
  });
  await state.close();
  const tampered = await posp('audit', '--data', demo.dataDir, '--json');
  t.equal(tampered.code, 1, 'a balance off by one fen fails the audit');
  const found = JSON.parse(tampered.stdout).mismatches;
  t.equal(found.length, 1);
  t.equal(found[0].account, account);
  t.equal(found[0].balance - found[0].expected, 1);
  t.equal(found[0].held, 5_000, 'the pre-auth hold is accounted for');
});
