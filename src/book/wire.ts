import { Packr } from 'msgpackr';
import type { JournalEntry } from '../store/index.js';

/**
 * Proposals cross a ring between threads that share no msgpack state, so record structures would
 * travel with every message and be rebuilt on arrival: plain maps are cheaper here.
 */
const proposals = new Packr({ useRecords: false });

export function packProposal(p: Proposal): Buffer {
  return proposals.pack(p);
}

/** The bytes must not be in SharedArrayBuffer memory (msgpackr decodes strings with TextDecoder). */
export function unpackProposal(bytes: Buffer): Proposal {
  return proposals.unpack(bytes) as Proposal;
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
}

/** The book's answer, a fixed binary layout: no JSON on the reply path. */
export const REPLY_BYTES = 40;

export interface Reply {
  seq: number;
  balance: number;
  responseCode: string;
  authCode: string;
  rrn: string;
}

export function writeReply(out: Buffer, r: Reply, at = 0): void {
  out.writeDoubleLE(r.seq, at);
  out.writeDoubleLE(r.balance, at + 8);
  out.write(r.responseCode.padEnd(2, ' '), at + 16, 2, 'latin1');
  out.write(r.authCode.padEnd(6, ' '), at + 18, 6, 'latin1');
  out.write(r.rrn.padEnd(12, ' '), at + 24, 12, 'latin1');
}

export function readReply(buf: Buffer, start: number, into: Reply): Reply {
  into.seq = buf.readDoubleLE(start);
  into.balance = buf.readDoubleLE(start + 8);
  into.responseCode = buf.toString('latin1', start + 16, start + 18);
  into.authCode = buf.toString('latin1', start + 18, start + 24).trimEnd();
  into.rrn = buf.toString('latin1', start + 24, start + 36).trimEnd();
  return into;
}
