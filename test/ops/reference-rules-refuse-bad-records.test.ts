/**
 * The field specs of the reference tables, read by one checker: every kind of bad record is
 * refused with a reason that names what is wrong (and never shows a card number in clear or a
 * secret), while good records, partial changes over a stored record and removals pass.
 */
import t from 'tap';
import { luhnCheckDigit, referenceProblem, shownKey, shownRecord, type ReferenceRecords } from '../../src/txn/index.js';

const MID = '898100012340001';
const merchant = { mid: MID, name: 'DEMO STORE', status: 'active', mcc: '5411', account: `merchant:${MID}` };
const account = { id: `merchant:${MID}`, kind: 'merchant', balance: 0, held: 0, currency: '156', opening: 0 };
const onUs = { prefix: '622588', issuer: 'POSP BANK', organisation: 'CUP', onUs: true, domestic: true };
const offUs = { ...onUs, prefix: '621700', onUs: false };
const TABLES: Record<string, Record<string, unknown>> = {
  merchants: { [MID]: merchant },
  accounts: { [account.id]: account, 'card:abc': { ...account, id: 'card:abc', kind: 'card' } },
  bins: { '622588': onUs, '621700': offUs },
};
const records: ReferenceRecords = (table, key) => TABLES[table]?.[key];

function pan(prefix: string): string {
  const body = prefix.padEnd(15, '7');
  return body + luhnCheckDigit(body);
}
const PAN = pan('622588');
const card = { pan: PAN, expiry: '3012', status: 'active', account: 'card:abc', pinVerifier: Buffer.alloc(16, 1) };

t.test('good records, partial changes and removals pass', async (t) => {
  t.equal(referenceProblem('merchants', MID, merchant, undefined, records), null, 'a whole new merchant');
  t.equal(referenceProblem('merchants', MID, { status: 'suspended', standInLimit: 5000 }, merchant, records), null, 'some fields over the stored one');
  t.equal(referenceProblem('merchants', MID, null, merchant, records), null, 'a merchant removed');
  t.equal(referenceProblem('cards', PAN, card, undefined, records), null, 'a card of an on-us BIN with its account');
  t.equal(referenceProblem('cards', PAN, { status: 'lost' }, card, records), null, "a card's status changed");
  t.equal(referenceProblem('bins', '62350112', { ...onUs, prefix: '62350112' }, undefined, records), null, 'an 8-digit BIN');
  t.equal(referenceProblem('parameters', 'aid', { kind: 'aid', version: 3, items: [Buffer.from('9F0605A000000333DF0100', 'hex')] }, { kind: 'aid', version: 2, items: [] }, records), null, 'a higher version of a parameter set');
  t.equal(referenceProblem('accounts', 'card:new1', { id: 'card:new1', kind: 'card', balance: 500, held: 0, currency: '156', opening: 500 }, undefined, records), null, 'a new account');
});

t.test('bad records are refused with the reason', async (t) => {
  const cases: [string, Parameters<typeof referenceProblem>, RegExp][] = [
    ['an unknown field', ['merchants', MID, { colour: 'red' }, merchant, records], /^unknown field colour$/],
    ['a malformed key', ['merchants', '1234', merchant, undefined, records], /^mid must be 15 digits, got "1234"$/],
    ['a key the record contradicts', ['merchants', '898100012340002', merchant, undefined, records], /^mid "898100012340001" is not the key "898100012340002"$/],
    ['a bad enum value', ['merchants', MID, { status: 'open' }, merchant, records], /^status must be one of active, suspended, closed, got "open"$/],
    ['a bad pattern', ['merchants', MID, { mcc: '54x1' }, merchant, records], /^mcc must be 4 digits/],
    ['a negative amount', ['merchants', MID, { standInLimit: -1 }, merchant, records], /^standInLimit must be a whole number of fen, 0 or more, got -1$/],
    ['a fraction of a fen', ['merchants', MID, { standInLimit: 1.5 }, merchant, records], /^standInLimit must be/],
    ['a missing required field', ['merchants', MID, { mid: MID, name: 'X', status: 'active', account: merchant.account }, undefined, records], /^a merchant needs mcc$/],
    ['an account that does not exist', ['merchants', MID, { account: 'merchant:nobody' }, merchant, records], /^no account "merchant:nobody"$/],
    ['a terminal of an unknown merchant', ['terminals', '20000001', { tid: '20000001', mid: '898100012349999', status: 'active', tmk: Buffer.alloc(44), macAlgorithm: 'cup-ecb', batch: '000001', signedIn: false }, undefined, records], /^no merchant "898100012349999"$/],
    ['a TMK that is no wrapped key', ['terminals', '20000001', { tmk: Buffer.alloc(16) }, { tid: '20000001' }, records], /^tmk must be a key wrapped under the LMK$/],
    ['a BIN of 2 digits', ['bins', '62', { ...onUs, prefix: '62' }, undefined, records], /^prefix must be 3–11 digits/],
    ['an unknown organisation', ['bins', '622588', { organisation: 'XYZ' }, onUs, records], /^organisation must be one of CUP, VIS, MCC, JCB, AMX/],
    ['a card failing its Luhn check', ['cards', PAN.slice(0, -1) + ((Number(PAN.at(-1)) + 1) % 10), { ...card, pan: PAN.slice(0, -1) + ((Number(PAN.at(-1)) + 1) % 10) }, undefined, records], /^the card number 622588\*+\d{4} fails its Luhn check$/],
    ['a card of an off-us BIN', ['cards', pan('621700'), { ...card, pan: pan('621700') }, undefined, records], /^the card BIN 621700 is not on-us/],
    ['a card of no known BIN', ['cards', pan('999999'), { ...card, pan: pan('999999') }, undefined, records], /^no card BIN matches 999999\*+\d{4}$/],
    ['a card expiry month 13', ['cards', PAN, { expiry: '3013' }, card, records], /^expiry must be YYMM, got "3013"$/],
    ["a card's account changed", ['cards', PAN, { account: `merchant:${MID}` }, card, records], /^a card's account is set once and never changed$/],
    ['a card removed', ['cards', PAN, null, card, records], /^a card is never removed: set its status to closed$/],
    ['a key removed that is not there', ['bins', '123456', null, undefined, records], /^no card BIN 123456 to remove$/],
    ['a parameter version not above the stored one', ['parameters', 'aid', { version: 2 }, { kind: 'aid', version: 2, items: [] }, records], /^version must be above the stored version 2$/],
    ['a parameter item that is no TLV', ['parameters', 'aid', { kind: 'aid', version: 1, items: [Buffer.from('9F06', 'hex')] }, undefined, records], /^items\[0\]: a TLV record at byte 0 ends before its length$/],
    ['a parameter item whose value runs over', ['parameters', 'aid', { kind: 'aid', version: 1, items: [Buffer.from('9F0605A0', 'hex')] }, undefined, records], /^items\[0\]: the TLV record at byte 0 is longer than the item$/],
    ['an existing account changed', ['accounts', account.id, { balance: 1 }, account, records], /^the accounts reference table only opens accounts: merchant:898100012340001 is open, and only postings move its balance$/],
    ['an account opened with a balance other than its opening', ['accounts', 'card:new1', { id: 'card:new1', kind: 'card', balance: 500, held: 0, currency: '156', opening: 0 }, undefined, records], /^a new account opens with its balance equal to opening$/],
    ['an account opened with holds', ['accounts', 'card:new1', { id: 'card:new1', kind: 'card', balance: 0, held: 5, currency: '156', opening: 0 }, undefined, records], /^held must be 0: nothing is held on a new account, got 5$/],
    ['an account whose id contradicts its kind', ['accounts', 'card:new1', { id: 'card:new1', kind: 'merchant', balance: 0, held: 0, currency: '156', opening: 0 }, undefined, records], /^a merchant account's id starts with merchant:$/],
    ['a value that is a list', ['merchants', MID, [], merchant, records], /^a merchant is a record of fields$/],
  ];
  for (const [what, args, reason] of cases) t.match(referenceProblem(...args), reason, what);
});

t.test('card numbers are masked and secrets left out wherever a record or key is shown', async (t) => {
  t.equal(shownKey('cards', PAN), `622588${'*'.repeat(6)}${PAN.slice(-4)}`);
  t.equal(shownKey('merchants', MID), MID, 'other keys as they are');
  t.same(shownRecord('cards', card), { pan: shownKey('cards', PAN), expiry: '3012', status: 'active', account: 'card:abc' }, 'no PIN verifier');
  t.notOk('tmk' in (shownRecord('terminals', { tid: '1', tmk: Buffer.alloc(44) }) as object), 'no TMK');
  const refusal = referenceProblem('cards', PAN, { pan: 12345 }, card, records) ?? '';
  t.notOk(refusal.includes(PAN), `a refusal never quotes the number: ${refusal}`);
});
