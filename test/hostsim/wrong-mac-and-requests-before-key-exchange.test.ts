/**
 * A request on a connection that has not exchanged keys gets `96`; a request whose F128 is wrong,
 * missing or made under another key gets `A0`. Neither is processed: no MAC on the answer, nothing
 * in the settlement file, and the connection goes on serving.
 */
import t from 'tap';
import { HostMessage } from '../../src/codec/index.js';
import { HostClient, inProcess, keyedClient, pack, readSettlement } from './host-client.js';

t.test('before a key exchange: 0200 and 0420 are answered 96 without a MAC', async (t) => {
  const { sim, dir } = await inProcess(t);
  const client = await HostClient.connect(sim.port);
  t.teardown(() => client.close());
  t.equal((await client.request(client.networkManagement('001'))).msg.text(39), '00', 'signed on, but no keys yet');
  const sale = client.transaction(1000);
  const answer = await client.request(sale);
  t.equal(answer.msg.mti, '0210');
  t.equal(answer.msg.text(39), '96');
  t.notOk(answer.msg.has(128), 'no MAC');
  const reversal = await client.request(client.reversalOf(sale));
  t.equal(reversal.msg.mti, '0430');
  t.equal(reversal.msg.text(39), '96', 'a reversal it cannot authenticate is not taken: the switch must resend it');
  t.same(readSettlement(dir), []);
  await client.keyExchange();
  t.equal((await client.request(client.transaction(1000))).msg.text(39), '00', 'after the exchange the same connection is served');
});

t.test('wrong, missing or foreign MAC → A0 without a MAC, nothing recorded', async (t) => {
  const { sim, dir } = await inProcess(t);
  const client = await keyedClient(t, sim.port);

  const flipped = client.transaction(1000);
  const frame = pack(flipped, client.keys!.zak);
  frame[frame.length - 1] = frame[frame.length - 1] === 0x30 ? 0x31 : 0x30;
  const wrong = client.answer(flipped);
  client.socket.write(frame);
  const a = (await wrong)!;
  t.equal(a.msg.text(39), 'A0', 'one hex digit of F128 changed');
  t.notOk(a.msg.has(128), 'no MAC on A0');

  const tampered = client.transaction(1000);
  const good = pack(tampered, client.keys!.zak);
  const at = good.indexOf('000000001000', 0, 'latin1');
  good.write('000000009000', at, 'latin1');
  const b = client.answer(tampered);
  client.socket.write(good);
  t.equal((await b)!.msg.text(39), 'A0', 'amount changed after MACing');

  t.equal((await client.request(client.transaction(1000), 5000, false)).msg.text(39), 'A0', 'no F128 at all');
  const foreign = client.transaction(1000);
  const c = client.answer(foreign);
  client.socket.write(pack(foreign, Buffer.from('0123456789ABCDEFFEDCBA9876543210', 'hex')));
  t.equal((await c)!.msg.text(39), 'A0', 'MAC under a key that is not the ZAK');

  const reversal = client.reversalOf(client.transaction(1000));
  const d = client.answer(reversal);
  client.socket.write(pack(reversal, Buffer.alloc(16, 1)));
  t.equal((await d)!.msg.text(39), 'A0', 'a reversal with a wrong MAC');

  t.same(readSettlement(dir), [], 'the settlement file has no line');
  t.equal((await client.request(client.transaction(1000))).msg.text(39), '00', 'the connection still serves');
  t.equal(readSettlement(dir).length, 1);
});

t.test('an MTI the host does not take is answered 40', async (t) => {
  const { sim } = await inProcess(t);
  const client = await keyedClient(t, sim.port);
  const req = new HostMessage('0400').set(11, client.nextStan()).set(41, '10000001');
  const { msg } = await client.request(req, 5000, false);
  t.equal(msg.mti, '0410');
  t.equal(msg.text(39), '40');
});
