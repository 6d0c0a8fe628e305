/**
 * `posp terminal tmk-import`: key custodians enter a terminal's master key as two or three clear
 * components, each confirmed by its check value; the running switch XORs them in its security
 * module, checks every check value and the key's, and signs the terminal out, so it must sign in
 * again, under the new key. A mistyped component or check value, a malformed or repeated component,
 * or a TMK on the command line is refused with the reason and changes nothing; no answer or output
 * ever shows a component or the key.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { SimTerminal } from '../../src/loadgen/index.js';
import { DesKey, kcv } from '../../src/security/index.js';
import { DEMO, demoPan, demoTid } from '../../src/store/index.js';
import { ADMIN_TOKEN, startApiSwitch } from '../ops/api-harness.js';
import { runPosp } from '../switch/harness.js';

/** First 6 hex digits of a clear key's KCV, as custodians read it. */
function checkValue(hex: string): string {
  return kcv(new DesKey(Buffer.from(hex, 'hex'))).toString('hex').toUpperCase().slice(0, 6);
}

function xor(...hex: string[]): string {
  const out = Buffer.alloc(hex[0].length / 2);
  for (const h of hex) Buffer.from(h, 'hex').forEach((b, i) => (out[i] ^= b));
  return out.toString('hex').toUpperCase();
}

const component = (bytes = 16): string => randomBytes(bytes).toString('hex').toUpperCase();

t.test('tmk-import over the running switch', async (t) => {
  const { sw, api, tokenOf } = await startApiSwitch(t, { apiPort: 'off' });
  const admin = ['--admin', `http://127.0.0.1:${sw.adminPort}`, '--token', ADMIN_TOKEN];
  const tid = demoTid(7);
  const tmkCheckValue = async (): Promise<string> => (await api('GET', `/api/v1/terminals/${tid}`)).body.tmkCheckValue;
  const importTmk = (input: string, ...extra: string[]) => runPosp(['terminal', 'tmk-import', tid, ...extra, ...admin], input);
  const neverShown = (text: string, secrets: string[]): boolean => secrets.every((s) => !text.toUpperCase().includes(s));

  const old = new SimTerminal({ host: '127.0.0.1', port: sw.posPort, tid, mid: DEMO.mid, tmk: DEMO.tmk });
  await old.connect();
  t.teardown(() => old.close());
  t.equal((await old.signIn()).text(39), '00', 'the terminal signs in under the demo TMK');

  await t.test('two components: the key is their XOR, the terminal must sign in again under it', async (t) => {
    const [a, b] = [component(), component()];
    const tmk = xor(a, b);
    const run = await importTmk(`${a}\n${checkValue(a)}\n${b}\n${checkValue(b)}\n`);
    t.equal(run.code, 0, `imported: ${run.stderr}`);
    const answer = JSON.parse(run.stdout);
    t.match(answer, { seq: Number, tid, kcv: checkValue(tmk), componentKcvs: [checkValue(a), checkValue(b)] }, "the answer: the key's and each component's check value");
    t.match(run.stderr, `Component 1 check value: ${checkValue(a)}`, "the custodian is shown the component's check value");
    t.ok(neverShown(run.stdout + run.stderr, [a, b, tmk]), 'no component and not the key in any output');
    t.match(await tmkCheckValue(), new RegExp(`^${checkValue(tmk)}`), 'the stored TMK has that check value');
    t.equal((await api('GET', `/api/v1/terminals/${tid}`)).body.signedIn, false, 'the terminal is signed out');

    t.equal((await old.request(old.sale({ pan: demoPan(1), expiry: DEMO.expiry, pin: DEMO.pin }, 100))).text(39), '77', 'its old session is over: 77, sign in again');
    await t.rejects(old.signIn(), /check value mismatch/, 'under the old TMK the new working keys do not open');
    const fresh = new SimTerminal({ host: '127.0.0.1', port: sw.posPort, tid, mid: DEMO.mid, tmk, firstStan: 5000 });
    await fresh.connect();
    t.teardown(() => fresh.close());
    t.equal((await fresh.signIn()).text(39), '00', 'under the new TMK it signs in');
    t.equal((await fresh.request(fresh.sale({ pan: demoPan(1), expiry: DEMO.expiry, pin: DEMO.pin }, 100))).text(39), '00', 'and sells with a PIN');
  });

  await t.test('three components, with the check value of the key they make', async (t) => {
    const [a, b, c] = [component(24), component(24), component(24)];
    const tmk = xor(a, b, c);
    const run = await importTmk([a, checkValue(a), b, checkValue(b), c, checkValue(c), ''].join('\n'), '--components', '3', '--kcv', checkValue(tmk).toLowerCase());
    t.equal(run.code, 0, `imported: ${run.stderr}`);
    t.equal(JSON.parse(run.stdout).kcv, checkValue(tmk));
    t.match(await tmkCheckValue(), new RegExp(`^${checkValue(tmk)}`), 'a triple-length TMK');
  });

  await t.test('mistakes are refused with the reason and change nothing', async (t) => {
    const before = await tmkCheckValue();
    sw.feed.poll();
    const seq = sw.feed.lastSeq;
    const [a, b, long] = [component(), component(), component(24)];
    const cases: [string, string, string[], RegExp][] = [
      ['a mistyped check value', `${a}\n000000\n`, [], /component 1's check value is [0-9A-F]{6}, not 000000: it was mistyped/],
      ['a component that is not a key', `${a.slice(2)}\n`, [], /component 1 must be 32 or 48 hex digits/],
      ['a component with a non-hex digit', `${a.slice(1)}G\n`, [], /component 1 must be 32 or 48 hex digits/],
      ['components of different lengths', `${a}\n${checkValue(a)}\n${long}\n${checkValue(long)}\n`, [], /the components must all be the same length/],
      ['the same component twice', `${a}\n${checkValue(a)}\n${a}\n${checkValue(a)}\n`, [], /components 1 and 2 are the same/],
      ['input that ends early', `${a}\n${checkValue(a)}\n`, [], /the input ended before component 2/],
      ['the wrong check value for the key', `${a}\n${checkValue(a)}\n${b}\n${checkValue(b)}\n`, ['--kcv', 'ABCDEF'], /HTTP 400.*the key's check value is [0-9A-F]{6}, not the ABCDEF given/],
    ];
    for (const [what, input, extra, reason] of cases) {
      const run = await importTmk(input, ...extra);
      t.equal(run.code, 1, `${what}: exit 1`);
      t.match(run.stderr, reason, `${what}: the reason`);
      t.ok(neverShown(run.stdout + run.stderr, [a, b, long]), `${what}: no component in the output`);
    }
    sw.feed.poll();
    t.equal(sw.feed.lastSeq, seq, 'nothing was journalled');
    t.equal(await tmkCheckValue(), before, 'the TMK is unchanged');
  });

  await t.test('a clear TMK is never taken on the command line; usage mistakes exit 2', async (t) => {
    sw.feed.poll();
    const seq = sw.feed.lastSeq;
    for (const args of [
      ['terminal', 'tmk-import', tid, DEMO.tmk, ...admin],
      ['terminal', 'tmk-import', tid, '--tmk', DEMO.tmk, ...admin],
      ['terminal', 'tmk-import', tid, '--components', '4', ...admin],
      ['terminal', 'tmk-import'],
      ['terminal', 'import', tid],
    ]) {
      const run = await runPosp(args, '');
      t.equal(run.code, 2, `posp ${args.slice(0, 4).join(' ')}: usage, exit 2`);
      t.match(run.stderr, /posp terminal tmk-import TID/, 'with the usage');
    }
    sw.feed.poll();
    t.equal(sw.feed.lastSeq, seq, 'nothing was journalled');
  });

  await t.test('the endpoint: admin only, bad bodies refused with the reason, no component in any answer', async (t) => {
    const [a, b] = [component(), component()];
    const path = `/api/v1/terminals/${tid}/tmk`;
    const operator = await tokenOf('operator');
    sw.feed.poll();
    const seq = sw.feed.lastSeq;
    const good = { components: [a, b] };
    t.equal((await api('PUT', path, good, operator)).status, 403, 'an operator token: 403');
    t.equal((await api('PUT', '/api/v1/terminals/99999999/tmk', good)).status, 404, 'an unknown terminal: 404');
    const refusals: [unknown, RegExp][] = [
      [{ components: [a] }, /a list of 2 or 3 key components/],
      [{ components: [a, b, component(), component()] }, /a list of 2 or 3 key components/],
      [{ components: [a, 42] }, /component 2 must be 32 or 48 hex digits/],
      [{ components: [a, b], componentKcvs: [checkValue(a)] }, /one check value per component/],
      [{ components: [a, b], componentKcvs: [checkValue(a), '000000'] }, /component 2's check value is [0-9A-F]{6}, not the 000000 given/],
      [{ components: [a, b], kcv: 'XYZ' }, /kcv must be 6 hex digits/],
      [{ components: [a, b], tmk: DEMO.tmk }, /unknown field tmk/],
    ];
    for (const [body, reason] of refusals) {
      const res = await api('PUT', path, body);
      t.equal(res.status, 400, `${JSON.stringify(Object.keys(body as object))}: 400`);
      t.match(res.body.error, reason, 'with the reason');
      t.ok(neverShown(res.text, [a, b]), 'and no component in it');
    }
    sw.feed.poll();
    t.equal(sw.feed.lastSeq, seq, 'nothing was journalled');
    const res = await api('PUT', path, { ...good, componentKcvs: [checkValue(a), checkValue(b)], kcv: checkValue(xor(a, b)) });
    t.equal(res.status, 200, 'with every check value right: 200');
    t.ok(neverShown(res.text, [a, b, xor(a, b)]), 'the answer shows check values only');
  });
});
