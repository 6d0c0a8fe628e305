/**
 * Field specifications: the data that both dialects' interpreters read. A field is described
 * once here; the codecs never special-case a field number.
 */

/** `n` digits, `z` track data (digits and `=`), `an`/`ans` text, `b` binary. */
export type FieldFormat = 'n' | 'z' | 'an' | 'ans' | 'b';

/** `fixed`, or a 1-/2-byte (terminal, BCD) or 2-/3-digit (host, ASCII) length prefix. */
export type LengthKind = 'fixed' | 'LL' | 'LLL';

export interface FieldSpec {
  readonly id: number;
  readonly name: string;
  readonly format: FieldFormat;
  readonly length: LengthKind;
  /** Digits for `n`/`z`, bytes for `an`/`ans`/`b`: the exact length if fixed, else the maximum. */
  readonly max: number;
  /** Fixed BCD fields are right-aligned unless marked `left` (F22). */
  readonly align?: 'left' | 'right';
}

/** A spec as the interpreters hold it, with its label (`F35`) made once rather than per message. */
export interface TableEntry extends FieldSpec {
  readonly label: string;
}

export type FieldTable = readonly (TableEntry | undefined)[];

/** Builds a table indexed by field number, so the interpreters look specs up in O(1). */
export function fieldTable(size: number, specs: readonly FieldSpec[]): FieldTable {
  const table: (TableEntry | undefined)[] = new Array(size + 1).fill(undefined);
  for (const spec of specs) table[spec.id] = { ...spec, label: `F${spec.id}` };
  return table;
}

/** A value of a decoded field: digits and text as strings, binary as a Buffer. */
export type FieldValue = string | Buffer;
