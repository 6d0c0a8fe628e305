import type { FieldValue } from './spec.js';

const EMPTY_64: readonly undefined[] = new Array(65).fill(undefined);
const EMPTY_128: readonly undefined[] = new Array(129).fill(undefined);

/**
 * A decoded or to-be-encoded ISO 8583 message: the MTI and its fields by number.
 * Digits and text are strings, binary fields Buffers; the dialect decides the wire form.
 */
export class IsoMessage {
  mti: string;
  readonly fields: (FieldValue | undefined)[];

  constructor(mti: string, maxField: number) {
    this.mti = mti;
    // Copying a ready empty array is cheaper than allocating and filling one per message.
    this.fields = (maxField === 64 ? EMPTY_64 : maxField === 128 ? EMPTY_128 : new Array(maxField + 1).fill(undefined)).slice();
  }

  has(id: number): boolean {
    return this.fields[id] !== undefined;
  }

  /** A digit or text field; `undefined` when absent. */
  text(id: number): string | undefined {
    const v = this.fields[id];
    if (v === undefined || typeof v === 'string') return v;
    throw new TypeError(`F${id} is binary`);
  }

  /** A binary field; `undefined` when absent. */
  binary(id: number): Buffer | undefined {
    const v = this.fields[id];
    if (v === undefined || typeof v !== 'string') return v;
    throw new TypeError(`F${id} is not binary`);
  }

  set(id: number, value: FieldValue | undefined): this {
    this.fields[id] = value;
    return this;
  }

  /** Field numbers present, ascending. */
  present(): number[] {
    const ids: number[] = [];
    for (let i = 2; i < this.fields.length; i++) if (this.fields[i] !== undefined) ids.push(i);
    return ids;
  }
}
