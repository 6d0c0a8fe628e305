import { HostMessage } from '../codec/index.js';
import { transmissionTime } from '../channels/index.js';
import type { AdviceChange, TxnRecord } from '../store/index.js';
import { PinFormatError } from '../security/index.js';
import { F, HF, RC, ROUTE_TIMEOUT_MS, financialSpec, pickLink, type FinancialType, type Route } from '../txn/index.js';
import type { TxnContext } from './context.js';
import { LEG, PENDING } from './outcomes.js';
import type { Services } from './services.js';

/** How long the first entry of a host leg may take to become durable. */
const LEG_JOURNAL_MS = 30_000;
/** The pipeline's own deadline beyond the link's: the link answers `timeout` first. */
const HOST_GRACE_MS = 1000;

/**
 * Route: an on-us BIN stays with the account system; any other card is routed by the routing
 * table to a link of its route's group that is up (by weight), or refused with the route's code.
 * No route, or no link up: `91`. A request about an original (a void) follows its original instead.
 */
export const routeStep = (s: Services, ctx: TxnContext): string => {
  if (ctx.route !== 'host') return '';
  if (ctx.handler!.forwarded === undefined) return RC.ISSUER_UNAVAILABLE;
  if (ctx.handler!.followsOriginal) return '';
  const route = s.route({ pan: ctx.pan, organisation: ctx.bin!.organisation, type: ctx.classification!.financial!.type, mid: ctx.merchant!.mid, amount: ctx.amount });
  if (route === undefined) return RC.ISSUER_UNAVAILABLE;
  const to = route.to;
  if ('reject' in to) return to.reject;
  if ('onUs' in to) return RC.ISSUER_UNAVAILABLE;
  const link = pickLink(to.links, s.hostLinkUp, Math.random());
  if (link === undefined) return standIn(s, ctx, route, to.links);
  ctx.link = link;
  ctx.hostTimeoutMs = route.timeoutMs ?? ROUTE_TIMEOUT_MS;
  return '';
};

const ANY_LINK = (): boolean => true;

/**
 * No link of the route is up. A route that stands in approves for the issuer, for types that allow
 * it and up to the merchant's stand-in limit; the host is told by a 0220 advice, queued on a link
 * of the group (drawn by weight) with the STAN and F7 it will carry. Otherwise `91`.
 */
function standIn(s: Services, ctx: TxnContext, route: Route, links: readonly { link: string; weight: number }[]): string {
  if (route.standIn !== true || ctx.handler!.standsIn !== true || ctx.amount > (ctx.merchant!.standInLimit ?? 0)) return RC.ISSUER_UNAVAILABLE;
  const link = pickLink(links, ANY_LINK, Math.random())!;
  const stan = s.reserveHostStan(link);
  if (stan === undefined) return RC.ISSUER_UNAVAILABLE;
  ctx.standIn = true;
  ctx.link = link;
  ctx.hostStan = stan;
  ctx.hostTime = transmissionTime(new Date(s.now()));
  ctx.handler!.forwarded!(ctx);
  return '';
}

/** The 0220 advice of a stand-in approval: due at once; the book fills in its RRN and authorisation code. */
export function standInAdvice(s: Services, ctx: TxnContext): AdviceChange {
  const advice = adviceOf(ctx, true);
  advice.key += STAND_IN_KEY;
  const record = advice.record!;
  record.mti = STAND_IN_ADVICE;
  record.sealedPan = s.hsm.sealPan(ctx.pan);
  record.authCode = '';
  return advice;
}

/** A stand-in advice's queue key is its leg's key with this after it: a later reversal of the same leg has the leg's own. */
export const STAND_IN_KEY = '|0220';
const STAND_IN_ADVICE = '0220';

/**
 * The request leg is journalled before the host hears of it, with the link's STAN and F7 it will
 * be sent with: a crash after this point leaves an advice the host is owed, naming the original
 * as the host saw it.
 */
export const journalLeg = (s: Services, ctx: TxnContext): string => {
  if (ctx.link === '' || ctx.standIn) return '';
  const stan = s.reserveHostStan(ctx.link);
  if (stan === undefined) return RC.ISSUER_UNAVAILABLE;
  ctx.hostStan = stan;
  ctx.hostTime = transmissionTime(new Date(s.now()));
  ctx.waitMs = LEG_JOURNAL_MS;
  return LEG;
};

/** The advice a host leg owes, or settles (`due` false: owed only if the leg never ends). */
export function adviceOf(ctx: TxnContext, due: boolean): AdviceChange {
  const spec = ctx.classification!.financial!;
  const req = ctx.request;
  const key = `${ctx.link}|${ctx.hostStan}|${ctx.hostTime}`;
  return {
    key,
    record: {
      link: ctx.link,
      mti: spec.mti,
      processingCode: req.text(F.PROCESSING_CODE) ?? spec.processingCode,
      stan: ctx.hostStan,
      time: ctx.hostTime,
      amount: ctx.amount,
      currency: req.text(F.CURRENCY) ?? '156',
      rrn: ctx.rrn,
      tid: ctx.terminal!.record.tid,
      mid: ctx.merchant!.mid,
      due,
      at: ctx.at,
    },
  };
}

/** Converts the request for the host and sends it; the link's answer resumes the request. */
export const forward = (s: Services, ctx: TxnContext): string => {
  if (ctx.link === '' || ctx.standIn) return '';
  let request: HostMessage;
  try {
    request = hostRequest(s, ctx);
  } catch (err) {
    if (err instanceof PinFormatError) return RC.PIN_FORMAT_ERROR;
    throw err;
  }
  const refused = s.sendToHost(ctx.link, request, ctx.ticket, ctx.hostTimeoutMs);
  if (refused !== null) return RC.ISSUER_UNAVAILABLE;
  // From here the host may act on it: until an answer says otherwise, it must be reversed.
  ctx.advice = true;
  ctx.waitMs = ctx.hostTimeoutMs + HOST_GRACE_MS;
  return PENDING;
};

/**
 * The terminal's request as the host dialect says it (PROTOCOL.md section 9): the card and amount
 * as the terminal sent them, the RRN the first leg got from the book, F43 from the merchant, the
 * PIN block translated from the terminal's PIK to the link's zone PIN key inside the security
 * module, F11 and F7 as the request leg reserved them. F32 and F128 are the link's.
 */
function hostRequest(s: Services, ctx: TxnContext): HostMessage {
  const req = ctx.request;
  const spec = ctx.classification!.financial!;
  const m = new HostMessage(spec.mti);
  m.set(HF.STAN, ctx.hostStan).set(HF.TRANSMISSION_TIME, ctx.hostTime);
  m.set(HF.PAN, ctx.pan);
  m.set(HF.PROCESSING_CODE, req.text(F.PROCESSING_CODE) ?? spec.processingCode);
  if (req.has(F.AMOUNT)) m.set(HF.AMOUNT, req.text(F.AMOUNT));
  m.set(HF.LOCAL_TIME, ctx.time).set(HF.LOCAL_DATE, ctx.date);
  if (req.has(F.EXPIRY)) m.set(HF.EXPIRY, req.text(F.EXPIRY));
  m.set(HF.MERCHANT_CATEGORY, ctx.merchant!.mcc);
  m.set(HF.ENTRY_MODE, req.text(F.ENTRY_MODE) ?? '021');
  m.set(HF.CONDITION_CODE, req.text(F.CONDITION_CODE) ?? spec.condition);
  if (req.has(F.TRACK_2)) m.set(HF.TRACK_2, req.text(F.TRACK_2));
  m.set(HF.RRN, ctx.rrn);
  m.set(HF.TERMINAL_ID, ctx.terminal!.record.tid);
  m.set(HF.MERCHANT_ID, ctx.merchant!.mid);
  m.set(HF.MERCHANT_NAME, merchantNameLocation(ctx.merchant!.name));
  m.set(HF.CURRENCY, req.text(F.CURRENCY) ?? '156');
  const host = ctx.original?.host;
  if (host !== undefined) m.set(HF.ORIGINAL_DATA, originalMti(ctx.original!) + host.stan + host.time + s.settings.acquirerId.padStart(11, '0') + '0'.repeat(11));
  const block = req.binary(F.PIN_BLOCK);
  if (block !== undefined) {
    const zpk = s.hostZpk(ctx.link);
    if (zpk === undefined) throw new PinFormatError('block');
    m.set(HF.PIN_BLOCK, s.hsm.translatePin(ctx.terminal!.pik!, zpk, block, ctx.pan));
  }
  return m;
}

/** F43, ans40: the merchant's name in 25 characters, its city in 13 (not on record: blank), country `CN`. */
function merchantNameLocation(name: string): string {
  return name.replace(/[^\x20-\x7e]/g, '?').slice(0, 25).padEnd(38) + 'CN';
}

/**
 * What the host's answer (or its absence) comes to for the terminal: its code, and on approval
 * its authorisation code and, for a balance inquiry, F54. A request that reached the host and got
 * no trustworthy answer is `98` and stays due for a reversal advice.
 */
export function hostOutcome(ctx: TxnContext, answer: HostMessage | null): string {
  // No answer reaches here only after the request went out (timeout, lost, MAC failure): it stays owed.
  if (answer === null) return RC.NO_ISSUER_RESPONSE;
  ctx.advice = false;
  const code = answer.text(HF.RESPONSE_CODE) ?? RC.SYSTEM_MALFUNCTION;
  if (code === RC.APPROVED) {
    ctx.hostAuthCode = answer.text(HF.AUTH_CODE) ?? '';
    const balance = answer.text(HF.BALANCE);
    if (balance !== undefined) ctx.extra.set(F.BALANCE, balance);
  }
  return code;
}

/**
 * The advice a terminal's reversal of a host's approval owes that host: the original as the link
 * sent it, due at once (the reversal itself is answered by the switch; the host hears of it by
 * store and forward).
 */
export function adviceForReversal(original: TxnRecord, at: number): AdviceChange | undefined {
  const host = original.host;
  if (host === undefined) return undefined;
  const spec = financialSpec(original.type as FinancialType);
  return {
    key: `${host.link}|${host.stan}|${host.time}`,
    record: {
      link: host.link,
      mti: originalMti(original),
      processingCode: spec.processingCode,
      stan: host.stan,
      time: host.time,
      amount: original.amount,
      currency: '156',
      rrn: original.rrn,
      tid: original.tid,
      mid: original.mid,
      due: true,
      at,
    },
  };
}

/** The MTI the host knows a forwarded original by: a stand-in approval reached it as a 0220 advice. */
function originalMti(original: TxnRecord): string {
  // Only financial types are forwarded, so a record with a host leg has a financial type.
  return original.host?.standIn ? STAND_IN_ADVICE : financialSpec(original.type as FinancialType).mti;
}

/**
 * A request about a host's approval (a void, a refund) goes to the link of the host that approved
 * it, not where the routing table says: `''` to go on to that host, or why it cannot.
 */
export function followOriginal(s: Services, ctx: TxnContext, original: TxnRecord): string {
  if (original.host === undefined) return RC.ORIGINAL_NOT_FOUND;
  if (!s.hostLinkUp(original.host.link)) return RC.ISSUER_UNAVAILABLE;
  ctx.original = original;
  ctx.link = original.host.link;
  ctx.hostTimeoutMs = ROUTE_TIMEOUT_MS;
  return '';
}
