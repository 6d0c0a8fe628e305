import { parseBalance, type TerminalMessage } from '../codec/index.js';
import { HttpError } from '../ops/http.js';
import { F, RC, luhnValid, maskPan } from '../txn/index.js';

/**
 * The HTTP channel's documents: a payment request as a merchant's system sends it
 * (`POST /api/v1/payments`), checked field by field with a named reason, and the answer it gets,
 * made from the terminal response the switch gave the client's virtual terminal.
 */

export const PAYMENT_TYPES = ['sale', 'refund', 'void', 'balance', 'status'] as const;
export type PaymentType = (typeof PAYMENT_TYPES)[number];

/** Card not present: the card number and expiry as the customer keyed them in. */
export interface KeyedCard {
  pan: string;
  expiry: string;
}

/** The earlier request a refund, void or status names: by the switch's RRN, or by the client's own Idempotency-Key. */
export type OriginalRef = { rrn: string } | { idempotencyKey: string };

export interface PaymentRequest {
  type: PaymentType;
  /** Fen. A void's is the original's when left out. */
  amount?: number;
  card?: KeyedCard;
  original?: OriginalRef;
}

/** What the client gets: the receipt data of the terminal response (card number masked). */
export interface PaymentAnswer {
  type: PaymentType;
  responseCode: string;
  approved: boolean;
  rrn: string;
  authCode: string;
  stan: string;
  tid: string;
  mid: string;
  amount: number;
  /** YYYYMMDD: the business day the switch settles the request in. */
  businessDate: string;
  card: string;
  /** Fen available, for an approved balance inquiry. */
  balance?: number;
}

/** The largest amount F4 carries (n12 fen). */
const MAX_AMOUNT = 999_999_999_999;
const REQUEST_FIELDS = ['type', 'amount', 'card', 'original'];
const CARD_FIELDS = ['pan', 'expiry'];
/** What each type must and may carry besides `type`. */
const SHAPES: Record<PaymentType, { needs: readonly string[]; may: readonly string[] }> = {
  sale: { needs: ['amount', 'card'], may: [] },
  refund: { needs: ['amount', 'card', 'original'], may: [] },
  void: { needs: ['card', 'original'], may: ['amount'] },
  balance: { needs: ['card'], may: [] },
  status: { needs: ['original'], may: [] },
};
/** An Idempotency-Key: visible ASCII, as UUIDs and most clients' keys are. */
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,64}$/;

/** The request a body holds, or a 400 naming the field that is wrong and why. */
export function parsePaymentRequest(body: unknown): PaymentRequest {
  const fields = objectOf(body, 'the body');
  for (const name of Object.keys(fields)) if (!REQUEST_FIELDS.includes(name)) throw bad(`unknown field ${name}`);
  const type = fields.type;
  if (typeof type !== 'string' || !(PAYMENT_TYPES as readonly string[]).includes(type)) throw bad(`type must be one of ${PAYMENT_TYPES.join(', ')}, got ${quoted(type)}`);
  const shape = SHAPES[type as PaymentType];
  for (const name of shape.needs) if (fields[name] === undefined) throw bad(`a ${type} needs ${name}`);
  for (const name of REQUEST_FIELDS) {
    if (name !== 'type' && fields[name] !== undefined && !shape.needs.includes(name) && !shape.may.includes(name)) throw bad(`a ${type} takes no ${name}`);
  }
  const request: PaymentRequest = { type: type as PaymentType };
  if (fields.amount !== undefined) {
    const amount = fields.amount;
    if (!Number.isSafeInteger(amount) || (amount as number) < 1 || (amount as number) > MAX_AMOUNT) throw bad(`amount must be a whole number of fen 1–${MAX_AMOUNT}, got ${quoted(amount)}`);
    request.amount = amount as number;
  }
  if (fields.card !== undefined) request.card = cardOf(fields.card);
  if (fields.original !== undefined) request.original = originalOf(fields.original, type === 'status');
  return request;
}

function cardOf(value: unknown): KeyedCard {
  const card = objectOf(value, 'card');
  for (const name of Object.keys(card)) if (!CARD_FIELDS.includes(name)) throw bad(`unknown field card.${name}`);
  const { pan, expiry } = card;
  // A refusal never repeats what was given as a card number: it may be one.
  if (typeof pan !== 'string' || !/^\d{13,19}$/.test(pan)) throw bad('card.pan must be 13–19 digits');
  if (!luhnValid(pan)) throw bad(`card.pan ${maskPan(pan)} fails its Luhn check`);
  if (typeof expiry !== 'string' || !/^\d\d(0[1-9]|1[0-2])$/.test(expiry)) throw bad(`card.expiry must be YYMM, got ${quoted(expiry)}`);
  return { pan, expiry };
}

function originalOf(value: unknown, byKeyOnly: boolean): OriginalRef {
  const original = objectOf(value, 'original');
  const names = Object.keys(original);
  for (const name of names) if (name !== 'rrn' && name !== 'idempotencyKey') throw bad(`unknown field original.${name}`);
  if (names.length !== 1) throw bad('original names the earlier request by exactly one of rrn, idempotencyKey');
  if (original.rrn !== undefined) {
    if (byKeyOnly) throw bad('a status names the earlier request by original.idempotencyKey');
    if (typeof original.rrn !== 'string' || !/^[0-9A-Za-z]{12}$/.test(original.rrn)) throw bad(`original.rrn must be 12 letters or digits, got ${quoted(original.rrn)}`);
    return { rrn: original.rrn };
  }
  if (typeof original.idempotencyKey !== 'string' || !IDEMPOTENCY_KEY.test(original.idempotencyKey)) throw bad(`original.idempotencyKey must be 1–64 visible ASCII characters, got ${quoted(original.idempotencyKey)}`);
  return { idempotencyKey: original.idempotencyKey };
}

/**
 * The answer to `request` from the switch's response to the virtual terminal. The business date is
 * the response's settlement date (F15, MMDD) in the year that puts it nearest `today`'s business date.
 */
export function paymentAnswer(type: PaymentType, response: TerminalMessage, today: string): PaymentAnswer {
  const code = response.text(F.RESPONSE_CODE) ?? '';
  const approved = code === RC.APPROVED;
  const answer: PaymentAnswer = {
    type,
    responseCode: code,
    approved,
    rrn: response.text(F.RRN) ?? '',
    authCode: response.text(F.AUTH_CODE) ?? '',
    stan: response.text(F.STAN) ?? '',
    tid: response.text(F.TERMINAL_ID) ?? '',
    mid: response.text(F.MERCHANT_ID) ?? '',
    amount: Number(response.text(F.AMOUNT) ?? 0),
    businessDate: businessDateOf(response.text(F.SETTLEMENT_DATE), today),
    card: maskPan(response.text(F.PAN) ?? ''),
  };
  const balance = response.text(F.BALANCE);
  if (approved && balance !== undefined) answer.balance = Number(parseBalance(balance).amount);
  return answer;
}

/** MMDD as the business date YYYYMMDD nearest `today` (a settlement date may be a day either side of it at a cut-over). */
function businessDateOf(mmdd: string | undefined, today: string): string {
  if (mmdd === undefined || !/^\d{4}$/.test(mmdd)) return today;
  const year = Number(today.slice(0, 4));
  const candidates = [year - 1, year, year + 1].map((y) => `${y}${mmdd}`);
  const distance = (date: string) => Math.abs(Date.UTC(+date.slice(0, 4), +date.slice(4, 6) - 1, +date.slice(6, 8)) - Date.UTC(year, +today.slice(4, 6) - 1, +today.slice(6, 8)));
  return candidates.reduce((best, date) => (distance(date) < distance(best) ? date : best));
}

function objectOf(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad(`${what} must be a JSON object`);
  return value as Record<string, unknown>;
}

function quoted(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function bad(reason: string): HttpError {
  return new HttpError(400, reason);
}
