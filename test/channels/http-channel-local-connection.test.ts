/**
 * The HTTP channel's path into the switch, a local connection of the acceptor: its frames go
 * where a terminal connection's go (to the pipeline, tagged with the connection), answers come back
 * through `deliver`, and a `drop` closes it; a virtual terminal whose connection is dropped fails
 * what it had pending at once rather than at its deadline.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import t from 'tap';
import { Acceptor, FIREWALL_DEFAULTS, Firewall, type LocalClient } from '../../src/channels/index.js';
import { VirtualTerminal, type AnswerWaiter } from '../../src/channels/virtual-terminal.js';
import { TerminalMessage, decodeTerminalFrame, encodeTerminalFrame } from '../../src/codec/index.js';
import { Doorbell } from '../../src/ring/index.js';
import { SecurityModule, loadLmk } from '../../src/security/index.js';
import { StateStore } from '../../src/store/index.js';

const log = pino({ level: 'silent' });

/** An acceptor whose pipeline is this test: it records the frames it is given. */
function acceptorWithPipeline(): { acceptor: Acceptor; frames: { connection: number; frame: Buffer }[] } {
  const frames: { connection: number; frame: Buffer }[] = [];
  const acceptor = new Acceptor({
    host: '127.0.0.1',
    port: 0,
    firewall: new Firewall(FIREWALL_DEFAULTS, log),
    maxFrame: 2048,
    idleTimeoutMs: 60_000,
    maxOutstanding: 64,
    log,
    bell: Doorbell.create(),
    workers: [],
    inline: { onFrame: (connection, frame, start, end) => frames.push({ connection, frame: Buffer.from(frame.subarray(start, end)) }), poll: () => 0 },
  });
  return { acceptor, frames };
}

function echoFrame(): Buffer {
  const msg = new TerminalMessage('0820', '6000030000', '600100000000').set(11, '000001').set(41, 'API00001').set(42, '898100012340001').set(60, '00000001301');
  const out = Buffer.alloc(256);
  return out.subarray(0, encodeTerminalFrame(msg, out, 0, false));
}

t.test('a local connection takes the terminal path', async (t) => {
  const { acceptor, frames } = acceptorWithPipeline();
  const answers: Buffer[] = [];
  let closed = 0;
  const client: LocalClient = { onAnswer: (frame) => answers.push(frame), onClose: () => closed++ };
  const local = acceptor.openLocal('test', client);
  t.ok(local.send(echoFrame()), 'a frame is sent');
  t.equal(frames.length, 1, 'the pipeline has it');
  t.equal(frames[0].connection, local.id, 'tagged with the local connection');
  t.equal(local.inFlight, 1, 'counted as outstanding');

  const answer = Buffer.concat([Buffer.from([0, 3]), Buffer.from('abc')]);
  const ring = Buffer.concat([Buffer.alloc(10, 0xee), answer, Buffer.alloc(10, 0xee)]);
  acceptor.deliver(local.id, ring, 10, 10 + answer.length);
  t.same(answers, [answer], 'the answer reaches the client, its bytes only');
  ring.fill(0);
  t.same(answers[0], answer, 'as a copy: the ring may be reused at once');
  t.equal(local.inFlight, 0, 'no longer outstanding');

  local.send(echoFrame());
  acceptor.drop(local.id);
  t.equal(closed, 1, 'a drop closes the connection and tells the client');
  t.notOk(local.open, 'closed');
  t.notOk(local.send(echoFrame()), 'nothing more is sent on it');
  acceptor.deliver(local.id, ring, 10, 10 + answer.length);
  t.equal(answers.length, 1, 'a late answer goes nowhere');
  const other = acceptor.openLocal('test', client);
  t.not(other.id, local.id, 'a new connection gets a new id');
});

t.test("a dropped connection fails the virtual terminal's pending requests at once", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'posp-local-connection-'));
  const state = new StateStore(dir);
  t.teardown(async () => {
    await state.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const { acceptor, frames } = acceptorWithPipeline();
  const hsm = new SecurityModule(loadLmk({ env: 'ab'.repeat(32) }));
  const terminal = new VirtualTerminal({ acceptor, hsm, state, log, client: 'shop', tid: 'API00001', mid: '898100012340001', answerTimeoutMs: 60_000, keyWaitMs: 1000 });
  const signedIn = terminal.ready();
  const failures: string[] = [];
  const waiter: AnswerWaiter = { answered: () => failures.push('answered'), failed: (status, reason) => failures.push(`${status} ${reason}`) };
  const sale = terminal.requests.financial('sale', { pan: '6225880000000019', expiry: '3012', keyed: true }, 100);
  terminal.send(sale, waiter);
  t.equal(frames.length, 1, 'the sign-in went out; the sale waits for it');
  t.equal(decodeTerminalFrame(frames[0].frame, 0, frames[0].frame.length, false).mti, '0800', 'a sign-in (0800)');
  t.equal(terminal.inFlight, 2, 'both count as in flight');
  acceptor.drop(frames[0].connection);
  await t.rejects(signedIn, /the switch closed the channel's connection: the outcome is unknown/, 'the sign-in fails at once');
  await new Promise((resolve) => setImmediate(resolve));
  t.same(failures, ["503 the switch closed the channel's connection: the outcome is unknown"], 'and so does the sale that waited for it');
  t.equal(terminal.inFlight, 0, 'nothing is left in flight');
});
