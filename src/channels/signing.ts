import { createHmac, timingSafeEqual, type KeyObject } from 'node:crypto';

/**
 * How an HTTP channel request is signed: HMAC-SHA256 under the client's secret over
 * `${timestamp}\n${nonce}\n${method}\n${path}\n${body}`, in hex, with the timestamp (epoch ms)
 * within the window of the switch's clock and the nonce never seen within it.
 */

/** Where payments are posted (part of what is signed). */
export const PAYMENTS_PATH = '/api/v1/payments';
export const CLIENT_HEADER = 'X-Posp-Client';
export const TIMESTAMP_HEADER = 'X-Posp-Timestamp';
export const NONCE_HEADER = 'X-Posp-Nonce';
export const SIGNATURE_HEADER = 'X-Posp-Signature';
export const IDEMPOTENCY_HEADER = 'Idempotency-Key';

/** How far a request's timestamp may be from the switch's clock, either way. */
export const SIGNATURE_WINDOW_MS = 5 * 60_000;
const NONCE = /^[\x21-\x7e]{16,64}$/;
const TIMESTAMP = /^\d{1,15}$/;
const SIGNATURE = /^[0-9a-fA-F]{64}$/;

/** What is signed before the body. */
function preamble(timestamp: string, nonce: string, method: string, path: string): string {
  return `${timestamp}\n${nonce}\n${method}\n${path}\n`;
}

/** The signature a client sends (`X-Posp-Signature`), hex. */
export function signRequest(secret: string | KeyObject, timestamp: string, nonce: string, method: string, path: string, body: string | Uint8Array): string {
  return createHmac('sha256', secret).update(preamble(timestamp, nonce, method, path)).update(body).digest('hex');
}

/** True when `signature` (hex, as sent) is the client's signature of the request; constant time. */
export function signatureHolds(key: KeyObject, signature: string, timestamp: string, nonce: string, method: string, path: string, body: Uint8Array): boolean {
  if (!SIGNATURE.test(signature)) return false;
  const expected = createHmac('sha256', key).update(preamble(timestamp, nonce, method, path)).update(body).digest();
  return timingSafeEqual(expected, Buffer.from(signature, 'hex'));
}

/** Why the timestamp header is not one the switch accepts now, or null. */
export function timestampProblem(timestamp: string, now: number): string | null {
  if (!TIMESTAMP.test(timestamp)) return `${TIMESTAMP_HEADER} must be epoch milliseconds`;
  const skew = Number(timestamp) - now;
  if (Math.abs(skew) > SIGNATURE_WINDOW_MS) return `stale timestamp: ${skew} ms from the switch's clock, beyond ±${SIGNATURE_WINDOW_MS} ms`;
  return null;
}

/**
 * The nonces seen within the window, so that a captured request cannot be replayed. Each is kept
 * for two windows from its arrival: a request whose timestamp lets it in can be replayed for at most
 * that long, and arrivals are in time order, so the oldest are forgotten first. Bounded: at `limit`
 * nonces still in their window, new requests are refused rather than let in unchecked.
 */
export class NonceWindow {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly limit: number,
    private readonly keepMs = 2 * SIGNATURE_WINDOW_MS,
  ) {}

  get size(): number {
    return this.seen.size;
  }

  /** Takes the nonce of `client`: `fresh` (now remembered), `reused`, or `full`. */
  take(client: string, nonce: string, now: number): 'fresh' | 'reused' | 'full' {
    this.forget(now);
    const key = `${client}\n${nonce}`;
    if (this.seen.has(key)) return 'reused';
    if (this.seen.size >= this.limit) return 'full';
    this.seen.set(key, now + this.keepMs);
    return 'fresh';
  }

  private forget(now: number): void {
    for (const [key, until] of this.seen) {
      if (until > now) return;
      this.seen.delete(key);
    }
  }
}

/** A nonce header's problem (16–64 visible ASCII characters), or null. */
export function nonceProblem(nonce: string): string | null {
  return NONCE.test(nonce) ? null : `${NONCE_HEADER} must be 16–64 visible ASCII characters`;
}
