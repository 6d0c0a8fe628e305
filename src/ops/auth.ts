import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { HttpError } from './http.js';

/** A fresh admin token: 256 random bits, base64url (safe in a header, a URL and a shell). */
export function newAdminToken(): string {
  return randomBytes(32).toString('base64url');
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/**
 * Who may use the admin API: the holder of the bootstrap admin token. Only its SHA-256 is kept, and
 * a presented token is hashed too, so the comparison takes the same time whatever it is and however
 * long (timingSafeEqual needs equal lengths).
 */
export class AdminAuth {
  private readonly expected: Buffer | undefined;

  constructor(token: string | undefined) {
    this.expected = token === undefined ? undefined : digest(token);
  }

  /** Why a request with this Authorization header may not go on, or null when it carries the admin token. */
  check(authorization: string): HttpError | null {
    if (this.expected === undefined) return new HttpError(503, 'no admin token configured: start the switch with --admin-token or POSP_ADMIN_TOKEN');
    const bearer = /^Bearer +(\S+) *$/i.exec(authorization);
    if (bearer === null) return new HttpError(401, 'an admin token is required: Authorization: Bearer TOKEN');
    if (!timingSafeEqual(digest(bearer[1]), this.expected)) return new HttpError(401, 'the admin token is not valid');
    return null;
  }
}
