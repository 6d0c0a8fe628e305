import { randomUUID } from 'node:crypto';
import type { SecurityModule } from '../security/index.js';
import { luhnCheckDigit } from '../txn/index.js';
import type { ParameterSet } from './records.js';
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

/** The demo's n-th off-us card (BIN 621700, routed to the host link `sim`). */
export function demoOffUsPan(n: number): string {
  const body = DEMO.offUsBin + String(n).padStart(9, '0');
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
  return `card:${randomUUID().replace(/-/g, '')}`;
}

export function merchantAccountId(mid: string): string {
  return `merchant:${mid}`;
}

/** Billers of the demo set-up: telephone, water, electricity, gas (PROTOCOL.md section 3). */
const DEMO_BILLERS: readonly [string, string][] = [
  ['TEL1', 'TELEPHONE'],
  ['WATR', 'WATER'],
  ['ELEC', 'ELECTRICITY'],
  ['GAS1', 'GAS'],
];

/** A BER-TLV item: tag bytes, one length byte, value (values here are under 128 bytes). */
function tlv(...parts: [string, string][]): Buffer {
  return Buffer.concat(parts.map(([tag, value]) => {
    const v = Buffer.from(value, 'hex');
    return Buffer.concat([Buffer.from(tag, 'hex'), Buffer.from([v.length]), v]);
  }));
}

/** Version 1 of each parameter set: magstripe parameters, two IC CA public keys (test keys), two UnionPay AIDs. */
export function demoParameters(): ParameterSet[] {
  const modulus = (seed: number) => Buffer.alloc(112, seed).toString('hex');
  return [
    { kind: 'magstripe', version: 1, items: [tlv(['DF01', '3132']), tlv(['DF02', '3030303130303030']), tlv(['DF03', '00000500'])] },
    {
      kind: 'ca-key',
      version: 1,
      items: [
        tlv(['9F06', 'A000000333'], ['9F22', '01'], ['DF05', '20301231'], ['DF02', modulus(0x11)], ['DF04', '03']),
        tlv(['9F06', 'A000000333'], ['9F22', '02'], ['DF05', '20301231'], ['DF02', modulus(0x22)], ['DF04', '03']),
      ],
    },
    {
      kind: 'aid',
      version: 1,
      items: [
        tlv(['9F06', 'A000000333010101'], ['DF01', '00'], ['9F09', '0020'], ['9F1B', '00000000']),
        tlv(['9F06', 'A000000333010102'], ['DF01', '00'], ['9F09', '0020'], ['9F1B', '00000000']),
      ],
    },
  ];
}

/** The demo's routing rule for its off-us BIN. */
export const DEMO_OFF_US_ROUTE = 'demo-off-us';

/**
 * Creates the demo merchant, terminals, BINs, cards and accounts; does nothing if the merchant
 * exists. `cards` below the demo's 100,000 seeds cards 1..cards only (tests that need a few).
 */
export async function seedDemo(state: StateStore, hsm: SecurityModule, cards: number = DEMO.cards): Promise<boolean> {
  if (state.merchants.get(DEMO.mid)) return false;
  const tmk = hsm.importKey(Buffer.from(DEMO.tmk, 'hex'));
  const merchantAccount = merchantAccountId(DEMO.mid);
  await state.root.transaction(() => {
    state.bins.put(DEMO.onUsBin, { prefix: DEMO.onUsBin, issuer: 'POSP BANK', organisation: 'CUP', onUs: true, domestic: true });
    state.bins.put(DEMO.offUsBin, { prefix: DEMO.offUsBin, issuer: 'HOST BANK', organisation: 'CUP', onUs: false, domestic: true });
    // Off-us demo cards go to the host link `sim` (`posp start --host-sim`); without it they answer 91.
    state.routes.put(DEMO_OFF_US_ROUTE, { id: DEMO_OFF_US_ROUTE, match: { binPrefix: DEMO.offUsBin }, to: { links: [{ link: 'sim', weight: 1 }] }, timeoutMs: 20_000, standIn: false });
    state.accounts.put(merchantAccount, { id: merchantAccount, kind: 'merchant', balance: 0, held: 0, currency: '156', opening: 0 });
    state.merchants.put(DEMO.mid, { mid: DEMO.mid, name: DEMO.merchantName, status: 'active', mcc: '5411', account: merchantAccount });
    for (const [code, name] of DEMO_BILLERS) {
      const account = `biller:${code}`;
      state.accounts.put(account, { id: account, kind: 'biller', balance: 0, held: 0, currency: '156', opening: 0 });
      state.billers.put(code, { code, name, account });
    }
    for (const set of demoParameters()) state.parameters.put(set.kind, set);
    for (let i = 0; i < DEMO.terminals; i++) {
      const tid = demoTid(i);
      state.terminals.put(tid, { tid, mid: DEMO.mid, status: 'active', tmk, macAlgorithm: 'cup-ecb', batch: DEMO.batch, signedIn: false });
    }
  });
  const CHUNK = 10_000;
  for (let start = 1; start <= cards; start += CHUNK) {
    await state.root.transaction(() => {
      for (let n = start; n < start + CHUNK && n <= cards; n++) {
        const pan = demoPan(n);
        const account = newCardAccountId();
        state.accounts.put(account, { id: account, kind: 'card', balance: DEMO.openingBalance, held: 0, currency: '156', opening: DEMO.openingBalance });
        state.cards.put(pan, { pan, expiry: DEMO.expiry, status: 'active', account, pinVerifier: hsm.makePinVerifier(pan, DEMO.pin) });
      }
    });
  }
  state.loadBinLengths();
  return true;
}
