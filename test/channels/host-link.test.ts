/**
 * A host link against the host simulator running as its own process (`posp sim-host`): it signs
 * on and takes in zone keys before it carries anything; requests are MACed and matched with their
 * answers by the link's own STAN and F41; a silent host times a request out without holding up the
 * others; the bound on requests in flight refuses the one past it; when the host dies every
 * request in flight fails at once, and the link comes back by itself when the host does. Garbage
 * from a host drops the connection, and the link reconnects. While up, the link renews its zone
 * keys without losing a request, and a renewal that fails keeps the keys and the connection.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { HostLink, type LinkFailure } from '../../src/channels/index.js';
import { HOST_LENGTH_PREFIX, HostMessage, decodeHostFrame } from '../../src/codec/index.js';
import { DEMO_ZMK } from '../../src/hostsim/index.js';
import { Lmk, SecurityModule, encryptPinBlock } from '../../src/security/index.js';
import { PAN, PIN, pack, startSimHost, type SimProcess } from '../hostsim/host-client.js';
import { sleep, withTimeout } from '../switch/harness.js';

const hsm = new SecurityModule(new Lmk(Buffer.alloc(32, 7)));
const zmk = hsm.importKey(DEMO_ZMK);

/** `posp sim-host` on `port` (0: any), its settlement files in `dir`. */
function startSimulator(dir: string, port = 0, args: string[] = []): Promise<SimProcess> {
  return startSimHost(dir, ['--port', String(port), '--log-level', 'warn', ...args]);
}

/** Answers as the link hands them over, by ticket. */
class Answers {
  private readonly waiting = new Map<number, (a: { answer: HostMessage | null; failure: LinkFailure | null }) => void>();
  readonly handler = (ticket: number, answer: HostMessage | null, failure: LinkFailure | null): void => {
    this.waiting.get(ticket)?.({ answer, failure });
    this.waiting.delete(ticket);
  };

  expect(ticket: number): Promise<{ answer: HostMessage | null; failure: LinkFailure | null }> {
    return new Promise((resolve) => this.waiting.set(ticket, resolve));
  }
}

function sale(amount: number, tid = '10000001'): HostMessage {
  const m = new HostMessage('0200');
  m.set(2, PAN);
  m.set(3, '000000');
  m.set(4, String(amount).padStart(12, '0'));
  m.set(14, '3012');
  m.set(22, '021');
  m.set(25, '00');
  m.set(37, '000000000001');
  m.set(41, tid);
  m.set(42, '898100012340001');
  m.set(49, '156');
  return m;
}

async function until(what: string, ok: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(20);
  }
}

function link(port: number, answers: Answers, extra: Partial<ConstructorParameters<typeof HostLink>[0]> = {}): HostLink {
  return new HostLink({
    name: 'sim',
    host: '127.0.0.1',
    port,
    acquirerId: '00010000',
    hsm,
    zmk,
    onAnswer: answers.handler,
    log: pino({ level: 'silent' }),
    reconnectMinMs: 50,
    reconnectMaxMs: 200,
    ...extra,
  });
}

t.test('signs on, takes in zone keys, and carries MACed requests matched to their answers', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'posp-link-'));
  const sim = await startSimulator(dir);
  const answers = new Answers();
  const l = link(sim.port, answers);
  t.teardown(() => {
    l.close();
    sim.proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  t.equal(l.send(sale(100), 1, 5000), 'down', 'nothing is sent before the link is up');
  await until('link up', () => l.state === 'up');
  t.ok(l.zpk, 'the zone PIN key of the session is there (for PIN translation)');

  const approved = answers.expect(2);
  t.equal(l.send(sale(12_300), 2, 5000), null, 'a sale goes out');
  const a = await approved;
  t.equal(a.failure, null, 'answered, with a MAC that verifies under the zone MAC key');
  t.equal(a.answer?.text(39), '00', 'approved');
  t.match(a.answer?.text(38), /^\d{6}$/, 'with an authorisation code');
  t.equal(a.answer?.text(37), '000000000001', 'the RRN the switch chose comes back');

  const declined = answers.expect(3);
  l.send(sale(12_351), 3, 5000);
  t.equal((await declined).answer?.text(39), '51', 'a decline passes through');

  // Many at once, from terminals whose own STANs would collide: the link's STAN keeps them apart.
  const many = Array.from({ length: 50 }, (_, i) => answers.expect(100 + i));
  for (let i = 0; i < 50; i++) t.equal(l.send(sale(1000 + i * 100, `1000000${i % 2}`), 100 + i, 5000), null);
  const all = await Promise.all(many);
  t.equal(all.filter((x) => x.answer?.text(39) === '00').length, 50, '50 in flight at once, each matched to its own answer');
  t.same([...new Set(all.map((x) => x.answer?.text(11)))].length, 50, 'each under its own link STAN');
});

t.test('a silent host times a request out without holding up the others; the in-flight bound refuses the one past it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'posp-link-'));
  const sim = await startSimulator(dir);
  const answers = new Answers();
  const l = link(sim.port, answers, { maxInFlight: 2 });
  t.teardown(() => {
    l.close();
    sim.proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  await until('link up', () => l.state === 'up');
  const silent = answers.expect(1);
  const started = Date.now();
  l.send(sale(4591), 1, 600);
  const answered = answers.expect(2);
  l.send(sale(4500), 2, 5000);
  t.equal((await answered).answer?.text(39), '00', 'the request behind the silent one is answered');
  t.equal(l.send(sale(4591), 3, 600), null, 'a second silent one');
  t.equal(l.send(sale(4500), 4, 600), 'busy', 'a third while two are in flight: refused, nothing sent');
  const s = await silent;
  t.equal(s.failure, 'timeout', 'the silent host times out');
  t.ok(Date.now() - started >= 600, 'not before its deadline');
  t.equal(l.state, 'up', 'a timeout does not drop the link');
});

t.test('the host dies: every request in flight fails at once; the link comes back by itself with the host', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'posp-link-'));
  let sim = await startSimulator(dir);
  const port = sim.port;
  const answers = new Answers();
  const l = link(port, answers);
  t.teardown(() => {
    l.close();
    sim.proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  await until('link up', () => l.state === 'up');
  const pending = [answers.expect(1), answers.expect(2)];
  l.send(sale(7791), 1, 30_000);
  l.send(sale(7891), 2, 30_000);
  await sleep(100);
  sim.proc.kill('SIGKILL');
  await sim.exited;
  const failed = await withTimeout(Promise.all(pending), 2000, 'requests in flight when the host died');
  t.same(failed.map((f) => f.failure), ['lost', 'lost'], 'both fail as lost at once, not at their 30 s deadline');
  await until('link down', () => l.state !== 'up');
  t.equal(l.send(sale(100), 3, 5000), 'down', 'nothing is sent while the host is gone');

  sim = await startSimulator(dir, port);
  await until('link up again', () => l.state === 'up');
  const again = answers.expect(4);
  l.send(sale(200), 4, 5000);
  t.equal((await again).answer?.text(39), '00', 'after the host is back, the link carries requests again');
});

t.test('garbage from a host drops the connection and the link reconnects', async (t) => {
  // A hostile peer, not a stand-in for the simulator: it answers the sign-on with bytes that are no frame.
  let connections = 0;
  const garbage = net.createServer((socket) => {
    connections++;
    socket.on('data', () => socket.write('00zzGARBAGE'));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => garbage.listen(0, '127.0.0.1', resolve));
  const answers = new Answers();
  const l = link((garbage.address() as net.AddressInfo).port, answers);
  t.teardown(() => {
    l.close();
    garbage.close();
  });
  await until('a reconnect after the garbage', () => connections >= 2);
  t.not(l.state, 'up', 'a host that answers garbage never brings the link up');
});

t.test('an answer after its deadline is logged and dropped; the link carries on', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'posp-link-'));
  const sim = await startSimulator(dir, 0, ['--latency-ms', '700']);
  const answers = new Answers();
  const lines: string[] = [];
  const l = link(sim.port, answers, { log: pino({ level: 'warn' }, { write: (s: string) => void lines.push(s) }) });
  t.teardown(() => {
    l.close();
    sim.proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  await until('link up', () => l.state === 'up');
  const late = answers.expect(1);
  l.send(sale(300), 1, 200);
  t.equal((await late).failure, 'timeout', 'the deadline passes first');
  await until('the late answer arrives', () => lines.some((s) => s.includes('matches no request in flight')), 5000);
  t.match(JSON.parse(lines.find((s) => s.includes('matches no request in flight'))!), { link: 'sim', mti: '0210', code: '00' }, 'logged with what it was');
  const next = answers.expect(2);
  l.send(sale(400), 2, 5000);
  t.equal((await next).answer?.text(39), '00', 'the next request is answered');
});

/** The type of a subtest's `t`. */
type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

/** Calls `onFrame` with each whole host frame (length prefix included) that `socket` receives. */
function onFrames(socket: net.Socket, onFrame: (frame: Buffer) => void): void {
  let rest = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    rest = Buffer.concat([rest, chunk]);
    for (;;) {
      const end = HOST_LENGTH_PREFIX + Number(rest.toString('latin1', 0, HOST_LENGTH_PREFIX));
      if (rest.length < HOST_LENGTH_PREFIX || rest.length < end) return;
      onFrame(Buffer.from(rest.subarray(0, end)));
      rest = rest.subarray(end);
    }
  });
}

const isKeyExchange = (msg: HostMessage): boolean => msg.text(70) === '101';

/**
 * A man in the middle between a link and the simulator. Frames pass both ways, except that the
 * host's answers to key exchanges arrive `keysLateMs` late (what else the host answers meanwhile
 * passes them), and `answerKeys` may answer a key exchange itself: the host never sees that one.
 */
async function between(
  t: Tap,
  hostPort: number,
  o: { keysLateMs?: number; answerKeys?: (request: HostMessage) => HostMessage | undefined },
): Promise<{ port: number; connections: () => number }> {
  let connections = 0;
  const server = net.createServer((link) => {
    connections++;
    const host = net.connect(hostPort, '127.0.0.1');
    const close = (): void => {
      link.destroy();
      host.destroy();
    };
    for (const s of [link, host]) s.on('error', close).on('close', close);
    onFrames(link, (frame) => {
      const request = decodeHostFrame(frame);
      const answer = isKeyExchange(request) ? o.answerKeys?.(request) : undefined;
      if (answer === undefined) host.write(frame);
      else link.write(pack(answer));
    });
    onFrames(host, (frame) => {
      if (isKeyExchange(decodeHostFrame(frame))) setTimeout(() => link.write(frame), o.keysLateMs ?? 0);
      else link.write(frame);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  return { port: (server.address() as net.AddressInfo).port, connections: () => connections };
}

/** A terminal's PIN key, in the clear (the terminal's side) and loaded (the switch's). */
const PIK_CLEAR = Buffer.from('0123456789ABCDEFFEDCBA9876543210', 'hex');
const PIK = hsm.loadKey(hsm.importKey(PIK_CLEAR));

/** A sale of a whole number of yuan (the simulator approves it), with a PIN block under the link's zone PIN key of now when `pin`. */
function approvable(l: HostLink, n: number, pin: boolean): HostMessage {
  const m = sale(100 * (1 + (n % 500)), `1000${String(n % 10_000).padStart(4, '0')}`);
  // As the pipeline does: translated to the zone PIN key of the moment, and sent at once.
  if (pin) m.set(52, hsm.translatePin(PIK, l.zpk!, encryptPinBlock(PIK_CLEAR, PAN, PIN), PAN));
  return m;
}

/** Sends approvable sales, one every `everyMs`, until `done` (checked after each); resolves with every outcome. */
async function trickle(l: HostLink, answers: Answers, everyMs: number, done: (sent: number) => boolean) {
  const outcomes: Promise<{ answer: HostMessage | null; failure: LinkFailure | null }>[] = [];
  for (let n = 0; !done(n); n++) {
    if (n > 2000) throw new Error('the trickle never ended');
    const ticket = 1000 + n;
    outcomes.push(answers.expect(ticket));
    const refused = l.send(approvable(l, n, n % 2 === 0), ticket, 5000);
    if (refused !== null) throw new Error(`request ${n} not sent: ${refused}`);
    await sleep(everyMs);
  }
  return Promise.all(outcomes);
}

/** `{ '00': n }` when every outcome is an answer 00; otherwise what went wrong, counted. */
function codes(outcomes: { answer: HostMessage | null; failure: LinkFailure | null }[]): Record<string, number> {
  const count: Record<string, number> = {};
  for (const o of outcomes) {
    const what = o.failure ?? o.answer?.text(39) ?? 'no F39';
    count[what] = (count[what] ?? 0) + 1;
  }
  return count;
}

t.test('renews its zone keys while up and every request still gets the host\'s real answer', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'posp-link-'));
  // Answers 150 ms late: those to requests sent just before a renewal come after it, under the old key.
  const sim = await startSimulator(dir, 0, ['--log-level', 'info', '--latency-ms', '150']);
  // Key exchange answers 50 ms late: requests come while a renewal is in flight, after the host has replaced its keys.
  const middle = await between(t, sim.port, { keysLateMs: 50 });
  const answers = new Answers();
  const l = link(middle.port, answers, { keyExchangeMs: 300 });
  t.teardown(() => {
    l.close();
    sim.proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  await until('link up', () => l.state === 'up');
  t.equal(l.keyExchanges, 1, 'the sign-on\'s key exchange');

  const outcomes = await trickle(l, answers, 10, (sent) => sent >= 100 && l.keyExchanges >= 3);
  t.ok(l.keyExchanges >= 3, `renewed at least twice while requests flowed (${l.keyExchanges - 1} renewals, ${outcomes.length} requests)`);
  t.same(codes(outcomes), { '00': outcomes.length }, 'every request approved by the host: no MAC failure, no timeout, no A0, no 55');
  const exchanged = sim.output().split('\n').filter((line) => line.includes('zone keys exchanged')).length;
  t.ok(exchanged >= 3, `the host replaced its keys each time (${exchanged} key exchanges in its log)`);
  t.equal(middle.connections(), 1, 'on one connection');
  t.equal(l.state, 'up');
});

t.test('a renewal refused (not 00, or keys whose KCV does not match) keeps the current keys and the connection', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'posp-link-'));
  const sim = await startSimulator(dir);
  let keyExchanges = 0;
  // The sign-on's key exchange reaches the host, the next two are refused on its behalf, the rest reach it again.
  const middle = await between(t, sim.port, {
    answerKeys: (request) => {
      keyExchanges++;
      if (keyExchanges === 1 || keyExchanges > 3) return undefined;
      const answer = new HostMessage('0810').set(7, request.text(7)).set(11, request.text(11)).set(70, '101');
      if (keyExchanges === 2) return answer.set(39, '96');
      return answer.set(39, '00').set(48, '0'.repeat(32) + 'FFFFFF' + '0'.repeat(32) + 'FFFFFF');
    },
  });
  const answers = new Answers();
  const lines: string[] = [];
  const l = link(middle.port, answers, { keyExchangeMs: 200, log: pino({ level: 'warn' }, { write: (s: string) => void lines.push(s) }) });
  t.teardown(() => {
    l.close();
    sim.proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  await until('link up', () => l.state === 'up');

  const outcomes = await trickle(l, answers, 10, () => l.keyExchanges >= 2);
  t.ok(keyExchanges >= 4, 'two renewals were refused before one reached the host and took effect');
  t.same(codes(outcomes), { '00': outcomes.length }, `every request approved under the keys kept (${outcomes.length} requests)`);
  const warned = lines.map((s) => JSON.parse(s) as { msg: string; why?: string }).filter((w) => w.msg.includes('zone key renewal failed'));
  t.equal(warned.length, 2, 'one warning per refused renewal');
  t.match(warned[0]?.why, /answered 96/);
  t.match(warned[1]?.why, /check value .* is not the FFFFFF sent with it/);
  t.notOk(lines.some((s) => s.includes('host link dropped')), 'the connection was not dropped');
  t.equal(middle.connections(), 1, 'one connection throughout');
});
