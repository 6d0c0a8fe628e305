import { pack, unpack } from 'msgpackr';
import type { AdviceChange, Discrepancy, Effects, OriginalUpdate, Posting, ReferenceChange, StatusChange, TotalsDelta, TxnRecord, TxnStatus, UnbalancedSettlement } from './records.js';
import type { JournalEntry } from './entry-schema.js';

/**
 * A fixed binary layout for journal entries (entry-schema.ts) and their effects (here): every
 * proposal crosses a ring in it and every journal row stores its effects in it. Fields are written
 * in one known order, so no key names travel and nothing is looked up by name; only the rare parts
 * (discrepancies, a terminal update) are embedded msgpack. Strings are a u16 byte length then
 * UTF-8; numbers are float64 (amounts and sequence numbers are safe integers).
 */
/** Strings up to this length are tried as ASCII first (the u16 length's high byte is then 0). */
const ASCII_RUN = 255;

export class BinaryWriter {
  buf: Buffer;
  pos = 0;

  constructor(size = 1024) {
    this.buf = Buffer.allocUnsafe(size);
  }

  reset(): this {
    this.pos = 0;
    return this;
  }

  /** The bytes written so far (a view of the writer's buffer, valid until the next write). */
  get bytes(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  u8(v: number): void {
    this.room(1);
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    this.room(2);
    this.buf.writeUInt16LE(v, this.pos);
    this.pos += 2;
  }

  u32(v: number): void {
    this.room(4);
    this.buf.writeUInt32LE(v, this.pos);
    this.pos += 4;
  }

  f64(v: number): void {
    this.room(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  str(s: string): void {
    // UTF-8 needs at most 3 bytes per UTF-16 unit.
    this.room(2 + s.length * 3);
    // Nearly every string here is short ASCII (ids, codes, dates): copying its units costs a
    // fraction of a call into Buffer.write. Anything else takes the UTF-8 encoder.
    if (s.length <= ASCII_RUN) {
      const buf = this.buf;
      const start = this.pos + 2;
      let i = 0;
      for (; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c > 0x7f) break;
        buf[start + i] = c;
      }
      if (i === s.length) {
        buf[this.pos] = i;
        buf[this.pos + 1] = 0;
        this.pos = start + i;
        return;
      }
    }
    const n = this.buf.write(s, this.pos + 2, 'utf8');
    if (n > 0xffff) throw new RangeError('a string in an entry is at most 65535 bytes');
    this.buf.writeUInt16LE(n, this.pos);
    this.pos += 2 + n;
  }

  blob(b: Uint8Array): void {
    this.room(4 + b.length);
    this.buf.writeUInt32LE(b.length, this.pos);
    this.buf.set(b, this.pos + 4);
    this.pos += 4 + b.length;
  }
}

export class BinaryReader {
  buf: Buffer;
  pos: number;
  end: number;

  constructor(buf: Buffer, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  private need(n: number): void {
    if (this.pos + n > this.end) throw new RangeError('entry bytes end early');
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  f64(): number {
    this.need(8);
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  str(): string {
    const n = this.u16();
    this.need(n);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  blob(): Buffer {
    this.need(4);
    const n = this.buf.readUInt32LE(this.pos);
    this.need(4 + n);
    const b = Buffer.from(this.buf.subarray(this.pos + 4, this.pos + 4 + n));
    this.pos += 4 + n;
    return b;
  }
}

/** Bytes from a build that knows more than this one: refused whole rather than read in part. */
export class NewerFormatError extends Error {
  override name = 'NewerFormatError';
}

/**
 * How one part of a record is written and read. A part may refer to the parts before it in bit
 * order (`whole`: the effects being written, or as far as they are read) and to the fields of the
 * entry the effects belong to (`entry`, when there is one) instead of repeating them. `version` is
 * the effects format the bytes were written in.
 */
export interface PartCodec<V> {
  write(w: BinaryWriter, value: V, whole: object, entry: JournalEntry | undefined): void;
  read(r: BinaryReader, whole: object, entry: JournalEntry | undefined, version: number): V;
}

/** One kind of effect: the property of Effects it fills, its presence bit and how its part is written. */
export interface EffectKind<N extends string = string, V = unknown> {
  readonly name: N;
  readonly bit: number;
  readonly codec: PartCodec<V>;
  /** How its part reads in effects from before versions, where that differs. */
  readonly unversioned?: (r: BinaryReader) => V;
}

/**
 * Version of the effects bytes. It changes only when an existing part's encoding changes: a new
 * kind of effect takes a new presence bit instead, which builds that do not know it refuse.
 * 2: a transaction record may say its postings, holds and totals are the entry's own (format 1
 * wrote them twice); bytes of format 1 read as they are, since 1 never wrote what 2 added.
 * 3: a transaction record starts with a u16 naming which of its fields are the entry's own
 * (its key, seq, type, merchant, terminal, amount, RRN, ...), which it then leaves out.
 */
export const EFFECTS_FORMAT = 3;
/** The oldest format `read` still takes (older bytes are the unversioned reader's). */
const OLDEST_EFFECTS_FORMAT = 1;

/** Property names go into generated code, so they must be plain identifiers. */
export const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** Builds a function from generated source once; `deps` are what the source calls, passed by position. */
export function compileFunction<F>(deps: Record<string, unknown>, body: string): F {
  const make = new Function(...Object.keys(deps), `'use strict';\n${body}`) as (...args: unknown[]) => F;
  return make(...Object.values(deps));
}

/**
 * Effects in the journal's binary layout: a format version byte, a u32 presence mask, then the
 * present parts in bit order. The kinds are compiled once into a writer and a reader that test
 * each bit and call each part's codec directly: nothing is looked up per message.
 */
export class EffectsCodec<T extends object> {
  /** In bit order, which is the order their parts are written in. */
  readonly kinds: readonly EffectKind[];
  /** Writes effects; given their entry, a part may leave out what the entry holds. */
  readonly write: (w: BinaryWriter, effects: T, entry?: JournalEntry) => void;
  /** Reads effects; bytes that refer to their entry's fields need that entry (read up to its effects). */
  readonly read: (r: BinaryReader, entry?: JournalEntry) => T;
  /** Reads effects stored before the bytes had a version (journal files with user_version 0): a u8 mask, no version byte. */
  readonly readUnversioned: (r: BinaryReader) => T;
  private readonly writer = new BinaryWriter();

  constructor(kinds: readonly EffectKind[]) {
    const bits = new Set<number>();
    const names = new Set<string>();
    for (const k of kinds) {
      if (!IDENTIFIER.test(k.name) || names.has(k.name)) throw new Error(`effect kind '${k.name}' must be a unique identifier`);
      if (!Number.isInteger(k.bit) || k.bit < 0 || k.bit > 31 || bits.has(k.bit)) throw new Error(`effect kind '${k.name}' needs an unused bit from 0 to 31`);
      names.add(k.name);
      bits.add(k.bit);
    }
    this.kinds = [...kinds].sort((a, b) => a.bit - b.bit);
    this.write = compileEffectsWriter<T>(this.kinds);
    this.read = compileEffectsReader<T>(this.kinds, true);
    this.readUnversioned = compileEffectsReader<T>(this.kinds, false);
  }

  /** The same codec knowing one more kind of effect (with a bit no kind ever had). */
  with<N extends string, V>(kind: EffectKind<N, V>): EffectsCodec<T & { [P in N]?: V }> {
    return new EffectsCodec([...this.kinds, kind]);
  }

  /** Effects as journal-row bytes (a view valid until the next call); with their entry, the parts it holds are not repeated. */
  encode(effects: T, entry?: JournalEntry): Buffer {
    this.write(this.writer.reset(), effects, entry);
    return this.writer.bytes;
  }

  decode(bytes: Buffer, entry?: JournalEntry): T {
    return this.read(new BinaryReader(bytes), entry);
  }
}

function compileEffectsWriter<T>(kinds: readonly EffectKind[]): (w: BinaryWriter, effects: T, entry?: JournalEntry) => void {
  const deps: Record<string, unknown> = {};
  // Presence is `!== undefined`, not truthiness: a kind's value may be 0 or ''.
  const mask = kinds.map((k) => `(e.${k.name} !== undefined ? ${1 << k.bit} : 0)`).join(' | ') || '0';
  const parts = kinds.map((k, i) => {
    deps[`write${i}`] = k.codec.write;
    return `  if (e.${k.name} !== undefined) write${i}(w, e.${k.name}, e, entry);`;
  });
  return compileFunction(deps, `return function writeEffects(w, e, entry) {
  w.u8(${EFFECTS_FORMAT});
  w.u32((${mask}) >>> 0);
${parts.join('\n')}
};`);
}

function compileEffectsReader<T>(kinds: readonly EffectKind[], versioned: boolean): (r: BinaryReader, entry?: JournalEntry) => T {
  const known = kinds.reduce((m, k) => m | (1 << k.bit), 0);
  const deps: Record<string, unknown> = {
    unknownVersion,
    unknownParts: (mask: number) => new NewerFormatError(
      `effects written by a newer format: presence bits 0x${((mask & ~known) >>> 0).toString(16)} name parts this build does not know`),
  };
  const parts = kinds.map((k, i) => {
    deps[`read${i}`] = versioned ? k.codec.read : (k.unversioned ?? k.codec.read);
    return `  if ((mask & ${1 << k.bit}) !== 0) e.${k.name} = read${i}(r, e, entry, version);`;
  });
  const header = versioned
    ? `  const version = r.u8();
  if (version > ${EFFECTS_FORMAT} || version < ${OLDEST_EFFECTS_FORMAT}) throw unknownVersion(version);
  const mask = r.u32();`
    : '  const version = 0;\n  const mask = r.u8();';
  return compileFunction(deps, `return function ${versioned ? 'readEffects' : 'readUnversionedEffects'}(r, entry) {
${header}
  if ((mask & ${~known}) !== 0) throw unknownParts(mask);
  const e = {};
${parts.join('\n')}
  return e;
};`);
}

function unknownVersion(version: number): Error {
  return version > EFFECTS_FORMAT
    ? new NewerFormatError(`effects written by a newer format (version ${version}); this build reads versions ${OLDEST_EFFECTS_FORMAT} to ${EFFECTS_FORMAT}`)
    : new Error(`effects bytes start with version ${version}, which no build writes`);
}

function writePostings(w: BinaryWriter, legs: readonly Posting[]): void {
  w.u16(legs.length);
  for (const leg of legs) {
    w.str(leg.account);
    w.f64(leg.amount);
  }
}

function readPostings(r: BinaryReader): Posting[] {
  return readLegs(r, r.u16());
}

function readLegs(r: BinaryReader, n: number): Posting[] {
  const legs: Posting[] = [];
  for (let i = 0; i < n; i++) legs.push({ account: r.str(), amount: r.f64() });
  return legs;
}

function writeTotals(w: BinaryWriter, t: TotalsDelta): void {
  w.u8(t.domestic ? 1 : 0);
  w.f64(t.debitAmount);
  w.f64(t.debitCount);
  w.f64(t.creditAmount);
  w.f64(t.creditCount);
}

function readTotals(r: BinaryReader): TotalsDelta {
  return { domestic: r.u8() === 1, debitAmount: r.f64(), debitCount: r.f64(), creditAmount: r.f64(), creditCount: r.f64() };
}

const O_STATUS = 1;
const O_REFUND = 2;

function writeOriginals(w: BinaryWriter, originals: readonly OriginalUpdate[]): void {
  w.u16(originals.length);
  for (const o of originals) {
    w.str(o.key);
    w.u8((o.status !== undefined ? O_STATUS : 0) | (o.refund !== undefined ? O_REFUND : 0));
    if (o.status !== undefined) w.str(o.status);
    if (o.refund !== undefined) w.f64(o.refund);
  }
}

function readOriginals(r: BinaryReader): OriginalUpdate[] {
  const n = r.u16();
  const originals: OriginalUpdate[] = [];
  for (let i = 0; i < n; i++) {
    const o: OriginalUpdate = { key: r.str() };
    const m = r.u8();
    if (m & O_STATUS) o.status = r.str() as TxnStatus;
    if (m & O_REFUND) o.refund = r.f64();
    originals.push(o);
  }
  return originals;
}

// Presence bits of the optional parts of TxnRecord, in a u32 so new parts get new bits (append-only,
// as for effects kinds); its layout is fixed within an effects version.
const T_HOLDS = 1;
const T_CHANGED = 2;
const T_TOTALS = 4;
const T_BALANCE = 8;
const T_REFUNDED = 16;
const T_ORIGINAL_KEY = 32;
const T_REQUIREMENT = 64;
const T_ISSUER = 128;
const T_HOST = 256;
const T_STAND_IN = 512;
// Format 2: the record's holds and totals are the entry's own (effects.holds, effects.totals).
const T_SAME_HOLDS = 1024;
const T_SAME_TOTALS = 2048;
const T_KNOWN = 4095;
/** In place of the record's postings count: they are the entry's own (effects.postings). Format 2. */
const SAME_POSTINGS = 0xffff;

/**
 * The fixed fields of a transaction record, in the order they are written; `entry` names the
 * entry field that usually holds the same value. From format 3 a u16 says, one bit per field in
 * this order, which of them are the entry's own: those are left out and read back from the entry.
 */
const TXN_FIELDS: readonly { name: keyof TxnRecord; kind: 'text' | 'number'; entry?: keyof JournalEntry }[] = [
  { name: 'key', kind: 'text', entry: 'requestKey' },
  { name: 'seq', kind: 'number', entry: 'seq' },
  { name: 'type', kind: 'text', entry: 'type' },
  { name: 'businessDate', kind: 'text', entry: 'businessDate' },
  { name: 'mid', kind: 'text', entry: 'mid' },
  { name: 'tid', kind: 'text', entry: 'tid' },
  { name: 'batch', kind: 'text', entry: 'batch' },
  { name: 'stan', kind: 'text', entry: 'stan' },
  { name: 'panHash', kind: 'text', entry: 'panHash' },
  { name: 'amount', kind: 'number', entry: 'amount' },
  { name: 'rrn', kind: 'text', entry: 'rrn' },
  { name: 'authCode', kind: 'text', entry: 'authCode' },
  { name: 'date', kind: 'text' },
  { name: 'time', kind: 'text' },
  { name: 'responseCode', kind: 'text', entry: 'responseCode' },
  { name: 'status', kind: 'text' },
  { name: 'mabHash', kind: 'text' },
];

if (TXN_FIELDS.some((f, i) => f.entry !== undefined && i >= 16)) throw new Error('a transaction record field taken from its entry needs a bit of the u16');

/** Entry fields a transaction record may take its values from: the entry's layout must have them before its effects. */
export const TXN_ENTRY_FIELDS: readonly string[] = TXN_FIELDS.flatMap((f) => (f.entry === undefined ? [] : [f.entry]));

/** The u16 of format 3: which of the record's fields equal its entry's (none without an entry). */
const sameAsEntry: (t: TxnRecord, entry: JournalEntry | undefined) => number = compileFunction(
  {},
  `return function sameAsEntry(t, entry) {
  if (entry === undefined) return 0;
  return ${TXN_FIELDS.map((f, i) => (f.entry === undefined ? '' : `(t.${f.name} === entry.${f.entry} ? ${1 << i} : 0)`)).filter(Boolean).join(' | ')};
};`,
);

/** Writes the fixed fields but those `same` says are the entry's. */
const writeTxnFields: (w: BinaryWriter, t: TxnRecord, same: number) => void = compileFunction(
  {},
  `return function writeTxnFields(w, t, same) {
${TXN_FIELDS.map((f, i) => `  if ((same & ${1 << i}) === 0) w.${f.kind === 'text' ? 'str' : 'f64'}(t.${f.name});`).join('\n')}
};`,
);

/** Reads the fixed fields (those `same` names from `entry`) and the postings, in one object literal: one shape for every record. */
const readTxnFields: (r: BinaryReader, same: number, entry: JournalEntry | undefined, e: Effects) => TxnRecord = compileFunction(
  { readTxnPostings, entryMissing },
  `return function readTxnFields(r, same, entry, e) {
  if (same !== 0 && entry === undefined) throw entryMissing(same);
  return {
${TXN_FIELDS.map((f, i) => `    ${f.name}: ${f.entry === undefined ? '' : `(same & ${1 << i}) !== 0 ? entry.${f.entry} : `}r.${f.kind === 'text' ? 'str' : 'f64'}(),`).join('\n')}
    postings: readTxnPostings(r, e),
  };
};`,
);

function entryMissing(same: number): Error {
  return new RangeError(`a transaction record takes fields from its entry (0x${same.toString(16)}), and no entry was given to read it with`);
}

function writeTxn(w: BinaryWriter, t: TxnRecord, whole: object, entry: JournalEntry | undefined): void {
  const e = whole as Effects;
  const sameHolds = t.holds !== undefined && e.holds !== undefined && samePostings(t.holds, e.holds);
  const sameTotals = t.totals !== undefined && e.totals !== undefined && sameTotalsDelta(t.totals, e.totals);
  const same = sameAsEntry(t, entry);
  w.u16(same);
  writeTxnFields(w, t, same);
  if (e.postings !== undefined && samePostings(t.postings, e.postings)) w.u16(SAME_POSTINGS);
  else writePostings(w, t.postings);
  const mask =
    (sameHolds ? T_SAME_HOLDS : t.holds ? T_HOLDS : 0) |
    (sameTotals ? T_SAME_TOTALS : 0) |
    (t.changed ? T_CHANGED : 0) |
    (t.totals && !sameTotals ? T_TOTALS : 0) |
    (t.balance !== undefined ? T_BALANCE : 0) |
    (t.refunded !== undefined ? T_REFUNDED : 0) |
    (t.originalKey !== undefined ? T_ORIGINAL_KEY : 0) |
    (t.requirement !== undefined ? T_REQUIREMENT : 0) |
    (t.issuer !== undefined ? T_ISSUER : 0) |
    (t.host !== undefined ? T_HOST : 0) |
    (t.host?.standIn ? T_STAND_IN : 0);
  w.u32(mask);
  if (t.holds && !sameHolds) writePostings(w, t.holds);
  if (t.changed) {
    w.u16(t.changed.length);
    for (const c of t.changed) {
      w.str(c.key);
      w.str(c.from);
      w.str(c.to);
    }
  }
  if (t.totals && !sameTotals) writeTotals(w, t.totals);
  if (t.balance !== undefined) w.f64(t.balance);
  if (t.refunded !== undefined) w.f64(t.refunded);
  if (t.originalKey !== undefined) w.str(t.originalKey);
  if (t.requirement !== undefined) w.u8(t.requirement);
  if (t.issuer !== undefined) {
    w.str(t.issuer);
    w.str(t.organisation ?? '');
  }
  if (t.host !== undefined) {
    w.str(t.host.link);
    w.str(t.host.stan);
    w.str(t.host.time);
  }
}

/**
 * The record's postings, holds and totals may be the entry's own (then the same objects as in
 * `whole`), and from format 3 its fixed fields may be the entry's.
 */
function readTxn(r: BinaryReader, whole: object, entry: JournalEntry | undefined, version: number): TxnRecord {
  const e = whole as Effects;
  const t = readTxnFields(r, version >= 3 ? r.u16() : 0, entry, e);
  return readTxnParts(r, t, r.u32(), e);
}

/** Before effects had a version, the transaction record's mask was a u8. */
function readUnversionedTxn(r: BinaryReader): TxnRecord {
  const t = readTxnFields(r, 0, undefined, NO_EFFECTS);
  return readTxnParts(r, t, r.u8(), NO_EFFECTS);
}

function readTxnPostings(r: BinaryReader, e: Effects): Posting[] {
  const n = r.u16();
  return n === SAME_POSTINGS ? entryOwn(e.postings, 'postings') : readLegs(r, n);
}

function entryOwn<V>(value: V | undefined, name: string): V {
  if (value === undefined) throw new RangeError(`a transaction record refers to the entry's ${name}, which it has none of`);
  return value;
}

function samePostings(a: readonly Posting[], b: readonly Posting[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i].account !== b[i].account || a[i].amount !== b[i].amount) return false;
  return true;
}

function sameTotalsDelta(a: TotalsDelta, b: TotalsDelta): boolean {
  return a === b || (a.domestic === b.domestic && a.debitAmount === b.debitAmount && a.debitCount === b.debitCount && a.creditAmount === b.creditAmount && a.creditCount === b.creditCount);
}

const NO_EFFECTS: Effects = {};

function readTxnParts(r: BinaryReader, t: TxnRecord, mask: number, e: Effects): TxnRecord {
  if ((mask & ~T_KNOWN) !== 0) {
    throw new NewerFormatError(`transaction record written by a newer format: presence bits 0x${((mask & ~T_KNOWN) >>> 0).toString(16)} name parts this build does not know`);
  }
  if (mask & T_HOLDS) t.holds = readPostings(r);
  else if (mask & T_SAME_HOLDS) t.holds = entryOwn(e.holds, 'holds');
  if (mask & T_CHANGED) {
    const n = r.u16();
    const changed: StatusChange[] = [];
    for (let i = 0; i < n; i++) changed.push({ key: r.str(), from: r.str() as TxnStatus, to: r.str() as TxnStatus });
    t.changed = changed;
  }
  if (mask & T_TOTALS) t.totals = readTotals(r);
  else if (mask & T_SAME_TOTALS) t.totals = entryOwn(e.totals, 'totals');
  if (mask & T_BALANCE) t.balance = r.f64();
  if (mask & T_REFUNDED) t.refunded = r.f64();
  if (mask & T_ORIGINAL_KEY) t.originalKey = r.str();
  if (mask & T_REQUIREMENT) t.requirement = r.u8();
  if (mask & T_ISSUER) {
    t.issuer = r.str();
    t.organisation = r.str();
  }
  if (mask & T_HOST) t.host = { link: r.str(), stan: r.str(), time: r.str(), ...(mask & T_STAND_IN ? { standIn: true as const } : {}) };
  return t;
}

const POSTINGS: PartCodec<Posting[]> = { write: writePostings, read: readPostings };
const TOTALS: PartCodec<TotalsDelta> = { write: writeTotals, read: readTotals };
const BYTES: PartCodec<Buffer> = { write: (w, b) => w.blob(b), read: (r) => r.blob() };
const TXN: PartCodec<TxnRecord> = { write: writeTxn, read: readTxn };
const ORIGINALS: PartCodec<OriginalUpdate[]> = { write: writeOriginals, read: readOriginals };

/** The rare, loosely shaped parts: embedded msgpack, so they need no layout of their own. */
function packed<V>(): PartCodec<V> {
  return { write: (w, v) => w.blob(pack(v)), read: (r) => unpack(r.blob()) as V };
}

/**
 * Every kind of effect, keyed by its property of Effects (the type makes the table name each one
 * exactly once, with a codec for its type). Bits are append-only: a new kind takes the next
 * unused bit and a retired kind keeps its bit for ever, so bytes from any build read the same.
 * Bits 0-7 are the one-byte mask of the unversioned format.
 */
const EFFECT_KINDS: { readonly [K in keyof Effects]-?: Omit<EffectKind<K, NonNullable<Effects[K]>>, 'name'> } = {
  postings: { bit: 0, codec: POSTINGS },
  holds: { bit: 1, codec: POSTINGS },
  totals: { bit: 2, codec: TOTALS },
  discrepancies: { bit: 3, codec: packed<Discrepancy[]>() },
  statusUpload: { bit: 4, codec: BYTES },
  terminal: { bit: 5, codec: packed<NonNullable<Effects['terminal']>>() },
  txn: { bit: 6, codec: TXN, unversioned: readUnversionedTxn },
  originals: { bit: 7, codec: ORIGINALS },
  reference: { bit: 8, codec: packed<ReferenceChange>() },
  advice: { bit: 9, codec: packed<AdviceChange>() },
  unbalanced: { bit: 10, codec: packed<UnbalancedSettlement>() },
};

export const EFFECTS = new EffectsCodec<Effects>(Object.entries(EFFECT_KINDS).map(([name, kind]) => ({ name, ...kind })));

/** Effects as journal-row bytes (a view valid until the next call); given their entry, what it holds is not repeated. */
export function encodeEffects(e: Effects, entry?: JournalEntry): Buffer {
  return EFFECTS.encode(e, entry);
}

/** Effects from journal-row bytes; those that take fields from their entry need it. */
export function decodeEffects(bytes: Buffer, entry?: JournalEntry): Effects {
  return EFFECTS.decode(bytes, entry);
}
