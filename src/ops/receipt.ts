import { entryByRrn, type StateStore } from '../store/index.js';

/** What a POS receipt shows (CUP receipt layout), gathered from the journal and the state store. */
export interface ReceiptData {
  merchantName: string;
  mid: string;
  tid: string;
  panMasked: string;
  organisation: string;
  issuer: string;
  acquirer: string;
  type: string;
  batch: string;
  stan: string;
  authCode: string;
  rrn: string;
  /** Epoch ms of the request. */
  at: number;
  amount: number;
  responseCode: string;
  status: string;
}

/** Finds the transaction with this RRN in the journals (newest day first) and what its receipt needs. */
export function findReceipt(dataDir: string, state: StateStore, rrn: string, acquirer: string): ReceiptData | undefined {
  const entry = entryByRrn(dataDir, rrn);
  if (entry === undefined) return undefined;
  const bin = state.binFor(entry.panMasked.slice(0, 6).padEnd(19, '0'));
  return {
    merchantName: state.merchants.get(entry.mid)?.name ?? '',
    mid: entry.mid,
    tid: entry.tid,
    panMasked: entry.panMasked,
    organisation: bin?.organisation ?? '',
    issuer: bin?.issuer ?? '',
    acquirer,
    type: entry.type,
    batch: entry.batch,
    stan: entry.stan,
    authCode: entry.authCode,
    rrn: entry.rrn,
    at: entry.at,
    amount: entry.amount,
    responseCode: entry.responseCode,
    status: state.txnByRrn(rrn)?.status ?? (entry.responseCode === '00' ? 'approved' : 'declined'),
  };
}

const TYPE_LABELS: Record<string, string> = {
  sale: 'SALE',
  'sale-void': 'VOID',
  refund: 'REFUND',
  'pre-auth': 'PRE-AUTH',
  'pre-auth-void': 'PRE-AUTH VOID',
  'pre-auth-completion': 'AUTH COMPLETE',
  'pre-auth-completion-notice': 'AUTH SETTLEMENT',
  'completion-void': 'COMPLETE VOID',
  transfer: 'TRANSFER',
  'bill-payment': 'BILL PAYMENT',
  'balance-inquiry': 'BALANCE INQUIRY',
};

function lines(r: ReceiptData): [string, string][] {
  const d = new Date(r.at);
  const two = (n: number) => String(n).padStart(2, '0');
  const when = `${d.getFullYear()}/${two(d.getMonth() + 1)}/${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  return [
    ['MERCHANT NAME', r.merchantName],
    ['MERCHANT NO', r.mid],
    ['TERMINAL NO', r.tid],
    ['CARD NO', `${r.panMasked} ${r.organisation}`.trim()],
    ['ISSUER', r.issuer],
    ['ACQUIRER', r.acquirer],
    ['TXN TYPE', TYPE_LABELS[r.type] ?? r.type.toUpperCase()],
    ['BATCH NO', r.batch],
    ['VOUCHER NO', r.stan],
    ['AUTH NO', r.authCode],
    ['REF NO', r.rrn],
    ['DATE/TIME', when],
    ['AMOUNT', `CNY ${(r.amount / 100).toFixed(2)}`],
    ['RESULT', r.responseCode === '00' ? `APPROVED${r.status !== 'approved' ? ` (${r.status.toUpperCase()} SINCE)` : ''}` : `DECLINED ${r.responseCode}`],
  ];
}

/** The receipt as the terminal prints it, marked as a reprint. */
export function receiptText(r: ReceiptData): string {
  const body = lines(r).map(([k, v]) => `${(k + ':').padEnd(15)}${v}`);
  return ['POS SALES SLIP (REPRINT)', '-'.repeat(40), ...body, '-'.repeat(40), 'CARDHOLDER SIGNATURE', '', 'I ACKNOWLEDGE SATISFACTORY RECEIPT', 'OF RELATIVE GOODS/SERVICES'].join('\n');
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The receipt as an HTML fragment for the console. */
export function receiptHtml(r: ReceiptData): string {
  const rows = lines(r).map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('');
  return `<section class="receipt"><h1>POS SALES SLIP (REPRINT)</h1><table>${rows}</table><p class="signature">CARDHOLDER SIGNATURE</p></section>`;
}
