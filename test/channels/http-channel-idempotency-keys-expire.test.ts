/**
 * The HTTP channel's Idempotency-Keys are kept 24 hours and then forgotten, a sweep at a time;
 * the nonce window forgets nonces by age and refuses rather
 * than grows past its bound.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { IDEMPOTENCY_RETENTION_MS, IdempotencyStore } from '../../src/channels/idempotency.js';
import type { PaymentAnswer } from '../../src/channels/payments.js';
import { NonceWindow, SIGNATURE_WINDOW_MS } from '../../src/channels/signing.js';

const answer: PaymentAnswer = { type: 'sale', responseCode: '00', approved: true, rrn: '000000000042', authCode: '123456', stan: '000007', tid: 'API00001', mid: '898100012340001', amount: 100, businessDate: '20261202', card: '622588******0019' };

t.test('keys are forgotten after 24 hours', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'posp-idempotency-'));
  const store = new IdempotencyStore(dir);
  t.teardown(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const at = Date.now();
  const sent = { bodyHash: 'h', type: 'sale' as const, at, stan: '000007', batch: '000001' };
  await store.sending('shop', 'old', sent);
  await store.sending('shop', 'new', { ...sent, at: at + 3_600_000 });
  store.answered('shop', 'old', sent, answer);
  await store.sending('shop', 'flush', { ...sent, at: at + 7_200_000 });
  t.same(store.get('shop', 'old')?.answer, answer, 'a key holds its answer');
  t.equal(store.recentByRrn('shop', answer.rrn)?.stan, '000007', 'and, being new, by its RRN');
  t.equal(store.get('other', 'old'), undefined, "one client's keys are not another's");

  t.equal(store.sweep(at + IDEMPOTENCY_RETENTION_MS - 1), 0, 'nothing goes before 24 hours');
  t.equal(store.sweep(at + IDEMPOTENCY_RETENTION_MS + 1), 1, 'after 24 hours the oldest goes');
  await store.sending('shop', 'flush-2', { ...sent, at: at + 7_200_000 });
  t.equal(store.get('shop', 'old'), undefined, 'its key is forgotten');
  t.ok(store.get('shop', 'new'), 'a younger key stays');
});

t.test('the nonce window', async (t) => {
  const window = new NonceWindow(2);
  const now = Date.now();
  t.equal(window.take('a', 'nonce-0000000001', now), 'fresh', 'a new nonce');
  t.equal(window.take('a', 'nonce-0000000001', now + 1), 'reused', 'the same again: reused');
  t.equal(window.take('b', 'nonce-0000000001', now + 1), 'fresh', "another client's nonce is its own");
  t.equal(window.take('a', 'nonce-0000000002', now + 2), 'full', 'past its bound it refuses');
  t.equal(window.take('a', 'nonce-0000000002', now + 2 * SIGNATURE_WINDOW_MS + 1), 'fresh', 'once the oldest are past two windows they are forgotten');
  t.equal(window.take('a', 'nonce-0000000001', now + 2 * SIGNATURE_WINDOW_MS + 2), 'fresh', 'and may come again (its timestamp would be stale by then)');
});
