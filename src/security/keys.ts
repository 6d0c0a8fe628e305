// Key material helpers shared by the switch's module and the terminal side: check values,
// working-key generation, and the F62 key block layout of the sign-in response (PROTOCOL.md 4).

import { randomBytes } from 'node:crypto';
import type { DesKey } from './des.js';
import { SecurityError } from './errors.js';

/** Sign-in key mode, the 60.3 network management code of the 0800 request. */
export type KeyMode = '001' | '003' | '004';

const ZERO_BLOCK = new Uint8Array(8);

/** Key check value: the first 4 bytes of the key encrypting 8 zero bytes. */
export function kcv(key: DesKey): Buffer {
  const out = Buffer.allocUnsafe(8);
  key.encryptBlock(ZERO_BLOCK, 0, out, 0);
  return out.subarray(0, 4);
}

/** Fresh random DES key bytes with odd parity (the convention HSMs and terminals check). */
export function randomKey(length: 8 | 16 | 24): Buffer {
  const key = randomBytes(length);
  for (let i = 0; i < length; i++) {
    let b = key[i]! & 0xfe;
    let ones = 0;
    for (let v = b; v !== 0; v &= v - 1) ones++;
    if ((ones & 1) === 0) b |= 1;
    key[i] = b;
  }
  return key;
}

/** Where one key and its check value sit in F62. */
interface Slot {
  readonly offset: number;
  readonly length: 8 | 16;
  readonly kcvOffset: number;
}

interface Layout {
  readonly length: number;
  readonly pik: Slot;
  readonly mak: Slot;
  readonly tdk?: Slot;
}

/** F62 layouts; in 003/004 the single-length MAK is followed by 8 zero bytes of filler. */
export const KEY_BLOCK_LAYOUTS: Readonly<Record<KeyMode, Layout>> = {
  '001': {
    length: 24,
    pik: { offset: 0, length: 8, kcvOffset: 8 },
    mak: { offset: 12, length: 8, kcvOffset: 20 },
  },
  '003': {
    length: 40,
    pik: { offset: 0, length: 16, kcvOffset: 16 },
    mak: { offset: 20, length: 8, kcvOffset: 36 },
  },
  '004': {
    length: 60,
    pik: { offset: 0, length: 16, kcvOffset: 16 },
    mak: { offset: 20, length: 8, kcvOffset: 36 },
    tdk: { offset: 40, length: 16, kcvOffset: 56 },
  },
};

/** A working key as carried in F62: encrypted under the TMK, with the clear key's KCV. */
export interface EncryptedKey {
  readonly key: Buffer;
  readonly kcv: Buffer;
}

export interface KeyBlock {
  readonly pik: EncryptedKey;
  readonly mak: EncryptedKey;
  /** Present in mode 004 only. */
  readonly tdk?: EncryptedKey;
}

export function isKeyMode(value: string): value is KeyMode {
  return value === '001' || value === '003' || value === '004';
}

/** Splits an F62 key block into its encrypted keys and check values (copies, not views). */
export function parseKeyBlock(f62: Uint8Array, mode: KeyMode): KeyBlock {
  const layout = KEY_BLOCK_LAYOUTS[mode];
  if (f62.length !== layout.length) {
    throw new SecurityError('key-block', `F62 for key mode ${mode} must be ${layout.length} bytes, got ${f62.length}`);
  }
  const take = (slot: Slot): EncryptedKey => ({
    key: Buffer.from(f62.subarray(slot.offset, slot.offset + slot.length)),
    kcv: Buffer.from(f62.subarray(slot.kcvOffset, slot.kcvOffset + 4)),
  });
  const block = { pik: take(layout.pik), mak: take(layout.mak) };
  return layout.tdk ? { ...block, tdk: take(layout.tdk) } : block;
}
