/**
 * Bad input over TCP against the real switch (PROTOCOL.md sections 1, 5, 7): a format error the
 * switch can still address gets `30`; frames it cannot read, and lengths above the 2048-byte
 * limit, close the connection without taking the switch down; unknown terminal `97`, merchant
 * mismatch `03`, bad MAC `A0` without F64, unsupported types `40`. None of it moves money.
 */
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { buildF60, locateField, packTerminalFrame } from '../../src/codec/index.js';
import { SimTerminal } from '../../src/loadgen/terminal.js';
import { DEMO, RawClient, type HasTeardown, balanceOf, card, decode, packWithMak, signedIn, startDemo } from './harness.js';

const demo = await startDemo(t);
const term = await signedIn(t, demo, 0);
const CARD = card(21);
const AMOUNT = 5000;
const opening = await balanceOf(term, CARD);

/** A valid, MAC-ed sale frame of `term` (length prefix included). */
function saleFrame(): Buffer {
  return term.pack(term.sale(CARD, AMOUNT));
}

/** Whether the switch still serves: the answer code to an echo on a fresh connection. */
async function echoOnNewConnection(t: HasTeardown): Promise<string> {
  const probe = await RawClient.connect(demo.sw.posPort, t);
  const frame = await probe.exchange(term.pack(term.echo()));
  probe.close();
  return frame ? decode(frame).text(39) ?? 'no F39' : 'no answer';
}

t.test('invalid BCD nibble in F60 (after F41): 30 echoing F11 and F41, connection kept', async (t) => {
  const frame = saleFrame();
  const req = decode(frame);
  const f60 = locateField(frame, 2, frame.length, 60);
  t.ok(f60 > 0, 'F60 located');
  const bad = Buffer.from(frame);
  t.equal(bad[f60 + 2], 0x22, 'F60 starts with 60.1 = 22');
  bad[f60 + 2] = 0xa2;
  const raw = await RawClient.connect(demo.sw.posPort, t);
  const answer = await raw.exchange(bad);
  t.ok(answer, 'answered');
  if (!answer) return;
  const res = decode(answer);
  t.equal(res.mti, '0210');
  t.equal(res.text(39), '30');
  t.equal(res.text(41), term.options.tid, 'F41 echoed');
  t.equal(res.text(11), req.text(11), 'F11 echoed');
  t.notOk(res.has(64), 'no MAC: none was verified');
  t.notOk(raw.closed, 'connection still open');
  const next = await raw.exchange(term.pack(term.balanceInquiry(CARD)));
  t.equal(next ? decode(next).text(39) : 'no answer', '00', 'the same connection serves the next request');
});

t.test('invalid BCD nibble in F53 (security control): 30', async (t) => {
  const frame = saleFrame();
  const f53 = locateField(frame, 2, frame.length, 53);
  t.ok(f53 > 0, 'F53 located');
  const bad = Buffer.from(frame);
  bad[f53 + 3] = 0x0b;
  const raw = await RawClient.connect(demo.sw.posPort, t);
  const answer = await raw.exchange(bad);
  t.equal(answer ? decode(answer).text(39) : 'no answer', '30');
});

t.test('garbage bytes in a frame: connection closed, switch still serves', async (t) => {
  const raw = await RawClient.connect(demo.sw.posPort, t);
  const body = Buffer.from('this is not an ISO 8583 frame at all', 'latin1');
  const frame = Buffer.concat([Buffer.from([0, body.length]), body]);
  const answer = await raw.exchange(frame, 3000);
  t.equal(answer, undefined, 'no answer');
  t.ok(await raw.closedWithin(3000), 'closed');
  t.equal(await echoOnNewConnection(t), '00', 'after garbage: a new connection is still served');
});

t.test('random bytes with a valid TPDU id: connection closed, switch still serves', async (t) => {
  const raw = await RawClient.connect(demo.sw.posPort, t);
  const body = Buffer.concat([Buffer.from([0x60, 0x00, 0x03, 0x00, 0x00]), Buffer.from('ff'.repeat(6), 'hex'), randomBytes(40)]);
  await raw.write(Buffer.concat([Buffer.from([0, body.length]), body]));
  t.ok(await raw.closedWithin(3000), 'closed');
  t.equal(await echoOnNewConnection(t), '00', 'after random bytes: a new connection is still served');
});

t.test('a frame whose TPDU is not 0x60: connection closed, switch still serves', async (t) => {
  const raw = await RawClient.connect(demo.sw.posPort, t);
  const frame = Buffer.from(saleFrame());
  t.equal(frame[2], 0x60);
  frame[2] = 0x61;
  const answer = await raw.exchange(frame, 3000);
  t.equal(answer, undefined, 'no answer');
  t.ok(await raw.closedWithin(3000), 'closed');
  t.equal(await echoOnNewConnection(t), '00', 'after a bad TPDU: a new connection is still served');
});

t.test('an HTTP request on the terminal port: connection closed', async (t) => {
  const raw = await RawClient.connect(demo.sw.posPort, t);
  await raw.write(Buffer.from('GET /health HTTP/1.1\r\nHost: x\r\n\r\n', 'latin1'));
  t.ok(await raw.closedWithin(3000), 'closed');
  t.equal(await echoOnNewConnection(t), '00', 'after HTTP: a new connection is still served');
});

for (const length of [2049, 0xffff]) {
  t.test(`a length prefix of ${length} (above 2048): connection closed`, async (t) => {
    const raw = await RawClient.connect(demo.sw.posPort, t);
    await raw.write(Buffer.concat([Buffer.from([length >> 8, length & 0xff]), saleFrame().subarray(2)]));
    t.ok(await raw.closedWithin(3000), 'closed');
    t.equal(await raw.next(100), undefined, 'no answer');
    t.equal(await echoOnNewConnection(t), '00', `after length ${length}: a new connection is still served`);
  });
}

for (const mti of ['0210', '0810', '0890', '0290']) {
  t.test(`an MTI that is not a request (${mti}) from a terminal: connection closed, nothing answered`, async (t) => {
    const raw = await RawClient.connect(demo.sw.posPort, t);
    const msg = term.sale(CARD, AMOUNT);
    msg.mti = mti;
    const answer = await raw.exchange(term.pack(msg), 3000);
    t.equal(answer, undefined, 'no answer');
    t.ok(await raw.closedWithin(3000), 'closed');
    t.equal(await echoOnNewConnection(t), '00', `after ${mti}: a new connection is still served`);
  });
}

t.test('unknown terminal: 97, no MAC', async (t) => {
  const stranger = new SimTerminal({ host: '127.0.0.1', port: demo.sw.posPort, tid: '99999999', mid: DEMO.mid, tmk: DEMO.tmk });
  await stranger.connect();
  t.teardown(() => stranger.close());
  const signIn = await stranger.signIn('003');
  t.equal(signIn.text(39), '97', 'sign-in');
  const res = await stranger.sendRaw(packWithMak(stranger.sale(CARD, AMOUNT), randomBytes(8)));
  t.equal(res.mti, '0210');
  t.equal(res.text(39), '97', 'sale');
  t.equal(res.text(41), '99999999');
  t.notOk(res.has(64));
});

t.test('terminal presented with another merchant id: 03', async (t) => {
  // The demo terminal 10000002 belongs to the demo merchant, not to this one.
  const other = new SimTerminal({ host: '127.0.0.1', port: demo.sw.posPort, tid: '10000002', mid: '898100012340002', tmk: DEMO.tmk });
  await other.connect();
  t.teardown(() => other.close());
  t.equal((await other.signIn('003')).text(39), '03', 'sign-in');
  const res = await other.sendRaw(packWithMak(other.sale(CARD, AMOUNT), randomBytes(8)));
  t.equal(res.text(39), '03', 'sale');
  t.notOk(res.has(64));
});

t.test('wrong MAC: A0 and no F64', async (t) => {
  const frame = saleFrame();
  const flipped = Buffer.from(frame);
  flipped[flipped.length - 1] = flipped[flipped.length - 1] === 0x30 ? 0x31 : 0x30;
  const res = await term.sendRaw(flipped);
  t.equal(res.text(39), 'A0', 'F64 changed');
  t.notOk(res.has(64), 'no F64 in the answer');

  // The MAC covers the data: the same MAC over a changed amount does not verify.
  const tampered = Buffer.from(saleFrame());
  const f4 = locateField(tampered, 2, tampered.length, 4);
  tampered[f4 + 5] ^= 0x01;
  const res2 = await term.sendRaw(tampered);
  t.equal(res2.text(39), 'A0', 'F4 changed after the MAC');
  t.notOk(res2.has(64));

  const stripped = term.sale(CARD, AMOUNT);
  t.notOk(stripped.has(64));
  const res3 = await term.sendRaw(packTerminalFrame(stripped));
  t.equal(res3.text(39), 'A0', 'F64 missing');
  t.notOk(res3.has(64));
});

t.test('unsupported transaction types: 40', async (t) => {
  // An authorisation MTI with a processing code the protocol does not define.
  const unknownAuth = term.financial('pre-auth', CARD, AMOUNT).set(3, '990000');
  const res = await term.request(unknownAuth);
  t.equal(res.mti, '0110');
  t.equal(res.text(39), '40', '0100 with processing code 990000');

  const unknownCode = term.sale(CARD, AMOUNT).set(3, '990000');
  const res2 = await term.request(unknownCode);
  t.equal(res2.mti, '0210');
  t.equal(res2.text(39), '40', 'processing code 990000');

  const unknownType = term.sale(CARD, AMOUNT).set(60, buildF60({ messageType: '77', batch: term.batch, networkCode: '000' }));
  t.equal((await term.request(unknownType)).text(39), '40', '60.1 = 77');

  const unknownManagement = term.message('0800').set(11, term.nextStan()).set(60, buildF60({ messageType: '00', batch: term.batch, networkCode: '999' }));
  const res4 = await term.request(unknownManagement);
  t.equal(res4.mti, '0810');
  t.equal(res4.text(39), '40', 'network management code 999');
});

t.test('none of the bad requests moved money', async (t) => {
  t.equal(await balanceOf(term, CARD), opening, 'card balance unchanged');
  t.equal(opening, DEMO.openingBalance);
  const ok = await term.request(term.sale(CARD, AMOUNT));
  t.equal(ok.text(39), '00', 'and a good sale still goes through');
  t.equal(await balanceOf(term, CARD), opening - AMOUNT);
});
