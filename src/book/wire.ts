import { pack, unpack } from 'msgpackr';
import { BinaryReader, BinaryWriter, readEntry, writeEntry, type JournalEntry, type ReferenceChange } from '../store/index.js';

const F_RRN = 1;
const F_AUTH_CODE = 2;
const F_INQUIRY = 4;
const F_REFUND = 8;
const F_SCREEN = 16;

const proposalWriter = new BinaryWriter();

/**
 * A proposal in the entry's binary layout (compiled from its field table, src/store/entry-schema.ts) followed by its flags: no key
 * names on the ring. The bytes are a view of one reused buffer, valid until the next call.
 */
export function packProposal(p: Proposal): Buffer {
  const w = proposalWriter.reset();
  writeEntry(w, p.entry);
  w.u8((p.rrn ? F_RRN : 0) | (p.authCode ? F_AUTH_CODE : 0) | (p.inquiry !== undefined ? F_INQUIRY : 0) | (p.refundOf !== undefined ? F_REFUND : 0) | (p.screen ? F_SCREEN : 0));
  if (p.inquiry !== undefined) w.str(p.inquiry);
  if (p.refundOf !== undefined) {
    w.str(p.refundOf.key);
    w.f64(p.refundOf.amount);
    w.f64(p.refundOf.limit);
  }
  return w.bytes;
}

/** Reads a proposal from `buf[start, end)` (ring memory included: it only copies what it keeps). */
export function unpackProposal(buf: Buffer, start = 0, end = buf.length): Proposal {
  const r = new BinaryReader(buf, start, end);
  const entry = readEntry(r);
  const flags = r.u8();
  const p: Proposal = { entry, rrn: (flags & F_RRN) !== 0, authCode: (flags & F_AUTH_CODE) !== 0 };
  if (flags & F_SCREEN) p.screen = true;
  if (flags & F_INQUIRY) p.inquiry = r.str();
  if (flags & F_REFUND) p.refundOf = { key: r.str(), amount: r.f64(), limit: r.f64() };
  if (r.pos !== end) throw new RangeError(`proposal bytes run ${end - r.pos} past its end`);
  return p;
}

/**
 * What a worker asks of the book for one request. The worker has run every check it can;
 * the book owns balances and sequence numbers, so it decides funds and numbers the entry.
 */
export interface Proposal {
  /** The entry as the worker sees it; seq, RRN and auth code are filled in by the book. */
  entry: JournalEntry;
  /** Assign an RRN (F37) to this request. */
  rrn: boolean;
  /** Assign an auth code (F38) if the request is approved. */
  authCode: boolean;
  /** Report this account's available balance (F54). */
  inquiry?: string;
  /** A refund of this original: the book holds the authoritative refunded totals, so refunds from any worker add up. */
  refundOf?: { key: string; amount: number; limit: number };
  /**
   * The book's risk rules decide it (src/book/velocity.ts): a fresh request of a screened type that
   * the switch answers, or a host leg about to go out. A host's own answer is never screened.
   */
  screen?: boolean;
}

/** The book's answer, a fixed binary layout: no JSON on the reply path. */
export const REPLY_BYTES = 48;

export interface Reply {
  seq: number;
  balance: number;
  responseCode: string;
  authCode: string;
  rrn: string;
  /** The business date the book journalled the entry under: workers learn the date from it. */
  businessDate: string;
}

/** A reply to fill in (one per reader: replies are read into it, not allocated). */
export function emptyReply(): Reply {
  return { seq: 0, balance: NaN, responseCode: '', authCode: '', rrn: '', businessDate: '' };
}

export function writeReply(out: Buffer, r: Reply, at = 0): void {
  out.writeDoubleLE(r.seq, at);
  out.writeDoubleLE(r.balance, at + 8);
  out.write(r.responseCode.padEnd(2, ' '), at + 16, 2, 'latin1');
  out.write(r.authCode.padEnd(6, ' '), at + 18, 6, 'latin1');
  out.write(r.rrn.padEnd(12, ' '), at + 24, 12, 'latin1');
  out.write(r.businessDate.padEnd(8, ' '), at + 36, 8, 'latin1');
}

export function readReply(buf: Buffer, start: number, into: Reply): Reply {
  into.seq = buf.readDoubleLE(start);
  into.balance = buf.readDoubleLE(start + 8);
  into.responseCode = buf.toString('latin1', start + 16, start + 18);
  into.authCode = buf.toString('latin1', start + 18, start + 24).trimEnd();
  into.rrn = buf.toString('latin1', start + 24, start + 36).trimEnd();
  // Dates rarely change: keep the string already held rather than making one per reply.
  if (into.businessDate.length !== 8 || !sameLatin1(buf, start + 36, into.businessDate)) {
    into.businessDate = buf.toString('latin1', start + 36, start + 44).trimEnd();
  }
  return into;
}

function sameLatin1(buf: Buffer, at: number, s: string): boolean {
  for (let i = 0; i < s.length; i++) if (buf[at + i] !== s.charCodeAt(i)) return false;
  return true;
}

/**
 * The tag of a reference notice on a reply ring: a durable change to reference data that every
 * worker applies to what it holds (worker tags carry a context id below 2^24, never all ones).
 */
export const REFERENCE_NOTICE = 0xffffffff;

/** A reference change as notice bytes (rare: msgpack is fine here). */
export function packReferenceNotice(change: ReferenceChange): Buffer {
  return pack(change);
}

/**
 * The notice's bytes are copied out of the ring first: msgpackr decodes longer strings through
 * APIs that refuse memory of a SharedArrayBuffer (a route's notice crashed the worker).
 */
export function unpackReferenceNotice(buf: Buffer, start: number, end: number): ReferenceChange {
  return unpack(Buffer.from(buf.subarray(start, end))) as ReferenceChange;
}
