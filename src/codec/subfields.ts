import { FormatError } from './errors.js';

/**
 * Sub-field layouts of the composite terminal fields (PROTOCOL.md sections 2 and 8).
 * Each parser takes the field's digit/text string and throws a FormatError naming the
 * sub-field when it does not fit; each builder is its exact inverse.
 */

/** F60: 60.1 message type n2, 60.2 batch n6, 60.3 network management code n3, 60.4 n1, 60.5 n1. */
export interface F60 {
  messageType: string;
  batch: string;
  networkCode: string;
  /** Digits after 60.3 (60.4, 60.5 and beyond, up to 19 in all), echoed as received. */
  rest: string;
}

export function parseF60(value: string): F60 {
  if (value.length < 2) throw new FormatError('F60.1', 0, 'message type code missing');
  return {
    messageType: value.slice(0, 2),
    batch: value.slice(2, 8),
    networkCode: value.slice(8, 11),
    rest: value.slice(11),
  };
}

/** Inverse of parseF60: sub-fields that were absent stay absent, so a short F60 is echoed as received. */
export function buildF60(f: Partial<F60> & { messageType: string }): string {
  let s = f.messageType.padStart(2, '0');
  if (f.batch || f.networkCode || f.rest) s += (f.batch || '000000').padStart(6, '0');
  if (f.networkCode || f.rest) s += (f.networkCode || '000').padStart(3, '0');
  if (f.rest) s += f.rest;
  return s;
}

/** F61: original batch n6, original STAN n6, original date MMDD n4 (each optional from the right). */
export interface F61 {
  batch: string;
  stan: string;
  date: string;
}

export function parseF61(value: string): F61 {
  return { batch: value.slice(0, 6), stan: value.slice(6, 12), date: value.slice(12, 16) };
}

export function buildF61(f: Partial<F61>): string {
  return (f.batch ?? '000000') + (f.stan ?? '000000') + (f.date ?? '');
}

/** One side (domestic or foreign) of the F48 settlement totals. */
export interface SettlementSide {
  debitAmount: bigint;
  debitCount: number;
  creditAmount: bigint;
  creditCount: number;
  /** `0` in requests; `1` balanced, `2` unbalanced in responses. */
  result: number;
}

export interface SettlementTotals {
  domestic: SettlementSide;
  foreign: SettlementSide;
}

const SIDE_DIGITS = 31;

export function parseSettlementTotals(value: string): SettlementTotals {
  if (!/^\d{62}$/.test(value)) throw new FormatError('F48', 0, `settlement totals need 62 digits, got ${JSON.stringify(value.slice(0, 70))}`);
  return { domestic: parseSide(value, 0), foreign: parseSide(value, SIDE_DIGITS) };
}

function parseSide(v: string, at: number): SettlementSide {
  return {
    debitAmount: BigInt(v.slice(at, at + 12)),
    debitCount: Number(v.slice(at + 12, at + 15)),
    creditAmount: BigInt(v.slice(at + 15, at + 27)),
    creditCount: Number(v.slice(at + 27, at + 30)),
    result: Number(v[at + 30]),
  };
}

export function buildSettlementTotals(t: SettlementTotals): string {
  return buildSide(t.domestic) + buildSide(t.foreign);
}

const N12_LIMIT = 10n ** 12n;

function buildSide(s: SettlementSide): string {
  if (s.debitAmount < 0n || s.debitAmount >= N12_LIMIT || s.creditAmount < 0n || s.creditAmount >= N12_LIMIT) {
    throw new FormatError('F48', 0, 'settlement amount does not fit n12');
  }
  // Counts wrap at 999 as the field is n3; amounts are n12 minor units.
  return (
    s.debitAmount.toString().padStart(12, '0') +
    String(s.debitCount % 1000).padStart(3, '0') +
    s.creditAmount.toString().padStart(12, '0') +
    String(s.creditCount % 1000).padStart(3, '0') +
    String(s.result)
  );
}

/** One F48 batch-upload detail record (n40). */
export interface UploadRecord {
  /** `00` domestic, `01` foreign. */
  cardType: string;
  stan: string;
  pan: string;
  amount: bigint;
}

const RECORD_DIGITS = 40;

export function parseBatchUpload(value: string): UploadRecord[] {
  if (!/^\d{2}/.test(value)) throw new FormatError('F48', 0, 'record count missing');
  const count = Number(value.slice(0, 2));
  if (count > 8) throw new FormatError('F48', 0, `record count ${count} above 8`);
  if (value.length !== 2 + count * RECORD_DIGITS) throw new FormatError('F48', 0, `${count} records need ${2 + count * RECORD_DIGITS} digits, got ${value.length}`);
  const records: UploadRecord[] = [];
  for (let i = 0; i < count; i++) {
    const at = 2 + i * RECORD_DIGITS;
    records.push({
      cardType: value.slice(at, at + 2),
      stan: value.slice(at + 2, at + 8),
      pan: value.slice(at + 8, at + 28).replace(/^0+/, ''),
      amount: BigInt(value.slice(at + 28, at + 40)),
    });
  }
  return records;
}

export function buildBatchUpload(records: readonly UploadRecord[]): string {
  if (records.length > 8) throw new FormatError('F48', 0, 'at most 8 records per message');
  let s = String(records.length).padStart(2, '0');
  for (const r of records) {
    s += r.cardType + r.stan + r.pan.padStart(20, '0') + r.amount.toString().padStart(12, '0');
  }
  return s;
}

/** F54 balance: account type n2, amount type n2, currency an3, sign C/D, amount n12. */
export interface Balance {
  accountType: string;
  amountType: string;
  currency: string;
  /** Minor units; negative is sent as sign `D`. */
  amount: bigint;
}

export function buildBalance(b: Balance): string {
  const sign = b.amount < 0n ? 'D' : 'C';
  const abs = b.amount < 0n ? -b.amount : b.amount;
  return b.accountType + b.amountType + b.currency + sign + abs.toString().padStart(12, '0');
}

export function parseBalance(value: string): Balance {
  const m = /^(\d{2})(\d{2})([0-9A-Z]{3})([CD])(\d{12})$/.exec(value);
  if (!m) throw new FormatError('F54', 0, 'balance is not n2 n2 an3 C/D n12');
  const amount = BigInt(m[5]);
  return { accountType: m[1], amountType: m[2], currency: m[3], amount: m[4] === 'D' ? -amount : amount };
}
