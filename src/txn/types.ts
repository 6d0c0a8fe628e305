import type { IsoMessage } from '../codec/index.js';

/**
 * Transaction types of PROTOCOL.md section 3, as data. A request is identified by
 * MTI + F3 + F25 + 60.1 (financial) or MTI + 60.3 (management, 60.1 = `00`).
 */
export type FinancialType =
  | 'balance-inquiry'
  | 'sale'
  | 'sale-void'
  | 'refund'
  | 'pre-auth'
  | 'pre-auth-void'
  | 'pre-auth-completion'
  | 'pre-auth-completion-notice'
  | 'completion-void'
  | 'transfer'
  | 'bill-payment';

export type ManagementType =
  | 'sign-in'
  | 'sign-off'
  | 'settlement'
  | 'batch-upload'
  | 'batch-upload-end'
  | 'echo'
  | 'status-upload'
  | 'parameter-download'
  | 'parameter-download-end'
  | 'ca-key-download'
  | 'ca-key-download-end'
  | 'ca-key-query'
  | 'aid-download'
  | 'aid-download-end'
  | 'aid-query';

export type TxnType = FinancialType | ManagementType | 'reversal';

export interface FinancialSpec {
  readonly type: FinancialType;
  readonly mti: string;
  readonly processingCode: string;
  readonly condition: string;
  readonly messageType: string;
  readonly reversible: boolean;
}

export const FINANCIAL_TYPES: readonly FinancialSpec[] = [
  { type: 'balance-inquiry', mti: '0200', processingCode: '310000', condition: '00', messageType: '01', reversible: false },
  { type: 'sale', mti: '0200', processingCode: '000000', condition: '00', messageType: '22', reversible: true },
  { type: 'sale-void', mti: '0200', processingCode: '200000', condition: '00', messageType: '23', reversible: true },
  { type: 'refund', mti: '0220', processingCode: '200000', condition: '00', messageType: '25', reversible: false },
  { type: 'pre-auth', mti: '0100', processingCode: '030000', condition: '06', messageType: '10', reversible: true },
  { type: 'pre-auth-void', mti: '0100', processingCode: '200000', condition: '06', messageType: '11', reversible: true },
  { type: 'pre-auth-completion', mti: '0200', processingCode: '000000', condition: '06', messageType: '20', reversible: true },
  { type: 'pre-auth-completion-notice', mti: '0220', processingCode: '000000', condition: '06', messageType: '24', reversible: false },
  { type: 'completion-void', mti: '0200', processingCode: '200000', condition: '06', messageType: '21', reversible: true },
  { type: 'transfer', mti: '0200', processingCode: '400000', condition: '00', messageType: '48', reversible: true },
  { type: 'bill-payment', mti: '0200', processingCode: '500000', condition: '00', messageType: '49', reversible: true },
];

export interface ManagementSpec {
  readonly type: ManagementType;
  readonly mti: string;
  readonly networkCodes: readonly string[];
}

export const MANAGEMENT_TYPES: readonly ManagementSpec[] = [
  { type: 'sign-in', mti: '0800', networkCodes: ['001', '003', '004'] },
  { type: 'sign-off', mti: '0820', networkCodes: ['002'] },
  { type: 'settlement', mti: '0500', networkCodes: ['201'] },
  { type: 'batch-upload', mti: '0320', networkCodes: ['201'] },
  { type: 'batch-upload-end', mti: '0320', networkCodes: ['202', '207'] },
  { type: 'echo', mti: '0820', networkCodes: ['301'] },
  { type: 'status-upload', mti: '0820', networkCodes: ['362'] },
  { type: 'parameter-download', mti: '0800', networkCodes: ['360'] },
  { type: 'parameter-download-end', mti: '0800', networkCodes: ['361'] },
  { type: 'ca-key-download', mti: '0800', networkCodes: ['370'] },
  { type: 'ca-key-download-end', mti: '0800', networkCodes: ['371'] },
  { type: 'ca-key-query', mti: '0820', networkCodes: ['372'] },
  { type: 'aid-download', mti: '0800', networkCodes: ['380'] },
  { type: 'aid-download-end', mti: '0800', networkCodes: ['381'] },
  { type: 'aid-query', mti: '0820', networkCodes: ['382'] },
];

/** MTIs that carry and require F64 (PROTOCOL.md section 5, chosen). */
export const MAC_MTIS: ReadonlySet<string> = new Set(['0100', '0200', '0220', '0400']);

const financialIndex = new Map<string, FinancialSpec>();
for (const s of FINANCIAL_TYPES) financialIndex.set(s.mti + s.processingCode + s.condition + s.messageType, s);
const managementIndex = new Map<string, ManagementSpec>();
for (const s of MANAGEMENT_TYPES) for (const code of s.networkCodes) managementIndex.set(s.mti + code, s);
const financialByType = new Map<FinancialType, FinancialSpec>(FINANCIAL_TYPES.map((s) => [s.type, s]));

export function financialSpec(type: FinancialType): FinancialSpec {
  return financialByType.get(type)!;
}

export interface Classification {
  type: TxnType;
  /** The message answers a request (MTI ends in 10/30). */
  response: boolean;
  /** The financial spec; for a reversal, that of the original transaction when known. */
  financial?: FinancialSpec;
  management?: ManagementSpec;
}

/** The request MTI a message belongs to: `0210` → `0200`. */
export function requestMti(mti: string): string {
  const third = mti.charCodeAt(2) - 48;
  return third % 2 === 1 ? mti.slice(0, 2) + String(third - 1) + mti[3] : mti;
}

/**
 * The answer's MTI to a request (`0200` → `0210`), or `undefined` when the message is not a request:
 * an odd third digit is itself an answer, and `9` (`0890`) has no answer in the ISO scheme.
 */
export function responseMti(mti: string): string | undefined {
  const third = mti.charCodeAt(2) - 48;
  if (mti.length !== 4 || !(third >= 0 && third < 9 && third % 2 === 0)) return undefined;
  return mti.slice(0, 2) + String(third + 1) + mti[3];
}

/**
 * Identifies the transaction type of a terminal message; `undefined` when the combination is not
 * one the protocol defines (the switch answers `40`).
 */
export function classify(msg: IsoMessage): Classification | undefined {
  const mti = requestMti(msg.mti);
  const response = mti !== msg.mti;
  const f60 = msg.fields[60];
  const messageType = typeof f60 === 'string' ? f60.slice(0, 2) : '';
  if (mti === '0400') {
    return { type: 'reversal', response, financial: findFinancial(msg, '0200') ?? findFinancial(msg, '0100') };
  }
  if (messageType === '00') {
    const management = managementIndex.get(mti + (f60 as string).slice(8, 11));
    return management ? { type: management.type, response, management } : undefined;
  }
  const financial = findFinancial(msg, mti);
  return financial ? { type: financial.type, response, financial } : undefined;
}

function findFinancial(msg: IsoMessage, mti: string): FinancialSpec | undefined {
  const f3 = msg.fields[3];
  const f25 = msg.fields[25];
  const f60 = msg.fields[60];
  if (typeof f3 !== 'string' || typeof f60 !== 'string') return undefined;
  return financialIndex.get(mti + f3 + (typeof f25 === 'string' ? f25 : '00') + f60.slice(0, 2));
}
