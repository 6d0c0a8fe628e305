import { hash } from 'node:crypto';
import { FormatError, TerminalMessage, decodeTerminalFrame } from '../codec/index.js';
import { F, MAC_MTIS, RC, batchOf, classify, expired, luhnValid, requestKeyOf, responseMti } from '../txn/index.js';
import { forward, journalLeg, routeStep } from './forward.js';
import { CLOSE, type Step } from './outcomes.js';
import { HANDLERS } from './handlers/index.js';
import { screenBlacklists, screenCategory, screenHours, screenSingleLimit } from './risk.js';
export { CLOSE, LEG, PENDING, type Step } from './outcomes.js';

const decode: Step = (_s, ctx) => {
  try {
    ctx.request = decodeTerminalFrame(ctx.frame, 0, ctx.frame.length, false);
  } catch (err) {
    if (!(err instanceof FormatError)) throw err;
    ctx.error = `${err.field} at byte ${err.offset}: ${err.reason}`;
    const partial = err.partial as TerminalMessage | undefined;
    // Answer `30` only when we can address the answer: a request MTI and a terminal id.
    if (partial && partial.has(F.TERMINAL_ID) && responseMti(partial.mti) !== undefined) {
      ctx.request = partial;
      return RC.FORMAT_ERROR;
    }
    return CLOSE;
  }
  // A terminal only sends requests: an answer or an `x9xx` MTI has nothing to answer with.
  if (responseMti(ctx.request.mti) !== undefined) return '';
  ctx.error = `MTI ${ctx.request.mti} is not a request`;
  return CLOSE;
};

const classifyRequest: Step = (_s, ctx) => {
  const c = classify(ctx.request);
  if (c === undefined) return RC.FUNCTION_NOT_SUPPORTED;
  ctx.classification = c;
  ctx.handler = HANDLERS[c.type];
  return ctx.handler ? '' : RC.FUNCTION_NOT_SUPPORTED;
};

const findTerminal: Step = (s, ctx) => {
  const tid = ctx.request.text(F.TERMINAL_ID);
  const terminal = tid === undefined ? undefined : s.terminal(tid);
  if (terminal === undefined) return RC.TERMINAL_NOT_REGISTERED;
  ctx.terminal = terminal;
  if (terminal.record.mid !== ctx.request.text(F.MERCHANT_ID)) return RC.INVALID_MERCHANT;
  const merchant = s.merchant(terminal.record.mid);
  if (merchant === undefined || merchant.status !== 'active') return RC.INVALID_MERCHANT;
  ctx.merchant = merchant;
  if (terminal.record.status !== 'active') return RC.NOT_PERMITTED_TO_TERMINAL;
  return '';
};

const checkSession: Step = (_s, ctx) => {
  const session = ctx.handler!.session;
  if (!session) return '';
  const terminal = ctx.terminal!.record;
  if (!terminal.signedIn || ctx.terminal!.mak === undefined) return RC.BATCH_MISMATCH;
  if (session === 'signed-in') return '';
  return batchOf(ctx.request) === terminal.batch ? '' : RC.BATCH_MISMATCH;
};

const verifyMac: Step = (s, ctx) => {
  if (!MAC_MTIS.has(ctx.request.mti)) return '';
  const mac = ctx.request.binary(F.MAC);
  const mak = ctx.terminal!.mak;
  if (mac === undefined || mak === undefined) return RC.MAC_ERROR;
  const ok = s.hsm.verifyMac(mak, ctx.terminal!.record.macAlgorithm, ctx.frame, ctx.request.mabStart, ctx.request.mabEnd, mac, 0);
  if (!ok) return RC.MAC_ERROR;
  ctx.authentic = true;
  return '';
};

/** Same request key and bytes: the first answer again, byte for byte. Same key, other bytes: `94`. */
const checkRetransmission: Step = (s, ctx) => {
  const handler = ctx.handler!;
  if (!handler.indexed) return '';
  const req = ctx.request;
  ctx.requestKey = requestKeyOf(req);
  ctx.mabHash = hash('sha256', ctx.frame.subarray(req.mabStart, req.mabEnd), 'base64');
  const seen = s.txn(ctx.requestKey);
  if (seen === undefined) {
    ctx.freshKey = true;
    return '';
  }
  if (seen.mabHash !== ctx.mabHash) return RC.DUPLICATE_TRANSACTION;
  ctx.replay = seen;
  // The first answer echoed the card number only for types that read the card.
  if (handler.card) ctx.pan = cardNumber(req) ?? '';
  return seen.responseCode;
};

/** The card number, its token, its Luhn check digit (`14`) and its issuer's BIN (`15`). */
const readCard: Step = (s, ctx) => {
  if (!ctx.handler!.card) return '';
  const pan = cardNumber(ctx.request);
  if (pan === undefined) return RC.FORMAT_ERROR;
  ctx.pan = pan;
  ctx.panHash = s.hsm.panToken(pan);
  if (!luhnValid(pan)) return RC.INVALID_CARD;
  const bin = s.bin(pan);
  if (bin === undefined) return RC.NO_SUCH_ISSUER;
  ctx.bin = bin;
  return '';
};

/** A card number of a length its issuer does not issue (the BIN's own length, else ISO/IEC 7812's 13–19 digits): `15`. */
const checkPanLength: Step = (_s, ctx) => {
  const bin = ctx.bin;
  if (bin === undefined) return '';
  const length = ctx.pan.length;
  const fits = bin.panLength !== undefined ? length === bin.panLength : length >= MIN_PAN_DIGITS && length <= MAX_PAN_DIGITS;
  return fits ? '' : RC.NO_SUCH_ISSUER;
};

const MIN_PAN_DIGITS = 13;
const MAX_PAN_DIGITS = 19;

/** An on-us card's own record: known, active, not expired. */
const checkCard: Step = (s, ctx) => {
  const bin = ctx.bin;
  if (bin === undefined) return '';
  // Not ours: the routing table says where it goes, and the host checks the card.
  if (!bin.onUs) {
    ctx.route = 'host';
    return '';
  }
  ctx.route = 'on-us';
  const card = s.card(ctx.pan);
  if (card === undefined) return RC.INVALID_CARD;
  ctx.card = card;
  if (card.status === 'lost') return RC.LOST_CARD;
  if (card.status === 'stolen') return RC.STOLEN_CARD;
  if (card.status !== 'active') return RC.NOT_PERMITTED_TO_CARD;
  const req = ctx.request;
  const track2 = req.text(F.TRACK_2);
  const expiry = req.text(F.EXPIRY) ?? (track2 !== undefined ? track2.split('=')[1]?.slice(0, 4) : undefined);
  if (expiry !== undefined && expiry !== card.expiry) return RC.EXPIRED_CARD;
  if (expired(card.expiry, new Date(ctx.at))) return RC.EXPIRED_CARD;
  return '';
};

const verifyPin: Step = (s, ctx) => {
  const handler = ctx.handler!;
  if (!handler.pin || ctx.card === undefined) return '';
  const entryMode = ctx.request.text(F.ENTRY_MODE) ?? '';
  const block = ctx.request.binary(F.PIN_BLOCK);
  if (entryMode[2] !== '1' && block === undefined) return handler.pin === 'required' ? RC.WRONG_PIN : '';
  if (block === undefined) return RC.PIN_FORMAT_ERROR;
  const check = s.hsm.verifyPin(ctx.terminal!.pik!, block, ctx.pan, ctx.card.pinVerifier);
  return check === 'ok' ? '' : check === 'wrong' ? RC.WRONG_PIN : RC.PIN_FORMAT_ERROR;
};

const checkAmount: Step = (_s, ctx) => {
  if (!ctx.handler!.amount) return '';
  const amount = ctx.request.text(F.AMOUNT);
  if (amount === undefined) return RC.FORMAT_ERROR;
  ctx.amount = Number(amount);
  if (ctx.amount <= 0) return RC.INVALID_AMOUNT;
  if ((ctx.request.text(F.CURRENCY) ?? '156') !== '156') return RC.INVALID_AMOUNT;
  return '';
};

/** The type's own rules, for the account system; a request routed to a host has them applied there (a void still finds its original here). */
const prepare: Step = (s, ctx) => (ctx.route === 'host' && !ctx.handler!.followsOriginal ? '' : ctx.handler!.prepare(s, ctx));

/** The PAN from F2, else from track 2. */
function cardNumber(req: TerminalMessage): string | undefined {
  const pan = req.text(F.PAN);
  if (pan !== undefined) return pan;
  const track2 = req.text(F.TRACK_2);
  return track2 === undefined ? undefined : track2.slice(0, track2.indexOf('=') >>> 0);
}

/**
 * Before the terminal's turn: find out what the request is and whose. All three run even after a
 * failure (the first code wins), so that a rejected request still waits for its terminal's turn
 * and answers keep their order.
 */
export const ADMISSION: readonly Step[] = [decode, classifyRequest, findTerminal];
/** In the terminal's turn: its earlier request has been answered. */
export const PROCESSING: readonly Step[] = [
  checkSession,
  verifyMac,
  checkRetransmission,
  readCard,
  checkPanLength,
  checkCard,
  screenBlacklists,
  verifyPin,
  checkAmount,
  screenSingleLimit,
  screenHours,
  screenCategory,
  routeStep,
  prepare,
  journalLeg,
  forward,
];
