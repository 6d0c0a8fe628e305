import type { TxnType } from './types.js';
import { RC } from './vocabulary.js';

/**
 * Risk rules as data: each rule is a record of the reference table `riskRules` (key: its id), of
 * one kind from RISK_KINDS, which says what the rule has, what it may answer and where it is
 * decided. The table is checked by the reference checker (`riskRuleProblem` is its kind check),
 * compiled once into a `RiskRuleSet`, and read by the pipeline's risk steps (rules a request alone
 * decides) and by the book (rules that need every worker's traffic of the business day).
 */

export type RiskKind =
  | 'merchant-single-limit'
  | 'merchant-daily-limit'
  | 'card-daily-amount'
  | 'card-daily-count'
  | 'card-blacklist'
  | 'terminal-blacklist'
  | 'merchant-blacklist'
  | 'mcc-window'
  | 'mcc-restriction'
  | 'pin-tries';

/** A rule as stored; which fields it has is its kind's to say. Amounts in fen, times local HH:MM. */
export interface RiskRule {
  id: string;
  kind: RiskKind;
  /** What a refusal answers; absent, the kind's first code. */
  code?: string;
  mid?: string;
  mcc?: string;
  maxAmount?: number;
  maxCount?: number;
  maxTries?: number;
  /** The first 3–6 digits of the card number (what the book sees of a card: its masked number keeps six). */
  bin?: string;
  cardType?: 'domestic' | 'foreign';
  /** Blacklisted card tokens (never card numbers), terminal ids or merchant ids. */
  values?: string[];
  /** A card blacklist's cards, masked, in the order of `values`: what people read. */
  cards?: string[];
  mccs?: string[];
  from?: string;
  to?: string;
}

type Param = Exclude<keyof RiskRule, 'id' | 'kind' | 'code'>;

interface KindSpec {
  /** What a rule of the kind does, in words (refusals and the API description). */
  readonly summary: string;
  readonly required: readonly Param[];
  readonly optional?: readonly Param[];
  /** Exactly one of these. */
  readonly oneOf?: readonly Param[];
  /** The codes it may answer; the first is its default. */
  readonly codes: readonly string[];
  /** `worker`: the request alone decides, in a pipeline step; `book`: it needs every worker's traffic of the day. */
  readonly decidedIn: 'worker' | 'book';
  /** What each of `values` is. */
  readonly values?: { readonly pattern: RegExp; readonly shape: string };
}

const LIMIT = RC.EXCEEDS_AMOUNT_LIMIT;
const NOT_PERMITTED = RC.NOT_PERMITTED_TO_CARD;

export const RISK_KINDS: Readonly<Record<RiskKind, KindSpec>> = {
  'merchant-single-limit': { summary: 'a spend above maxAmount at the merchant (mid) or at any merchant of the category (mcc)', required: ['maxAmount'], oneOf: ['mid', 'mcc'], codes: [LIMIT], decidedIn: 'worker' },
  'merchant-daily-limit': { summary: "a spend that would take the merchant's approved spends of the business day above maxAmount", required: ['mid', 'maxAmount'], codes: [LIMIT], decidedIn: 'book' },
  'card-daily-amount': { summary: "a spend that would take the card's approved spends of the business day above maxAmount (cards of bin only, if given)", required: ['maxAmount'], optional: ['bin'], codes: [LIMIT], decidedIn: 'book' },
  'card-daily-count': { summary: "a spend beyond the card's maxCount approved spends of the business day (cards of bin only, if given)", required: ['maxCount'], optional: ['bin'], codes: [RC.EXCEEDS_FREQUENCY_LIMIT], decidedIn: 'book' },
  'card-blacklist': {
    summary: 'any request of the cards listed (given to the API as card numbers; kept as the PAN tokens the journal uses, and masked)',
    required: ['values', 'cards'],
    codes: [RC.PICK_UP, RC.LOST_CARD, RC.STOLEN_CARD, RC.DO_NOT_HONOUR],
    decidedIn: 'worker',
    values: { pattern: /^[A-Za-z0-9+/]{22}==$/, shape: 'a PAN token' },
  },
  'terminal-blacklist': { summary: 'any request of the terminals listed', required: ['values'], codes: [RC.DO_NOT_HONOUR], decidedIn: 'worker', values: { pattern: /^[0-9A-Z]{8}$/, shape: 'a terminal id' } },
  'merchant-blacklist': { summary: 'any request at the merchants listed', required: ['values'], codes: [RC.DO_NOT_HONOUR, RC.INVALID_MERCHANT], decidedIn: 'worker', values: { pattern: /^\d{15}$/, shape: 'a merchant id' } },
  'mcc-window': { summary: 'a spend at a merchant of the category outside from–to, local time (from after to: the window spans midnight)', required: ['mcc', 'from', 'to'], codes: [NOT_PERMITTED], decidedIn: 'worker' },
  'mcc-restriction': { summary: 'a spend at a merchant of one of the categories with a card of the bin or of the card type', required: ['mccs'], oneOf: ['bin', 'cardType'], codes: [NOT_PERMITTED], decidedIn: 'worker' },
  'pin-tries': { summary: 'any request of a card after maxTries wrong PINs in the business day, until the next day (without a rule: 3)', required: ['maxTries'], codes: [RC.PIN_TRIES_EXCEEDED], decidedIn: 'book' },
};

export const RISK_KIND_NAMES = Object.keys(RISK_KINDS) as RiskKind[];
/** Every code some kind may answer. */
export const RISK_CODES: readonly string[] = [...new Set(RISK_KIND_NAMES.flatMap((kind) => RISK_KINDS[kind].codes))];

/** Three wrong PINs a business day, unless a `pin-tries` rule says otherwise. */
const DEFAULT_PIN_TRIES: RiskRule = { id: 'default-pin-tries', kind: 'pin-tries', maxTries: 3 };

/** What the rules screen of one transaction type: blacklists always; `spend`: every rule of a spend; `pinTries`: the PIN-tries lock. */
interface Screening {
  readonly spend: boolean;
  readonly pinTries: boolean;
}

const SPEND: Screening = { spend: true, pinTries: true };

/**
 * The requests risk rules screen, by type. Spends (money leaves the card) meet every rule; a balance
 * inquiry the blacklists and the PIN-tries lock; a refund the blacklists (refunds are how a bad
 * merchant pays a card out). Voids, reversals and completions undo or settle what an approval
 * already passed, and are never screened.
 */
export const SCREENING: Readonly<Record<string, Screening | undefined>> = {
  sale: SPEND,
  'pre-auth': SPEND,
  transfer: SPEND,
  'bill-payment': SPEND,
  'balance-inquiry': { spend: false, pinTries: true },
  refund: { spend: false, pinTries: false },
} satisfies Partial<Record<TxnType, Screening>>;

/** Why a rule's fields do not fit its kind, or null: the kind check behind the field checks. */
export function riskRuleProblem(rule: Record<string, unknown>): string | null {
  const kind = RISK_KINDS[rule.kind as RiskKind];
  const allowed: readonly string[] = [...kind.required, ...(kind.optional ?? []), ...(kind.oneOf ?? [])];
  for (const name of Object.keys(rule)) {
    if (name !== 'id' && name !== 'kind' && name !== 'code' && !allowed.includes(name)) return `a ${rule.kind} rule has no ${name}: it has ${describe(kind)}`;
  }
  for (const name of kind.required) if (rule[name] === undefined) return `a ${rule.kind} rule needs ${name}`;
  if (kind.oneOf !== undefined && kind.oneOf.filter((name) => rule[name] !== undefined).length !== 1) return `a ${rule.kind} rule has exactly one of ${kind.oneOf.join(', ')}`;
  if (rule.code !== undefined && !kind.codes.includes(rule.code as string)) return `a ${rule.kind} rule answers ${kind.codes.join(' or ')}, not ${String(rule.code)}`;
  const values = rule.values as string[] | undefined;
  if (kind.values !== undefined && values !== undefined) {
    const bad = values.findIndex((v) => !kind.values!.pattern.test(v));
    if (bad >= 0) return `values[${bad}] must be ${kind.values.shape}`;
  }
  const cards = rule.cards as string[] | undefined;
  if (cards !== undefined && cards.length !== values?.length) return 'cards are the masked numbers of the cards whose tokens are values, one each';
  if (rule.from !== undefined && rule.from === rule.to) return 'from and to are the same time: the window would be empty';
  return null;
}

function describe(kind: KindSpec): string {
  const parts = [...kind.required, ...(kind.optional ?? []).map((name) => `${name}?`)];
  if (kind.oneOf !== undefined) parts.push(`one of ${kind.oneOf.join('|')}`);
  return parts.join(', ');
}

/** A rule's answer: its own code, else its kind's first. */
export function ruleCode(rule: RiskRule): string {
  return rule.code ?? RISK_KINDS[rule.kind].codes[0];
}

/** A time window of a category, in minutes of the day. */
interface Window {
  readonly rule: RiskRule;
  readonly from: number;
  readonly to: number;
}

/**
 * The rules compiled once into look-ups by what a request carries (card token, TID, MID, MCC), so
 * screening a request is a few map reads; rebuilt whole when a rule changes (rules are few). Where
 * several rules would refuse, the first by id names itself.
 */
export class RiskRuleSet {
  private readonly cards = new Map<string, RiskRule>();
  private readonly terminals = new Map<string, RiskRule>();
  private readonly merchants = new Map<string, RiskRule>();
  private readonly singleByMid = new Map<string, RiskRule[]>();
  private readonly singleByMcc = new Map<string, RiskRule[]>();
  private readonly windows = new Map<string, Window[]>();
  private readonly restrictions = new Map<string, RiskRule[]>();
  private readonly dailyByMid = new Map<string, RiskRule[]>();
  readonly cardAmount: RiskRule[] = [];
  readonly cardCount: RiskRule[] = [];
  /** The strictest `pin-tries` rule, or the default. */
  readonly pinTries: RiskRule;

  constructor(rules: Iterable<RiskRule>) {
    let pinTries: RiskRule | undefined;
    for (const rule of [...rules].sort((a, b) => (a.id < b.id ? -1 : 1))) {
      switch (rule.kind) {
        case 'card-blacklist':
          for (const token of rule.values!) if (!this.cards.has(token)) this.cards.set(token, rule);
          break;
        case 'terminal-blacklist':
          for (const tid of rule.values!) if (!this.terminals.has(tid)) this.terminals.set(tid, rule);
          break;
        case 'merchant-blacklist':
          for (const mid of rule.values!) if (!this.merchants.has(mid)) this.merchants.set(mid, rule);
          break;
        case 'merchant-single-limit':
          add(rule.mid !== undefined ? this.singleByMid : this.singleByMcc, rule.mid ?? rule.mcc!, rule);
          break;
        case 'merchant-daily-limit':
          add(this.dailyByMid, rule.mid!, rule);
          break;
        case 'mcc-window':
          add(this.windows, rule.mcc!, { rule, from: minuteOf(rule.from!), to: minuteOf(rule.to!) });
          break;
        case 'mcc-restriction':
          for (const mcc of rule.mccs!) add(this.restrictions, mcc, rule);
          break;
        case 'card-daily-amount':
          this.cardAmount.push(rule);
          break;
        case 'card-daily-count':
          this.cardCount.push(rule);
          break;
        case 'pin-tries':
          if (pinTries === undefined || rule.maxTries! < pinTries.maxTries!) pinTries = rule;
          break;
      }
    }
    this.pinTries = pinTries ?? DEFAULT_PIN_TRIES;
  }

  /** The blacklist rule of the card (by PAN token), the terminal or the merchant, in that order. */
  blacklisted(panHash: string, tid: string, mid: string): RiskRule | undefined {
    return (panHash === '' ? undefined : this.cards.get(panHash)) ?? this.terminals.get(tid) ?? this.merchants.get(mid);
  }

  /** The single-spend limit `amount` passes at the merchant, by its MID first, then its category. */
  singleLimit(mid: string, mcc: string, amount: number): RiskRule | undefined {
    return above(this.singleByMid.get(mid), amount) ?? above(this.singleByMcc.get(mcc), amount);
  }

  /** The category's window that `minute` (of the local day) falls outside of. */
  outsideWindow(mcc: string, minute: number): RiskRule | undefined {
    const windows = this.windows.get(mcc);
    if (windows === undefined) return undefined;
    for (const w of windows) {
      const inside = w.from < w.to ? minute >= w.from && minute < w.to : minute >= w.from || minute < w.to;
      if (!inside) return w.rule;
    }
    return undefined;
  }

  /** The restriction of the category that the card (its number, domestic or not) meets. */
  restricted(mcc: string, pan: string, domestic: boolean): RiskRule | undefined {
    const rules = this.restrictions.get(mcc);
    if (rules === undefined) return undefined;
    for (const rule of rules) {
      if (rule.bin !== undefined ? pan.startsWith(rule.bin) : (rule.cardType === 'domestic') === domestic) return rule;
    }
    return undefined;
  }

  /** The merchant's daily limits. */
  daily(mid: string): readonly RiskRule[] | undefined {
    return this.dailyByMid.get(mid);
  }
}

function add<T>(map: Map<string, T[]>, key: string, item: T): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [item]);
  else list.push(item);
}

function above(rules: readonly RiskRule[] | undefined, amount: number): RiskRule | undefined {
  if (rules === undefined) return undefined;
  for (const rule of rules) if (amount > rule.maxAmount!) return rule;
  return undefined;
}

/** `HH:MM` as minutes of the day. */
function minuteOf(time: string): number {
  return Number(time.slice(0, 2)) * 60 + Number(time.slice(3, 5));
}
