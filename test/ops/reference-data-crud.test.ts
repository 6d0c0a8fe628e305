/**
 * Merchants, terminals, card BINs and parameter sets over the admin API of the real switch: reads
 * need a viewer, changes an admin; every change is journalled (with who asked) and read back at
 * once; bad input is a 4xx with the reason and journals nothing; a new merchant gets its settlement
 * account opened at 0; a terminal's TMK given in clear is wrapped under the LMK and never shown.
 */
import { createCipheriv } from 'node:crypto';
import t from 'tap';
import { DEMO, demoTid } from '../../src/store/index.js';
import { startApiSwitch } from './api-harness.js';

const NEW_MID = '898100012340002';
const NEW_TID = '20000001';
const CLEAR_TMK = '0123456789ABCDEFFEDCBA9876543210';

/** A double-length key's check value, computed here without the switch: 3DES of zeros, first 4 bytes. */
function checkValue(hex: string): string {
  const key = Buffer.from(hex + hex.slice(0, 16), 'hex');
  const cipher = createCipheriv('des-ede3', key, null).setAutoPadding(false);
  return Buffer.concat([cipher.update(Buffer.alloc(8)), cipher.final()]).subarray(0, 4).toString('hex').toUpperCase();
}

t.test('reference data over the admin API', async (t) => {
  const { sw, api, tokenOf } = await startApiSwitch(t);
  const viewer = await tokenOf('viewer');
  const operator = await tokenOf('operator');
  const durable = () => sw.pressure().durableSeq;
  /** A refusal: its status and reason, and nothing journalled by it. */
  const refused = async (what: string, method: string, path: string, body: unknown, status: number, reason: RegExp, token?: string) => {
    const before = durable();
    const answer = await api(method, path, body, token);
    t.equal(answer.status, status, `${what}: ${status}`);
    t.match(answer.body, { error: reason }, `${what}: ${answer.body.error}`);
    t.equal(durable(), before, `${what}: nothing journalled`);
  };

  t.test('merchants', async (t) => {
    const listed = await api('GET', '/api/v1/merchants', undefined, viewer);
    t.equal(listed.status, 200, 'a viewer lists the merchants');
    t.match(listed.body, { total: 1, merchants: [{ mid: DEMO.mid, name: DEMO.merchantName, status: 'active', mcc: '5411' }] });
    t.match((await api('GET', `/api/v1/merchants/${DEMO.mid}`, undefined, viewer)).body, { mid: DEMO.mid, account: `merchant:${DEMO.mid}` });
    await refused('a malformed mid', 'GET', '/api/v1/merchants/1234', undefined, 400, /^mid must be 15 digits, got "1234"$/);
    await refused('an unknown merchant', 'GET', `/api/v1/merchants/${NEW_MID}`, undefined, 404, new RegExp(`^no merchant ${NEW_MID}$`));

    await refused('a viewer creating one', 'PUT', `/api/v1/merchants/${NEW_MID}`, { name: 'NOODLE HOUSE', mcc: '5812' }, 403, /needs the admin role/, viewer);
    await refused('an operator creating one', 'PUT', `/api/v1/merchants/${NEW_MID}`, { name: 'NOODLE HOUSE', mcc: '5812' }, 403, /needs the admin role/, operator);
    await refused('a bad category code', 'PUT', `/api/v1/merchants/${NEW_MID}`, { name: 'NOODLE HOUSE', mcc: '58x2' }, 400, /^mcc must be 4 digits/);
    t.equal((await api('GET', `/api/v1/accounts/merchant:${NEW_MID}`)).status, 404, 'a refused merchant opened no account');
    await refused('an unknown field', 'PUT', `/api/v1/merchants/${NEW_MID}`, { name: 'NOODLE HOUSE', mcc: '5812', colour: 'red' }, 400, /^unknown field colour$/);
    await refused('no name', 'PUT', `/api/v1/merchants/${NEW_MID}`, { mcc: '5812' }, 400, /^a merchant needs name$/);
    await refused('an account that does not exist', 'PUT', `/api/v1/merchants/${NEW_MID}`, { name: 'NOODLE HOUSE', mcc: '5812', account: 'merchant:999' }, 400, /^no account "merchant:999"$/);
    await refused('a negative stand-in limit', 'PUT', `/api/v1/merchants/${NEW_MID}`, { name: 'NOODLE HOUSE', mcc: '5812', standInLimit: -1 }, 400, /^standInLimit must be a whole number of fen/);
    await refused('a body that is not an object', 'PUT', `/api/v1/merchants/${NEW_MID}`, '["NOODLE HOUSE"]', 400, /^the body is an object/);

    const created = await api('PUT', `/api/v1/merchants/${NEW_MID}`, { name: 'NOODLE HOUSE', mcc: '5812' });
    t.equal(created.status, 200, 'an admin creates a merchant');
    t.same(created.body.merchant, { mid: NEW_MID, name: 'NOODLE HOUSE', status: 'active', mcc: '5812', standInLimit: 0, account: `merchant:${NEW_MID}` }, 'with the defaults and its own settlement account');
    t.same((await api('GET', `/api/v1/accounts/merchant:${NEW_MID}`, undefined, viewer)).body, { id: `merchant:${NEW_MID}`, kind: 'merchant', balance: 0, held: 0, currency: '156', opening: 0, available: 0 }, 'the account is opened at 0');

    const patched = await api('PATCH', `/api/v1/merchants/${NEW_MID}`, { status: 'suspended', standInLimit: 20_000 });
    t.equal(patched.status, 200, 'PATCH changes some fields');
    t.match(patched.body.merchant, { name: 'NOODLE HOUSE', status: 'suspended', standInLimit: 20_000 }, 'and keeps the others');
    await refused('PATCH with nothing to change', 'PATCH', `/api/v1/merchants/${NEW_MID}`, {}, 400, /names the fields to change/);
    await refused('PATCH of an unknown merchant', 'PATCH', '/api/v1/merchants/898100012349999', { status: 'active' }, 404, /^no merchant 898100012349999$/);
    const replaced = await api('PUT', `/api/v1/merchants/${NEW_MID}`, { name: 'NOODLE HOUSE 2', mcc: '5812' });
    t.same(replaced.body.merchant, { mid: NEW_MID, name: 'NOODLE HOUSE 2', status: 'active', mcc: '5812', standInLimit: 0, account: `merchant:${NEW_MID}` }, 'PUT replaces the whole merchant, keeping its account');

    await refused('removing a merchant with terminals', 'DELETE', `/api/v1/merchants/${DEMO.mid}`, undefined, 409, /has 1000 terminal\(s\)/);
    t.equal((await api('DELETE', `/api/v1/merchants/${NEW_MID}`)).status, 200, 'a merchant without terminals is removed');
    t.equal((await api('GET', `/api/v1/merchants/${NEW_MID}`)).status, 404, 'gone');
    t.equal((await api('GET', `/api/v1/accounts/merchant:${NEW_MID}`)).status, 200, 'its account stays (balances are never removed)');
    t.equal((await api('PUT', `/api/v1/merchants/${NEW_MID}`, { name: 'NOODLE HOUSE', mcc: '5812' })).status, 200, 'created again, with the account it had');

    const audit = await api('GET', `/api/v1/audit?from=${sw.businessDate}&to=${sw.businessDate}`);
    const mine = audit.body.records.filter((r: { key: string }) => r.key === NEW_MID || r.key === `merchant:${NEW_MID}`);
    t.same(mine.map((r: { table: string; by: string }) => `${r.table} by ${r.by}`).reverse(), ['accounts by bootstrap', 'merchants by bootstrap', 'merchants by bootstrap', 'merchants by bootstrap', 'merchants by bootstrap', 'merchants by bootstrap'], 'the audit log has each change with who made it, the account opening first');
  });

  t.test('terminals', async (t) => {
    const page = await api('GET', '/api/v1/terminals?limit=10', undefined, viewer);
    t.equal(page.status, 200);
    t.match(page.body, { total: 1000, offset: 0, limit: 10 }, 'the 1,000 demo terminals, 10 at a time');
    t.same(page.body.terminals.map((x: { tid: string }) => x.tid), Array.from({ length: 10 }, (_, i) => demoTid(i)), 'in id order');
    t.same((await api('GET', '/api/v1/terminals?offset=995')).body.terminals.map((x: { tid: string }) => x.tid), Array.from({ length: 5 }, (_, i) => demoTid(995 + i)), 'the last page');
    t.match((await api('GET', `/api/v1/terminals?mid=${NEW_MID}`)).body, { total: 0, terminals: [] }, 'filtered by merchant');
    await refused('a limit of 0', 'GET', '/api/v1/terminals?limit=0', undefined, 400, /^limit must be a whole number 1–1000/);
    await refused('an unknown parameter', 'GET', '/api/v1/terminals?colour=red', undefined, 400, /^unknown parameter colour: a list takes offset, limit, mid, status$/);
    await refused('an unknown status', 'GET', '/api/v1/terminals?status=broken', undefined, 400, /^status must be one of active, suspended, closed, got "broken"$/);

    const one = await api('GET', `/api/v1/terminals/${demoTid(0)}`, undefined, viewer);
    t.match(one.body, { tid: demoTid(0), mid: DEMO.mid, status: 'active', macAlgorithm: 'cup-ecb', batch: DEMO.batch, signedIn: false, workingKeys: null, lastSeen: null, lastStatusUpload: null, tmkCheckValue: checkValue(DEMO.tmk) }, 'one terminal with its TMK check value');
    t.notMatch(one.text, /"(tmk|pik|mak|tdk|keys)"|Buffer/, 'and no key bytes');

    await refused('a malformed tid', 'PUT', '/api/v1/terminals/123', { mid: NEW_MID, tmk: CLEAR_TMK }, 400, /^tid must be 8 digits or capital letters/);
    await refused('a terminal of an unknown merchant', 'PUT', `/api/v1/terminals/${NEW_TID}`, { mid: '898100012349999', tmk: CLEAR_TMK }, 400, /^no merchant "898100012349999"$/);
    await refused('a TMK of the wrong length', 'PUT', `/api/v1/terminals/${NEW_TID}`, { mid: NEW_MID, tmk: '0123' }, 400, /^tmk must be 32 or 48 hex digits/);
    await refused('no TMK', 'PUT', `/api/v1/terminals/${NEW_TID}`, { mid: NEW_MID }, 400, /^a terminal needs tmk$/);
    await refused('an unknown MAC algorithm', 'PUT', `/api/v1/terminals/${NEW_TID}`, { mid: NEW_MID, tmk: CLEAR_TMK, macAlgorithm: 'md5' }, 400, /^macAlgorithm must be one of cup-ecb, x9.19, x9.9/);
    await refused('a viewer creating one', 'PUT', `/api/v1/terminals/${NEW_TID}`, { mid: NEW_MID, tmk: CLEAR_TMK }, 403, /needs the admin role/, viewer);
    const created = await api('PUT', `/api/v1/terminals/${NEW_TID}`, { mid: NEW_MID, tmk: CLEAR_TMK, macAlgorithm: 'x9.19' });
    t.equal(created.status, 200, 'a terminal created');
    t.match(created.body.terminal, { tid: NEW_TID, mid: NEW_MID, status: 'active', macAlgorithm: 'x9.19', batch: '000001', signedIn: false, tmkCheckValue: checkValue(CLEAR_TMK) }, 'its TMK imported: the check value of the key given');
    t.notOk(created.text.includes(CLEAR_TMK) || created.text.includes(CLEAR_TMK.toLowerCase()), 'the clear TMK is never answered');
    await refused('creating it again', 'PUT', `/api/v1/terminals/${NEW_TID}`, { mid: NEW_MID, tmk: CLEAR_TMK }, 409, /exists/);
    t.match((await api('GET', `/api/v1/terminals?mid=${NEW_MID}`)).body, { total: 1, terminals: [{ tid: NEW_TID }] }, 'listed under its merchant');
    await refused('removing its merchant', 'DELETE', `/api/v1/merchants/${NEW_MID}`, undefined, 409, /has 1 terminal/);
    t.equal((await api('DELETE', `/api/v1/terminals/${NEW_TID}`)).status, 200, 'a terminal removed');
    t.equal((await api('GET', `/api/v1/terminals/${NEW_TID}`)).status, 404, 'gone');
  });

  t.test('card BINs', async (t) => {
    t.same((await api('GET', '/api/v1/bins', undefined, viewer)).body.bins.map((b: { prefix: string }) => b.prefix), [DEMO.offUsBin, DEMO.onUsBin], 'the demo BINs in prefix order');
    const bin = { issuer: 'NEW BANK', organisation: 'VIS', onUs: false, domestic: false };
    await refused('a prefix of 2 digits', 'PUT', '/api/v1/bins/45', bin, 400, /^prefix must be 3–11 digits/);
    await refused('an unknown organisation', 'PUT', '/api/v1/bins/456789', { ...bin, organisation: 'XYZ' }, 400, /^organisation must be one of CUP, VIS, MCC, JCB, AMX/);
    await refused('onUs not a boolean', 'PUT', '/api/v1/bins/456789', { ...bin, onUs: 'no' }, 400, /^onUs must be true or false/);
    await refused('a missing field', 'PUT', '/api/v1/bins/456789', { issuer: 'NEW BANK', organisation: 'VIS', onUs: false }, 400, /^a card BIN needs domestic$/);
    await refused('an operator adding one', 'PUT', '/api/v1/bins/456789', bin, 403, /needs the admin role/, operator);
    const added = await api('PUT', '/api/v1/bins/456789', bin);
    t.equal(added.status, 200, 'a BIN added');
    t.same(added.body.bin, { prefix: '456789', ...bin });
    t.same((await api('GET', '/api/v1/bins/456789')).body, { prefix: '456789', ...bin }, 'read back');
    t.equal((await api('DELETE', '/api/v1/bins/456789')).status, 200, 'removed');
    await refused('removing it again', 'DELETE', '/api/v1/bins/456789', undefined, 404, /^no card BIN 456789$/);
  });

  t.test('parameter sets', async (t) => {
    const listed = await api('GET', '/api/v1/parameters', undefined, viewer);
    t.same(listed.body.parameters.map((p: { kind: string; version: number }) => `${p.kind} ${p.version}`), ['aid 1', 'ca-key 1', 'magstripe 1'], 'the demo sets');
    t.match(listed.body.parameters[2].items, ['DF01023132', 'DF02083030303130303030', 'DF030400000500'], 'items as hex TLV');
    await refused('an unknown kind', 'PUT', '/api/v1/parameters/emv', { version: 2, items: [] }, 400, /^kind must be one of magstripe, ca-key, aid/);
    await refused('the same version', 'PUT', '/api/v1/parameters/magstripe', { version: 1, items: ['DF01023132'] }, 400, /^version must be above the stored version 1$/);
    await refused('an item that is not hex', 'PUT', '/api/v1/parameters/magstripe', { version: 2, items: ['DF01 023132'] }, 400, /^items\[0\] must be hex digits/);
    await refused('an item that is not TLV', 'PUT', '/api/v1/parameters/magstripe', { version: 2, items: ['DF01023132', 'DF0105'] }, 400, /^items\[1\]: the TLV record at byte 0 is longer than the item$/);
    const stored = await api('PUT', '/api/v1/parameters/magstripe', { version: 2, items: ['df01023132', 'DF0203303030'] });
    t.equal(stored.status, 200, 'a new version stored');
    t.same((await api('GET', '/api/v1/parameters/magstripe')).body, { kind: 'magstripe', version: 2, items: ['DF01023132', 'DF0203303030'] }, 'read back');
  });
});
