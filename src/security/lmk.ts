// The local master key (LMK): the one key the switch holds in clear. Every stored key (TMKs,
// working keys, zone keys) is AES-256-GCM wrapped under it, so the database alone reveals no key
// and any change to a stored key is detected when it is loaded.

import { createCipheriv, createDecipheriv, createSecretKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { SecurityError } from './errors.js';

const IV_LENGTH = 12;
const TAG_LENGTH = 16;
const LMK_LENGTH = 32;

export class Lmk {
  // A KeyObject keeps the key bytes in native memory, out of reach of heap dumps of JS objects.
  readonly #key: KeyObject;

  /** `key` is 32 bytes; the caller should wipe its copy afterwards. */
  constructor(key: Uint8Array) {
    if (key.length !== LMK_LENGTH) throw new SecurityError('lmk', `the LMK must be ${LMK_LENGTH} bytes, got ${key.length}`);
    this.#key = createSecretKey(key);
  }

  /** iv(12) ‖ tag(16) ‖ ciphertext: safe to store anywhere. */
  wrap(clear: Uint8Array): Buffer {
    const iv = randomBytes(IV_LENGTH);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const body = cipher.update(clear);
    cipher.final();
    return Buffer.concat([iv, cipher.getAuthTag(), body]);
  }

  /** The clear key; throws SecurityError 'key-unwrap' if the blob was altered or wrapped elsewhere. */
  unwrap(wrapped: Uint8Array): Buffer {
    if (wrapped.length <= IV_LENGTH + TAG_LENGTH) {
      throw new SecurityError('key-unwrap', `wrapped key is ${wrapped.length} bytes, too short to hold a key`);
    }
    const decipher = createDecipheriv('aes-256-gcm', this.#key, wrapped.subarray(0, IV_LENGTH));
    decipher.setAuthTag(wrapped.subarray(IV_LENGTH, IV_LENGTH + TAG_LENGTH));
    const clear = decipher.update(wrapped.subarray(IV_LENGTH + TAG_LENGTH));
    try {
      decipher.final();
    } catch {
      clear.fill(0);
      throw new SecurityError('key-unwrap', 'wrapped key failed authentication: it was altered, or wrapped under a different LMK');
    }
    return clear;
  }

  /** An independent secret for one purpose (HKDF-SHA256), so the LMK itself is used only for wrapping. */
  derive(purpose: string): KeyObject {
    return createSecretKey(Buffer.from(hkdfSync('sha256', this.#key, Buffer.alloc(0), `posp/${purpose}`, 32)));
  }
}

export interface LmkSource {
  /** 64 hex digits, normally process.env.POSP_LMK; wins over `file` when non-empty. */
  env?: string | undefined;
  /** A file holding 32 raw bytes or 64 hex digits; created (32 random bytes, mode 0600) if missing. */
  file?: string | undefined;
}

export function loadLmk(source: LmkSource): Lmk {
  if (source.env) {
    const key = parseHexKey(source.env.trim());
    if (!key) throw new SecurityError('lmk', 'POSP_LMK must be 64 hex digits (a 256-bit key)');
    return takeKey(key);
  }
  if (!source.file) throw new SecurityError('lmk', 'no LMK: set POSP_LMK or give an LMK file');
  const file = source.file;
  let content = readIfExists(file);
  if (!content) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const fresh = randomBytes(LMK_LENGTH);
    try {
      // 'wx' so two processes starting together cannot each write a different LMK.
      writeFileSync(file, fresh, { mode: 0o600, flag: 'wx' });
      return takeKey(fresh);
    } catch (err) {
      fresh.fill(0);
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      content = readIfExists(file)!;
    }
  }
  // Exactly 32 bytes is a raw key; anything else must be hex text.
  const key = content.length === LMK_LENGTH ? Buffer.from(content) : parseHexKey(content.toString('latin1').trim());
  content.fill(0);
  if (!key) throw new SecurityError('lmk', `LMK file ${file} must hold 32 raw bytes or 64 hex digits`);
  return takeKey(key);
}

function readIfExists(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function parseHexKey(text: string): Buffer | undefined {
  return /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : undefined;
}

function takeKey(key: Buffer): Lmk {
  const lmk = new Lmk(key);
  key.fill(0);
  return lmk;
}
