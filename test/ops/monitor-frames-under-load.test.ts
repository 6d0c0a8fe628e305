/**
 * The live monitor (ws://HOST:ADMIN/ws/monitor) on the real switch under load: a client with
 * `?token=` receives a frame about once a second, each with the sales of its second (TPS by type,
 * the code mix with 00 and the wrong-PIN 55s), terminals connected and signed in, queues, channels,
 * and a tail of at most TAIL_PER_SECOND transactions that carries no card number. A viewer's token
 * in the Authorization header will do; a wrong token or none is refused before the upgrade.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { WebSocketClient, WebSocketRefused } from '../../src/cli/ws-client.js';
import { SimTerminal } from '../../src/loadgen/index.js';
import { TAIL_PER_SECOND, type MonitorFrame } from '../../src/ops/index.js';
import { DEMO, demoPan, demoTid } from '../../src/store/index.js';
import { DEFAULTS, startSwitch } from '../../src/switch/index.js';
import { sleep } from '../switch/harness.js';
import { suiteLogging } from '../suite-log.js';

const logging = suiteLogging('monitor-frames-under-load');

const TOKEN = 'monitor-test-admin-token';
const TERMINALS = 4;
const LOAD_MS = 4_500;

t.test('a monitor client receives a frame a second, with the load it is under and cards only masked', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'posp-monitor-'));
  const sw = await startSwitch({ ...DEFAULTS, dataDir, posPort: 0, adminPort: 0, demo: true, workers: 1, ...logging.config, adminToken: TOKEN, cutoverAt: 'off' }, logging.log);
  t.teardown(async () => {
    await sw.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const monitor = `ws://127.0.0.1:${sw.adminPort}/ws/monitor`;

  const refused = async (url: string, headers: Record<string, string> = {}) => {
    const err = await WebSocketClient.connect(url, { headers }).then((c) => (c.close(), undefined), (e: unknown) => e);
    return err instanceof WebSocketRefused ? err.status : err;
  };
  t.equal(await refused(`${monitor}?token=not-the-token`), 401, 'a wrong token is refused with 401 before the upgrade');
  t.equal(await refused(monitor), 401, 'no token: 401');
  t.equal(await refused(monitor, { authorization: 'Bearer not-the-token' }), 401, 'a wrong bearer header: 401');

  const terms = Array.from({ length: TERMINALS }, (_, i) => new SimTerminal({ host: '127.0.0.1', port: sw.posPort, tid: demoTid(20 + i), mid: DEMO.mid, tmk: DEMO.tmk }));
  for (const term of terms) {
    await term.connect();
    t.equal((await term.signIn()).text(39), '00', `${term.options.tid} signed in`);
  }
  t.teardown(() => terms.forEach((term) => term.close()));

  const client = await WebSocketClient.connect(`${monitor}?token=${TOKEN}`);
  const frames: { received: number; frame: MonitorFrame; text: string }[] = [];
  client.onMessage = (text) => frames.push({ received: Date.now(), frame: JSON.parse(text) as MonitorFrame, text });
  t.teardown(() => client.close());

  const pans = new Set<string>();
  const codes: Record<string, number> = {};
  let selling = true;
  const drive = async (term: SimTerminal, i: number): Promise<void> => {
    for (let k = 0; selling; k++) {
      const n = 1 + ((i * 97 + k) % 500);
      pans.add(demoPan(n));
      // Every tenth sale with a wrong PIN: 55 in the code mix.
      const res = await term.request(term.sale({ pan: demoPan(n), expiry: DEMO.expiry, pin: k % 10 === 9 ? '999999' : DEMO.pin }, 100 + k));
      codes[res.text(39)!] = (codes[res.text(39)!] ?? 0) + 1;
    }
  };
  const load = terms.map(drive);
  await sleep(LOAD_MS);
  selling = false;
  await Promise.all(load);
  const underLoad = frames.length;
  const loadEnded = Date.now();
  // A frame whose whole second came after the last answer.
  for (let i = 0; i < 40 && !frames.some((f) => f.frame.at - f.frame.seconds * 1000 > loadEnded + 50); i++) await sleep(100);
  t.ok(codes['00'] > 0 && codes['55'] > 0, `sales approved and declined: ${JSON.stringify(codes)}`);

  t.ok(underLoad >= 3, `at least 3 frames during ${LOAD_MS} ms of load (got ${underLoad})`);
  const gaps = frames.slice(1).map((f, i) => f.frame.at - frames[i].frame.at);
  t.ok(gaps.every((g) => g >= 700 && g <= 1_600), `frames about a second apart: ${gaps.join(', ')} ms`);
  const busy = frames.slice(1, underLoad).map((f) => f.frame);
  t.ok(busy.length >= 2, 'whole seconds of load seen');
  t.ok(busy.every((f) => f.tps.byType.sale > 0 && f.tps.total >= f.tps.byType.sale), `TPS of sales in every second under load: ${busy.map((f) => f.tps.byType.sale).join(', ')}`);
  t.ok(busy.every((f) => f.codes['00'] > 0), 'the code mix has 00 in every second under load');
  t.ok(busy.some((f) => f.codes['55'] > 0), 'and the wrong-PIN 55s');
  t.ok(busy.every((f) => f.latencyUs.p50 > 0 && f.latencyUs.p50 <= f.latencyUs.p90 && f.latencyUs.p90 <= f.latencyUs.p99 && f.latencyUs.p99 <= f.latencyUs.max), 'latency percentiles in order');
  t.ok(busy.every((f) => Math.abs(Object.values(f.codes).reduce((a, b) => a + b, 0) / f.seconds - f.tps.total) <= 0.01 * f.tps.total), 'the code mix adds up to the TPS');
  const last = busy.at(-1)!;
  t.same(last.terminals, { connected: TERMINALS, signedIn: TERMINALS }, 'terminals connected and signed in');
  t.match(last.channels, [{ name: 'terminal', kind: 'listener', switched: 'enabled', now: 'enabled', port: sw.posPort }], 'the channels and their state');
  t.match(last.queues, { frames: Number, responses: Number, proposals: Number, replies: Number, feed: Number, advices: 0, applyLag: Number }, 'ring and queue depths');
  t.same(last.hostLinks, [], 'no host links configured');
  t.ok(busy.every((f) => f.tail.length > 0 && f.tail.length <= TAIL_PER_SECOND), `a tail of 1..${TAIL_PER_SECOND} transactions a second: ${busy.map((f) => f.tail.length).join(', ')}`);
  t.ok(busy.every((f) => f.tail.every((e, i) => i === 0 || e.seq > f.tail[i - 1].seq)), 'the tail in journal order');
  t.match(last.tail[0], { seq: Number, type: 'sale', code: /^(00|55)$/, amount: Number, tid: /^1000002[1-4]$/, mid: DEMO.mid, route: 'on-us' }, 'a tail entry');
  const quiet = frames.at(-1)!.frame;
  t.same([quiet.tps, quiet.codes, quiet.tail], [{ total: 0, byType: {} }, {}, []], 'a second without load shows no traffic');

  // The card only masked: first 6 and last 4 in the tail's card field, and no other run of 6 of its digits (MID and TID aside).
  const masked = (pan: string) => `${pan.slice(0, 6)}${'*'.repeat(pan.length - 10)}${pan.slice(-4)}`;
  const tailCards = frames.flatMap((f) => f.frame.tail.filter((e) => e.type === 'sale').map((e) => e.card));
  t.ok(tailCards.length > 0 && tailCards.every((card) => [...pans].some((pan) => card === masked(pan))), `the tail shows each sale's card masked (${tailCards[0]})`);
  const leaks: string[] = [];
  const visit = (value: unknown, key: string): void => {
    if (typeof value === 'string' && key !== 'mid' && key !== 'tid' && key !== 'card') {
      for (const pan of pans) for (let i = 0; i + 6 <= pan.length; i++) if (value.includes(pan.slice(i, i + 6))) leaks.push(`${key}=${value}`);
    } else if (typeof value === 'object' && value !== null) for (const [k, v] of Object.entries(value)) visit(v, k);
  };
  for (const f of frames) visit(f.frame, '');
  t.same(leaks.slice(0, 5), [], 'no frame carries a card number or another run of its digits');
  t.notOk(frames.some((f) => [...pans].some((pan) => f.text.includes(pan))), 'nor a clear card number anywhere');

  // Any role may watch, with the token in the header instead of the query.
  const made = await fetch(`http://127.0.0.1:${sw.adminPort}/api/v1/tokens`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ role: 'viewer' }) });
  const viewer = ((await made.json()) as { token: string }).token;
  const watcher = await WebSocketClient.connect(monitor, { headers: { authorization: `Bearer ${viewer}` } });
  const first = await new Promise<MonitorFrame>((resolve) => (watcher.onMessage = (text) => resolve(JSON.parse(text) as MonitorFrame)));
  t.equal(first.businessDate, sw.businessDate, "a viewer's token in the Authorization header watches too");
  watcher.close();
  t.equal((await watcher.closed).code, 1000, 'and closes cleanly');
});
