import { closeSync, fdatasyncSync, fstatSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const SETTLEMENT_COLUMNS = [
  'date', 'time', 'mti', 'processing_code', 'stan', 'rrn', 'tid', 'mid', 'acquirer', 'pan_masked',
  'amount', 'currency', 'auth_code', 'response_code', 'reverses_stan', 'reverses_rrn',
] as const;

const HEADER = SETTLEMENT_COLUMNS.join(',') + '\n';

export function settlementFileName(day: string): string {
  return `settlement-${day}.csv`;
}

/** One settlement line; absent values are ''. */
export interface SettlementRecord {
  /** Business day YYYYMMDD (the host's local date) and local time hhmmss. */
  date: string;
  time: string;
  mti: string;
  processingCode: string;
  stan: string;
  rrn: string;
  tid: string;
  mid: string;
  acquirer: string;
  panMasked: string;
  amount: string;
  currency: string;
  authCode: string;
  responseCode: string;
  reversesStan: string;
  reversesRrn: string;
}

/** TID and MID are `ans`: the only columns that can hold a comma or a quote. */
function csv(text: string): string {
  return /[",\r\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
}

/**
 * The host's settlement files, one per business day, appended in groups: the lines of a burst of
 * requests are written and fdatasync'd once (commit), and their answers leave only after that, so
 * after a kill -9 the file holds every approval and reversal that was answered.
 */
export class SettlementFile {
  readonly #dir: string;
  #day = '';
  #fd = -1;
  #pending = '';

  constructor(dir: string) {
    this.#dir = dir;
  }

  /** Queues a line for the next commit; a new business day commits the old file's lines first. */
  append(r: SettlementRecord): void {
    if (r.date !== this.#day) this.#open(r.date);
    this.#pending +=
      r.date + ',' + r.time + ',' + r.mti + ',' + r.processingCode + ',' + r.stan + ',' + r.rrn + ',' + csv(r.tid) + ',' +
      csv(r.mid) + ',' + r.acquirer + ',' + r.panMasked + ',' + r.amount + ',' + r.currency + ',' + r.authCode + ',' +
      r.responseCode + ',' + r.reversesStan + ',' + r.reversesRrn + '\n';
  }

  /** Makes every queued line durable. */
  commit(): void {
    if (this.#pending === '') return;
    writeSync(this.#fd, this.#pending);
    fdatasyncSync(this.#fd);
    this.#pending = '';
  }

  close(): void {
    this.commit();
    if (this.#fd >= 0) closeSync(this.#fd);
    this.#fd = -1;
    this.#day = '';
  }

  #open(day: string): void {
    this.close();
    mkdirSync(this.#dir, { recursive: true });
    const fd = openSync(join(this.#dir, settlementFileName(day)), 'a');
    if (fstatSync(fd).size === 0) {
      this.#pending = HEADER;
      // A new file's directory entry must survive too, or its committed lines go with it.
      const dirFd = openSync(this.#dir, 'r');
      try {
        fsyncSync(dirFd);
      } finally {
        closeSync(dirFd);
      }
    }
    this.#fd = fd;
    this.#day = day;
  }
}
