import { open, type Database, type RootDatabase } from 'lmdb';
import type { PaymentAnswer, PaymentType } from './payments.js';

/** How long an Idempotency-Key is remembered. */
export const IDEMPOTENCY_RETENTION_MS = 24 * 3_600_000;
/** Records removed per sweep at most, so that a sweep never holds the thread long. */
const SWEEP_BATCH = 10_000;
/** Approved answers found by RRN: enough to bridge the moment before the switch's state holds a sale. */
const RECENT_RRNS = 65_536;
const MAP_BYTES = 16 * 1024 ** 3;

/**
 * What the channel keeps of a request sent under an Idempotency-Key: the hash of its body, the
 * STAN and batch it went out with, and once it came, its answer. A record without an answer is a
 * request whose outcome the channel never heard (a timeout, a crash): sent again under the same
 * STAN, the switch answers it as a retransmission (the first answer, byte for byte) or, if it never
 * arrived, processes it once.
 */
export interface IdempotentRequest {
  bodyHash: string;
  type: PaymentType;
  /** Epoch ms it was first sent. */
  at: number;
  stan: string;
  batch: string;
  answer?: PaymentAnswer;
}

/**
 * Idempotency-Keys of the HTTP channel, kept for 24 hours in an LMDB environment of its own
 * (`<data>/http-channel`): the record of a request is committed before the request is sent, so a
 * restart of the switch (a crash included) forgets no key whose request may have reached the
 * journal. Written without fsync: committed pages survive the process, not the machine (a power
 * loss may forget the newest keys). The newest approved answers are also found by RRN, in memory:
 * a void may name a sale by RRN before the switch's state holds it.
 */
export class IdempotencyStore {
  private readonly root: RootDatabase;
  /** `client|key` → the request. */
  private readonly requests: Database<IdempotentRequest, string>;
  /** `[at, client|key]`: the order records expire in. */
  private readonly expiry: Database<true, [number, string]>;
  /** `client|rrn` → the newest approved requests, oldest first. */
  private readonly recentRrns = new Map<string, IdempotentRequest>();

  constructor(dir: string) {
    this.root = open({ path: dir, maxDbs: 2, compression: false, noSync: true, mapSize: MAP_BYTES });
    this.requests = this.root.openDB({ name: 'requests' });
    this.expiry = this.root.openDB({ name: 'expiry' });
  }

  get(client: string, key: string): IdempotentRequest | undefined {
    return this.requests.get(storeKey(client, key));
  }

  /** The request of `client` whose approved answer has `rrn`, among the newest. */
  recentByRrn(client: string, rrn: string): IdempotentRequest | undefined {
    return this.recentRrns.get(storeKey(client, rrn));
  }

  /** Records a request about to be sent; resolves once committed (only then may it be sent). */
  async sending(client: string, key: string, request: IdempotentRequest): Promise<void> {
    const id = storeKey(client, key);
    void this.expiry.put([request.at, id], true);
    await this.requests.put(id, request);
  }

  /** Adds the answer to a sent request's record. */
  answered(client: string, key: string, request: IdempotentRequest, answer: PaymentAnswer): void {
    const answered = { ...request, answer };
    void this.requests.put(storeKey(client, key), answered);
    if (!answer.approved || answer.rrn === '') return;
    this.recentRrns.set(storeKey(client, answer.rrn), answered);
    if (this.recentRrns.size > RECENT_RRNS) this.recentRrns.delete(this.recentRrns.keys().next().value!);
  }

  /** Forgets up to SWEEP_BATCH records older than the retention; returns how many. */
  sweep(now: number): number {
    let removed = 0;
    for (const { key } of this.expiry.getRange({ end: [now - IDEMPOTENCY_RETENTION_MS], limit: SWEEP_BATCH })) {
      void this.requests.remove(key[1]);
      void this.expiry.remove(key);
      removed++;
    }
    return removed;
  }

  close(): Promise<void> {
    return this.root.close();
  }
}

/** Client ids have no `|`: the first one ends the client's part. */
function storeKey(client: string, key: string): string {
  return `${client}|${key}`;
}
