/**
 * Parameter downloads (magstripe 360/361, IC CA keys 370/371/372, IC AIDs 380/381/382), the
 * response header's processing-requirement digit (PROTOCOL.md section 1), POS status upload
 * (0820 362, read back from LMDB after the switch stopped) and an unsupported combination (40),
 * against the switch's pipeline and book in process (real LMDB and SQLite, no sockets).
 */
import t from 'tap';
import type { TerminalMessage } from '../../src/codec/index.js';
import { StateStore, demoParameters } from '../../src/store/index.js';
import { card, demoTid, signedIn, terminal } from '../switch/harness.js';
import { startStoppable } from './business-harness.js';

const demo = await startStoppable(t);
const PARAMS = new Map(demoParameters().map((p) => [p.kind, p]));

/** The 6th digit of the 12-digit response header. */
function requirement(res: TerminalMessage): string {
  return res.header[5];
}

/** F62 of a download answer as status, count and item bytes. */
function download(res: TerminalMessage): { status: string; count: string; items: Buffer } {
  const f62 = res.binary(62) ?? Buffer.alloc(0);
  return { status: f62.subarray(0, 1).toString('latin1'), count: f62.subarray(1, 4).toString('latin1'), items: Buffer.from(f62.subarray(4)) };
}

t.test('processing requirement walks 1 → 4 → 5 → 0 as the terminal downloads each parameter set', async (t) => {
  const term = await terminal(t, demo, 0);
  const before = await term.request(term.echo());
  t.equal(before.text(39), '00', 'echo before sign-in');
  t.equal(requirement(before), '0', 'not signed in: no requirement');
  const signIn = await term.signIn('003');
  t.equal(signIn.text(39), '00');
  t.equal(signIn.header.length, 12, '12-digit header');
  t.equal(requirement(signIn), '1', 'freshly signed in: download magstripe parameters');
  t.equal(signIn.header.slice(0, 5) + signIn.header.slice(6), '60010' + '000000', 'the rest of the header is the request\'s');

  const dl = await term.request(term.parameterMessage('360'));
  t.equal(dl.mti, '0810');
  t.equal(dl.text(39), '00', '360 approved');
  const got = download(dl);
  t.equal(got.status, '0', 'status 0: nothing more to fetch');
  t.equal(got.count, '003', 'three items');
  t.same(got.items, Buffer.concat(PARAMS.get('magstripe')!.items), 'the three magstripe TLV items, in order');
  t.equal(requirement(dl), '1', 'still 1 until the download end');

  const end = await term.request(term.parameterMessage('361'));
  t.equal(end.text(39), '00', '361 approved');
  t.equal(requirement(end), '4', 'after 361: update IC CA keys');
  t.equal(requirement(await term.request(term.echo())), '4', 'and it stays 4');

  const query = await term.request(term.parameterMessage('372'));
  t.equal(query.mti, '0830');
  t.equal(query.text(39), '00', '372 approved');
  t.equal(query.binary(62)?.toString('latin1'), '0' + '002' + '00000001', 'CA key query: status 0, 2 keys, version 1');

  const keys = await term.request(term.parameterMessage('370'));
  t.equal(keys.text(39), '00', '370 approved');
  const k = download(keys);
  t.equal(k.status, '0');
  t.equal(k.count, '002', 'two CA keys');
  t.same(k.items, Buffer.concat(PARAMS.get('ca-key')!.items), 'the two CA key TLV records');
  const keysEnd = await term.request(term.parameterMessage('371'));
  t.equal(keysEnd.text(39), '00', '371 approved');
  t.equal(requirement(keysEnd), '5', 'after 371: download IC parameters');

  const aidQuery = await term.request(term.parameterMessage('382'));
  t.equal(aidQuery.binary(62)?.toString('latin1'), '0' + '002' + '00000001', 'AID query: status 0, 2 AIDs, version 1');
  const aids = await term.request(term.parameterMessage('380'));
  t.equal(aids.text(39), '00', '380 approved');
  t.same(download(aids), { status: '0', count: '002', items: Buffer.concat(PARAMS.get('aid')!.items) }, 'the two AID TLV records');
  const aidsEnd = await term.request(term.parameterMessage('381'));
  t.equal(aidsEnd.text(39), '00', '381 approved');
  t.equal(requirement(aidsEnd), '0', 'after 381: nothing to do');

  const sale = await term.request(term.sale(card(401), 100));
  t.equal(sale.text(39), '00');
  t.equal(requirement(sale), '0', 'financial answers carry 0 too');
  const reSignIn = await term.signIn('003');
  t.equal(requirement(reSignIn), '0', 'a new sign-in does not forget what was downloaded');
});

t.test('download from an index: the rest of the items; beyond the items: status 0, count 000; not a number: 30', async (t) => {
  const term = await signedIn(t, demo, 1);
  const items = PARAMS.get('magstripe')!.items;
  const from1 = download(await term.request(term.parameterMessage('360', 1)));
  t.same(from1, { status: '0', count: '002', items: Buffer.concat(items.slice(1)) }, 'from index 1: items 1 and 2');
  const from2 = download(await term.request(term.parameterMessage('360', 2)));
  t.same(from2, { status: '0', count: '001', items: items[2] }, 'from index 2: the last item');
  const beyond = await term.request(term.parameterMessage('360', 3));
  t.equal(beyond.text(39), '00', 'index 3 answered');
  t.same(download(beyond), { status: '0', count: '000', items: Buffer.alloc(0) }, 'index 3: no items');
  t.same(download(await term.request(term.parameterMessage('370', 7))), { status: '0', count: '000', items: Buffer.alloc(0) }, 'CA keys from index 7: none');
  const nan = await term.request(term.parameterMessage('360').set(62, Buffer.from('x', 'latin1')));
  t.equal(nan.text(39), '30', 'a non-numeric index');
  t.equal(requirement(await term.request(term.echo())), '1', 'partial downloads without 361 leave the requirement at 1');
});

t.test('management messages that need a session: 77 before sign-in', async (t) => {
  const term = await terminal(t, demo, 2);
  t.equal((await term.request(term.parameterMessage('360'))).text(39), '77', '360 before sign-in');
  t.equal((await term.request(term.statusUpload(Buffer.from('x')))).text(39), '77', 'status upload before sign-in');
});

const STATUS = Buffer.from([0x01, 0x02, 0x03, 0x30, 0x31, 0xff, 0x00, 0x41]);

t.test('status upload 0820 362: 00', async (t) => {
  const term = await signedIn(t, demo, 3);
  const res = await term.request(term.statusUpload(STATUS));
  t.equal(res.mti, '0830');
  t.equal(res.text(39), '00', 'status upload approved');
  t.equal(res.text(41), demoTid(3), 'TID echoed');
});

t.test('unsupported combination: MTI 0200 with F3 990000 → 40', async (t) => {
  const term = await signedIn(t, demo, 4);
  const res = await term.request(term.sale(card(402), 100).set(3, '990000'));
  t.equal(res.mti, '0210');
  t.equal(res.text(39), '40', 'function not supported');
  const unknownNetworkCode = await term.request(term.parameterMessage('360').set(60, '00' + term.batch + '369'));
  t.equal(unknownNetworkCode.text(39), '40', 'management message with an undefined 60.3');
  t.equal((await term.request(term.sale(card(402), 100))).text(39), '00', 'the terminal still works');
});

t.test('after stop: LMDB terminalStatus has the uploaded payload for that TID', async (t) => {
  await demo.stop();
  const state = new StateStore(demo.dataDir);
  t.teardown(() => state.close());
  const status = state.terminalStatus.get(demoTid(3));
  t.ok(status, 'a status record for the TID');
  t.same(Buffer.from(status?.payload ?? []), STATUS, 'the payload byte for byte');
  t.type(status?.at, 'number', 'with the time');
  t.notOk(state.terminalStatus.get(demoTid(2)), 'none for the terminal refused before sign-in');
  const versions = state.terminals.get(demoTid(0))?.parameterVersions;
  t.same(versions, { magstripe: 1, 'ca-key': 1, aid: 1 }, 'terminal 0 has confirmed every set');
});
