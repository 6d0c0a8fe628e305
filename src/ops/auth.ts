import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ADMIN_ROLES, type AdminRole, type ApiToken } from '../store/index.js';
import { HttpError } from './http.js';

/** A fresh admin token: 256 random bits, base64url (safe in a header, a URL and a shell). */
export function newAdminToken(): string {
  return randomBytes(32).toString('base64url');
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Who the bootstrap token's holder is in the audit log. */
export const BOOTSTRAP = 'bootstrap';

/** The key a token is stored under: its SHA-256 in hex (the token itself is never kept). */
export function tokenKey(token: string): string {
  return digest(token).toString('hex');
}

/**
 * Who may use the admin API, and for what: the holder of the bootstrap token (`--admin-token`) is
 * an admin; other tokens are looked up by their SHA-256 among those made through the API, each with
 * its role. Only hashes are kept; the bootstrap token is compared in constant time (both sides
 * hashed, so of equal length), and a stored token is found by its hash, which reveals nothing.
 */
export class AdminAuth {
  private readonly bootstrap: Buffer | undefined;

  constructor(
    token: string | undefined,
    /** A token made through the API, by the hex SHA-256 of the token. */
    private readonly tokenOf: (key: string) => ApiToken | undefined,
  ) {
    this.bootstrap = token === undefined ? undefined : digest(token);
  }

  /** Who the Authorization header names (a token's id, or `bootstrap`) if it may do what needs `role`; else why not. */
  check(authorization: string, role: AdminRole): HttpError | string {
    if (this.bootstrap === undefined) return new HttpError(503, 'no admin token configured: start the switch with --admin-token or POSP_ADMIN_TOKEN');
    const bearer = /^Bearer +(\S+) *$/i.exec(authorization);
    if (bearer === null) return new HttpError(401, 'an admin token is required: Authorization: Bearer TOKEN');
    const presented = digest(bearer[1]);
    if (timingSafeEqual(presented, this.bootstrap)) return BOOTSTRAP;
    const held = this.tokenOf(presented.toString('hex'));
    if (held === undefined) return new HttpError(401, 'the admin token is not valid');
    if (ADMIN_ROLES.indexOf(held.role) < ADMIN_ROLES.indexOf(role)) return new HttpError(403, `this needs the ${role} role; the token is ${held.role}`);
    return held.id;
  }
}
