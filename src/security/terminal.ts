// Terminal-side key handling: what a POS terminal does with the keys it holds in clear. The switch
// never calls these; the load generator and tests do, because they play terminals and so
// legitimately know their TMK.

import { DesKey } from './des.js';
import { SecurityError } from './errors.js';
import { kcv, parseKeyBlock, type KeyMode } from './keys.js';
import { buildPinBlock } from './pinblock.js';

/** A clear key as bytes, or already scheduled. */
export type ClearKey = DesKey | Uint8Array;

function des(key: ClearKey): DesKey {
  return key instanceof DesKey ? key : new DesKey(key);
}

/** A working key from F62, decrypted under the terminal's TMK (3DES ECB). */
export function decryptWorkingKey(tmk: ClearKey, encryptedKey: Uint8Array): Buffer {
  return des(tmk).decryptEcb(encryptedKey);
}

export interface ClearWorkingKeys {
  readonly pik: Buffer;
  readonly mak: Buffer;
  /** Mode 004 only. */
  readonly tdk?: Buffer;
}

/** Decrypts every key of a sign-in F62 and checks each against its KCV, as a terminal must. */
export function openKeyBlock(tmk: ClearKey, f62: Uint8Array, mode: KeyMode): ClearWorkingKeys {
  const key = des(tmk);
  const block = parseKeyBlock(f62, mode);
  const open = (name: string, entry: { key: Buffer; kcv: Buffer }): Buffer => {
    const clear = decryptWorkingKey(key, entry.key);
    if (!kcv(new DesKey(clear)).equals(entry.kcv)) {
      throw new SecurityError('key-block', `${name} check value mismatch: wrong TMK or corrupted F62`);
    }
    return clear;
  };
  const pik = open('PIK', block.pik);
  const mak = open('MAK', block.mak);
  return block.tdk ? { pik, mak, tdk: open('TDK', block.tdk) } : { pik, mak };
}

/** The F52 a terminal sends: the format 0 PIN block encrypted under its PIK. */
export function encryptPinBlock(pik: ClearKey, pan: string, pin: string, out?: Buffer): Buffer {
  const block = buildPinBlock(pan, pin, out);
  des(pik).encryptBlock(block, 0, block, 0);
  return block;
}

/** A packed track as sent under the TDK: the 8 bytes ending one byte before the end, encrypted. */
export function encryptTrack(tdk: ClearKey, packedTrack: Uint8Array): Buffer {
  if (packedTrack.length < 9) {
    throw new SecurityError('track', `an encrypted track needs at least 9 packed bytes, got ${packedTrack.length}`);
  }
  const out = Buffer.from(packedTrack);
  const at = out.length - 9;
  des(tdk).encryptBlock(out, at, out, at);
  return out;
}
