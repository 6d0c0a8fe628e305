/**
 * Reversal advice (0420 → 0430): every copy is answered `00` (MACed, F90 echoed) and the original
 * is reversed at most once, found by F90's STAN and F7 with F41 and F42 whatever connection the
 * copy comes on. A reversal naming an original the host never approved (declined, unanswered, or
 * never seen) is recorded once with response_code 25; an original arriving after its reversal is
 * refused (94).
 */
import t from 'tap';
import { inProcess, keyedClient, macVerifies, readSettlement } from './host-client.js';

t.test('0420 twice for an approved sale: two 0430 00, one approval and exactly one reversal line', async (t) => {
  const { sim, dir } = await inProcess(t);
  const client = await keyedClient(t, sim.port);
  const sale = client.transaction(8800);
  const approved = await client.request(sale);
  t.equal(approved.msg.text(39), '00');

  const first = client.reversalOf(sale);
  const a = await client.request(first);
  t.equal(a.msg.mti, '0430');
  t.equal(a.msg.text(39), '00');
  t.equal(a.msg.text(90), first.text(90), 'F90 echoed');
  t.ok(macVerifies(a.frame, client.keys!.zak), '0430 MACed under the ZAK');
  t.equal((await client.request(first)).msg.text(39), '00', 'the same 0420 again: 00');

  // Store and forward: the next copy may come after a reconnect, under other zone keys.
  const other = await keyedClient(t, sim.port, undefined, 900);
  const b = await other.request(other.reversalOf(sale));
  t.equal(b.msg.text(39), '00', 'a copy on another connection: 00');

  const rows = readSettlement(dir);
  t.same(rows.map((r) => [r.mti, r.response_code]), [['0200', '00'], ['0420', '00']], 'the approval and one reversal');
  t.has(rows[1], {
    stan: first.text(11), tid: '10000001', mid: '898100012340001', amount: '000000008800', auth_code: approved.msg.text(38),
    reverses_stan: sale.text(11), reverses_rrn: sale.text(37), pan_masked: '621700******7894',
  });
});

t.test('reversal of an original it never approved: 00 every time, one line with response_code 25', async (t) => {
  const { sim, dir } = await inProcess(t);
  const client = await keyedClient(t, sim.port);

  const neverSeen = client.transaction(3000);
  const unknown = client.reversalOf(neverSeen);
  t.equal((await client.request(unknown)).msg.text(39), '00', 'unknown original: 00');
  t.equal((await client.request(unknown)).msg.text(39), '00', 'and again');

  const declined = client.transaction(4051);
  t.equal((await client.request(declined)).msg.text(39), '51');
  t.equal((await client.request(client.reversalOf(declined))).msg.text(39), '00', 'declined original: 00');

  const unanswered = client.transaction(5091);
  const silence = client.answer(unanswered, 500);
  client.send(unanswered);
  t.equal(await silence, undefined, '91: no answer');
  t.equal((await client.request(client.reversalOf(unanswered))).msg.text(39), '00', 'unanswered (91) original: 00');

  const rows = readSettlement(dir);
  t.same(
    rows.map((r) => [r.mti, r.response_code, r.reverses_stan, r.amount]),
    [
      ['0420', '25', neverSeen.text(11), '000000003000'],
      ['0420', '25', declined.text(11), '000000004051'],
      ['0420', '25', unanswered.text(11), '000000005091'],
    ],
    'one line each, nothing undone',
  );
  t.equal(rows[0].reverses_rrn, '', 'unknown original: no RRN of its own');

  t.equal((await client.request(neverSeen)).msg.text(39), '94', 'the original arriving after its reversal is not approved');
  t.equal(readSettlement(dir).length, 3, 'and not recorded');
});
