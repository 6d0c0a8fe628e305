import { hash } from 'node:crypto';
import { FormatError, TerminalMessage, decodeTerminalFrame } from '../codec/index.js';
import { MAC_MTIS, classify, expired, luhnValid } from '../txn/index.js';
import type { TxnContext } from './context.js';
import { HANDLERS } from './handlers/index.js';
import type { Pipeline } from './pipeline.js';

/**
 * The steps a request passes through, in order, each with one job. A step returns `''` to go on,
 * or the response code that ends the request (`CLOSE` drops the connection instead: the frame
 * was too broken to answer). The book then journals the outcome and the response goes out.
 */
export type Step = (p: Pipeline, ctx: TxnContext) => string;

export const CLOSE = 'close';

const decode: Step = (_p, ctx) => {
  try {
    ctx.request = decodeTerminalFrame(ctx.frame, 0, ctx.frame.length, false);
    return '';
  } catch (err) {
    if (!(err instanceof FormatError)) throw err;
    ctx.error = `${err.field} at byte ${err.offset}: ${err.reason}`;
    const partial = err.partial as TerminalMessage | undefined;
    // Answer `30` only when we can address the answer: a request MTI and a terminal id.
    if (partial && partial.has(41) && partial.mti[2] !== undefined && Number(partial.mti[2]) % 2 === 0) {
      ctx.request = partial;
      return '30';
    }
    return CLOSE;
  }
};

const classifyRequest: Step = (_p, ctx) => {
  const c = classify(ctx.request);
  if (c === undefined || c.response) return '40';
  ctx.classification = c;
  ctx.handler = HANDLERS[c.type];
  return ctx.handler ? '' : '40';
};

const findTerminal: Step = (p, ctx) => {
  const tid = ctx.request.text(41);
  const terminal = tid === undefined ? undefined : p.terminal(tid);
  if (terminal === undefined) return '97';
  ctx.terminal = terminal;
  if (terminal.record.mid !== ctx.request.text(42)) return '03';
  const merchant = p.merchant(terminal.record.mid);
  if (merchant === undefined || merchant.status !== 'active') return '03';
  ctx.merchant = merchant;
  if (terminal.record.status !== 'active') return '58';
  return '';
};

const checkSession: Step = (_p, ctx) => {
  const session = ctx.handler!.session;
  if (!session) return '';
  const terminal = ctx.terminal!.record;
  if (!terminal.signedIn || ctx.terminal!.mak === undefined) return '77';
  if (session === 'signed-in') return '';
  const batch = (ctx.request.text(60) ?? '').slice(2, 8);
  return batch === terminal.batch ? '' : '77';
};

const verifyMac: Step = (p, ctx) => {
  if (!MAC_MTIS.has(ctx.request.mti)) return '';
  const mac = ctx.request.binary(64);
  const mak = ctx.terminal!.mak;
  if (mac === undefined || mak === undefined) return 'A0';
  const ok = p.hsm.verifyMac(mak, ctx.terminal!.record.macAlgorithm, ctx.frame, ctx.request.mabStart, ctx.request.mabEnd, mac, 0);
  if (!ok) return 'A0';
  ctx.authentic = true;
  return '';
};

/** Same request key and bytes: the original answer again. Same key, other bytes: `94`. */
const checkRetransmission: Step = (p, ctx) => {
  if (!ctx.handler!.indexed) return '';
  const req = ctx.request;
  ctx.requestKey = requestKey(req.text(42)!, req.text(41)!, (req.text(60) ?? '').slice(2, 8), req.text(11) ?? '', req.mti);
  ctx.mabHash = hash('sha256', ctx.frame.subarray(req.mabStart, req.mabEnd), 'base64');
  const seen = p.txn(ctx.requestKey);
  if (seen === undefined) {
    ctx.freshKey = true;
    return '';
  }
  if (seen.mabHash !== ctx.mabHash) return '94';
  ctx.replay = seen;
  // The replayed answer carries the same issuer data (F44, F63) as the first.
  const pan = cardNumber(req);
  if (pan !== undefined) {
    ctx.pan = pan;
    ctx.bin = p.bin(pan);
  }
  return seen.responseCode;
};

const checkCard: Step = (p, ctx) => {
  if (!ctx.handler!.card) return '';
  const req = ctx.request;
  const track2 = req.text(35);
  const pan = cardNumber(req);
  if (pan === undefined) return '30';
  ctx.pan = pan;
  ctx.panHash = p.hsm.panToken(pan);
  if (!luhnValid(pan)) return '14';
  const bin = p.bin(pan);
  if (bin === undefined) return '15';
  ctx.bin = bin;
  if (!bin.onUs) {
    ctx.route = 'host';
    return '91';
  }
  ctx.route = 'on-us';
  const card = p.state.cards.get(pan);
  if (card === undefined) return '14';
  ctx.card = card;
  if (card.status === 'lost') return '41';
  if (card.status === 'stolen') return '43';
  if (card.status !== 'active') return '57';
  const expiry = req.text(14) ?? (track2 !== undefined ? track2.split('=')[1]?.slice(0, 4) : undefined);
  if (expiry !== undefined && expiry !== card.expiry) return '54';
  if (expired(card.expiry, new Date())) return '54';
  return '';
};

const verifyPin: Step = (p, ctx) => {
  const handler = ctx.handler!;
  if (!handler.pin || ctx.card === undefined) return '';
  const entryMode = ctx.request.text(22) ?? '';
  const block = ctx.request.binary(52);
  if (entryMode[2] !== '1' && block === undefined) return handler.pin === 'required' ? '55' : '';
  if (block === undefined) return '99';
  const check = p.hsm.verifyPin(ctx.terminal!.pik!, block, ctx.pan, ctx.card.pinVerifier);
  return check === 'ok' ? '' : check === 'wrong' ? '55' : '99';
};

const checkAmount: Step = (_p, ctx) => {
  if (!ctx.handler!.amount) return '';
  const amount = ctx.request.text(4);
  if (amount === undefined) return '30';
  ctx.amount = Number(amount);
  if (ctx.amount <= 0) return '13';
  if ((ctx.request.text(49) ?? '156') !== '156') return '13';
  return '';
};

const prepare: Step = (p, ctx) => ctx.handler!.prepare(p, ctx);

/** The PAN from F2, else from track 2. */
function cardNumber(req: TerminalMessage): string | undefined {
  const pan = req.text(2);
  if (pan !== undefined) return pan;
  const track2 = req.text(35);
  return track2 === undefined ? undefined : track2.slice(0, track2.indexOf('=') >>> 0);
}

export function requestKey(mid: string, tid: string, batch: string, stan: string, mti: string): string {
  return `${mid}|${tid}|${batch}|${stan}|${mti}`;
}

/**
 * Before the terminal's turn: find out what the request is and whose. All three run even after a
 * failure (the first code wins), so that a rejected request still waits for its terminal's turn
 * and answers keep their order.
 */
export const ADMISSION: readonly Step[] = [decode, classifyRequest, findTerminal];
/** In the terminal's turn: its earlier request has been answered. */
export const PROCESSING: readonly Step[] = [checkSession, verifyMac, checkRetransmission, checkCard, verifyPin, checkAmount, prepare];
