import { randomBytes } from 'node:crypto';
import type { SecurityModule } from '../security/index.js';
import { luhnCheckDigit } from '../txn/index.js';
import type { StateStore } from './state.js';

/** The demo set-up of DESIGN.md section 4. */
export const DEMO = {
  mid: '898100012340001',
  merchantName: 'DEMO STORE',
  firstTid: 10000001,
  terminals: 1000,
  tmk: '404142434445464748494A4B4C4D4E4F',
  batch: '000001',
  onUsBin: '622588',
  offUsBin: '621700',
  cards: 100_000,
  expiry: '3012',
  pin: '123456',
  /** 1,000,000.00 CNY in fen. */
  openingBalance: 100_000_000,
} as const;

export function demoPan(n: number): string {
  const body = DEMO.onUsBin + String(n).padStart(9, '0');
  return body + String(luhnCheckDigit(body));
}

export function demoTid(n: number): string {
  return String(DEMO.firstTid + n);
}

/**
 * A card account number: random, so nothing derived from the PAN reaches the journal's postings.
 * The card record maps PAN → account.
 */
export function newCardAccountId(): string {
  return `card:${randomBytes(8).toString('hex')}`;
}

export function merchantAccountId(mid: string): string {
  return `merchant:${mid}`;
}

/** Creates the demo merchant, terminals, BINs, cards and accounts; does nothing if the merchant exists. */
export async function seedDemo(state: StateStore, hsm: SecurityModule): Promise<boolean> {
  if (state.merchants.get(DEMO.mid)) return false;
  const tmk = hsm.importKey(Buffer.from(DEMO.tmk, 'hex'));
  const merchantAccount = merchantAccountId(DEMO.mid);
  await state.root.transaction(() => {
    state.bins.put(DEMO.onUsBin, { prefix: DEMO.onUsBin, issuer: 'POSP BANK', organisation: 'CUP', onUs: true, domestic: true });
    state.bins.put(DEMO.offUsBin, { prefix: DEMO.offUsBin, issuer: 'HOST BANK', organisation: 'CUP', onUs: false, domestic: true });
    state.accounts.put(merchantAccount, { id: merchantAccount, kind: 'merchant', balance: 0, held: 0, currency: '156' });
    state.merchants.put(DEMO.mid, { mid: DEMO.mid, name: DEMO.merchantName, status: 'active', mcc: '5411', account: merchantAccount });
    for (let i = 0; i < DEMO.terminals; i++) {
      const tid = demoTid(i);
      state.terminals.put(tid, { tid, mid: DEMO.mid, status: 'active', tmk, macAlgorithm: 'cup-ecb', batch: DEMO.batch, signedIn: false });
    }
  });
  const CHUNK = 10_000;
  for (let start = 1; start <= DEMO.cards; start += CHUNK) {
    await state.root.transaction(() => {
      for (let n = start; n < start + CHUNK && n <= DEMO.cards; n++) {
        const pan = demoPan(n);
        const account = newCardAccountId();
        state.accounts.put(account, { id: account, kind: 'card', balance: DEMO.openingBalance, held: 0, currency: '156' });
        state.cards.put(pan, { pan, expiry: DEMO.expiry, status: 'active', account, pinVerifier: hsm.makePinVerifier(pan, DEMO.pin) });
      }
    });
  }
  state.loadBinLengths();
  return true;
}
