/**
 * Bad input: garbage, a length prefix that is not 4 digits, a frame above 4 KB, a bitmap naming a
 * field the dialect lacks, bytes after the last field: each closes its own connection with exactly
 * one log line (PAN masked), while an idle link and new links go on being served. A frame split
 * across writes is still one frame.
 */
import t from 'tap';
import pino from 'pino';
import { HostMessage, encodeHostFrame } from '../../src/codec/index.js';
import { HostClient, PAN, inProcess, keyedClient, pack, sleep } from './host-client.js';

interface LogLine {
  level: number;
  conn?: number;
  msg: string;
  pan?: string;
}

t.test('each bad frame closes its connection with one log line; the server goes on', async (t) => {
  const log: string[] = [];
  const { sim } = await inProcess(t, { log: pino({ level: 'info' }, { write: (s: string) => void log.push(s) }) });
  const idle = await keyedClient(t, sim.port);

  const sale = new HostMessage('0200').set(2, PAN).set(3, '000000').set(4, '000000001000').set(11, '000001').set(41, '10000001');
  const saleFrame = pack(sale);
  const trailing = Buffer.concat([Buffer.from(String(saleFrame.length - 4 + 3).padStart(4, '0')), saleFrame.subarray(4), Buffer.from('XYZ')]);
  const unknownField = Buffer.alloc(64);
  // Bitmap naming F5, which the host dialect does not define.
  const end = encodeHostFrame(new HostMessage('0200').set(3, '000000'), unknownField, 0, true);
  unknownField[8 + 0] |= 0x08;
  const cases: [string, Buffer][] = [
    ['garbage', Buffer.from('HELLO, IS THIS THE HOST?\r\n')],
    ['a length prefix that is not digits', Buffer.from('00x5', 'latin1')],
    ['a frame above 4 KB (only its prefix sent)', Buffer.from('5000')],
    ['a bitmap naming an undefined field', unknownField.subarray(0, end)],
    ['bytes after the last field', trailing],
    ['a frame too short for MTI and bitmap', Buffer.from('00030200')],
  ];
  for (const [what, bytes] of cases) {
    const client = await HostClient.connect(sim.port);
    t.teardown(() => client.close());
    client.socket.write(bytes);
    let timer: NodeJS.Timeout | undefined;
    const closed = await Promise.race([client.closed.then(() => true), new Promise<false>((r) => (timer = setTimeout(r, 2000, false)))]);
    clearTimeout(timer);
    t.ok(closed, `${what}: connection closed`);
  }
  // Room for any further line the server might (wrongly) log about those connections.
  await sleep(50);

  const lines = log.map((l) => JSON.parse(l) as LogLine);
  const closing = lines.filter((l) => l.msg.startsWith('closing host link'));
  t.equal(closing.length, cases.length, 'one closing line per bad connection');
  for (const l of closing) t.equal(l.level, 40, `warn: ${l.msg}`);
  const closedConns = new Set(closing.map((l) => l.conn));
  t.equal(closedConns.size, cases.length, 'each about its own connection');
  for (const conn of closedConns) {
    t.equal(lines.filter((l) => l.conn === conn && l.msg !== 'host link connected').length, 1, `connection ${conn}: exactly one line about its end`);
  }
  t.ok(closing.some((l) => l.pan === '621700******7894'), 'the frame with a PAN is logged with the PAN masked');
  t.notOk(log.some((l) => l.includes(PAN)), 'the clear PAN is in no log line');
  t.notOk(log.some((l) => /[0-9A-F]{32}/.test(l)), 'no key-sized hex in the log');

  t.equal((await idle.request(idle.transaction(1000))).msg.text(39), '00', 'the idle link opened before is still served');
  const fresh = await keyedClient(t, sim.port, undefined, 700);
  t.equal((await fresh.request(fresh.transaction(1000))).msg.text(39), '00', 'a new link is served');
});

t.test('a frame written in pieces, and two frames in one write, are read as frames', async (t) => {
  const { sim } = await inProcess(t);
  const client = await keyedClient(t, sim.port);
  const one = client.transaction(1000);
  const frame = pack(one, client.keys!.zak);
  const answer = client.answer(one);
  const cuts = [0, 2, 7, 30, frame.length];
  for (let i = 0; i + 1 < cuts.length; i++) {
    client.socket.write(frame.subarray(cuts[i], cuts[i + 1]));
    await sleep(20);
  }
  t.equal((await answer)?.msg.text(39), '00', 'split frame answered');
  const a = client.transaction(2000);
  const b = client.transaction(3000);
  const answers = [client.answer(a), client.answer(b)];
  client.socket.write(Buffer.concat([pack(a, client.keys!.zak), pack(b, client.keys!.zak)]));
  t.same((await Promise.all(answers)).map((x) => x?.msg.text(39)), ['00', '00'], 'both frames of one write answered');
});
