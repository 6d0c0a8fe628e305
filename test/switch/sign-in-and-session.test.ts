/**
 * Sign-in and session rules over TCP against the real switch (PROTOCOL.md sections 3, 4, 5, 8):
 * the three key modes, F62 layouts and check values under the TMK, 60.2 batch, F37/F12/F13,
 * fresh keys at every sign-in (the old MAK is refused with A0), echo, sign-off, sessions and
 * batches enforced with 77, and the admin health endpoint.
 */
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { DesKey, decryptWorkingKey, kcv, openKeyBlock, parseKeyBlock, type KeyMode } from '../../src/security/index.js';
import { DEMO, balanceOf, card, packWithMak, startDemo, terminal } from './harness.js';

const TMK = Buffer.from(DEMO.tmk, 'hex');
const F62_LENGTH: Record<KeyMode, number> = { '001': 24, '003': 40, '004': 60 };
const PIK_LENGTH: Record<KeyMode, number> = { '001': 8, '003': 16, '004': 16 };

function localMmdd(d: Date): string {
  return String(d.getMonth() + 1).padStart(2, '0') + String(d.getDate()).padStart(2, '0');
}

const demo = await startDemo(t);

for (const [i, mode] of (['001', '003', '004'] as const).entries()) {
  t.test(`sign-in ${mode}: 00, ${F62_LENGTH[mode]}-byte F62 whose keys open under the TMK, batch, F37, F12, F13`, async (t) => {
    const term = await terminal(t, demo, i);
    const before = new Date();
    const res = await term.signIn(mode);
    const after = new Date();
    t.equal(res.mti, '0810', 'response MTI');
    t.equal(res.text(39), '00', 'F39');
    t.equal(res.text(41), term.options.tid, 'F41 echoed');
    t.equal(res.text(42), DEMO.mid, 'F42 echoed');
    t.match(res.text(11), /^\d{6}$/, 'F11 echoed');
    t.match(res.text(37), /^\d{12}$/, 'F37 is a 12-digit RRN');
    const f12 = res.text(12) ?? '';
    t.match(f12, /^([01]\d|2[0-3])[0-5]\d[0-5]\d$/, 'F12 is hhmmss');
    t.ok([localMmdd(before), localMmdd(after)].includes(res.text(13) ?? ''), `F13 ${res.text(13)} is today's MMDD`);
    t.ok(res.has(32), 'F32 acquirer id');
    t.notOk(res.has(64), 'no MAC on 0810');
    const f60 = res.text(60) ?? '';
    t.equal(f60.slice(0, 2), '00', '60.1');
    t.equal(f60.slice(2, 8), DEMO.batch, '60.2 is the batch to use');
    t.equal(f60.slice(8, 11), mode, '60.3 echoed');

    const f62 = res.binary(62);
    t.ok(f62, 'F62 present');
    if (!f62) return;
    t.equal(f62.length, F62_LENGTH[mode], 'F62 length');
    const block = parseKeyBlock(f62, mode);
    t.equal(block.pik.key.length, PIK_LENGTH[mode], 'PIK length');
    const entries = [['PIK', block.pik], ['MAK', block.mak], ...(block.tdk ? [['TDK', block.tdk] as const] : [])] as const;
    for (const [name, entry] of entries) {
      const clear = decryptWorkingKey(TMK, entry.key);
      t.same(kcv(new DesKey(clear)), entry.kcv, `${name} check value matches the key decrypted under the TMK`);
      // The same KCV under a wrong TMK must not match: the check above can fail.
      const wrong = decryptWorkingKey(randomBytes(16), entry.key);
      t.notSame(kcv(new DesKey(wrong)), entry.kcv, `${name} check value does not match under another TMK`);
    }
    if (mode !== '001') t.same(f62.subarray(28, 36), Buffer.alloc(8), 'single-length MAK followed by 00x8');
    t.equal(block.tdk !== undefined, mode === '004', 'TDK only in mode 004');
    t.doesNotThrow(() => openKeyBlock(TMK, f62, mode), 'the terminal-side key block check passes');

    // The keys work: a sale with a PIN under this PIK and a MAC under this MAK is approved.
    const sale = await term.request(term.sale(card(1 + i), 100));
    t.equal(sale.text(39), '00', `sale after a ${mode} sign-in approved`);
    t.ok(sale.has(64), 'sale response carries a MAC (verified by the terminal)');
  });
}

t.test('fresh keys at every sign-in: a request MAC-ed with the previous MAK gets A0 without F64', async (t) => {
  const term = await terminal(t, demo, 3);
  const first = await term.signIn('003');
  t.equal(first.text(39), '00');
  const keys1 = openKeyBlock(TMK, first.binary(62)!, '003');
  const ok1 = await term.request(term.sale(card(4), 100));
  t.equal(ok1.text(39), '00', 'sale under the first keys approved');

  const second = await term.signIn('003');
  t.equal(second.text(39), '00');
  const keys2 = openKeyBlock(TMK, second.binary(62)!, '003');
  t.notSame(keys2.mak, keys1.mak, 'new MAK');
  t.notSame(keys2.pik, keys1.pik, 'new PIK');
  t.notSame(second.binary(62), first.binary(62), 'new F62');

  const stale = packWithMak(term.sale(card(4), 100), keys1.mak);
  const res = await term.sendRaw(stale);
  t.equal(res.text(39), 'A0', 'old MAK refused');
  t.notOk(res.has(64), 'A0 response has no F64');

  const fresh = packWithMak(term.sale(card(4), 100), keys2.mak);
  const res2 = await term.sendRaw(fresh);
  t.equal(res2.text(39), '00', 'the same request under the new MAK is approved');
  t.equal(await balanceOf(term, card(4)), DEMO.openingBalance - 200, 'only the two approved sales were debited');
});

t.test('echo test answers 00 without a MAC', async (t) => {
  const term = await terminal(t, demo, 4);
  t.equal((await term.signIn('003')).text(39), '00');
  const res = await term.request(term.echo());
  t.equal(res.mti, '0830');
  t.equal(res.text(39), '00');
  t.notOk(res.has(64));
});

t.test('sign-off ends the session: a sale afterwards gets 77, a new sign-in restores it', async (t) => {
  const term = await terminal(t, demo, 5);
  t.equal((await term.signIn('003')).text(39), '00');
  const off = await term.request(term.signOff());
  t.equal(off.mti, '0830');
  t.equal(off.text(39), '00', 'sign-off approved');
  const sale = await term.request(term.sale(card(5), 300));
  t.equal(sale.text(39), '77', 'sale after sign-off');
  t.equal((await term.signIn('003')).text(39), '00', 'signs in again');
  t.equal(await balanceOf(term, card(5)), DEMO.openingBalance, 'the refused sale debited nothing');
  t.equal((await term.request(term.sale(card(5), 300))).text(39), '00', 'sale after signing in again');
});

t.test('a sale before any sign-in gets 77', async (t) => {
  const term = await terminal(t, demo, 6);
  const withoutMac = await term.request(term.sale(card(6), 400));
  t.equal(withoutMac.text(39), '77', 'no keys, no F64');
  const withMac = await term.sendRaw(packWithMak(term.sale(card(6), 400), randomBytes(8)));
  t.equal(withMac.text(39), '77', 'with some F64');
  t.notOk(withMac.has(64));
  t.equal((await term.signIn('003')).text(39), '00');
  t.equal(await balanceOf(term, card(6)), DEMO.openingBalance, 'nothing debited');
});

t.test('a financial request with another batch in 60.2 gets 77', async (t) => {
  const term = await terminal(t, demo, 7);
  t.equal((await term.signIn('003')).text(39), '00');
  t.equal(term.batch, DEMO.batch);
  term.batch = '000002';
  const wrong = await term.request(term.sale(card(7), 500));
  t.equal(wrong.text(39), '77', 'sale in batch 000002');
  const wrongInquiry = await term.request(term.balanceInquiry(card(7)));
  t.equal(wrongInquiry.text(39), '77', 'balance inquiry in batch 000002');
  term.batch = DEMO.batch;
  t.equal(await balanceOf(term, card(7)), DEMO.openingBalance, 'nothing debited');
  t.equal((await term.request(term.sale(card(7), 500))).text(39), '00', 'the right batch is approved');
});

t.test('GET /health answers 200 with JSON', async (t) => {
  const res = await fetch(`http://127.0.0.1:${demo.sw.adminPort}/health`);
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /json/);
  const body = (await res.json()) as { status?: string; businessDate?: string };
  t.equal(body.status, 'ok');
  t.equal(body.businessDate, demo.sw.businessDate);
});
