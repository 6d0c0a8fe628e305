/**
 * Financial and authorisation requests (0100, 0200, 0220): approved with a 6-digit F38 and a MACed
 * answer that echoes the request's identifying fields, except by the amount's last two digits (51,
 * 05, 55, 96 answer that code; 91 is never answered while the connection goes on serving); a
 * balance inquiry reports F54; a PIN block must be a well-formed format 0 block under the ZPK.
 * Approvals, and only approvals, reach the settlement file.
 */
import t from 'tap';
import { DesKey } from '../../src/security/index.js';
import { PAN, inProcess, keyedClient, macVerifies, readSettlement } from './host-client.js';

const ECHOED = [2, 3, 4, 7, 11, 32, 37, 41, 42, 49];

t.test('a sale is approved with F38, echoes the request and carries a MAC under the ZAK', async (t) => {
  const { sim, dir } = await inProcess(t);
  const client = await keyedClient(t, sim.port);
  const req = client.transaction(12_345_00, { pin: '123456' });
  const { msg, frame } = await client.request(req);
  t.equal(msg.mti, '0210');
  t.equal(msg.text(39), '00');
  t.match(msg.text(38), /^\d{6}$/, 'F38: 6-digit auth code');
  for (const id of ECHOED) t.same(msg.fields[id], req.fields[id], `F${id} echoed`);
  t.notOk(msg.has(52), 'the PIN block is not echoed');
  t.ok(macVerifies(frame, client.keys!.zak), 'F128 is the X9.19 MAC under the ZAK');

  const rows = readSettlement(dir);
  t.equal(rows.length, 1, 'one settlement line');
  t.has(rows[0], {
    mti: '0200', processing_code: '000000', stan: req.text(11), rrn: req.text(37), tid: '10000001', mid: '898100012340001',
    acquirer: '48020000', pan_masked: '621700******7894', amount: '000001234500', currency: '156', auth_code: msg.text(38),
    response_code: '00', reverses_stan: '', reverses_rrn: '',
  });
  t.match(rows[0].date, /^\d{8}$/);
  t.match(rows[0].time, /^\d{6}$/);
  t.notOk(rows.some((r) => Object.values(r).includes(PAN)), 'no clear PAN in the file');
});

t.test('amounts ending 51, 05, 55, 96 get those codes and no settlement line', async (t) => {
  const { sim, dir } = await inProcess(t);
  const client = await keyedClient(t, sim.port);
  for (const code of ['51', '05', '55', '96']) {
    const { msg, frame } = await client.request(client.transaction(Number('100' + code)));
    t.equal(msg.text(39), code, `amount …${code} → ${code}`);
    t.notOk(msg.has(38), 'no auth code on a decline');
    t.ok(macVerifies(frame, client.keys!.zak), 'a decline is MACed too');
  }
  t.same(readSettlement(dir), [], 'declines are not in the settlement file');
});

t.test('an amount ending 91 is never answered; the connection keeps serving', async (t) => {
  const { sim } = await inProcess(t);
  const client = await keyedClient(t, sim.port);
  const silent = client.transaction(10091);
  const silence = client.answer(silent, 1500);
  client.send(silent);
  const next = await client.request(client.transaction(10000), 1000);
  t.equal(next.msg.text(39), '00', 'a request sent after it is answered');
  t.equal(await silence, undefined, 'nothing for the 91 within 1.5 s');
  t.equal((await client.request(client.networkManagement('301'))).msg.text(39), '00', 'echo still answered');
});

t.test('balance inquiry: F54 in the CUP layout, and a settlement line', async (t) => {
  const { sim, dir } = await inProcess(t);
  const client = await keyedClient(t, sim.port);
  const { msg } = await client.request(client.transaction(undefined, { processingCode: '310000', pin: '123456' }));
  t.equal(msg.text(39), '00');
  t.equal(msg.text(54), '1002156C000100000000', 'account 10, available 02, CNY, credit, 1,000,000.00');
  t.equal(readSettlement(dir)[0]?.processing_code, '310000');
});

t.test('PIN block: any well-formed format 0 block for the PAN passes, a malformed one gets 55', async (t) => {
  const { sim, dir } = await inProcess(t);
  const client = await keyedClient(t, sim.port);
  t.equal((await client.request(client.transaction(1000, { pin: '0000' }))).msg.text(39), '00', 'any PIN');
  const garbage = Buffer.alloc(8, 0xff);
  new DesKey(client.keys!.zpk).encryptBlock(garbage, 0, garbage, 0);
  t.equal((await client.request(client.transaction(1000, { pinBlock: garbage }))).msg.text(39), '55', 'control nibble F → 55');
  const underZak = Buffer.from('0612345FFFFFFFFF', 'hex');
  new DesKey(client.keys!.zak).encryptBlock(underZak, 0, underZak, 0);
  t.equal((await client.request(client.transaction(1000, { pinBlock: underZak }))).msg.text(39), '55', 'a block not under the ZPK → 55');
  t.equal(readSettlement(dir).length, 1, 'only the approval is recorded');
});

t.test('authorisation (0100) and advice (0220) are answered 0110 and 0230 and recorded', async (t) => {
  const { sim, dir } = await inProcess(t);
  const client = await keyedClient(t, sim.port);
  const auth = await client.request(client.transaction(50000, { mti: '0100', processingCode: '030000' }));
  t.equal(auth.msg.mti, '0110');
  t.equal(auth.msg.text(39), '00');
  const advice = await client.request(client.transaction(20000, { mti: '0220', processingCode: '200000' }));
  t.equal(advice.msg.mti, '0230');
  t.equal(advice.msg.text(39), '00');
  t.same(readSettlement(dir).map((r) => [r.mti, r.processing_code]), [['0100', '030000'], ['0220', '200000']]);
});

t.test('a request the host has seen before (same STAN, F7, TID, MID) gets 94', async (t) => {
  const { sim, dir } = await inProcess(t);
  const client = await keyedClient(t, sim.port);
  const req = client.transaction(1000);
  t.equal((await client.request(req)).msg.text(39), '00');
  t.equal((await client.request(req)).msg.text(39), '94', 'never approved twice');
  t.equal(readSettlement(dir).length, 1);
});
