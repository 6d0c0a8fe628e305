/**
 * DESIGN.md section 2: "The journal is the write-ahead log; LMDB ... records which journal entry it
 * has applied, so recovery replays the tail." Deterministic: one sale, then LMDB is put back to
 * where it would be after a crash between the journal commit and the LMDB write (appliedSeq one
 * back, the sale's postings and index records undone). The next start must apply the entry exactly
 * once; a retransmission of the sale must be answered from the restored index (same RRN, no second
 * debit); a third start must change nothing.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimTerminal } from '../../src/loadgen/index.js';
import { DEMO, StateStore, demoPan, demoTid, journalEntries, merchantAccountId, type JournalEntry } from '../../src/store/index.js';
import { DEFAULTS, startSwitch, type RunningSwitch } from '../../src/switch/index.js';
import { suiteLogging } from '../suite-log.js';

const logging = suiteLogging('restart-replays-journal-tail');

const PAN = demoPan(7);
/** The card's account number (random, read from its card record once the demo set-up exists). */
let CARD = '';
const MERCHANT = merchantAccountId(DEMO.mid);
const AMOUNT = 4321;

function journalRows(dir: string, businessDate: string): JournalEntry[] {
  return Array.from(journalEntries(join(dir, 'journal', `${businessDate}.sqlite`)));
}

interface Snapshot {
  appliedSeq: number;
  card: number | undefined;
  merchant: number | undefined;
}

async function snapshot(dir: string): Promise<Snapshot> {
  const state = new StateStore(dir);
  try {
    CARD ||= state.cards.get(PAN)!.account;
    return { appliedSeq: state.appliedSeq(), card: state.accounts.get(CARD)?.balance, merchant: state.accounts.get(MERCHANT)?.balance };
  } finally {
    await state.close();
  }
}

t.test('an entry committed to the journal but not applied to LMDB is applied once at start', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'posp-replay-'));
  let running: RunningSwitch | undefined;
  t.teardown(async () => {
    await running?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const start = async (): Promise<RunningSwitch> => {
    const began = Date.now();
    running = await startSwitch({ ...DEFAULTS, dataDir: dir, posPort: 0, adminPort: 0, demo: true, workers: 1, ...logging.config }, logging.log);
    t.comment(`switch started in ${Date.now() - began} ms`);
    return running;
  };
  const stop = async (): Promise<void> => {
    const r = running;
    running = undefined;
    await r?.close();
  };

  // 1. First start: sign in and sell once.
  let sw = await start();
  const businessDate = sw.businessDate;
  const term = new SimTerminal({ host: '127.0.0.1', port: sw.posPort, tid: demoTid(41), mid: DEMO.mid, tmk: DEMO.tmk });
  await term.connect();
  t.equal((await term.signIn('003')).text(39), '00', 'sign-in approved');
  const saleFrame = term.pack(term.sale({ pan: PAN, expiry: DEMO.expiry, pin: DEMO.pin }, AMOUNT));
  const sold = await term.sendRaw(saleFrame);
  t.equal(sold.text(39), '00', 'sale approved');
  const rrn = sold.text(37);
  const stan = sold.text(11);
  term.close();
  await stop();
  await snapshot(dir);

  const rows1 = journalRows(dir, businessDate);
  const saleRow = rows1.find((r) => r.type === 'sale' && r.stan === stan);
  t.ok(saleRow, 'the sale is in the journal');
  if (!saleRow) return;
  const maxSeq1 = rows1.reduce((m, r) => Math.max(m, r.seq), 0);
  t.equal(saleRow.seq, maxSeq1, 'the sale is the last journal entry');
  t.equal(saleRow.rrn, rrn, 'journal RRN is the one the terminal saw');
  t.same(
    saleRow.effects.postings,
    [
      { account: CARD, amount: -AMOUNT },
      { account: MERCHANT, amount: AMOUNT },
    ],
    'the sale entry debits the card and credits the merchant',
  );
  const applied = await snapshot(dir);
  t.same(applied, { appliedSeq: maxSeq1, card: DEMO.openingBalance - AMOUNT, merchant: AMOUNT }, 'after a clean stop LMDB has applied it');

  // 2. Simulate a crash between the journal commit and the LMDB write of the sale's entry.
  {
    const state = new StateStore(dir);
    const txnKey = state.rrns.get(rrn!);
    t.ok(txnKey, 'LMDB indexes the sale by RRN');
    await state.root.transaction(() => {
      state.meta.put('appliedSeq', maxSeq1 - 1);
      const card = state.accounts.get(CARD)!;
      state.accounts.put(CARD, { ...card, balance: card.balance + AMOUNT });
      const merchant = state.accounts.get(MERCHANT)!;
      state.accounts.put(MERCHANT, { ...merchant, balance: merchant.balance - AMOUNT });
      if (txnKey) state.txns.remove(txnKey);
      state.rrns.remove(rrn!);
    });
    await state.close();
  }
  t.same(await snapshot(dir), { appliedSeq: maxSeq1 - 1, card: DEMO.openingBalance, merchant: 0 }, 'LMDB is back to before the sale');

  // 3. Second start replays the tail: the sale is applied once.
  sw = await start();
  // The same terminal, same session (its sign-in was applied before the "crash"), on the new port.
  term.options.port = sw.posPort;
  await term.connect();
  const replayed = await term.sendRaw(saleFrame);
  t.equal(replayed.text(39), '00', 'a retransmission of the sale after recovery is answered 00');
  t.equal(replayed.text(37), rrn, 'with the original RRN (answered from the restored index, not sold again)');
  term.close();
  await stop();

  const rows2 = journalRows(dir, businessDate);
  const maxSeq2 = rows2.reduce((m, r) => Math.max(m, r.seq), 0);
  const afterRetransmit = rows2.filter((r) => r.seq > maxSeq1);
  t.ok(
    afterRetransmit.every((r) => (r.effects.postings ?? []).length === 0),
    `entries after the sale post nothing (${afterRetransmit.map((r) => `${r.seq}:${r.type}/${r.route}/${r.responseCode}`).join(', ')})`,
  );
  t.same(
    await snapshot(dir),
    { appliedSeq: maxSeq2, card: DEMO.openingBalance - AMOUNT, merchant: AMOUNT },
    'second start: the sale is applied exactly once and appliedSeq is the journal max',
  );

  // 4. Third start with nothing to replay: nothing changes.
  await start();
  await stop();
  const rows3 = journalRows(dir, businessDate);
  t.equal(rows3.length, rows2.length, 'third start journals nothing');
  t.same(
    await snapshot(dir),
    { appliedSeq: maxSeq2, card: DEMO.openingBalance - AMOUNT, merchant: AMOUNT },
    'third start: balances and appliedSeq unchanged',
  );
});
