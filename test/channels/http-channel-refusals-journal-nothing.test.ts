/**
 * Every bad request to the HTTP channel of the real switch gets a clear refusal and changes
 * nothing: an unknown client, a bad signature, a stale timestamp, a reused nonce (401 with the
 * reason), a suspended client (403), a malformed or incomplete body (400 naming the field), a body
 * too large (413), a missing Idempotency-Key (400); no journal entry is made for any of them.
 */
import t from 'tap';
import { MAX_PAYMENT_BODY, SIGNATURE_WINDOW_MS } from '../../src/channels/index.js';
import { DEMO, demoPan } from '../../src/store/index.js';
import { startHttpSwitch, type Answer } from './http-channel-harness.js';

const card = { pan: demoPan(21), expiry: DEMO.expiry };
const sale = { type: 'sale', amount: 1_000, card };

t.test('refusals', async (t) => {
  const { admin, client, pay, durable, sw } = await startHttpSwitch(t);
  const shop = await client('shop-2', DEMO.mid);
  /** A refusal: its status and reason, and nothing journalled by it. */
  const refused = async (what: string, call: () => Promise<Answer>, status: number, reason: RegExp) => {
    const before = durable();
    const answer = await call();
    t.equal(answer.status, status, `${what}: ${status}`);
    t.match(answer.body, { error: reason }, `${what}: ${answer.body.error}`);
    t.equal(durable(), before, `${what}: nothing journalled`);
    return answer;
  };

  // A first sale signs the virtual terminal in: the refusals below are measured against a switch at rest.
  t.equal((await pay(shop, sale, { key: 'first' })).body.responseCode, '00', 'a good sale is approved');

  await refused('an unknown client', () => pay({ id: 'nobody', secret: shop.secret }, sale, { key: 'a1' }), 401, /^unknown client "nobody"$/);
  await refused('no client header', () => pay(shop, sale, { key: 'a2', without: ['x-posp-client'] }), 401, /^unknown client: no X-Posp-Client header$/);
  await refused('a signature under another secret', () => pay(shop, sale, { key: 'a3', secret: 'f'.repeat(64) }), 401, /^bad signature$/);
  await refused('a signature that is not hex', () => pay(shop, sale, { key: 'a4', signature: 'not-a-signature' }), 401, /^bad signature$/);
  await refused('no signature', () => pay(shop, sale, { key: 'a5', without: ['x-posp-signature'] }), 401, /^bad signature: no X-Posp-Signature header$/);
  await refused('a stale timestamp', () => pay(shop, sale, { key: 'a6', timestamp: String(Date.now() - SIGNATURE_WINDOW_MS - 10_000) }), 401, /^stale timestamp: -3\d{5} ms from the switch's clock/);
  await refused('a timestamp from the future', () => pay(shop, sale, { key: 'a7', timestamp: String(Date.now() + SIGNATURE_WINDOW_MS + 10_000) }), 401, /^stale timestamp: 3\d{5} ms/);
  await refused('a timestamp that is no number', () => pay(shop, sale, { key: 'a8', timestamp: 'yesterday' }), 401, /^X-Posp-Timestamp must be epoch milliseconds$/);
  await refused('a short nonce', () => pay(shop, sale, { key: 'a9', nonce: 'abc' }), 401, /^X-Posp-Nonce must be 16–64 visible ASCII characters$/);

  const nonce = 'a-nonce-used-once-only';
  const firstUse = await pay(shop, { type: 'balance', card }, { nonce });
  t.equal(firstUse.status, 200, 'a nonce is good once');
  await refused('the same nonce again (a replayed request)', () => pay(shop, { type: 'balance', card }, { nonce }), 401, /^reused nonce$/);
  await refused('the same nonce on another request', () => pay(shop, sale, { nonce, key: 'a10' }), 401, /^reused nonce$/);

  await refused('a body that is not JSON', () => pay(shop, '{"type": "sale",', { key: 'b1' }), 400, /^the body is not JSON/);
  await refused('an empty body', () => pay(shop, '', { key: 'b2' }), 400, /^a JSON body is required$/);
  await refused('a body that is not an object', () => pay(shop, [sale], { key: 'b3' }), 400, /^the body must be a JSON object$/);
  await refused('an unknown type', () => pay(shop, { ...sale, type: 'cashback' }, { key: 'b4' }), 400, /^type must be one of sale, refund, void, balance, status, got "cashback"$/);
  await refused('an unknown field', () => pay(shop, { ...sale, tip: 100 }, { key: 'b5' }), 400, /^unknown field tip$/);
  await refused('a sale without an amount', () => pay(shop, { type: 'sale', card }, { key: 'b6' }), 400, /^a sale needs amount$/);
  await refused('a sale without a card', () => pay(shop, { type: 'sale', amount: 100 }, { key: 'b7' }), 400, /^a sale needs card$/);
  await refused('a negative amount', () => pay(shop, { ...sale, amount: -5 }, { key: 'b8' }), 400, /^amount must be a whole number of fen 1–999999999999, got -5$/);
  await refused('a fractional amount', () => pay(shop, { ...sale, amount: 10.5 }, { key: 'b9' }), 400, /^amount must be a whole number of fen/);
  await refused('an amount as text', () => pay(shop, { ...sale, amount: '100' }, { key: 'b10' }), 400, /^amount must be a whole number of fen/);
  await refused('a card number with letters', () => pay(shop, { ...sale, card: { ...card, pan: '62258800000000X1' } }, { key: 'b11' }), 400, /^card\.pan must be 13–19 digits$/);
  const luhn = await refused('a card number failing its Luhn check', () => pay(shop, { ...sale, card: { ...card, pan: card.pan.slice(0, -1) + String((Number(card.pan.slice(-1)) + 1) % 10) } }, { key: 'b12' }), 400, /^card\.pan 622588\*+\d{4} fails its Luhn check$/);
  t.notOk(luhn.text.includes(card.pan.slice(0, 15)), 'a refusal never repeats a card number');
  await refused('a bad expiry', () => pay(shop, { ...sale, card: { ...card, expiry: '3013' } }, { key: 'b13' }), 400, /^card\.expiry must be YYMM, got "3013"$/);
  await refused('an unknown card field', () => pay(shop, { ...sale, card: { ...card, cvv: '123' } }, { key: 'b14' }), 400, /^unknown field card\.cvv$/);
  await refused('a sale naming an original', () => pay(shop, { ...sale, original: { rrn: '000000000001' } }, { key: 'b15' }), 400, /^a sale takes no original$/);
  await refused('a refund without an original', () => pay(shop, { type: 'refund', amount: 100, card }, { key: 'b16' }), 400, /^a refund needs original$/);
  await refused('an original named twice', () => pay(shop, { type: 'refund', amount: 100, card, original: { rrn: '000000000001', idempotencyKey: 'first' } }, { key: 'b17' }), 400, /^original names the earlier request by exactly one of rrn, idempotencyKey$/);
  await refused('a malformed RRN', () => pay(shop, { type: 'refund', amount: 100, card, original: { rrn: '12' } }, { key: 'b18' }), 400, /^original\.rrn must be 12 letters or digits, got "12"$/);
  await refused('a void of a sale the client never made', () => pay(shop, { type: 'void', card, original: { rrn: '999999999999' } }, { key: 'b19' }), 400, /^original rrn 999999999999 names no sale of the client's terminal API00001$/);
  await refused('a refund of a key never used', () => pay(shop, { type: 'refund', amount: 100, card, original: { idempotencyKey: 'never' } }, { key: 'b20' }), 400, /^original\.idempotencyKey never names no approved request of client shop-2$/);
  await refused('a status by RRN', () => pay(shop, { type: 'status', original: { rrn: '000000000001' } }), 400, /^a status names the earlier request by original\.idempotencyKey$/);
  await refused('a status of a key never used', () => pay(shop, { type: 'status', original: { idempotencyKey: 'never' } }), 404, /^no request of client shop-2 has Idempotency-Key never$/);

  await refused('a sale without an Idempotency-Key', () => pay(shop, sale), 400, /^a sale needs an Idempotency-Key header$/);
  await refused('an Idempotency-Key with a space', () => pay(shop, sale, { key: 'two words' }), 400, /^Idempotency-Key must be 1–64 visible ASCII characters$/);
  await refused('a body too large', () => pay(shop, { ...sale, padding: 'x'.repeat(MAX_PAYMENT_BODY) }, { key: 'c1' }), 413, /^a payment request body is at most 8192 bytes$/);

  t.equal((await admin('PATCH', '/api/v1/clients/shop-2', { status: 'suspended' })).status, 200, 'an admin suspends the client');
  await refused('a suspended client', () => pay(shop, sale, { key: 'd1' }), 403, /^client shop-2 is suspended$/);
  t.equal((await admin('PATCH', '/api/v1/clients/shop-2', { status: 'active' })).status, 200, 'and lets it pay again');
  t.equal((await pay(shop, sale, { key: 'd2' })).body.responseCode, '00', 'its next sale is approved');

  const other = await fetch(`http://127.0.0.1:${sw.apiPort}/api/v1/refunds`, { method: 'POST', body: '{}' });
  t.equal(other.status, 404, 'another path: 404');
  const get = await fetch(`http://127.0.0.1:${sw.apiPort}/api/v1/payments`);
  t.equal(get.status, 405, 'GET of the payments path: 405');
  t.match(await get.json(), { error: '/api/v1/payments takes POST' }, 'with the reason');
});

t.test('the admin API refuses bad clients', async (t) => {
  const { admin, durable } = await startHttpSwitch(t);
  // Merchant ids in reasons may be shown masked where they could be card numbers (the admin API's policy).
  const refused = async (what: string, path: string, body: unknown, status: number, reason: RegExp) => {
    const before = durable();
    const answer = await admin('PUT', path, body);
    t.equal(answer.status, status, `${what}: ${status}`);
    t.match(answer.body, { error: reason }, `${what}: ${answer.body.error}`);
    t.equal(durable(), before, `${what}: nothing journalled (no terminal either)`);
  };
  await refused('a malformed id', '/api/v1/clients/-bad', { mid: DEMO.mid }, 400, /^id must be 1–40 letters, digits/);
  await refused('no merchant', '/api/v1/clients/c1', {}, 400, /^a client needs mid$/);
  await refused('an unknown merchant', '/api/v1/clients/c1', { mid: '898100012349999' }, 400, /^no merchant "898100(012349999|\*{5}9999)"$/);
  await refused('a malformed terminal id', '/api/v1/clients/c1', { mid: DEMO.mid, tid: 'api-1' }, 400, /^tid must be 8 digits or capital letters/);
  await refused('an unknown field', '/api/v1/clients/c1', { mid: DEMO.mid, secret: 'mine' }, 400, /^unknown field secret$/);
  t.equal((await admin('PUT', '/api/v1/merchants/898100012340002', { name: 'OTHER STORE', mcc: '5812' })).status, 200, 'another merchant');
  await refused("a terminal of another merchant", '/api/v1/clients/c1', { mid: '898100012340002', tid: '10000001' }, 400, /^terminal 10000001 belongs to merchant 898100(012340001|\*{5}0001), not to the client's merchant 898100(012340002|\*{5}0002)$/);
  t.equal((await admin('PUT', '/api/v1/clients/c1', { mid: DEMO.mid, tid: '10000009' })).status, 200, 'a client may pay as an existing terminal of its merchant');
  await refused("another client's terminal", '/api/v1/clients/c2', { mid: DEMO.mid, tid: '10000009' }, 409, /^terminal 10000009 is the virtual terminal of client c1$/);
});
