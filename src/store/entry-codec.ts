import { pack, unpack } from 'msgpackr';
import type { Effects, JournalEntry, OriginalUpdate, Posting, StatusChange, TotalsDelta, TxnRecord, TxnStatus } from './records.js';

/**
 * A fixed binary layout for journal entries and their effects: every proposal crosses a ring in
 * it and every journal row stores its effects in it. Fields are written in one known order, so
 * no key names travel and nothing is looked up by name; only the rare parts (discrepancies, a
 * terminal update, a status upload) are embedded msgpack. Strings are a u16 byte length then UTF-8;
 * numbers are float64 (amounts and sequence numbers are safe integers).
 */
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

  f64(v: number): void {
    this.room(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  str(s: string): void {
    // UTF-8 needs at most 3 bytes per UTF-16 unit.
    this.room(2 + s.length * 3);
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

// Presence bits of the optional parts of Effects, TxnRecord and OriginalUpdate.
const E_POSTINGS = 1;
const E_HOLDS = 2;
const E_TOTALS = 4;
const E_DISCREPANCIES = 8;
const E_STATUS_UPLOAD = 16;
const E_TERMINAL = 32;
const E_TXN = 64;
const E_ORIGINALS = 128;

const T_HOLDS = 1;
const T_CHANGED = 2;
const T_TOTALS = 4;
const T_BALANCE = 8;
const T_REFUNDED = 16;
const T_ORIGINAL_KEY = 32;

const O_STATUS = 1;
const O_REFUND = 2;

export function writeEntry(w: BinaryWriter, e: JournalEntry): void {
  w.f64(e.seq);
  w.f64(e.at);
  w.str(e.businessDate);
  w.str(e.type);
  w.str(e.mti);
  w.str(e.mid);
  w.str(e.tid);
  w.str(e.batch);
  w.str(e.stan);
  w.str(e.rrn);
  w.str(e.authCode);
  w.str(e.panMasked);
  w.str(e.panHash);
  w.f64(e.amount);
  w.str(e.currency);
  w.str(e.responseCode);
  w.str(e.originalKey);
  w.str(e.route);
  w.f64(e.latencyUs);
  w.str(e.requestKey);
  writeEffects(w, e.effects);
}

export function readEntry(r: BinaryReader): JournalEntry {
  return {
    seq: r.f64(),
    at: r.f64(),
    businessDate: r.str(),
    type: r.str(),
    mti: r.str(),
    mid: r.str(),
    tid: r.str(),
    batch: r.str(),
    stan: r.str(),
    rrn: r.str(),
    authCode: r.str(),
    panMasked: r.str(),
    panHash: r.str(),
    amount: r.f64(),
    currency: r.str(),
    responseCode: r.str(),
    originalKey: r.str(),
    route: r.str(),
    latencyUs: r.f64(),
    requestKey: r.str(),
    effects: readEffects(r),
  };
}

export function writeEffects(w: BinaryWriter, e: Effects): void {
  const mask =
    (e.postings ? E_POSTINGS : 0) |
    (e.holds ? E_HOLDS : 0) |
    (e.totals ? E_TOTALS : 0) |
    (e.discrepancies ? E_DISCREPANCIES : 0) |
    (e.statusUpload ? E_STATUS_UPLOAD : 0) |
    (e.terminal ? E_TERMINAL : 0) |
    (e.txn ? E_TXN : 0) |
    (e.originals ? E_ORIGINALS : 0);
  w.u8(mask);
  if (e.postings) writePostings(w, e.postings);
  if (e.holds) writePostings(w, e.holds);
  if (e.totals) writeTotals(w, e.totals);
  if (e.discrepancies) w.blob(pack(e.discrepancies));
  if (e.statusUpload) w.blob(e.statusUpload);
  if (e.terminal) w.blob(pack(e.terminal));
  if (e.txn) writeTxn(w, e.txn);
  if (e.originals) {
    w.u16(e.originals.length);
    for (const o of e.originals) {
      w.str(o.key);
      w.u8((o.status !== undefined ? O_STATUS : 0) | (o.refund !== undefined ? O_REFUND : 0));
      if (o.status !== undefined) w.str(o.status);
      if (o.refund !== undefined) w.f64(o.refund);
    }
  }
}

export function readEffects(r: BinaryReader): Effects {
  const mask = r.u8();
  const e: Effects = {};
  if (mask & E_POSTINGS) e.postings = readPostings(r);
  if (mask & E_HOLDS) e.holds = readPostings(r);
  if (mask & E_TOTALS) e.totals = readTotals(r);
  if (mask & E_DISCREPANCIES) e.discrepancies = unpack(r.blob());
  if (mask & E_STATUS_UPLOAD) e.statusUpload = r.blob();
  if (mask & E_TERMINAL) e.terminal = unpack(r.blob());
  if (mask & E_TXN) e.txn = readTxn(r);
  if (mask & E_ORIGINALS) {
    const n = r.u16();
    const originals: OriginalUpdate[] = [];
    for (let i = 0; i < n; i++) {
      const o: OriginalUpdate = { key: r.str() };
      const m = r.u8();
      if (m & O_STATUS) o.status = r.str() as TxnStatus;
      if (m & O_REFUND) o.refund = r.f64();
      originals.push(o);
    }
    e.originals = originals;
  }
  return e;
}

const effectsWriter = new BinaryWriter();

/** Effects as journal-row bytes (a view valid until the next call). */
export function encodeEffects(e: Effects): Buffer {
  writeEffects(effectsWriter.reset(), e);
  return effectsWriter.bytes;
}

export function decodeEffects(bytes: Buffer): Effects {
  return readEffects(new BinaryReader(bytes));
}

function writeTxn(w: BinaryWriter, t: TxnRecord): void {
  w.str(t.key);
  w.f64(t.seq);
  w.str(t.type);
  w.str(t.businessDate);
  w.str(t.mid);
  w.str(t.tid);
  w.str(t.batch);
  w.str(t.stan);
  w.str(t.panHash);
  w.f64(t.amount);
  w.str(t.rrn);
  w.str(t.authCode);
  w.str(t.date);
  w.str(t.time);
  w.str(t.responseCode);
  w.str(t.status);
  w.str(t.mabHash);
  writePostings(w, t.postings);
  const mask =
    (t.holds ? T_HOLDS : 0) |
    (t.changed ? T_CHANGED : 0) |
    (t.totals ? T_TOTALS : 0) |
    (t.balance !== undefined ? T_BALANCE : 0) |
    (t.refunded !== undefined ? T_REFUNDED : 0) |
    (t.originalKey !== undefined ? T_ORIGINAL_KEY : 0);
  w.u8(mask);
  if (t.holds) writePostings(w, t.holds);
  if (t.changed) {
    w.u16(t.changed.length);
    for (const c of t.changed) {
      w.str(c.key);
      w.str(c.from);
      w.str(c.to);
    }
  }
  if (t.totals) writeTotals(w, t.totals);
  if (t.balance !== undefined) w.f64(t.balance);
  if (t.refunded !== undefined) w.f64(t.refunded);
  if (t.originalKey !== undefined) w.str(t.originalKey);
}

function readTxn(r: BinaryReader): TxnRecord {
  const t: TxnRecord = {
    key: r.str(),
    seq: r.f64(),
    type: r.str(),
    businessDate: r.str(),
    mid: r.str(),
    tid: r.str(),
    batch: r.str(),
    stan: r.str(),
    panHash: r.str(),
    amount: r.f64(),
    rrn: r.str(),
    authCode: r.str(),
    date: r.str(),
    time: r.str(),
    responseCode: r.str(),
    status: r.str() as TxnStatus,
    mabHash: r.str(),
    postings: readPostings(r),
  };
  const mask = r.u8();
  if (mask & T_HOLDS) t.holds = readPostings(r);
  if (mask & T_CHANGED) {
    const n = r.u16();
    const changed: StatusChange[] = [];
    for (let i = 0; i < n; i++) changed.push({ key: r.str(), from: r.str() as TxnStatus, to: r.str() as TxnStatus });
    t.changed = changed;
  }
  if (mask & T_TOTALS) t.totals = readTotals(r);
  if (mask & T_BALANCE) t.balance = r.f64();
  if (mask & T_REFUNDED) t.refunded = r.f64();
  if (mask & T_ORIGINAL_KEY) t.originalKey = r.str();
  return t;
}

function writePostings(w: BinaryWriter, legs: readonly Posting[]): void {
  w.u16(legs.length);
  for (const leg of legs) {
    w.str(leg.account);
    w.f64(leg.amount);
  }
}

function readPostings(r: BinaryReader): Posting[] {
  const n = r.u16();
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
