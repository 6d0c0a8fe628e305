// The local master key (LMK): the one key the switch holds in clear. Every stored key (TMKs,
// working keys, zone keys) is AES-256-GCM wrapped under it, so the database alone reveals no key
// and any change to a stored key is detected when it is loaded.
//
// Custody: the LMK comes from POSP_LMK or from a file only its owner may read. Rotation replaces
// the file with a fresh LMK and keeps the old one beside it (`lmk.previous`) until every stored key
// is wrapped under the new one: while both files exist an Lmk unwraps under either, so a crash at
// any point of a rotation loses no key.

import { createCipheriv, createDecipheriv, createSecretKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { closeSync, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { SecurityError } from './errors.js';

const IV_LENGTH = 12;
const TAG_LENGTH = 16;
const LMK_LENGTH = 32;

/**
 * Secrets derived from the LMK whose results stay in the store for good and cannot be made again
 * without what they were computed from: PIN verifiers (the PINs) and PAN tokens (the card numbers
 * in every journal). A rotation carries them over to the new LMK unchanged.
 */
const CARRIED_PURPOSES = ['pin-verifier/v1', 'pan-token/v1'] as const;

/** First line of an LMK file written by a rotation: the LMK and the secrets it carries, in hex. */
const ROTATED_HEADER = 'posp LMK 2';

export class Lmk {
  // KeyObjects keep the key bytes in native memory, out of reach of heap dumps of JS objects.
  #key: KeyObject;
  /**
   * LMKs before this one, newest first: unwrap what was wrapped under them, never wrap. The first is
   * the file's previous LMK while a rotation is unfinished; a running process also keeps those it
   * held before each rotation (in memory only), for keys it wrapped under them and still holds.
   */
  #older: KeyObject[] = [];
  /** Derived secrets an earlier LMK made (absent: this is a first LMK and derives its own). */
  #carried: ReadonlyMap<string, KeyObject> | undefined;

  /** `key` is 32 bytes (the caller should wipe its copy afterwards), or already a secret KeyObject. */
  constructor(key: Uint8Array | KeyObject) {
    this.#key = secretOf(key);
  }

  /** Check value: the first 6 hex digits of AES-256 encrypting 16 zero bytes; names the LMK without revealing it. */
  get checkValue(): string {
    return checkValueOf(this.#key);
  }

  /** The check value of the LMK kept from before a rotation, if this one has it. */
  get previousCheckValue(): string | undefined {
    return this.#older[0] && checkValueOf(this.#older[0]);
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
    let clear = openUnder(this.#key, wrapped);
    for (let i = 0; clear === undefined && i < this.#older.length; i++) clear = openUnder(this.#older[i], wrapped);
    if (!clear) throw new SecurityError('key-unwrap', 'wrapped key failed authentication: it was altered, or wrapped under a different LMK');
    return clear;
  }

  /**
   * The blob wrapped under this LMK's key when it was wrapped under an older one; undefined when it
   * is under the current key already. Throws 'key-unwrap' when none opens it.
   */
  rewrap(wrapped: Uint8Array): Buffer | undefined {
    const current = wrapped.length > IV_LENGTH + TAG_LENGTH ? openUnder(this.#key, wrapped) : undefined;
    if (current) {
      current.fill(0);
      return undefined;
    }
    const clear = this.unwrap(wrapped);
    try {
      return this.wrap(clear);
    } finally {
      clear.fill(0);
    }
  }

  /** An independent secret for one purpose (HKDF-SHA256), so the LMK itself is used only for wrapping. */
  derive(purpose: string): KeyObject {
    if (this.#carried === undefined) return createSecretKey(deriveBytes(this.#key, purpose));
    const carried = this.#carried.get(purpose);
    // A purpose nobody carried over would silently change with every rotation.
    if (!carried) throw new SecurityError('lmk', `the secret for ${purpose} is not carried across LMK rotations (CARRIED_PURPOSES)`);
    return carried;
  }

  /** A fresh LMK that carries this one's derived secrets: what a rotation puts in place. */
  successor(): Lmk {
    const next = new Lmk(randomBytes(LMK_LENGTH));
    next.#carried = new Map(CARRIED_PURPOSES.map((purpose) => [purpose, this.derive(purpose)]));
    return next;
  }

  /**
   * Takes over `other`'s keys in place: every SecurityModule built on this Lmk wraps under the new
   * LMK from now on, and keeps unwrapping what it already holds under the old one.
   */
  adopt(other: Lmk): void {
    const older = new Map<string, KeyObject>();
    for (const key of [...other.#older, this.#key, ...this.#older]) {
      const checkValue = checkValueOf(key);
      if (!older.has(checkValue)) older.set(checkValue, key);
    }
    older.delete(checkValueOf(other.#key));
    this.#key = other.#key;
    this.#older = [...older.values()];
    this.#carried = other.#carried;
  }

  /** This LMK (and its carried secrets) as an LMK file holds it; only ever written to a 0600 file. */
  fileContent(): Buffer {
    const lines = [ROTATED_HEADER, `lmk ${this.#key.export().toString('hex')}`];
    for (const purpose of CARRIED_PURPOSES) lines.push(`${purpose} ${this.derive(purpose).export().toString('hex')}`);
    return Buffer.from(lines.join('\n') + '\n', 'latin1');
  }

  /** `current` with `previous` kept for unwrapping. */
  static keyring(current: Lmk, previous: Lmk | undefined): Lmk {
    if (previous === undefined || previous.checkValue === current.checkValue) return current;
    const ring = new Lmk(current.#key);
    ring.#carried = current.#carried;
    ring.#older = [previous.#key];
    return ring;
  }

  static #rotated(key: Buffer, carried: Map<string, KeyObject>): Lmk {
    const lmk = takeKey(key);
    lmk.#carried = carried;
    return lmk;
  }

  /** Parses an LMK file's content (32 raw bytes, 64 hex digits, or a rotated file); wipes `content`. */
  static fromFileContent(content: Buffer, file: string): Lmk {
    try {
      // Exactly 32 bytes is a raw key; anything else is text.
      if (content.length === LMK_LENGTH) return takeKey(Buffer.from(content));
      const text = content.toString('latin1').trim();
      if (!text.startsWith(ROTATED_HEADER)) {
        const key = parseHexKey(text);
        if (key) return takeKey(key);
      } else {
        const fields = new Map(text.split('\n').slice(1).map((line) => line.trim().split(/\s+/, 2) as [string, string]));
        const key = parseHexKey(fields.get('lmk') ?? '');
        const carried = new Map<string, KeyObject>();
        for (const purpose of CARRIED_PURPOSES) {
          const secret = parseHexKey(fields.get(purpose) ?? '');
          if (secret) carried.set(purpose, secretOf(secret));
          secret?.fill(0);
        }
        if (key && carried.size === CARRIED_PURPOSES.length) return Lmk.#rotated(key, carried);
      }
      throw new SecurityError('lmk', `LMK file ${file} must hold 32 raw bytes or 64 hex digits, or be an LMK file written by posp lmk rotate`);
    } finally {
      content.fill(0);
    }
  }
}

export interface LmkSource {
  /** 64 hex digits, normally process.env.POSP_LMK; wins over `file` when non-empty. */
  env?: string | undefined;
  /**
   * A file holding 32 raw bytes or 64 hex digits (or written by a rotation), readable by its owner
   * only; created (32 random bytes, mode 0600) if missing. Its `.previous` sibling, while a
   * rotation is unfinished, is kept for unwrapping.
   */
  file?: string | undefined;
}

/** Where a data directory keeps its LMK. */
export function lmkFileOf(dataDir: string): string {
  return join(dataDir, 'lmk.key');
}

/** Where the LMK before a rotation is kept until the rotation is done: `lmk.key` → `lmk.previous`. */
export function previousLmkFileOf(file: string): string {
  return join(dirname(file), `${basename(file, extname(file))}.previous`);
}

export function loadLmk(source: LmkSource): Lmk {
  if (source.env) {
    const key = parseHexKey(source.env.trim());
    if (!key) throw new SecurityError('lmk', 'POSP_LMK must be 64 hex digits (a 256-bit key)');
    return takeKey(key);
  }
  if (!source.file) throw new SecurityError('lmk', 'no LMK: set POSP_LMK or give an LMK file');
  const file = source.file;
  let content = readPrivate(file);
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
      content = readPrivate(file)!;
    }
  }
  const lmk = Lmk.fromFileContent(content, file);
  const previousFile = previousLmkFileOf(file);
  const previous = readPrivate(previousFile);
  return Lmk.keyring(lmk, previous && Lmk.fromFileContent(previous, previousFile));
}

/** True while a rotation of the LMK in `file` has not finished (its predecessor is still kept). */
export function lmkRotationUnfinished(file: string): boolean {
  return readPrivate(previousLmkFileOf(file)) !== undefined;
}

/**
 * The first half of a rotation, on files only: the current LMK is kept as `lmk.previous`, then a
 * fresh one carrying its derived secrets replaces `lmk.key` (each file written whole, synced and
 * renamed into place, so a crash leaves either file old or new, never torn). Returns the keyring
 * every holder must take: the new LMK wraps, both unwrap. Refused while a rotation is unfinished.
 */
export function startLmkRotation(file: string): Lmk {
  const content = readPrivate(file);
  if (!content) throw new SecurityError('lmk', `no LMK file ${file}: nothing to rotate`);
  const current = Lmk.fromFileContent(content, file);
  const previousFile = previousLmkFileOf(file);
  if (readPrivate(previousFile)) throw new SecurityError('lmk', `an LMK rotation is unfinished (${previousFile} exists): it is finished at the next start, or by posp lmk rotate`);
  const next = current.successor();
  replaceFile(previousFile, current.fileContent());
  replaceFile(file, next.fileContent());
  return Lmk.keyring(next, current);
}

/** The second half: once every stored key is durably under the new LMK, the old one is removed. */
export function finishLmkRotation(file: string): void {
  const previousFile = previousLmkFileOf(file);
  // With the temporary files a crash may have left mid-write.
  for (const old of [previousFile, temporaryOf(previousFile), temporaryOf(file)]) removeIfExists(old);
  syncDirectory(dirname(previousFile));
}

/**
 * Reads a key file after checking, on the open descriptor, that neither group nor others have any
 * access to it: a key file anyone else can read is a key anyone else may have.
 */
function readPrivate(file: string): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const mode = fstatSync(fd).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new SecurityError('lmk', `LMK file ${file} has mode ${mode.toString(8).padStart(4, '0')}: group or others may read it; refusing to use it (chmod 600 ${file})`);
    }
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes `content` to `file` whole: a 0600 temporary file, synced, renamed over it, directory synced. */
function replaceFile(file: string, content: Buffer): void {
  const temp = temporaryOf(file);
  try {
    // Created afresh ('wx'), so the mode is the one given here, whatever a leftover had.
    removeIfExists(temp);
    const fd = openSync(temp, 'wx', 0o600);
    try {
      writeFileSync(fd, content);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
    syncDirectory(dirname(file));
  } finally {
    content.fill(0);
  }
}

function temporaryOf(file: string): string {
  return `${file}.tmp`;
}

function removeIfExists(file: string): void {
  try {
    unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function openUnder(key: KeyObject, wrapped: Uint8Array): Buffer | undefined {
  const decipher = createDecipheriv('aes-256-gcm', key, wrapped.subarray(0, IV_LENGTH));
  decipher.setAuthTag(wrapped.subarray(IV_LENGTH, IV_LENGTH + TAG_LENGTH));
  const clear = decipher.update(wrapped.subarray(IV_LENGTH + TAG_LENGTH));
  try {
    decipher.final();
    return clear;
  } catch {
    clear.fill(0);
    return undefined;
  }
}

function checkValueOf(key: KeyObject): string {
  const cipher = createCipheriv('aes-256-ecb', key, null);
  return cipher.update(Buffer.alloc(16)).subarray(0, 3).toString('hex').toUpperCase();
}

function deriveBytes(key: KeyObject, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), `posp/${purpose}`, 32));
}

function secretOf(key: Uint8Array | KeyObject): KeyObject {
  const length = key instanceof Uint8Array ? key.length : key.symmetricKeySize;
  if (length !== LMK_LENGTH) throw new SecurityError('lmk', `the LMK must be ${LMK_LENGTH} bytes, got ${length}`);
  return key instanceof Uint8Array ? createSecretKey(key) : key;
}

function parseHexKey(text: string): Buffer | undefined {
  return /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : undefined;
}

function takeKey(key: Buffer): Lmk {
  const lmk = new Lmk(key);
  key.fill(0);
  return lmk;
}
