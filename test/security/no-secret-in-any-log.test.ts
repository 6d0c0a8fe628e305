/**
 * No card number and no key in anything the switch writes for people to read. The real switch runs
 * as a process with logging at `debug` into a log file, and goes through what is most likely to
 * leak: sign-ins in every key mode, on-us and off-us sales with PINs (PIN verification and
 * translation), a wrong PIN, a void, a reversal, a refund, a host that declines and one that never
 * answers (a reversal advice), a batch upload naming cards, bad frames (garbage, a bad MAC, an
 * unknown terminal, a bad card number), admin API calls that fail and succeed (a clear TMK, TMK
 * components, card numbers in URLs), an LMK rotation, a day cut-over and the live monitor. Then
 * the log file, every HTTP answer and monitor frame, and every `*.log` file under the temp
 * directories of test runs are scanned for Luhn-valid 13–19 digit numbers and runs of 32 or more
 * hex digits (a double- or triple-length DES key is 32 or 48, an LMK 64; longer runs could be a
 * dump holding them): none may be there. The scanner is shown to find planted ones first.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { openSync, readFileSync, readdirSync, statSync, closeSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketClient } from '../../src/cli/ws-client.js';
import { SimTerminal } from '../../src/loadgen/index.js';
import { DEMO, demoOffUsPan, demoPan, demoTid } from '../../src/store/index.js';
import { CHILD_ENV, POSP_BIN, luhnPan, packWithMak, sleep } from '../switch/harness.js';
import { secretsIn } from './secrets.js';

const TOKEN = 'no-secret-scan-admin-token';

t.test('the scanner finds a planted card number or key, and passes what is neither', async (t) => {
  t.same(secretsIn(`{"pan":"${demoPan(1)}"}`), [demoPan(1)], 'a card number');
  t.same(secretsIn(`pan=${luhnPan('621700', 5, 19)} ok`), [luhnPan('621700', 5, 19)], 'a 19-digit one');
  t.same(secretsIn('{"tmk":"404142434445464748494A4B4C4D4E4F"}'), ['404142434445464748494A4B4C4D4E4F'], 'a double-length key');
  t.same(secretsIn(`k=${'ab'.repeat(24)};`), ['ab'.repeat(24)], 'a triple-length key');
  t.same(secretsIn(`lmk ${'0f'.repeat(32)}`), ['0f'.repeat(32)], 'an LMK');
  const notLuhn = demoPan(1).slice(0, -1) + ((Number(demoPan(1).slice(-1)) + 1) % 10);
  t.same(secretsIn(`{"time":${Date.now()},"pan":"622588******0019","mac":"B3A092AE","kcv":"0547DB","n":${notLuhn},"account":"card:6dce41b3241e469995b332048913196f"}`), [], 'masked numbers, epoch ms, short hex, non-Luhn numbers and account ids pass');
});

t.test('no card number or key in any log line, monitor frame or HTTP answer', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'posp-log-scan-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const logFile = join(dir, 'switch.log');
  const fd = openSync(logFile, 'w', 0o600);
  const proc = spawn(process.execPath, [POSP_BIN, 'start', '--demo', '--host-sim', '--host-sim-port', '0', '--api-port', 'off', '--data', dir, '--pos-port', '0', '--admin-port', '0', '--workers', '2', '--log-level', 'debug', '--cutover-at', 'off'], {
    env: { ...CHILD_ENV, POSP_ADMIN_TOKEN: TOKEN },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const exited = new Promise<number | null>((resolve) => proc.once('exit', resolve));
  t.teardown(() => proc.kill('SIGKILL'));
  const ports = await readyPorts(logFile, exited);
  const seen: string[] = [];

  const admin = async (method: string, path: string, body?: unknown, token = TOKEN): Promise<number> => {
    const res = await fetch(`http://127.0.0.1:${ports.admin}${path}`, { method, headers: { authorization: `Bearer ${token}` }, body: body === undefined ? undefined : JSON.stringify(body) });
    // The answer only: the request names cards and keys on purpose.
    seen.push(await res.text());
    return res.status;
  };
  const monitor = await WebSocketClient.connect(`ws://127.0.0.1:${ports.admin}/ws/monitor?token=${TOKEN}`);
  let frames = 0;
  monitor.onMessage = (text) => {
    frames++;
    seen.push(text);
  };

  const terminal = async (n: number, mode?: '001' | '003' | '004'): Promise<SimTerminal> => {
    const term = new SimTerminal({ host: '127.0.0.1', port: ports.pos, tid: demoTid(n), mid: DEMO.mid, tmk: DEMO.tmk });
    await term.connect();
    t.teardown(() => term.close());
    if (mode) t.equal((await term.signIn(mode)).text(39), '00', `${term.options.tid} signs in (key mode ${mode})`);
    return term;
  };
  const card = (n: number, pin: string = DEMO.pin) => ({ pan: demoPan(n), expiry: DEMO.expiry, pin });
  const [a, b, c] = [await terminal(0, '001'), await terminal(1, '003'), await terminal(2, '004')];

  // On-us: PINs verified, a wrong one, an inquiry, a void, a reversal, a refund, a pre-auth and its completion.
  const sale = a.sale(card(1), 1234);
  const sold = await a.request(sale);
  t.equal(sold.text(39), '00', 'an on-us sale with a PIN');
  t.equal((await b.request(b.sale(card(2, '654321'), 100))).text(39), '55', 'a wrong PIN: 55');
  t.equal((await c.request(c.balanceInquiry(card(3)))).text(39), '00', 'a balance inquiry');
  t.equal((await a.request(a.saleVoid(a.receipt(sale, sold, 'sale')))).text(39), '00', 'a void');
  const toReverse = b.sale(card(4), 500);
  await b.request(toReverse);
  t.equal((await b.request(b.reversal(toReverse))).text(39), '00', 'a reversal');
  const refunded = c.sale(card(5), 800);
  const refundedAnswer = await c.request(refunded);
  t.equal((await c.request(c.refund(c.receipt(refunded, refundedAnswer, 'sale'), 300))).text(39), '00', 'a refund');
  const preAuth = a.preAuth(card(6), 1000);
  const held = await a.request(preAuth);
  t.equal((await a.request(a.completion(a.receipt(preAuth, held, 'pre-auth'), 900))).text(39), '00', 'a pre-auth completed');

  // Off-us through the host: PIN translation once its link is up, a decline, an issuer that never answers.
  let offUs = '';
  for (let i = 0; i < 100 && offUs !== '00'; i++, await sleep(100)) offUs = (await b.request(b.sale({ pan: demoOffUsPan(1), expiry: DEMO.expiry, pin: DEMO.pin }, 100))).text(39)!;
  t.equal(offUs, '00', 'an off-us sale with a PIN');
  t.equal((await b.request(b.sale({ pan: demoOffUsPan(2), expiry: DEMO.expiry, pin: DEMO.pin }, 151))).text(39), '51', 'the host declines');
  t.not((await c.request(c.sale({ pan: demoOffUsPan(3), expiry: DEMO.expiry, pin: DEMO.pin }, 191))).text(39), '00', 'the host never answers');

  // A batch upload naming a card the journal does not have (a discrepancy).
  await a.request(a.batchUpload([{ cardType: '00', stan: '999999', pan: demoPan(77), amount: 4321n }]));

  // Bad input: garbage, a bad MAC, an unknown terminal, a card number that fails Luhn, a frame past the limit.
  const raw = net.connect(ports.pos, '127.0.0.1');
  await new Promise((resolve) => raw.once('connect', resolve));
  // A frame of track data that is no message, then a length past the limit.
  const track = Buffer.from(`${demoPan(9)}=30121010000012345678`);
  raw.write(Buffer.concat([Buffer.from([0, track.length]), track]));
  raw.write(Buffer.from([0xff, 0xff, 1, 2, 3]));
  await new Promise((resolve) => raw.once('close', resolve));
  t.equal((await c.sendRaw(packWithMak(c.sale(card(7), 100), Buffer.from('0123456789ABCDEF', 'hex')))).text(39), 'A0', 'a bad MAC: A0');
  const stranger = new SimTerminal({ host: '127.0.0.1', port: ports.pos, tid: '99999999', mid: DEMO.mid, tmk: DEMO.tmk });
  await stranger.connect();
  t.teardown(() => stranger.close());
  t.equal((await stranger.signIn()).text(39), '97', 'an unknown terminal: 97');
  t.not((await a.request(a.sale({ pan: '6225880000000012', expiry: DEMO.expiry, pin: DEMO.pin }, 100))).text(39), '00', 'a card number that fails Luhn');

  // The admin API, with card numbers and keys in what it is sent.
  await admin('GET', `/api/v1/cards/${demoPan(1)}`);
  await admin('GET', `/api/v1/cards/${demoPan(99_999_999)}`);
  await admin('PUT', `/api/v1/cards/6225880000000012`, { expiry: '3012', pin: '123456', opening: 100 });
  await admin('PUT', `/api/v1/cards/${luhnPan('622588', 123_456_789, 16)}`, { expiry: '3012', pin: '12', opening: 100 });
  await admin('GET', `/api/v1/transactions?last4=${demoPan(1).slice(-4)}`);
  await admin('PUT', '/api/v1/terminals/20000001', { mid: DEMO.mid, tmk: '404142434445464748494A4B4C4D4E4' });
  await admin('PUT', '/api/v1/terminals/20000001', { mid: DEMO.mid, tmk: DEMO.tmk });
  await admin('GET', '/api/v1/terminals/20000001');
  await admin('PUT', '/api/v1/terminals/20000001/tmk', { components: [DEMO.tmk, DEMO.tmk] });
  await admin('PUT', '/api/v1/terminals/20000001/tmk', { components: ['0123456789ABCDEF0123456789ABCDEF', 'FEDCBA9876543210FEDCBA9876543210'], kcv: '000000' });
  await admin('PUT', '/api/v1/terminals/20000001/tmk', { components: ['0123456789ABCDEF0123456789ABCDEF', 'FEDCBA9876543210FEDCBA9876543211'] });
  await admin('GET', `/api/v1/cards/${demoPan(1)}`, undefined, 'not-the-token');
  // Refusals that would echo what they were sent: an unknown path, a malformed escape, a bad number.
  await admin('GET', `/api/v1/cardz/${demoPan(1)}`);
  await admin('GET', `/api/v1/cards/${demoPan(1)}%ZZ`);
  await admin('GET', `/api/v1/transactions?amount=${demoPan(1)}`);
  await admin('GET', `/api/v1/transactions?${demoPan(1)}=1`);
  t.equal(await admin('POST', '/api/v1/lmk/rotate', {}), 200, 'an LMK rotation');
  t.equal((await a.request(a.sale(card(8), 100))).text(39), '00', 'a sale after the rotation');
  const today = /business date (\d{8})/.exec(readFileSync(logFile, 'utf8'))![1];
  t.equal(await admin('POST', '/api/v1/day-cut', {}), 200, 'a day cut-over');
  await admin('GET', '/api/v1/audit');
  // The ended day's report, once the back line has made it.
  let report = 0;
  for (let i = 0; i < 100 && report !== 200; i++) if ((report = await admin('GET', `/api/v1/reports/${today}`)) !== 200) await sleep(100);
  t.equal(report, 200, "the ended day's report");
  for (let i = 0; i < 50 && frames < 2; i++) await sleep(100);
  t.ok(frames >= 2, `monitor frames seen (${frames})`);
  monitor.close();

  proc.kill('SIGTERM');
  t.equal(await exited, 0, 'the switch stopped cleanly');
  const log = readFileSync(logFile, 'utf8');
  t.ok(log.split('\n').length > 20, `the log holds what happened (${log.split('\n').length} lines)`);
  t.same(secretsIn(log), [], 'no card number and no key in the log');
  t.same(secretsIn(seen.join('\n')), [], 'nor in any HTTP answer or monitor frame');
  t.same(secretsIn(`${log}\n{"pan":"${demoPan(1)}"}`), [demoPan(1)], 'a card number planted in the same log would be found');

  const logs = testRunLogs();
  t.same(
    logs.flatMap((file) => secretsIn(readFileSync(file, 'latin1')).map((s) => `${file}: ${s}`)),
    [],
    `nor in any of the ${logs.length} *.log files test runs left in temp directories`,
  );
});

/** The ports the ready line names, once it is in the log. */
async function readyPorts(logFile: string, exited: Promise<number | null>): Promise<{ pos: number; admin: number }> {
  let stopped = false;
  void exited.then(() => (stopped = true));
  for (const until = Date.now() + 120_000; Date.now() < until && !stopped; await sleep(50)) {
    const m = /posp: terminals on [^:\s]+:(\d+), admin and monitor on http:\/\/[^:\s]+:(\d+)\//.exec(readFileSync(logFile, 'utf8'));
    if (m) return { pos: Number(m[1]), admin: Number(m[2]) };
  }
  throw new Error(`the switch did not start:\n${readFileSync(logFile, 'utf8')}`);
}

/** `*.log` files under the temp directories test runs make (`posp-*`), a few levels deep. */
function testRunLogs(): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number): void => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const path = join(dir, name);
      try {
        const st = statSync(path);
        if (st.isDirectory() && depth > 0) walk(path, depth - 1);
        else if (st.isFile() && name.endsWith('.log')) found.push(path);
      } catch {
        // Another test's directory went away while this one looked.
      }
    }
  };
  for (const name of readdirSync(tmpdir())) if (name.startsWith('posp-') || name.startsWith('tap-')) walk(join(tmpdir(), name), 3);
  return found;
}
