import type { IsoMessage } from '../codec/index.js';
import { F } from './vocabulary.js';

/**
 * How requests name each other (PROTOCOL.md section 8): the batch a request belongs to (60.2) and
 * the request key (MID, TID, batch, STAN, MTI) that retransmissions, voids and reversals match on.
 */

/** 60.2, the batch number a terminal request carries (`''` without F60). */
export function batchOf(req: IsoMessage): string {
  const f60 = req.fields[F.RESERVED_60];
  return typeof f60 === 'string' ? f60.slice(2, 8) : '';
}

export function requestKey(mid: string, tid: string, batch: string, stan: string, mti: string): string {
  return `${mid}|${tid}|${batch}|${stan}|${mti}`;
}

/** The key of the request `req` or, with `mti`/`batch`/`stan` given, of a request of the same terminal. */
export function requestKeyOf(req: IsoMessage, mti = req.mti, batch = batchOf(req), stan = text(req, F.STAN)): string {
  return requestKey(text(req, F.MERCHANT_ID), text(req, F.TERMINAL_ID), batch, stan, mti);
}

function text(req: IsoMessage, id: number): string {
  const v = req.fields[id];
  return typeof v === 'string' ? v : '';
}
