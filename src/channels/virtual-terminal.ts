import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { decodeTerminalFrame, encodeTerminalFrame, type TerminalMessage } from '../codec/index.js';
import { parseKeyBlock, type KeyHandle, type MacAlgorithm, type SecurityModule } from '../security/index.js';
import type { StateStore } from '../store/index.js';
import { F, MAC_MTIS, RC, batchOf, requestKey } from '../txn/index.js';
import type { Acceptor, LocalClient, LocalConnection } from './acceptor.js';
import { TerminalRequests } from './terminal-requests.js';

/** Who waits for the answer to one request. */
export interface AnswerWaiter {
  /** The switch's response, its MAC (when it has one) verified. */
  answered(response: TerminalMessage): void;
  /** No answer that can be trusted: an HTTP status and the reason, for the client. */
  failed(status: number, reason: string): void;
}

export interface VirtualTerminalOptions {
  acceptor: Acceptor;
  hsm: SecurityModule;
  state: StateStore;
  log: Logger;
  /** The client it sends for, for the log and the local connection's name. */
  client: string;
  tid: string;
  mid: string;
  /** How long a request may wait for its answer before it fails (its outcome then unknown). */
  answerTimeoutMs: number;
  /** How long a sign-in may wait for LMDB to hold the keys it issued. */
  keyWaitMs: number;
}

/** Sign-in key mode: double-length keys, as terminals of this switch use. */
const KEY_MODE = '003';
const EMPTY_MAC = Buffer.alloc(8);
const KEY_POLL_MS = 5;
/** One request packed at a time on this thread: packing happens synchronously in `send`. */
const scratch = Buffer.allocUnsafe(4096);
const SIGNED_IN: Promise<void> = Promise.resolve();

interface Pending {
  message: TerminalMessage;
  waiter: AnswerWaiter;
  deadline: number;
  /** Sent again once after the switch had lost the terminal's keys or batch (A0, 77). */
  retried: boolean;
}

/** A sign-in's own waiter: the one request whose answer is awaited as a promise. */
class SignInAnswer implements AnswerWaiter {
  readonly promise: Promise<TerminalMessage>;
  answered!: (response: TerminalMessage) => void;
  private reject!: (err: Error) => void;

  constructor() {
    this.promise = new Promise((resolve, reject) => {
      this.answered = resolve;
      this.reject = reject;
    });
  }

  failed(_status: number, reason: string): void {
    this.reject(new Error(reason));
  }
}

/**
 * An HTTP client's virtual terminal: the HTTP channel acts as this terminal towards the switch, on
 * a local connection of the acceptor, so its requests take the terminals' path through the
 * pipeline. Like a terminal it signs in (0800, double-length keys), keeps its working keys, MACs
 * every request, checks every response MAC, and signs in again when the switch asks (header
 * requirement 3) or has lost its keys or batch (A0, 77: the request is then sent once more).
 * Unlike a terminal it never holds a key in clear: the MAK the sign-in issued is read back, wrapped,
 * from LMDB and used through the security module. It owns its pending requests, by STAN, each with
 * a deadline; when its connection goes, they all fail at once.
 */
export class VirtualTerminal implements LocalClient {
  readonly requests: TerminalRequests;
  private readonly options: VirtualTerminalOptions;
  private link: LocalConnection | undefined;
  private mak: KeyHandle | undefined;
  private macAlgorithm: MacAlgorithm = 'cup-ecb';
  /** The switch asked for a new sign-in, or lost this terminal's keys: sign in before the next request. */
  private keysDue = false;
  private signingIn: Promise<void> | undefined;
  /** Requests sent and not answered, by STAN, oldest first. */
  private readonly pending = new Map<string, Pending>();
  /** Requests held back while a sign-in runs. */
  private held = 0;
  /** Closed with the channel: nothing more is sent (a new local connection would outlive the switch). */
  private closed = false;

  constructor(options: VirtualTerminalOptions) {
    this.options = options;
    const terminal = options.state.terminals.get(options.tid);
    const batch = terminal?.batch ?? '000001';
    this.requests = new TerminalRequests(options.tid, options.mid, lastStan(options.state, options.mid, options.tid, batch));
    this.requests.batch = batch;
  }

  /** Requests in flight or held back for a sign-in. */
  get inFlight(): number {
    return this.pending.size + this.held;
  }

  /** Resolves once requests can be sent (signing in first when needed); rejects with why the terminal cannot sign in. */
  ready(): Promise<void> {
    if (this.mak !== undefined && !this.keysDue) return SIGNED_IN;
    return (this.signingIn ??= this.signIn().finally(() => (this.signingIn = undefined)));
  }

  /** MACs `message` under the current keys and sends it; `waiter` hears the answer. Held back while a sign-in runs. */
  send(message: TerminalMessage, waiter: AnswerWaiter, retried = false): void {
    if (this.signingIn !== undefined || this.mak === undefined || this.keysDue) {
      this.afterSignIn(message, waiter, retried);
      return;
    }
    this.transmit(message, waiter, retried);
  }

  /** Fails every request whose deadline has passed (its outcome unknown). */
  expire(now: number): void {
    for (const [stan, pending] of this.pending) {
      if (pending.deadline > now) return;
      this.pending.delete(stan);
      pending.waiter.failed(504, `no answer from the switch within ${this.options.answerTimeoutMs / 1000} s: the outcome is unknown`);
    }
  }

  close(): void {
    this.closed = true;
    this.link?.close();
  }

  onAnswer(frame: Buffer): void {
    let response: TerminalMessage;
    try {
      response = decodeTerminalFrame(frame, 0, frame.length, true);
    } catch (err) {
      // Nothing to match it with: its request fails at its deadline.
      this.options.log.error({ err, client: this.options.client, tid: this.options.tid }, 'an answer to the virtual terminal does not decode');
      return;
    }
    const stan = response.text(F.STAN) ?? '';
    const pending = this.pending.get(stan);
    // A late answer to a request that has already failed at its deadline.
    if (pending === undefined) return;
    this.pending.delete(stan);
    const mac = response.binary(F.MAC);
    if (mac !== undefined && (this.mak === undefined || !this.options.hsm.verifyMac(this.mak, this.macAlgorithm, frame, response.mabStart, response.mabEnd, mac, 0))) {
      this.keysDue = true;
      pending.waiter.failed(502, "the switch's answer failed its MAC check: the outcome is unknown");
      return;
    }
    if (response.header[5] === '3') this.keysDue = true;
    const code = response.text(F.RESPONSE_CODE);
    // The switch holds other keys or another batch for this terminal than it sent with (someone signed
    // it in, a settlement moved it): like a terminal, sign in again and send the request once more.
    // Both refusals come before the request key is recorded, so the same STAN is safe.
    if ((code === RC.MAC_ERROR || code === RC.BATCH_MISMATCH) && !pending.retried && MAC_MTIS.has(pending.message.mti)) {
      this.keysDue = true;
      this.send(pending.message, pending.waiter, true);
      return;
    }
    pending.waiter.answered(response);
  }

  onClose(): void {
    this.link = undefined;
    const lost = [...this.pending.values()];
    this.pending.clear();
    for (const pending of lost) pending.waiter.failed(503, "the switch closed the channel's connection: the outcome is unknown");
  }

  private transmit(message: TerminalMessage, waiter: AnswerWaiter, retried: boolean): void {
    if (this.closed) return waiter.failed(503, 'the switch is stopping');
    const mac = MAC_MTIS.has(message.mti);
    if (mac) message.set(F.MAC, EMPTY_MAC);
    const end = encodeTerminalFrame(message, scratch, 0, false);
    if (mac) this.options.hsm.generateMac(this.mak!, this.macAlgorithm, scratch, message.mabStart, message.mabEnd, scratch, end - 8);
    const stan = message.text(F.STAN)!;
    // A STAN sent again (an unanswered request retried) goes to the back: the map stays in deadline order.
    this.pending.delete(stan);
    this.pending.set(stan, { message, waiter, deadline: Date.now() + this.options.answerTimeoutMs, retried });
    if (!this.connection().send(Buffer.from(scratch.subarray(0, end)))) {
      this.pending.delete(stan);
      waiter.failed(503, 'the switch is stopping');
    }
  }

  private afterSignIn(message: TerminalMessage, waiter: AnswerWaiter, retried: boolean): void {
    this.held++;
    this.ready().then(
      () => {
        this.held--;
        this.send(message, waiter, retried);
      },
      (err: Error) => {
        this.held--;
        waiter.failed(503, err.message);
      },
    );
  }

  private connection(): LocalConnection {
    if (this.link === undefined || !this.link.open) this.link = this.options.acceptor.openLocal(`http:${this.options.client}`, this);
    return this.link;
  }

  /**
   * Signs in through the pipeline, then takes the MAK it issued from LMDB (wrapped under the LMK)
   * once LMDB holds a MAK whose check value is the one the sign-in answered with.
   */
  private async signIn(): Promise<void> {
    const { tid, client, hsm, state, log } = this.options;
    const answer = new SignInAnswer();
    const request = this.requests.signInRequest(KEY_MODE);
    this.transmit(request, answer, false);
    const response = await answer.promise;
    const code = response.text(F.RESPONSE_CODE);
    if (code !== RC.APPROVED) throw new Error(`the client's virtual terminal ${tid} cannot sign in: the switch answered ${code}`);
    const issued = parseKeyBlock(response.binary(F.RESERVED_62)!, KEY_MODE).mak.kcv;
    this.requests.batch = batchOf(response) || this.requests.batch;
    for (const until = Date.now() + this.options.keyWaitMs; ; await sleep(KEY_POLL_MS)) {
      state.refresh();
      const terminal = state.terminals.get(tid);
      const keys = terminal?.keys;
      if (terminal !== undefined && keys !== undefined && hsm.kcv(keys.mak).equals(issued)) {
        this.mak = hsm.loadKey(keys.mak);
        this.macAlgorithm = terminal.macAlgorithm;
        this.keysDue = false;
        log.info({ client, tid, batch: this.requests.batch }, 'virtual terminal signed in');
        return;
      }
      if (Date.now() > until) throw new Error(`the client's virtual terminal ${tid} signed in, but its keys did not reach LMDB within ${this.options.keyWaitMs / 1000} s`);
    }
  }
}

/**
 * The highest STAN the terminal used in `batch`, from the request index: a virtual terminal starts
 * after it, so that a restart never repeats a request key (the switch would answer 94).
 */
function lastStan(state: StateStore, mid: string, tid: string, batch: string): number {
  // `MID|TID|batch|`: every request key of the terminal's batch starts so, and the STAN follows.
  const prefix = requestKey(mid, tid, batch, '', '').slice(0, -1);
  for (const key of state.txns.getKeys({ start: `${prefix}\uffff`, end: prefix, reverse: true, limit: 1 })) {
    return Number(String(key).slice(prefix.length, prefix.length + 6));
  }
  return 0;
}
