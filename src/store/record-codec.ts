import { Unpackr } from 'msgpackr';
import { BinaryReader, BinaryWriter, IDENTIFIER, NewerFormatError, compileFunction } from './entry-codec.js';
import type { Card } from './records.js';

/** One field of a stored record: a string, a float64 or bytes (read back as a Buffer of its own). */
export interface RecordField<T> {
  readonly name: keyof T & string;
  readonly kind: 'text' | 'number' | 'bytes';
}

/**
 * Bytes below this start a record in a fixed layout (its format version). A msgpack value of an
 * object never does: maps are 0x80 and up, msgpackr's records 0x40 and up. So a table that held
 * msgpack before still reads, and its records are rewritten in the layout as they change.
 */
const FIRST_MSGPACK_OBJECT_BYTE = 0x40;

/**
 * A record of one LMDB table in a fixed binary layout compiled from its field table, as the
 * journal's entries are: no property names stored, no msgpack decoded per read. It is the
 * table's lmdb-js encoder (`encode`, `decode`). The bytes lmdb-js hands `decode` may be its reused
 * read buffer: what the record keeps is copied out (strings are copies; bytes get their own Buffer).
 */
export class RecordCodec<T extends object> {
  private readonly write: (w: BinaryWriter, record: T) => void;
  private readonly read: (r: BinaryReader) => T;
  private readonly writer = new BinaryWriter(256);
  /** Records written before the table had a layout (msgpack with inline record definitions). */
  private readonly older = new Unpackr({ mapsAsObjects: true });

  constructor(
    private readonly table: string,
    private readonly version: number,
    fields: readonly RecordField<T>[],
  ) {
    if (!(Number.isInteger(version) && version >= 1 && version < FIRST_MSGPACK_OBJECT_BYTE)) throw new Error(`a record format version is 1 to ${FIRST_MSGPACK_OBJECT_BYTE - 1}`);
    for (const f of fields) if (!IDENTIFIER.test(f.name)) throw new Error(`record field '${f.name}' must be an identifier`);
    const writeOf = { text: 'w.str', number: 'w.f64', bytes: 'w.blob' } as const;
    const readOf = { text: 'r.str()', number: 'r.f64()', bytes: 'r.blob()' } as const;
    this.write = compileFunction({}, `return function write${table}(w, v) {
  w.u8(${version});
${fields.map((f) => `  ${writeOf[f.kind]}(v.${f.name});`).join('\n')}
};`);
    this.read = compileFunction({}, `return function read${table}(r) {
  return {
${fields.map((f) => `    ${f.name}: ${readOf[f.kind]},`).join('\n')}
  };
};`);
  }

  /** lmdb-js keeps the bytes it is given only until the write: a copy, since the writer is reused. */
  encode(record: T): Buffer {
    this.write(this.writer.reset(), record);
    return Buffer.from(this.writer.bytes);
  }

  decode(bytes: Buffer): T {
    const first = bytes[0];
    // lmdb-js's reused read buffer says its value's length in an own `length`: copy by range.
    if (first >= FIRST_MSGPACK_OBJECT_BYTE) return this.older.unpack(Buffer.from(bytes.subarray(0, bytes.length))) as T;
    if (first !== this.version) throw new NewerFormatError(`a ${this.table} record of format ${first}; this build reads format ${this.version}`);
    const r = new BinaryReader(bytes, 1);
    const record = this.read(r);
    if (r.pos !== bytes.length) throw new RangeError(`a ${this.table} record runs ${bytes.length - r.pos} bytes past its fields`);
    return record;
  }
}

/** Cards: read on every card-present request, written only by reference changes. */
export const CARD_RECORD = new RecordCodec<Card>('cards', 1, [
  { name: 'pan', kind: 'text' },
  { name: 'expiry', kind: 'text' },
  { name: 'status', kind: 'text' },
  { name: 'account', kind: 'text' },
  { name: 'pinVerifier', kind: 'bytes' },
]);
