import {
  TerminalMessage,
  buildBatchUpload,
  buildF60,
  buildF61,
  buildSettlementTotals,
  type SettlementTotals,
  type UploadRecord,
} from '../codec/index.js';
import type { KeyMode } from '../security/index.js';
import { REVERSAL_REPEATS, financialSpec, type FinancialType } from '../txn/index.js';

export interface CardData {
  pan: string;
  expiry: string;
  pin?: string;
  /** Keyed in (card not present: entry mode 01x) rather than read from the magstripe (02x). */
  keyed?: boolean;
}

/** What a terminal remembers of an approved request, to void, reverse or refund it later. */
export interface Receipt {
  type: FinancialType;
  pan: string;
  expiry: string;
  amount: number;
  stan: string;
  batch: string;
  rrn: string;
  authCode: string;
  date: string;
}

/**
 * The requests a POS terminal sends (PROTOCOL.md sections 3 and 8), built as the terminal builds
 * them: its TID and MID, its batch, a STAN per request. Packing, MACs and transport are the
 * terminal's own: the load generator's simulated terminals and the HTTP channel's virtual
 * terminals both build their messages here.
 */
export class TerminalRequests {
  /** The batch the switch named at sign-in (60.2), moved on by a balanced settlement. */
  batch = '000001';
  private stan: number;

  constructor(
    readonly tid: string,
    readonly mid: string,
    /** STAN of the first request less one. */
    firstStan = 0,
  ) {
    this.stan = firstStan;
  }

  nextStan(): string {
    this.stan = (this.stan % 999_999) + 1;
    return String(this.stan).padStart(6, '0');
  }

  message(mti: string): TerminalMessage {
    const msg = new TerminalMessage(mti, '6000030000', '600100000000');
    return msg.set(41, this.tid).set(42, this.mid);
  }

  /** Sign-in (0800) asking for working keys of `mode`. */
  signInRequest(mode: KeyMode): TerminalMessage {
    return this.management('0800', mode).set(63, '001');
  }

  /** A financial request of `type` with card data, amount and (if given) the encrypted PIN block of `card.pin`. */
  financial(type: FinancialType, card: CardData, amount?: number, pinBlock?: Buffer): TerminalMessage {
    const spec = financialSpec(type);
    const msg = this.message(spec.mti)
      .set(2, card.pan)
      .set(3, spec.processingCode)
      .set(11, this.nextStan())
      .set(14, card.expiry)
      .set(22, (card.keyed ? '01' : '02') + (card.pin ? '1' : '2'))
      .set(25, spec.condition)
      .set(49, '156')
      .set(60, buildF60({ messageType: spec.messageType, batch: this.batch, networkCode: '000' }));
    if (amount !== undefined) msg.set(4, String(amount).padStart(12, '0'));
    if (pinBlock) msg.set(26, '06').set(52, pinBlock).set(53, '2600000000000000');
    return msg;
  }

  /** A void names its original by batch and STAN (61.1, 61.2) and its RRN; card and amount are the original's. */
  voidOf(type: 'sale-void' | 'completion-void', original: Pick<Receipt, 'rrn' | 'batch' | 'stan' | 'amount'>, card: CardData): TerminalMessage {
    return this.financial(type, card, original.amount)
      .set(37, original.rrn)
      .set(61, buildF61({ batch: original.batch, stan: original.stan }));
  }

  /** A refund names its original by RRN (F37) and, when known, the original's date (61.3). */
  refundOf(original: Pick<Receipt, 'rrn' | 'date'>, card: CardData, amount: number): TerminalMessage {
    return this.financial('refund', card, amount)
      .set(37, original.rrn)
      .set(61, buildF61({ batch: '000000', stan: '000000', date: original.date }));
  }

  /** Pre-auth void, completion and completion notice name the pre-auth by PAN + F38 + 61.3. */
  onPreAuth(type: FinancialType, preAuth: Receipt, amount: number, card: CardData): TerminalMessage {
    return this.financial(type, card, amount)
      .set(38, preAuth.authCode)
      .set(61, buildF61({ batch: '000000', stan: '000000', date: preAuth.date }));
  }

  /** Completion void: the completion's batch, STAN, RRN and auth code. */
  completionVoidOf(completion: Receipt, card: CardData): TerminalMessage {
    return this.voidOf('completion-void', completion, card).set(38, completion.authCode);
  }

  management(mti: string, networkCode: string, batch = this.batch): TerminalMessage {
    return this.message(mti).set(11, this.nextStan()).set(60, buildF60({ messageType: '00', batch, networkCode }));
  }

  /** Settlement (0500) with the terminal's own totals (F48, result digit 0). */
  settlement(totals: SettlementTotals): TerminalMessage {
    return this.management('0500', '201').set(48, buildSettlementTotals(totals)).set(49, '156');
  }

  batchUpload(records: UploadRecord[], batch = this.batch): TerminalMessage {
    return this.management('0320', '201', batch).set(48, buildBatchUpload(records));
  }

  batchUploadEnd(count: number, balanced: boolean, batch = this.batch): TerminalMessage {
    return this.management('0320', balanced ? '207' : '202', batch).set(48, String(count).padStart(4, '0'));
  }

  /** Parameter, CA key or AID download from item `index` (60.3 360, 370, 380), their ends and queries. */
  parameterMessage(networkCode: '360' | '361' | '370' | '371' | '372' | '380' | '381' | '382', index?: number): TerminalMessage {
    const mti = networkCode === '372' || networkCode === '382' ? '0820' : '0800';
    const msg = this.management(mti, networkCode);
    if (index !== undefined) msg.set(62, Buffer.from(String(index), 'latin1'));
    return msg;
  }

  statusUpload(payload: Buffer): TerminalMessage {
    return this.management('0820', '362').set(62, payload);
  }

  /** The reversal of a request: the original's fields, MTI 0400, F39 the reason. */
  reversal(original: TerminalMessage, reason = '98'): TerminalMessage {
    const msg = this.message('0400');
    for (const id of REVERSAL_REPEATS) msg.fields[id] = original.fields[id];
    return msg.set(39, reason);
  }

  echo(): TerminalMessage {
    return this.management('0820', '301');
  }

  signOff(): TerminalMessage {
    return this.management('0820', '002');
  }
}
