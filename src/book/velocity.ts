import Database from 'better-sqlite3';
import { ENTRY_SCHEMA, type JournalEntry, type StateStore } from '../store/index.js';
import { RC, RiskRuleSet, SCREENING, ruleCode, type RiskRule } from '../txn/index.js';

/** One card's business day as the book counts it. */
interface CardDay {
  /** Approved spends, fen, and how many. */
  amount: number;
  count: number;
  wrongPins: number;
}

/**
 * The risk rules that need every worker's traffic, decided where every worker's requests meet: a
 * merchant's day (`merchant-daily-limit`), a card's day (`card-daily-amount`, `card-daily-count`)
 * and its wrong PINs (`pin-tries`). The counters of the business day are kept here, keyed by PAN
 * token and MID. They are derived from the day's journal, so a restart loses none: `count` counts
 * each entry as the book enters it, and at start `DAY_SO_FAR` sums the same over the day's file.
 * They start over at the cut-over.
 *
 * Counted: approved spends (not replays, not host legs) and wrong PINs (`55`). A void or reversal
 * gives nothing back: the card's day saw the approval. A host leg is screened before it goes out
 * and counted when the host's approval comes, so two legs of one card in flight together are both
 * screened against what was approved before them.
 */
export class DayRisk {
  private readonly known = new Map<string, RiskRule>();
  private rules = new RiskRuleSet([]);
  private readonly cards = new Map<string, CardDay>();
  private readonly merchants = new Map<string, number>();

  /** The stored rules, and today's counters read back from the day's journal at `journalPath`. */
  load(state: StateStore, journalPath: string): void {
    for (const { key, value } of state.riskRules.getRange()) this.known.set(key, value);
    this.rules = new RiskRuleSet(this.known.values());
    const db = new Database(journalPath, { readonly: true, fileMustExist: true });
    try {
      for (const [panHash, mid, amount, count, wrongPins] of db.prepare(DAY_SO_FAR).raw().iterate() as IterableIterator<[string, string, number, number, number]>) {
        const card = this.cardDay(panHash);
        card.amount += amount;
        card.count += count;
        card.wrongPins += wrongPins;
        if (count > 0) this.merchants.set(mid, (this.merchants.get(mid) ?? 0) + amount);
      }
    } finally {
      db.close();
    }
  }

  /** A rule set or removed through the book's control channel: in force for the next proposal. */
  ruleChanged(id: string, rule: RiskRule | null): void {
    if (rule === null) this.known.delete(id);
    else this.known.set(id, rule);
    this.rules = new RiskRuleSet(this.known.values());
  }

  /** A new business day: every counter starts over. */
  newDay(): void {
    this.cards.clear();
    this.merchants.clear();
  }

  /**
   * The code a screened proposal ends with: `code` as the worker decided it, or a rule's refusal,
   * named in `entry.riskRule`. Only an approval, a host leg about to go out (`''`) and a wrong PIN
   * (which past the tries becomes `75`) can be refused.
   */
  screen(entry: JournalEntry, code: string): string {
    if (code !== RC.APPROVED && code !== '' && code !== RC.WRONG_PIN) return code;
    const card = this.cards.get(entry.panHash);
    const pinTries = this.rules.pinTries;
    if (card !== undefined && card.wrongPins >= pinTries.maxTries!) return refuse(entry, pinTries);
    // Only spends carry an amount among screened types: the limits are theirs.
    if (code === RC.WRONG_PIN || entry.amount <= 0) return code;
    const amount = entry.amount;
    for (const rule of this.rules.daily(entry.mid) ?? NO_RULES) {
      if ((this.merchants.get(entry.mid) ?? 0) + amount > rule.maxAmount!) return refuse(entry, rule);
    }
    for (const rule of this.rules.cardAmount) {
      if (applies(rule, entry) && (card?.amount ?? 0) + amount > rule.maxAmount!) return refuse(entry, rule);
    }
    for (const rule of this.rules.cardCount) {
      if (applies(rule, entry) && (card?.count ?? 0) >= rule.maxCount!) return refuse(entry, rule);
    }
    return code;
  }

  /** Counts an entry with the code it was decided with (`DAY_SO_FAR` says the same of a day's journal). */
  count(entry: JournalEntry, code: string): void {
    if (entry.panHash === '' || entry.route === REPLAY) return;
    if (code === RC.WRONG_PIN) {
      this.cardDay(entry.panHash).wrongPins++;
    } else if (code === RC.APPROVED && SCREENING[entry.type]?.spend === true) {
      const card = this.cardDay(entry.panHash);
      card.amount += entry.amount;
      card.count++;
      this.merchants.set(entry.mid, (this.merchants.get(entry.mid) ?? 0) + entry.amount);
    }
  }

  private cardDay(panHash: string): CardDay {
    let card = this.cards.get(panHash);
    if (card === undefined) {
      card = { amount: 0, count: 0, wrongPins: 0 };
      this.cards.set(panHash, card);
    }
    return card;
  }
}

const NO_RULES: readonly RiskRule[] = [];

function refuse(entry: JournalEntry, rule: RiskRule): string {
  entry.riskRule = rule.id;
  return ruleCode(rule);
}

/** A card rule without a BIN applies to every card; with one, to cards whose number starts with it (the masked number keeps six digits). */
function applies(rule: RiskRule, entry: JournalEntry): boolean {
  return rule.bin === undefined || entry.panMasked.startsWith(rule.bin);
}

const REPLAY = 'replay';

function columnOf(name: keyof JournalEntry): string {
  return ENTRY_SCHEMA.fields.find((f) => f.name === name)!.column;
}

/**
 * What `count` counts, summed by SQLite over a day's journal per card and merchant (a day's
 * entries are millions; the cards and merchants among them far fewer): approved spends, their
 * amount, and wrong PINs, of entries with a card that are not replays.
 */
const DAY_SO_FAR = (() => {
  const [panHash, mid, amount, code, type, route] = (['panHash', 'mid', 'amount', 'responseCode', 'type', 'route'] as const).map(columnOf);
  const spendTypes = Object.keys(SCREENING).filter((t) => SCREENING[t]!.spend).map((t) => `'${t}'`).join(', ');
  const spend = `${code} = '${RC.APPROVED}' AND ${type} IN (${spendTypes})`;
  return `SELECT ${panHash}, ${mid}, SUM(CASE WHEN ${spend} THEN ${amount} ELSE 0 END), SUM(${spend}), SUM(${code} = '${RC.WRONG_PIN}')
    FROM entries WHERE ${panHash} != '' AND ${route} != '${REPLAY}' AND ${code} IN ('${RC.APPROVED}', '${RC.WRONG_PIN}') GROUP BY ${panHash}, ${mid}`;
})();
