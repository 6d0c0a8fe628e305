// A key entered by key custodians in components: two or three clear parts, each held by a
// different person, XORed together here so that no one person ever knows the key and the whole
// key exists only in this module, for as long as it takes to wrap it under the LMK.

import { DesKey } from './des.js';
import { SecurityError } from './errors.js';
import { kcv } from './keys.js';
import type { SecurityModule } from './module.js';

/** A double- or triple-length DES key component in hex. */
const COMPONENT = /^(?:[0-9A-Fa-f]{32}|[0-9A-Fa-f]{48})$/;
/** A check value as custodians compare them: 6 hex digits. */
const CHECK_VALUE = /^[0-9A-Fa-f]{6}$/;

/** Check value of a clear key or component as custodians read it: the first 6 hex digits of its KCV. */
export function componentCheckValue(clear: Buffer): string {
  return kcv(new DesKey(clear)).subarray(0, 3).toString('hex').toUpperCase();
}

/** Components as key custodians enter them, with the check values they expect (from their forms). */
export interface Components {
  components: readonly string[];
  /** Each component's check value, in order. */
  componentKcvs?: readonly string[];
  /** The check value of the key the components make. */
  kcv?: string;
}

/** Why `given` (a request body's fields) cannot make a key, or null. */
export function componentsProblem(given: { components?: unknown; componentKcvs?: unknown; kcv?: unknown }): string | null {
  const { components, componentKcvs, kcv: expected } = given;
  if (!Array.isArray(components) || components.length < 2 || components.length > 3) return 'components is a list of 2 or 3 key components';
  for (const [i, c] of components.entries()) {
    if (typeof c !== 'string' || !COMPONENT.test(c)) return `component ${i + 1} must be 32 or 48 hex digits`;
  }
  if (new Set(components.map((c: string) => c.length)).size !== 1) return 'the components must all be the same length';
  const upper = components.map((c: string) => c.toUpperCase());
  for (let i = 0; i < upper.length; i++) {
    for (let j = i + 1; j < upper.length; j++) {
      // Equal components cancel out (or leave one): the key would be known to a single custodian.
      if (upper[i] === upper[j]) return `components ${i + 1} and ${j + 1} are the same: the key would be known to one custodian`;
    }
  }
  if (componentKcvs !== undefined) {
    if (!Array.isArray(componentKcvs) || componentKcvs.length !== components.length) return 'componentKcvs has one check value per component';
    if (!componentKcvs.every((v) => typeof v === 'string' && CHECK_VALUE.test(v))) return 'each of componentKcvs is 6 hex digits';
  }
  if (expected !== undefined && (typeof expected !== 'string' || !CHECK_VALUE.test(expected))) return 'kcv must be 6 hex digits';
  return null;
}

/** A key made of components: wrapped under the LMK, and the check values of each component and of the key. */
export interface ComponentKey {
  wrapped: Buffer;
  kcv: string;
  componentKcvs: string[];
}

/**
 * XORs the components into the key and wraps it under the LMK. Throws SecurityError 'key-kcv' when
 * a check value given is not the one computed (a component mistyped, or garbled on the way), and
 * 'key-length' when the components are malformed or cancel out. Every clear byte is wiped before
 * it returns either way.
 */
export function keyFromComponents(hsm: SecurityModule, given: Components): ComponentKey {
  const problem = componentsProblem(given);
  if (problem !== null) throw new SecurityError('key-length', problem);
  const key = Buffer.alloc(given.components[0].length / 2);
  const part = Buffer.alloc(key.length);
  const componentKcvs: string[] = [];
  try {
    for (const [i, component] of given.components.entries()) {
      part.write(component, 'hex');
      const checkValue = componentCheckValue(part);
      const expected = given.componentKcvs?.[i].toUpperCase();
      if (expected !== undefined && checkValue !== expected) {
        throw new SecurityError('key-kcv', `component ${i + 1}'s check value is ${checkValue}, not the ${expected} given: it was mistyped`);
      }
      componentKcvs.push(checkValue);
      for (let b = 0; b < key.length; b++) key[b] ^= part[b];
    }
    if (key.every((b) => b === 0)) throw new SecurityError('key-length', 'the components cancel out: their XOR is zero');
    const checkValue = componentCheckValue(key);
    const expected = given.kcv?.toUpperCase();
    if (expected !== undefined && checkValue !== expected) {
      throw new SecurityError('key-kcv', `the key's check value is ${checkValue}, not the ${expected} given: a component was mistyped`);
    }
    return { wrapped: hsm.importKey(key), kcv: checkValue, componentKcvs };
  } finally {
    key.fill(0);
    part.fill(0);
  }
}
