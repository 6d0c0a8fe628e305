// The switch's software security module. Clear keys and clear PINs exist only in here: callers
// store LMK-wrapped keys (opaque Buffers) and cache KeyHandles, whose DES key sits in an ES
// private field that no code outside this file can read.

import { timingSafeEqual } from 'node:crypto';
import { DesKey } from './des.js';
import { HmacSha256 } from './hmac.js';
import { PinFormatError, SecurityError } from './errors.js';
import { KEY_BLOCK_LAYOUTS, kcv, randomKey, type KeyMode } from './keys.js';
import type { Lmk } from './lmk.js';
import { computeMac, MAC_LENGTH, type MacAlgorithm } from './mac.js';
import { decodePinBlock, MAX_PIN_LENGTH, buildPinBlock } from './pinblock.js';

let keyOf: (handle: KeyHandle) => DesKey;
let newHandle: (key: DesKey) => KeyHandle;
// TypeScript's `private constructor` is compile-time only; this token makes forging a handle from
// outside fail at run time too.
const HANDLE_TOKEN = Symbol('KeyHandle');

/** A loaded key, usable only through SecurityModule. Safe to cache, log (shows the KCV) and pass around. */
export class KeyHandle {
  readonly #key: DesKey;
  /** Key length in bytes: 8, 16 or 24. */
  readonly length: 8 | 16 | 24;
  /** Check value as 8 uppercase hex digits. */
  readonly kcv: string;

  private constructor(token: symbol, key: DesKey) {
    if (token !== HANDLE_TOKEN) throw new TypeError('KeyHandles come from SecurityModule.loadKey');
    this.#key = key;
    this.length = key.length;
    this.kcv = kcv(key).toString('hex').toUpperCase();
  }

  static {
    keyOf = (handle) => handle.#key;
    newHandle = (key) => new KeyHandle(HANDLE_TOKEN, key);
  }
}

/** A stored (LMK-wrapped) key or a loaded handle. */
export type KeyRef = Buffer | KeyHandle;

/** Result of a sign-in key issue: F62 for the response, the new keys wrapped for storage. */
export interface WorkingKeys {
  readonly f62: Buffer;
  readonly pik: Buffer;
  readonly mak: Buffer;
  /** Mode 004 only. */
  readonly tdk?: Buffer;
}

/** 'format' → answer F39 99; 'wrong' → 55. */
export type PinCheck = 'ok' | 'wrong' | 'format';

/** Bytes of a PIN verifier (truncated HMAC-SHA256): 128 bits. */
export const PIN_VERIFIER_LENGTH = 16;

// Scratch for one PIN operation at a time (one per worker thread), wiped after every use.
const clearBlock = Buffer.alloc(8);
// PAN (≤ 19) ‖ '=' ‖ PIN (≤ 12): the separator keeps (PAN, PIN) pairs of different PAN lengths apart.
const verifierInput = Buffer.alloc(19 + 1 + MAX_PIN_LENGTH);
const macScratch = Buffer.alloc(MAC_LENGTH);
const tokenScratch = Buffer.alloc(16);
const verifierScratch = Buffer.alloc(PIN_VERIFIER_LENGTH);
const MAX_PAN_LENGTH = 19;

export class SecurityModule {
  readonly #lmk: Lmk;
  readonly #pinVerifierMac: HmacSha256;
  readonly #panTokenMac: HmacSha256;

  constructor(lmk: Lmk) {
    this.#lmk = lmk;
    this.#pinVerifierMac = new HmacSha256(lmk.derive('pin-verifier/v1'), verifierInput.length);
    this.#panTokenMac = new HmacSha256(lmk.derive('pan-token/v1'), MAX_PAN_LENGTH);
  }

  /** Wraps a key given in clear (bytes or hex), e.g. a TMK an operator imports. */
  importKey(clear: Buffer | string): Buffer {
    const bytes = typeof clear === 'string' ? parseHexKey(clear) : clear;
    if (bytes.length !== 8 && bytes.length !== 16 && bytes.length !== 24) {
      throw new SecurityError('key-length', `a DES key must be 8, 16 or 24 bytes, got ${bytes.length}`);
    }
    const wrapped = this.#lmk.wrap(bytes);
    if (bytes !== clear) bytes.fill(0);
    return wrapped;
  }

  /** Unwraps a stored key into a handle; throws SecurityError 'key-unwrap' if it was tampered with. */
  loadKey(wrapped: Buffer): KeyHandle {
    return newHandle(this.#unwrapDes(wrapped));
  }

  /** Check value of a stored key or handle (4 bytes). */
  kcv(key: KeyRef): Buffer {
    return kcv(this.#des(key));
  }

  /**
   * Fresh working keys for a sign-in: each encrypted under the TMK (3DES ECB) into F62 with its
   * check value per PROTOCOL.md section 4, and wrapped under the LMK for storage.
   */
  issueWorkingKeys(tmk: KeyRef, mode: KeyMode): WorkingKeys {
    const tmkKey = this.#des(tmk);
    const layout = KEY_BLOCK_LAYOUTS[mode];
    if (!layout) throw new SecurityError('key-block', `unknown key mode ${String(mode)}`);
    const f62 = Buffer.alloc(layout.length);
    const issue = (slot: { offset: number; length: 8 | 16; kcvOffset: number }): Buffer => {
      const clear = randomKey(slot.length);
      try {
        tmkKey.encryptEcb(clear).copy(f62, slot.offset);
        kcv(new DesKey(clear)).copy(f62, slot.kcvOffset);
        return this.#lmk.wrap(clear);
      } finally {
        clear.fill(0);
      }
    };
    const pik = issue(layout.pik);
    const mak = issue(layout.mak);
    return layout.tdk ? { f62, pik, mak, tdk: issue(layout.tdk) } : { f62, pik, mak };
  }

  /**
   * Takes in a key another party sent encrypted under a key-encrypting key both hold (a host's zone
   * key under the zone master key: 3DES ECB), checks it against the check value that came with it
   * (its first `checkValue.length` bytes), and wraps it under the LMK for storage. Throws
   * SecurityError 'key-kcv' when the check value does not match: a key garbled on the way, or
   * encrypted under another ZMK, must never be used.
   */
  importUnderKek(kek: KeyRef, encrypted: Buffer, checkValue: Buffer): Buffer {
    if (encrypted.length !== 8 && encrypted.length !== 16 && encrypted.length !== 24) {
      throw new SecurityError('key-length', `an encrypted DES key is 8, 16 or 24 bytes, got ${encrypted.length}`);
    }
    const clear = this.#des(kek).decryptEcb(encrypted);
    try {
      const actual = kcv(new DesKey(clear));
      if (checkValue.length === 0 || checkValue.length > actual.length || !timingSafeEqual(actual.subarray(0, checkValue.length), checkValue)) {
        throw new SecurityError('key-kcv', `the key's check value ${actual.subarray(0, checkValue.length).toString('hex').toUpperCase()} is not the ${checkValue.toString('hex').toUpperCase()} sent with it`);
      }
      return this.#lmk.wrap(clear);
    } finally {
      clear.fill(0);
    }
  }

  /** MAC over data[start, end) into out[outOffset..+8) (a new Buffer without `out`). */
  generateMac(mak: KeyHandle, algorithm: MacAlgorithm, data: Uint8Array, start: number, end: number, out?: Buffer, outOffset = 0): Buffer {
    return computeMac(keyOf(mak), algorithm, data, start, end, out, outOffset);
  }

  /** True when mac[macOffset..+8) is the MAC of data[start, end); constant-time comparison. */
  verifyMac(mak: KeyHandle, algorithm: MacAlgorithm, data: Uint8Array, start: number, end: number, mac: Uint8Array, macOffset: number): boolean {
    if (!(macOffset >= 0 && macOffset + MAC_LENGTH <= mac.length)) return false;
    computeMac(keyOf(mak), algorithm, data, start, end, macScratch, 0);
    let diff = 0;
    for (let i = 0; i < MAC_LENGTH; i++) diff |= macScratch[i]! ^ mac[macOffset + i]!;
    return diff === 0;
  }

  /**
   * PIN verification value for an on-us account record: HMAC-SHA256 under an LMK-derived key over
   * PAN ‖ '=' ‖ PIN, truncated to 16 bytes. Without the LMK it reveals nothing about the PIN.
   */
  makePinVerifier(pan: string, pin: string): Buffer {
    buildPinBlock(pan, pin, clearBlock); // throws PinFormatError, so the block below decodes
    const verifier = Buffer.alloc(PIN_VERIFIER_LENGTH);
    this.#verifierOfClearBlock(pan, verifier);
    return verifier;
  }

  /**
   * A keyed token of a PAN (HMAC-SHA256 under an LMK-derived key, 128 bits, base64): journals and
   * indexes compare cards by it. A plain hash would not do: the PAN space is small enough to search.
   */
  panToken(pan: string): string {
    this.#panTokenMac.ofString(pan, tokenScratch, 0, 16);
    return tokenScratch.toString('base64');
  }

  /**
   * A card number sealed under the LMK (AES-256-GCM, base64) for a record that must name the card
   * to someone later (a stand-in advice to the issuer): the store alone reveals nothing.
   */
  sealPan(pan: string): string {
    return this.#lmk.wrap(Buffer.from(pan, 'latin1')).toString('base64');
  }

  /** The card number of `sealPan`; throws SecurityError 'key-unwrap' if the seal was altered. */
  openPan(sealed: string): string {
    return this.#lmk.unwrap(Buffer.from(sealed, 'base64')).toString('latin1');
  }

  /** Checks an encrypted PIN block from a terminal against the account's stored verifier. */
  verifyPin(pik: KeyHandle, pinBlock: Uint8Array, pan: string, verifier: Buffer): PinCheck {
    if (pinBlock.length !== 8) return 'format';
    if (verifier.length !== PIN_VERIFIER_LENGTH) {
      throw new RangeError(`a PIN verifier is ${PIN_VERIFIER_LENGTH} bytes, got ${verifier.length}`);
    }
    keyOf(pik).decryptBlock(pinBlock, 0, clearBlock, 0);
    if (!this.#verifierOfClearBlock(pan, verifierScratch)) return 'format';
    return timingSafeEqual(verifierScratch, verifier) ? 'ok' : 'wrong';
  }

  /**
   * Re-encrypts a terminal PIN block (under its PIK) under a host zone PIN key, checking the
   * format on the way; the clear block never leaves. Throws PinFormatError on a malformed block.
   */
  translatePin(pik: KeyHandle, zpk: KeyHandle, pinBlock: Uint8Array, pan: string, out?: Buffer): Buffer {
    if (pinBlock.length !== 8) throw new PinFormatError('block');
    const dst = out ?? Buffer.allocUnsafe(8);
    keyOf(pik).decryptBlock(pinBlock, 0, clearBlock, 0);
    const n = decodePinBlock(clearBlock, 0, pan);
    if (typeof n === 'string') {
      clearBlock.fill(0);
      throw new PinFormatError(n);
    }
    keyOf(zpk).encryptBlock(clearBlock, 0, dst, 0);
    clearBlock.fill(0);
    return dst;
  }

  /**
   * Clear packed track from one encrypted with the TDK: the 8 bytes ending one byte before the
   * end were replaced by their 3DES encryption (PROTOCOL.md section 4).
   */
  decryptTrack(tdk: KeyHandle, packedTrack: Uint8Array): Buffer {
    if (packedTrack.length < 9) {
      throw new SecurityError('track', `an encrypted track needs at least 9 packed bytes, got ${packedTrack.length}`);
    }
    const clear = Buffer.from(packedTrack);
    const at = clear.length - 9;
    keyOf(tdk).decryptBlock(clear, at, clear, at);
    return clear;
  }

  /** Verifier of the clear PIN block in `clearBlock` into `out`; false if the block is malformed. Wipes scratch. */
  #verifierOfClearBlock(pan: string, out: Buffer): boolean {
    const pinAt = pan.length + 1;
    const n = decodePinBlock(clearBlock, 0, pan, verifierInput.subarray(pinAt));
    clearBlock.fill(0);
    if (typeof n === 'string') {
      verifierInput.fill(0);
      return false;
    }
    verifierInput.write(pan, 0, 'latin1');
    verifierInput[pan.length] = 0x3d; // '='
    this.#pinVerifierMac.ofBytes(verifierInput, 0, pinAt + n, out, 0, PIN_VERIFIER_LENGTH);
    verifierInput.fill(0);
    return true;
  }

  #des(key: KeyRef): DesKey {
    return key instanceof KeyHandle ? keyOf(key) : this.#unwrapDes(key);
  }

  #unwrapDes(wrapped: Buffer): DesKey {
    const clear = this.#lmk.unwrap(wrapped);
    try {
      return new DesKey(clear);
    } finally {
      clear.fill(0);
    }
  }
}

function parseHexKey(hex: string): Buffer {
  const text = hex.trim();
  if (!/^(?:[0-9a-fA-F]{16}){1,3}$/.test(text)) {
    throw new SecurityError('key-length', 'a clear key must be 16, 32 or 48 hex digits');
  }
  return Buffer.from(text, 'hex');
}
