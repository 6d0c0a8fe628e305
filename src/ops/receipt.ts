import Database from 'better-sqlite3';
import { join } from 'node:path';
import { journalDates, journalDir, type StateStore } from '../store/index.js';

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

interface Row {
  type: string;
  mid: string;
  tid: string;
  batch: string;
  stan: string;
  rrn: string;
  auth_code: string;
  pan_masked: string;
  amount: number;
  response_code: string;
  at_ms: number;
}

/** Finds the transaction with this RRN in the journals (newest day first) and what its receipt needs. */
export function findReceipt(dataDir: string, state: StateStore, rrn: string, acquirer: string): ReceiptData | undefined {
  for (const date of journalDates(dataDir).reverse()) {
    const db = new Database(join(journalDir(dataDir), `${date}.sqlite`), { readonly: true, fileMustExist: true });
    let row: Row | undefined;
    try {
      row = db.prepare("SELECT * FROM entries WHERE rrn = ? AND route != 'replay' ORDER BY seq LIMIT 1").get(rrn) as Row | undefined;
    } finally {
      db.close();
    }
    if (row === undefined) continue;
    const bin = state.binFor(row.pan_masked.slice(0, 6).padEnd(19, '0'));
    const record = state.txnByRrn(rrn);
    return {
      merchantName: state.merchants.get(row.mid)?.name ?? '',
      mid: row.mid,
      tid: row.tid,
      panMasked: row.pan_masked,
      organisation: bin?.organisation ?? '',
      issuer: bin?.issuer ?? '',
      acquirer,
      type: row.type,
      batch: row.batch,
      stan: row.stan,
      authCode: row.auth_code,
      rrn: row.rrn,
      at: row.at_ms,
      amount: row.amount,
      responseCode: row.response_code,
      status: record?.status ?? (row.response_code === '00' ? 'approved' : 'declined'),
    };
  }
  return undefined;
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
