/**
 * The terminal listener's firewall, each limit over real TCP against the real switch, every refusal
 * counted by reason in /metrics: allow and deny lists (and their IPv4/IPv6 CIDRs, checked directly),
 * connections per source and in total, a frame arriving too slowly (one byte, then silence), and a
 * terminal's request rate (over it: `65`, nothing journalled), a length out of range, a frame that
 * cannot be answered and the idle timeout. A bad CIDR is a configuration error. A flood of refusals
 * is logged once per source and reason per interval, the next line saying how many went unlogged.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import t, { type Test } from 'tap';
import { FIREWALL_DEFAULTS, Firewall } from '../../src/channels/index.js';
import { SimTerminal } from '../../src/loadgen/index.js';
import { DEMO, demoPan, demoTid } from '../../src/store/index.js';
import { ConfigError, DEFAULTS, loadConfig, startSwitch, type RunningSwitch, type SwitchConfig } from '../../src/switch/index.js';
import { sleep } from '../switch/harness.js';
import { suiteLogging } from '../suite-log.js';

const silent = pino({ level: 'silent' });
const logging = suiteLogging('firewall-limits');

async function start(t: Test, config: Partial<SwitchConfig>, log = logging.log): Promise<{ sw: RunningSwitch; dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'posp-firewall-'));
  const sw = await startSwitch({ ...DEFAULTS, dataDir, posPort: 0, adminPort: 0, demo: true, workers: 1, ...logging.config, cutoverAt: 'off', ...config }, log);
  t.teardown(async () => {
    await sw.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return { sw, dataDir };
}

/** A raw connection: resolves `closed` when the switch closes it (or it could not open). */
function raw(port: number): Promise<{ socket: net.Socket; closed: Promise<void> }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const closed = new Promise<void>((done) => socket.on('close', () => done()));
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve({ socket, closed }));
    socket.once('close', () => resolve({ socket, closed }));
  });
}

/** Whether the switch closed the connection within `ms`. */
async function closedWithin(conn: { closed: Promise<void> }, ms: number): Promise<boolean> {
  return Promise.race([conn.closed.then(() => true), sleep(ms).then(() => false)]);
}

async function refused(sw: RunningSwitch, reason: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${sw.adminPort}/metrics`)).text();
  const m = new RegExp(`^posp_firewall_refused_total\\{reason="${reason}"\\} (\\d+)$`, 'm').exec(text);
  return m === null ? NaN : Number(m[1]);
}

t.test('allow and deny lists, IPv4 and IPv6', async (t) => {
  const fw = new Firewall({ ...FIREWALL_DEFAULTS, allow: ['10.0.0.0/8', '2001:db8::/32'], deny: ['10.9.0.0/16', '2001:db8:bad::1'] }, silent);
  t.equal(fw.admit('10.1.2.3'), null, 'an allowed IPv4 source');
  t.equal(fw.admit('::ffff:10.1.2.4'), null, 'the same as an IPv4-mapped address');
  t.equal(fw.admit('2001:db8::42'), null, 'an allowed IPv6 source');
  t.equal(fw.admit('10.9.1.1'), 'denied', 'a denied subnet inside the allowed one');
  t.equal(fw.admit('2001:db8:bad::1'), 'denied', 'a denied IPv6 address');
  t.equal(fw.admit('192.168.1.1'), 'not-allowed', 'outside the allow list');
  t.equal(fw.admit('::1'), 'not-allowed', 'IPv6 loopback outside it too');
  t.same({ connections: fw.connections, denied: fw.refused.denied, notAllowed: fw.refused['not-allowed'] }, { connections: 3, denied: 2, notAllowed: 2 }, 'counted: three open, each refusal by reason');
  const refusal = (args: string[]): unknown => {
    try {
      loadConfig(args, {});
    } catch (err) {
      return err;
    }
    return undefined;
  };
  t.ok(refusal(['--allow', '10.0.0.0/33']) instanceof ConfigError, 'a prefix longer than the family allows is a configuration error');
  t.ok(refusal(['--deny', 'not-an-address']) instanceof ConfigError, 'so is something not an address');
});

t.test('a terminal over its rate gets 65 and nothing is journalled', async (t) => {
  const { sw, dataDir } = await start(t, { terminalRate: 2, terminalBurst: 4 });
  const term = new SimTerminal({ host: '127.0.0.1', port: sw.posPort, tid: demoTid(5), mid: DEMO.mid, tmk: DEMO.tmk });
  t.teardown(() => term.close());
  await term.connect();
  t.equal((await term.signIn()).text(39), '00', 'signed in (one request of its burst)');
  const sales = Array.from({ length: 8 }, (_, i) => term.sale({ pan: demoPan(5), expiry: DEMO.expiry, pin: DEMO.pin }, 100 + i));
  const answers = await Promise.all(sales.map((s) => term.request(s)));
  const codes = answers.map((a) => a.text(39));
  t.ok(codes.filter((c) => c === '00').length >= 3 && codes.filter((c) => c === '00').length <= 4, `the rest of the burst is approved (${codes.join(' ')})`);
  t.ok(codes.filter((c) => c === '65').length >= 4, 'the requests over the rate are answered 65');
  // Answered at once by the listener, they may overtake approvals: each names its request by STAN.
  const over = answers.filter((a) => a.text(39) === '65').map((a) => a.text(11)!);
  t.same(new Set([...over, ...answers.filter((a) => a.text(39) === '00').map((a) => a.text(11)!)]), new Set(sales.map((s) => s.text(11)!)), 'every request answered once, by its STAN');
  let journalled = 0;
  for (const file of readdirSync(join(dataDir, 'journal')).filter((f) => f.endsWith('.sqlite'))) {
    const db = new Database(join(dataDir, 'journal', file), { readonly: true });
    for (const stan of over) journalled += (db.prepare('SELECT count(*) AS n FROM entries WHERE tid = ? AND stan = ?').get(demoTid(5), stan) as { n: number }).n;
    db.close();
  }
  t.equal(journalled, 0, 'none of them is in the journal');
  t.equal(await refused(sw, 'terminal-rate'), over.length, 'each counted as terminal-rate');
  await sleep(1100);
  t.equal((await term.request(term.sale({ pan: demoPan(5), expiry: DEMO.expiry, pin: DEMO.pin }, 900))).text(39), '00', 'a second later the bucket has refilled');
});

t.test('connections per source, in total, and a source not allowed', async (t) => {
  const { sw } = await start(t, { maxConnectionsPerSource: 3, maxConnections: 1000 });
  const held = await Promise.all([1, 2, 3].map(() => raw(sw.posPort)));
  const fourth = await raw(sw.posPort);
  t.ok(await closedWithin(fourth, 2000), 'the fourth connection from one source is closed');
  t.notOk(await closedWithin(held[0], 200), 'the three before it stay');
  t.equal(await refused(sw, 'source-connections'), 1, 'counted as source-connections');
  held[0].socket.destroy();
  await held[0].closed;
  await sleep(100);
  const again = await raw(sw.posPort);
  t.notOk(await closedWithin(again, 300), 'one closed frees its place');
  for (const c of [...held, again]) c.socket.destroy();

  const total = await start(t, { maxConnectionsPerSource: 100, maxConnections: 2 });
  const two = await Promise.all([1, 2].map(() => raw(total.sw.posPort)));
  t.ok(await closedWithin(await raw(total.sw.posPort), 2000), 'past the total, a connection is closed');
  t.equal(await refused(total.sw, 'total-connections'), 1, 'counted as total-connections');
  for (const c of two) c.socket.destroy();

  const outside = await start(t, { allow: '10.0.0.0/8' });
  t.ok(await closedWithin(await raw(outside.sw.posPort), 2000), 'loopback outside the allow list is closed at once');
  t.equal(await refused(outside.sw, 'not-allowed'), 1, 'counted as not-allowed');
});

t.test('a frame arriving too slowly closes its connection; a normal terminal goes on', async (t) => {
  const { sw } = await start(t, { frameTimeoutMs: 400 });
  const loris = await raw(sw.posPort);
  loris.socket.write(Buffer.from([0x00]));
  const lengthOnly = await raw(sw.posPort);
  lengthOnly.socket.write(Buffer.from([0x00, 0x40, 0x60]));
  const term = new SimTerminal({ host: '127.0.0.1', port: sw.posPort, tid: demoTid(6), mid: DEMO.mid, tmk: DEMO.tmk });
  t.teardown(() => term.close());
  await term.connect();
  t.equal((await term.signIn()).text(39), '00', 'a normal terminal signs in beside them');
  t.ok(await closedWithin(loris, 2000), 'one byte, then silence: closed');
  t.ok(await closedWithin(lengthOnly, 2000), 'a length and part of a frame, then silence: closed');
  t.equal(await refused(sw, 'frame-timeout'), 2, 'both counted as frame-timeout');
  await sleep(600);
  t.equal((await term.request(term.sale({ pan: demoPan(6), expiry: DEMO.expiry, pin: DEMO.pin }, 500))).text(39), '00', 'idle between whole frames is not slow: the terminal sells');
});

t.test('a frame over its terminal rate whose MTI has no response (third digit 9) is passed on, not answered by a broken MTI', async (t) => {
  const { failureResponse } = await import('../../src/channels/index.js');
  const { TerminalMessage, encodeTerminalFrame } = await import('../../src/codec/index.js');
  const frameOf = (mti: string): Buffer => {
    const msg = new TerminalMessage(mti, '6000000000', '603100000000');
    msg.set(41, '10000001');
    msg.set(42, DEMO.mid);
    const out = Buffer.alloc(256);
    const end = encodeTerminalFrame(msg, out, 0, true);
    return out.subarray(2, end);
  };
  t.equal(failureResponse(frameOf('0890'), '65'), undefined, '0890: no answer is made (it threw before, ending the process)');
  t.ok(failureResponse(frameOf('0820'), '65') !== undefined, '0820: answered 0830');
});

/** A logger keeping its lines as objects. */
function capturing(): { log: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(String(chunk))), done()) }));
  return { log, lines };
}

t.test('lengths out of range, frames that cannot be answered and silent connections are closed, counted and logged once per source', async (t) => {
  const { log, lines } = capturing();
  const { sw } = await start(t, { idleTimeoutMs: 1500 }, log);
  const term = new SimTerminal({ host: '127.0.0.1', port: sw.posPort, tid: demoTid(7), mid: DEMO.mid, tmk: DEMO.tmk });
  t.teardown(() => term.close());
  await term.connect();
  t.equal((await term.signIn()).text(39), '00', 'a normal terminal signs in (the worker is serving)');
  term.close();
  const send = async (bytes: Buffer): Promise<boolean> => {
    const conn = await raw(sw.posPort);
    conn.socket.write(bytes);
    return closedWithin(conn, 3000);
  };
  const garbage = Buffer.from('not an ISO 8583 frame at all', 'latin1');
  const closes = await Promise.all([
    ...Array.from({ length: 20 }, () => send(Buffer.concat([Buffer.from([0, garbage.length]), garbage]))),
    ...Array.from({ length: 5 }, () => send(Buffer.from([0xff, 0xff, 0x60]))),
    ...Array.from({ length: 3 }, () => send(Buffer.from([0x00, 0x00]))),
  ]);
  t.ok(closes.every(Boolean), 'each of the 28 connections is closed');
  t.equal(await refused(sw, 'idle-timeout'), 0, 'each for what it sent, before any idle timeout');
  const silent = await raw(sw.posPort);
  t.ok(await closedWithin(silent, 3000), 'a connection that sends nothing is closed after the idle timeout');
  t.equal(await refused(sw, 'unanswerable-frame'), 20, 'garbage counted as unanswerable-frame');
  t.equal(await refused(sw, 'frame-length'), 8, 'lengths above the maximum and of zero counted as frame-length');
  t.equal(await refused(sw, 'idle-timeout'), 1, 'the silent one counted as idle-timeout');
  const logged = lines.filter((l) => l.msg === 'listener refused');
  t.same(logged.map((l) => l.reason).sort(), ['frame-length', 'idle-timeout', 'unanswerable-frame'], `one line per reason from this source, not one per connection (${logged.length} lines)`);
  t.ok(logged.every((l) => l.remote === '127.0.0.1'), 'each names the source address');
  const after = new SimTerminal({ host: '127.0.0.1', port: sw.posPort, tid: demoTid(7), mid: DEMO.mid, tmk: DEMO.tmk });
  t.teardown(() => after.close());
  await after.connect();
  t.equal((await after.signIn()).text(39), '00', 'a terminal signs in after all of it');
  t.equal((await after.request(after.sale({ pan: demoPan(7), expiry: DEMO.expiry, pin: DEMO.pin }, 700))).text(39), '00', 'and sells');
});

t.test('after the interval, the next line says how many refusals went unlogged', async (t) => {
  const { log, lines } = capturing();
  const fw = new Firewall(FIREWALL_DEFAULTS, log);
  for (let i = 0; i < 50; i++) fw.refuse('unanswerable-frame', '::ffff:192.0.2.7');
  fw.refuse('unanswerable-frame', '198.51.100.1');
  const now = Date.now;
  Date.now = () => now() + 11_000;
  try {
    fw.refuse('unanswerable-frame', '192.0.2.7');
  } finally {
    Date.now = now;
  }
  t.same(
    lines.map((l) => [l.remote, l.suppressed, l.refusedSoFar]),
    [
      ['192.0.2.7', 0, 1],
      ['198.51.100.1', 0, 51],
      ['192.0.2.7', 49, 52],
    ],
    'first line at once, then silence for ten seconds, then a line counting the 49 unlogged',
  );
  t.equal(fw.refused['unanswerable-frame'], 52, 'every refusal counted');
});
