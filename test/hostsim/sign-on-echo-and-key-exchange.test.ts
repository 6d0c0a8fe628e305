/**
 * Network management (0800 → 0810): sign-on, echo, sign-off answer `00` with F7, F11 and F70
 * echoed and no MAC; a key exchange returns a fresh ZPK and ZAK in F48, each under the ZMK with a
 * KCV that matches the decrypted key; the keys belong to that connection and the latest exchange
 * wins. The ZMK comes from --zmk or POSP_ZMK (child processes).
 */
import t from 'tap';
import { DesKey, kcv } from '../../src/security/index.js';
import { HostClient, inProcess, keyedClient, openZoneKeys, startSimHost } from './host-client.js';

t.test('sign-on, echo and sign-off answer 00 with F7, F11, F70 echoed and no MAC', async (t) => {
  const { sim } = await inProcess(t);
  const client = await HostClient.connect(sim.port);
  t.teardown(() => client.close());
  for (const code of ['001', '301', '002']) {
    const req = client.networkManagement(code);
    const { msg } = await client.request(req);
    t.equal(msg.mti, '0810', `${code}: answered 0810`);
    t.equal(msg.text(39), '00', `${code}: F39 00`);
    t.same([msg.text(7), msg.text(11), msg.text(70)], [req.text(7), req.text(11), code], `${code}: F7, F11, F70 echoed`);
    t.notOk(msg.has(128), `${code}: no MAC`);
    t.notOk(msg.has(48), `${code}: no keys`);
  }
  const { msg } = await client.request(client.networkManagement('999'));
  t.equal(msg.text(39), '40', 'an unknown network management code is not supported');
});

t.test('key exchange: ZPK and ZAK under the ZMK, their KCVs match, new keys every time', async (t) => {
  const { sim } = await inProcess(t);
  const client = await HostClient.connect(sim.port);
  t.teardown(() => client.close());
  const { msg } = await client.request(client.networkManagement('101'));
  t.equal(msg.text(39), '00');
  t.notOk(msg.has(128), 'no MAC on 0810');
  const f48 = msg.text(48)!;
  t.match(f48, /^[0-9A-F]{76}$/, 'F48: 76 uppercase hex characters');
  const keys = openZoneKeys(f48, '202122232425262728292A2B2C2D2E2F');
  t.equal(keys.zpk.length, 16, 'ZPK double length');
  t.equal(keys.zak.length, 16, 'ZAK double length');
  t.equal(f48.slice(32, 38), kcv(new DesKey(keys.zpk)).subarray(0, 3).toString('hex').toUpperCase(), 'ZPK KCV: first 3 bytes of E(0)');
  t.equal(f48.slice(70, 76), kcv(new DesKey(keys.zak)).subarray(0, 3).toString('hex').toUpperCase(), 'ZAK KCV');
  t.notSame(keys.zpk, keys.zak, 'two different keys');

  client.keys = keys;
  const old = keys;
  const again = await client.keyExchange();
  t.notSame(again.zak, old.zak, 'a second exchange makes a new ZAK');
  t.notSame(again.zpk, old.zpk, 'and a new ZPK');
  t.equal((await client.request(client.transaction(1000))).msg.text(39), '00', 'requests MACed under the new ZAK pass');
  client.keys = old;
  t.equal((await client.request(client.transaction(1000))).msg.text(39), 'A0', 'the replaced ZAK no longer does');
});

t.test('zone keys belong to their connection', async (t) => {
  const { sim } = await inProcess(t);
  const a = await keyedClient(t, sim.port);
  const b = await keyedClient(t, sim.port, undefined, 500);
  t.notSame(a.keys!.zak, b.keys!.zak, 'each connection gets its own ZAK');
  const aKeys = a.keys;
  a.keys = b.keys;
  t.equal((await a.request(a.transaction(1000))).msg.text(39), 'A0', "another connection's ZAK does not verify here");
  a.keys = aKeys;
  t.equal((await a.request(a.transaction(1000))).msg.text(39), '00', 'its own does');
});

t.test('the ZMK from --zmk and from POSP_ZMK (child processes)', async (t) => {
  const flagZmk = '0123456789ABCDEFFEDCBA9876543210';
  const envZmk = '00112233445566778899AABBCCDDEEFF';
  const withFlag = await startSimHost(t.testdir(), ['--zmk', flagZmk, '--log-level', 'warn']);
  t.teardown(() => withFlag.proc.kill('SIGKILL'));
  const withEnv = await startSimHost(t.testdir(), ['--log-level', 'warn'], { POSP_ZMK: envZmk });
  t.teardown(() => withEnv.proc.kill('SIGKILL'));
  for (const [sim, zmk, what] of [[withFlag, flagZmk, '--zmk'], [withEnv, envZmk, 'POSP_ZMK']] as const) {
    const client = await HostClient.connect(sim.port);
    t.teardown(() => client.close());
    const { msg } = await client.request(client.networkManagement('101'));
    t.doesNotThrow(() => openZoneKeys(msg.text(48)!, zmk), `${what}: the keys open under that ZMK with matching KCVs`);
    t.throws(() => openZoneKeys(msg.text(48)!, '202122232425262728292A2B2C2D2E2F'), `${what}: not under the demo ZMK`);
  }
});
