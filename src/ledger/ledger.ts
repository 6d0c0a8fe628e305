import type { Account, Posting } from '../store/index.js';
import type { StateStore } from '../store/index.js';
import { RC } from '../txn/index.js';

/**
 * The in-house account system: double-entry postings on card and merchant accounts. It lives
 * in the book thread, the single writer of balances, so a check and its posting are atomic
 * without locks. Balances here run ahead of LMDB by the entries not yet applied there.
 */
export class Ledger {
  private readonly accounts = new Map<string, Account>();

  constructor(private readonly state: StateStore) {}

  account(id: string): Account | undefined {
    let account = this.accounts.get(id);
    if (account === undefined) {
      account = this.state.accounts.get(id);
      if (account !== undefined) {
        account = { ...account };
        this.accounts.set(id, account);
      }
    }
    return account;
  }

  /** Funds a card can spend now: balance less holds. */
  available(id: string): number | undefined {
    const account = this.account(id);
    return account === undefined ? undefined : account.balance - account.held;
  }

  /**
   * Posts the legs and moves the holds if every account exists, the legs balance to zero, no hold
   * goes below zero and no card account's available funds (balance less holds) would go below
   * zero; otherwise changes nothing. Returns `00`, `51` (insufficient funds) or `96` (a malformed
   * posting, which is the switch's own fault).
   */
  post(legs: readonly Posting[], holds: readonly Posting[] = NONE): typeof RC.APPROVED | typeof RC.INSUFFICIENT_FUNDS | typeof RC.SYSTEM_MALFUNCTION {
    let sum = 0;
    for (const leg of legs) {
      if (this.account(leg.account) === undefined || !Number.isSafeInteger(leg.amount)) return RC.SYSTEM_MALFUNCTION;
      sum += leg.amount;
    }
    if (sum !== 0) return RC.SYSTEM_MALFUNCTION;
    for (const hold of holds) {
      const account = this.account(hold.account);
      if (account === undefined || !Number.isSafeInteger(hold.amount)) return RC.SYSTEM_MALFUNCTION;
      if (account.held + net(holds, hold.account) < 0) return RC.SYSTEM_MALFUNCTION;
    }
    for (const leg of [...legs, ...holds]) {
      const account = this.accounts.get(leg.account)!;
      if (account.kind !== 'card') continue;
      const balance = net(legs, leg.account);
      const held = net(holds, leg.account);
      if ((balance < 0 || held > 0) && account.balance + balance - (account.held + held) < 0) return RC.INSUFFICIENT_FUNDS;
    }
    for (const leg of legs) this.accounts.get(leg.account)!.balance += leg.amount;
    for (const hold of holds) this.accounts.get(hold.account)!.held += hold.amount;
    return RC.APPROVED;
  }
}

const NONE: readonly Posting[] = [];

function net(legs: readonly Posting[], id: string): number {
  let total = 0;
  for (const leg of legs) if (leg.account === id) total += leg.amount;
  return total;
}
