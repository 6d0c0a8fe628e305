import type { Account, Posting } from '../store/index.js';
import type { StateStore } from '../store/index.js';

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
   * Posts the legs if every leg's account exists, the legs balance to zero, and no card account
   * would go below zero; otherwise posts nothing. Returns `00`, `51` (insufficient funds) or
   * `96` (a malformed posting, which is the switch's own fault).
   */
  post(legs: readonly Posting[]): '00' | '51' | '96' {
    let sum = 0;
    for (const leg of legs) {
      const account = this.account(leg.account);
      if (account === undefined || !Number.isSafeInteger(leg.amount)) return '96';
      sum += leg.amount;
      if (account.kind === 'card' && account.balance - account.held + this.netFor(legs, leg.account) < 0) return '51';
    }
    if (sum !== 0) return '96';
    for (const leg of legs) this.accounts.get(leg.account)!.balance += leg.amount;
    return '00';
  }

  private netFor(legs: readonly Posting[], id: string): number {
    let net = 0;
    for (const leg of legs) if (leg.account === id) net += leg.amount;
    return net;
  }
}
