import type { Logger } from 'pino';
import type { HostGateway, LinkFailure } from '../channels/index.js';
import { HostMessage } from '../codec/index.js';
import type { SecurityModule } from '../security/index.js';
import type { ReversalAdvice, StateStore } from '../store/index.js';
import { HF, RC } from '../txn/index.js';
import { STAND_IN_KEY } from './forward.js';

/** Tickets of advices sent: far above any request's (generation × 2^20 + id). */
export const ADVICE_TICKETS = 2 ** 52;
/** How often the queue is looked at: an owed advice goes out within this once its link is up. */
const SWEEP_MS = 1000;
const ADVICE_TIMEOUT_MS = 10_000;
/** Advices sent per sweep at most: a long queue after an outage drains without flooding the host. */
const PER_SWEEP = 64;

/**
 * Store and forward of advices: 0420 reversal advices and the 0220 advices of stand-in approvals.
 * The queue is LMDB's `advices` table, written only by journal entries (a host leg's request entry
 * puts one, its outcome settles it or marks it due; a stand-in approval puts its 0220), so it
 * survives any crash. One sender per process sends what is owed (due, or left by a run that ended
 * before its leg did) through its own links, and resends at every sweep until a `00` comes back;
 * then an entry settles it. An advice answered `00` is never sent again, even before LMDB has
 * applied the entry that settles it. A reversal of a stand-in approval waits until the host has
 * taken the approval's 0220, so the host never hears of the reversal first.
 */
export class AdviceSender {
  private readonly sending = new Map<number, string>();
  private readonly inFlight = new Set<string>();
  private readonly delivered = new Set<string>();
  private nextTicket = ADVICE_TICKETS;
  private readonly startedAt = Date.now();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly state: StateStore,
    private readonly hosts: HostGateway,
    private readonly hsm: SecurityModule,
    private readonly acquirerId: string,
    /** Journals that the advice under `key` was delivered. */
    private readonly settle: (key: string, advice: ReversalAdvice) => void,
    private readonly log: Logger,
  ) {
    this.timer = setInterval(() => this.sweep(), SWEEP_MS);
  }

  private sweep(): void {
    this.state.refresh();
    let sent = 0;
    let complete = true;
    const queued = new Set<string>();
    for (const { key, value } of this.state.advices.getRange()) {
      queued.add(key);
      // A leg of this run that has not ended yet owes nothing so far.
      if (!value.due && value.at >= this.startedAt) continue;
      if (this.inFlight.has(key) || this.delivered.has(key) || !this.hosts.isUp(value.link)) continue;
      if (value.sealedPan === undefined && this.awaitsStandIn(key)) continue;
      if (sent >= PER_SWEEP) {
        complete = false;
        break;
      }
      const ticket = this.nextTicket++;
      let refused: LinkFailure | null;
      try {
        const message = value.sealedPan === undefined ? reversalAdvice(value, this.acquirerId) : standInAdvice(value, this.hsm);
        refused = this.hosts.send(value.link, message, ticket, ADVICE_TIMEOUT_MS);
      } catch (err) {
        // A record that cannot be said as a 0420 must not stop the others (nor the worker).
        this.log.error({ advice: key, err }, 'advice cannot be sent; left in the queue');
        continue;
      }
      if (refused !== null) continue;
      this.sending.set(ticket, key);
      this.inFlight.add(key);
      sent++;
    }
    // Delivered advices are remembered until LMDB has applied the entry that settled them.
    if (complete) for (const key of this.delivered) if (!queued.has(key)) this.delivered.delete(key);
  }

  /** The stand-in approval this leg's reversal is about is still to be told to its host. */
  private awaitsStandIn(key: string): boolean {
    const standIn = key + STAND_IN_KEY;
    return !this.delivered.has(standIn) && this.state.advices.get(standIn) !== undefined;
  }

  /** A host's answer to an advice (0430 or 0230), or why there is none: `00` settles it, anything else waits for the next sweep. */
  answer(ticket: number, answer: HostMessage | null, failure: LinkFailure | null): void {
    const key = this.sending.get(ticket);
    if (key === undefined) return;
    this.sending.delete(ticket);
    this.inFlight.delete(key);
    const code = answer?.text(HF.RESPONSE_CODE);
    if (code !== RC.APPROVED) {
      this.log.warn({ advice: key, code, failure }, 'advice not taken; it is sent again');
      return;
    }
    const advice = this.state.advices.get(key);
    this.delivered.add(key);
    if (advice !== undefined) this.settle(key, advice);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** The 0420 for an advice: F90 names the original as the host saw it (MTI, STAN, F7, acquirer, forwarding). */
function reversalAdvice(a: ReversalAdvice, acquirerId: string): HostMessage {
  const m = new HostMessage('0420');
  m.set(HF.PROCESSING_CODE, a.processingCode);
  m.set(HF.AMOUNT, String(a.amount).padStart(12, '0'));
  m.set(HF.RRN, a.rrn);
  m.set(HF.RESPONSE_CODE, RC.NO_ISSUER_RESPONSE);
  m.set(HF.TERMINAL_ID, a.tid);
  m.set(HF.MERCHANT_ID, a.mid);
  m.set(HF.CURRENCY, a.currency);
  m.set(HF.ORIGINAL_DATA, a.mti + a.stan + a.time + acquirerId.padStart(11, '0') + '0'.repeat(11));
  return m;
}

/**
 * The 0220 of a stand-in approval: what the switch approved for the issuer (F39 `00`, F38 the code
 * it gave), under the STAN and F7 its journal entry reserved, so a later reversal's F90 names it.
 */
function standInAdvice(a: ReversalAdvice, hsm: SecurityModule): HostMessage {
  const m = new HostMessage('0220');
  m.set(HF.STAN, a.stan).set(HF.TRANSMISSION_TIME, a.time);
  m.set(HF.PAN, hsm.openPan(a.sealedPan!));
  m.set(HF.PROCESSING_CODE, a.processingCode);
  m.set(HF.AMOUNT, String(a.amount).padStart(12, '0'));
  m.set(HF.RRN, a.rrn);
  m.set(HF.AUTH_CODE, a.authCode ?? '');
  m.set(HF.RESPONSE_CODE, RC.APPROVED);
  m.set(HF.TERMINAL_ID, a.tid);
  m.set(HF.MERCHANT_ID, a.mid);
  m.set(HF.CURRENCY, a.currency);
  return m;
}
