import type Database from 'better-sqlite3';
import { BinaryReader, BinaryWriter, EFFECTS, EffectsCodec, IDENTIFIER, TXN_ENTRY_FIELDS, compileFunction } from './entry-codec.js';
import type { Effects } from './records.js';

/** What a field holds: a float64 / SQLite INTEGER, a string / TEXT, or the entry's effects / BLOB. */
interface KindValues {
  number: number;
  text: string;
  effects: Effects;
}

/**
 * One field of a journal entry: its property, its column in the day file and its kind. `default`
 * (the kind's zero value when omitted) is what a row of a file written before the column existed
 * reads as, and the column's SQL DEFAULT.
 */
export type EntryField =
  | { readonly name: string; readonly column: string; readonly kind: 'number'; readonly default?: number; readonly primaryKey?: true }
  | { readonly name: string; readonly column: string; readonly kind: 'text'; readonly default?: string; readonly indexed?: true }
  | { readonly name: string; readonly column: string; readonly kind: 'effects' };

/** A field a later format appends: never the key, never a second effects blob. */
export type AddedField =
  | { readonly name: string; readonly column: string; readonly kind: 'number'; readonly default?: number }
  | { readonly name: string; readonly column: string; readonly kind: 'text'; readonly default?: string; readonly indexed?: true };

/** The entry a field table describes. */
export type EntryOf<F extends readonly EntryField[]> = { [P in F[number] as P['name']]: KindValues[P['kind']] };

/**
 * The journal entry, described once: its binary layout (ring proposals), its day-file table and
 * its row mapping are all derived from this table, in this order. Fields are append-only (a new
 * one goes last, with a default, and raises JOURNAL_FORMAT), so every older file still reads.
 */
const FIELDS = [
  { name: 'seq', column: 'seq', kind: 'number', primaryKey: true },
  // Epoch milliseconds when the request arrived.
  { name: 'at', column: 'at_ms', kind: 'number' },
  { name: 'businessDate', column: 'business_date', kind: 'text' },
  { name: 'type', column: 'type', kind: 'text' },
  { name: 'mti', column: 'mti', kind: 'text' },
  { name: 'mid', column: 'mid', kind: 'text' },
  { name: 'tid', column: 'tid', kind: 'text' },
  { name: 'batch', column: 'batch', kind: 'text' },
  { name: 'stan', column: 'stan', kind: 'text' },
  // Receipts are looked up by RRN.
  { name: 'rrn', column: 'rrn', kind: 'text', indexed: true },
  { name: 'authCode', column: 'auth_code', kind: 'text' },
  { name: 'panMasked', column: 'pan_masked', kind: 'text' },
  { name: 'panHash', column: 'pan_hash', kind: 'text' },
  { name: 'amount', column: 'amount', kind: 'number' },
  { name: 'currency', column: 'currency', kind: 'text' },
  { name: 'responseCode', column: 'response_code', kind: 'text' },
  { name: 'originalKey', column: 'original_key', kind: 'text' },
  { name: 'route', column: 'route', kind: 'text' },
  { name: 'latencyUs', column: 'latency_us', kind: 'number' },
  { name: 'requestKey', column: 'request_key', kind: 'text' },
  { name: 'effects', column: 'effects', kind: 'effects' },
  // Format 2: the risk rule that refused the request ('' for every other entry).
  { name: 'riskRule', column: 'risk_rule', kind: 'text' },
] as const satisfies readonly EntryField[];

/** One journal row: a request and its outcome. */
export type JournalEntry = EntryOf<typeof FIELDS>;

/**
 * The format a day file records in `PRAGMA user_version`. 0 is a file from before formats were
 * recorded: the same columns as 1, but effects bytes without a version (a one-byte mask); 2 adds `risk_rule`.
 */
export const JOURNAL_FORMAT = 2;
export const UNVERSIONED = 0;

const SQL_TYPES = { number: 'INTEGER', text: 'TEXT', effects: 'BLOB' } as const;

/** A day file's rows as an entry schema reads them: the select list and the mapping of one raw row. */
export interface RowReader<E> {
  /** The file's columns this schema knows, in table order (a missing one reads as its default). */
  readonly columns: string;
  readonly toEntry: (row: unknown[]) => E;
}

/**
 * A journal entry schema compiled once: the binary codec and the SQL of its day files. The
 * generated functions name every field directly, so a message costs what hand-written code
 * would: no per-field dispatch, no closures.
 */
export class EntrySchema<E extends object> {
  readonly version: number;
  readonly fields: readonly EntryField[];
  readonly effects: EffectsCodec<Effects>;
  /** The effects blob's column (the migration of an unversioned file rewrites it). */
  readonly effectsColumn: string;
  readonly write: (w: BinaryWriter, entry: E) => void;
  readonly read: (r: BinaryReader) => E;
  /** The table of a new day file. */
  readonly createTableSql: string;
  /** Indexes, created if missing on every open for writing. */
  readonly indexSql: string;
  readonly insertSql: string;
  /** Runs `insertSql` for one entry with positional parameters: binding by name costs a lookup per column. */
  readonly insert: (stmt: Database.Statement, entry: E) => void;
  /** A new entry with every field at its default and no effects, for the code that fills it in. */
  readonly blank: () => E;
  private readonly rowReaders = new Map<string, RowReader<E>>();

  private constructor(version: number, fields: readonly EntryField[], effects: EffectsCodec<Effects>) {
    const names = new Set<string>();
    const columns = new Set<string>();
    for (const f of fields) {
      if (!IDENTIFIER.test(f.name) || names.has(f.name)) throw new Error(`entry field '${f.name}' must be a unique identifier`);
      if (!/^[a-z_][a-z0-9_]*$/.test(f.column) || columns.has(f.column)) throw new Error(`column '${f.column}' must be a unique lower-case SQL name`);
      names.add(f.name);
      columns.add(f.column);
    }
    const effectsFields = fields.filter((f) => f.kind === 'effects');
    if (effectsFields.length !== 1) throw new Error('an entry has exactly one effects field');
    this.version = version;
    this.fields = fields;
    this.effects = effects;
    this.effectsColumn = effectsFields[0].column;
    // Effects are written with their entry (they may refer to its fields) and read once the
    // fields before them are: the fields after them are read into the placeholders.
    const effectsAt = fields.findIndex((f) => f.kind === 'effects');
    for (const name of TXN_ENTRY_FIELDS) {
      const at = fields.findIndex((f) => f.name === name);
      if (at < 0 || at > effectsAt) throw new Error(`entry field '${name}', which transaction records refer to, must come before the effects`);
    }
    this.write = compileFunction({ writeEffects: effects.write }, `return function writeEntry(w, e) {
${fields.map((f) => `  ${f.kind === 'effects' ? `writeEffects(w, e.${f.name}, e)` : `${f.kind === 'text' ? 'w.str' : 'w.f64'}(e.${f.name})`};`).join('\n')}
};`);
    this.read = compileFunction({ readEffects: effects.read }, `return function readEntry(r) {
  const e = {
${fields.map((f, i) => `    ${f.name}: ${i >= effectsAt ? placeholderSource(f) : f.kind === 'text' ? 'r.str()' : 'r.f64()'},`).join('\n')}
  };
${fields.slice(effectsAt).map((f) => `  e.${f.name} = ${f.kind === 'effects' ? 'readEffects(r, e)' : f.kind === 'text' ? 'r.str()' : 'r.f64()'};`).join('\n')}
  return e;
};`);
    this.createTableSql = `CREATE TABLE entries (\n${fields.map((f) => `  ${columnSql(f, effects)}`).join(',\n')}\n)`;
    this.indexSql = fields
      .filter((f) => f.kind === 'text' && f.indexed)
      .map((f) => `CREATE INDEX IF NOT EXISTS entries_${f.column} ON entries(${f.column});`)
      .join('\n');
    this.insertSql = `INSERT INTO entries (${fields.map((f) => f.column).join(', ')}) VALUES (${fields.map(() => '?').join(', ')})`;
    this.blank = compileFunction({}, `return function blankEntry() {
  return {
${fields.map((f) => `    ${f.name}: ${defaultSource(f)},`).join('\n')}
  };
};`);
    this.insert = compileFunction({ encodeEffects: (v: Effects, e: E) => effects.encode(v, e as JournalEntry) }, `return function insertEntry(stmt, e) {
  stmt.run(${fields.map((f) => (f.kind === 'effects' ? `encodeEffects(e.${f.name}, e)` : `e.${f.name}`)).join(', ')});
};`);
  }

  /** The schema of a field table. */
  static of<const F extends readonly EntryField[]>(version: number, fields: F, effects: EffectsCodec<Effects>): EntrySchema<EntryOf<F>> {
    return new EntrySchema(version, fields, effects);
  }

  /** The next format: this one with `field` appended. */
  with<const F extends AddedField>(field: F): EntrySchema<E & { [P in F['name']]: KindValues[F['kind']] }> {
    return new EntrySchema(this.version + 1, [...this.fields, field], this.effects);
  }

  /** Adds a column a file written by an older format lacks; its rows take the default. */
  addColumnSql(field: EntryField): string {
    return `ALTER TABLE entries ADD COLUMN ${columnSql(field, this.effects)}`;
  }

  /**
   * Reads rows of a file that has `fileColumns` (raw rows, in the order of `columns`); fields the
   * file lacks take their default. Compiled once per distinct layout.
   */
  rowReader(fileColumns: readonly string[], unversionedEffects: boolean): RowReader<E> {
    const present = new Set(fileColumns);
    const key = `${unversionedEffects ? 'u' : 'v'}:${this.fields.map((f) => (present.has(f.column) ? 1 : 0)).join('')}`;
    let reader = this.rowReaders.get(key);
    if (reader === undefined) {
      const readEffects: (r: BinaryReader, entry?: JournalEntry) => Effects = unversionedEffects ? (r) => this.effects.readUnversioned(r) : this.effects.read;
      const effectsName = this.fields.find((f) => f.kind === 'effects')!.name;
      let at = 0;
      let effectsSource = '{}';
      const values = this.fields.map((f) => {
        if (!present.has(f.column)) return defaultSource(f);
        if (f.kind !== 'effects') return `row[${at++}]`;
        // Decoded once the entry's other fields are in: the effects may refer to them.
        effectsSource = `decodeEffects(row[${at++}], e)`;
        return placeholderSource(f);
      });
      reader = {
        columns: this.fields.filter((f) => present.has(f.column)).map((f) => f.column).join(', '),
        toEntry: compileFunction({ decodeEffects: (b: Buffer, e: E) => readEffects(new BinaryReader(b), e as JournalEntry) }, `return function toEntry(row) {
  const e = {
${this.fields.map((f, i) => `    ${f.name}: ${values[i]},`).join('\n')}
  };
  e.${effectsName} = ${effectsSource};
  return e;
};`),
      };
      this.rowReaders.set(key, reader);
    }
    return reader;
  }
}

function columnSql(f: EntryField, effects: EffectsCodec<Effects>): string {
  const type = SQL_TYPES[f.kind];
  if (f.kind === 'number' && f.primaryKey) return `${f.column} ${type} PRIMARY KEY`;
  const value = f.kind === 'effects' ? `X'${effects.encode({}).toString('hex')}'` : sqlLiteral(defaultOf(f));
  return `${f.column} ${type} NOT NULL DEFAULT ${value}`;
}

function defaultOf(f: Exclude<EntryField, { kind: 'effects' }>): string | number {
  return f.default ?? (f.kind === 'text' ? '' : 0);
}

/** What a field holds in generated code until it is read: of its kind, so every entry has one shape. */
function placeholderSource(f: EntryField): string {
  return f.kind === 'effects' ? 'null' : f.kind === 'text' ? "''" : '0';
}

/** A field's default as generated code: a fresh `{}` per entry for effects, which entries' owners fill in. */
function defaultSource(f: EntryField): string {
  return f.kind === 'effects' ? '{}' : JSON.stringify(defaultOf(f));
}

function sqlLiteral(v: string | number): string {
  if (typeof v === 'string') return `'${v.replaceAll("'", "''")}'`;
  if (!Number.isFinite(v)) throw new Error(`a column default must be a finite number, not ${v}`);
  return String(v);
}

export const ENTRY_SCHEMA = EntrySchema.of(JOURNAL_FORMAT, FIELDS, EFFECTS);

/** Writes an entry in the fixed binary layout (what a proposal carries across a ring). */
export const writeEntry: (w: BinaryWriter, e: JournalEntry) => void = ENTRY_SCHEMA.write;
export const readEntry: (r: BinaryReader) => JournalEntry = ENTRY_SCHEMA.read;
export const blankEntry: () => JournalEntry = ENTRY_SCHEMA.blank;
