import { createSecretKey, hash, type KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import type * as Uws from 'uWebSockets.js';
import type { TerminalMessage } from '../codec/index.js';
import { HttpError, maskedReason } from '../ops/http.js';
import { loadUws } from '../ops/uws.js';
import type { SecurityModule } from '../security/index.js';
import type { ApiClient, StateStore } from '../store/index.js';
import { F, batchOf, keyProblem } from '../txn/index.js';
import type { Acceptor } from './acceptor.js';
import { IdempotencyStore, type IdempotentRequest } from './idempotency.js';
import { checkPort } from './listen.js';
import { IDEMPOTENCY_KEY, parsePaymentRequest, paymentAnswer, type OriginalRef, type PaymentAnswer, type PaymentRequest, type PaymentType } from './payments.js';
import { CLIENT_HEADER, IDEMPOTENCY_HEADER, NONCE_HEADER, NonceWindow, PAYMENTS_PATH, SIGNATURE_HEADER, TIMESTAMP_HEADER, nonceProblem, signatureHolds, timestampProblem } from './signing.js';
import type { Receipt } from './terminal-requests.js';
import { VirtualTerminal, type AnswerWaiter } from './virtual-terminal.js';

/** A payment document is a few hundred bytes: more is a mistake or an attack. */
export const MAX_PAYMENT_BODY = 8 * 1024;
/** How much of a too-large body is read and dropped before the 413 closes the connection instead. */
const DRAIN_BYTES = 1024 * 1024;
/** Longer than the longest a host route may take (55 s): the pipeline answers first, this catches what it never does. */
const ANSWER_TIMEOUT_MS = 60_000;
const KEY_WAIT_MS = 10_000;
/** Nonces still in their window at most (two windows at ~3,300 requests a second); beyond, requests are refused, never let in unchecked. */
const MAX_NONCES = 2_000_000;
const TICK_MS = 1000;
const SWEEP_EVERY_TICKS = 10;

const STATUS_LINES: Record<number, string> = {
  200: '200 OK',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  409: '409 Conflict',
  413: '413 Payload Too Large',
  429: '429 Too Many Requests',
  500: '500 Internal Server Error',
  502: '502 Bad Gateway',
  503: '503 Service Unavailable',
  504: '504 Gateway Timeout',
};
const EMPTY = Buffer.alloc(0);
/** uWS names headers in lower case. */
const HEADERS = {
  client: CLIENT_HEADER.toLowerCase(),
  timestamp: TIMESTAMP_HEADER.toLowerCase(),
  nonce: NONCE_HEADER.toLowerCase(),
  signature: SIGNATURE_HEADER.toLowerCase(),
  idempotencyKey: IDEMPOTENCY_HEADER.toLowerCase(),
};

export interface HttpChannelOptions {
  host: string;
  port: number;
  /** PEM certificate and key files: HTTPS; plain HTTP without. */
  tls?: { cert: string; key: string };
  acceptor: Acceptor;
  /** The switch's security module on this thread: opens client secrets, loads and uses the virtual terminals' MAKs. */
  hsm: SecurityModule;
  state: StateStore;
  /** Where the Idempotency-Keys are kept (`<data>/http-channel`). */
  dir: string;
  /** The book's business date now. */
  businessDate: () => string;
  /** Requests one client may have in flight; more are refused (429). */
  maxInFlight: number;
  log: Logger;
}

/** A client as the channel serves it: its record, its secret as an HMAC key, its virtual terminal. */
interface ClientSession {
  record: ApiClient;
  hmacKey: KeyObject;
  readonly terminal: VirtualTerminal;
}

/**
 * One request on uWS: its signed headers and body, read while uWS still holds them, and its single
 * JSON answer (corked: it is usually written after an await; never written once the client is gone).
 */
class PaymentExchange {
  readonly client: string;
  readonly timestamp: string;
  readonly nonce: string;
  readonly signature: string;
  readonly idempotencyKey: string;
  body: Buffer = EMPTY;
  gone = false;
  /** Body bytes may still arrive: the answer then closes the connection rather than leave them unread. */
  bodyPending = true;
  private chunks: Buffer[] | undefined;
  private size = 0;

  constructor(
    private readonly res: Uws.HttpResponse,
    req: Uws.HttpRequest,
  ) {
    this.client = req.getHeader(HEADERS.client);
    this.timestamp = req.getHeader(HEADERS.timestamp);
    this.nonce = req.getHeader(HEADERS.nonce);
    this.signature = req.getHeader(HEADERS.signature);
    this.idempotencyKey = req.getHeader(HEADERS.idempotencyKey);
    res.onAborted(() => (this.gone = true));
  }

  /** Reads the body, at most `limit` bytes (413 past it); then `done`. */
  read(limit: number, done: (exchange: PaymentExchange) => void): void {
    this.res.onData((chunk, isLast) => {
      this.size += chunk.byteLength;
      if (this.size > limit) {
        // Too large: read and dropped so that a client still sending gets the 413 rather than a reset,
        // but only up to DRAIN_BYTES; past that the answer closes the connection.
        if (!this.gone && (isLast || this.size > DRAIN_BYTES)) {
          this.bodyPending = !isLast;
          this.answer(413, { error: `a payment request body is at most ${limit} bytes` });
        }
        return;
      }
      // uWS neuters the chunk when this callback returns: copy it.
      const part = Buffer.from(chunk.slice(0));
      if (!isLast) {
        (this.chunks ??= []).push(part);
        return;
      }
      this.body = this.chunks === undefined ? part : Buffer.concat([...this.chunks, part]);
      this.bodyPending = false;
      done(this);
    });
  }

  answer(status: number, body: unknown): void {
    if (this.gone) return;
    this.gone = true;
    const text = JSON.stringify(body);
    this.res.cork(() => {
      this.res.writeStatus(STATUS_LINES[status] ?? String(status)).writeHeader('content-type', 'application/json');
      this.res.end(text, this.bodyPending);
    });
  }
}

/**
 * A request on its way through the virtual terminal, and everyone waiting for its answer: the
 * request itself, and retries with the same Idempotency-Key that arrived meanwhile.
 */
class Flight implements AnswerWaiter {
  private readonly waiting: PaymentExchange[];
  /** What was recorded under the Idempotency-Key before sending; undefined without a key. */
  sent: IdempotentRequest | undefined;

  constructor(
    private readonly flights: Flights,
    readonly session: ClientSession,
    readonly key: string,
    readonly bodyHash: string,
    readonly type: PaymentType,
    first: PaymentExchange,
  ) {
    this.waiting = [first];
  }

  join(exchange: PaymentExchange): void {
    this.waiting.push(exchange);
  }

  answered(response: TerminalMessage): void {
    let answer: PaymentAnswer;
    try {
      answer = paymentAnswer(this.type, response, this.flights.businessDate());
    } catch {
      return this.failed(502, "the switch's answer could not be read: the outcome is unknown");
    }
    if (this.sent !== undefined) this.flights.store.answered(this.session.record.id, this.key, this.sent, answer);
    this.end(200, answer);
  }

  failed(status: number, reason: string): void {
    // Sent under a key: the outcome can still be learnt.
    const hint = this.sent === undefined ? '' : `; ask with {"type": "status"}, or send the request again with the same ${IDEMPOTENCY_HEADER}`;
    this.end(status, { error: reason + hint });
  }

  /** Refused before anything was sent: every waiter gets the same refusal. */
  refused(status: number, reason: string): void {
    this.end(status, { error: reason });
  }

  private end(status: number, body: PaymentAnswer | { error: string }): void {
    this.flights.landed(this);
    for (const exchange of this.waiting) exchange.answer(status, body);
  }
}

/** Requests in flight by client and Idempotency-Key. */
class Flights {
  private readonly byKey = new Map<string, Flight>();

  constructor(
    readonly store: IdempotencyStore,
    readonly businessDate: () => string,
  ) {}

  get(client: string, key: string): Flight | undefined {
    return this.byKey.get(`${client}|${key}`);
  }

  /** A flight for a request; under its key when it has one, so that retries join it. */
  take(session: ClientSession, key: string, bodyHash: string, type: PaymentType, exchange: PaymentExchange): Flight {
    const flight = new Flight(this, session, key, bodyHash, type, exchange);
    if (key !== '') this.byKey.set(`${session.record.id}|${key}`, flight);
    return flight;
  }

  landed(flight: Flight): void {
    if (flight.key !== '') this.byKey.delete(`${flight.session.record.id}|${flight.key}`);
  }
}

/**
 * The HTTP transaction channel (`POST /api/v1/payments`): merchants' systems pay by signed JSON.
 * Each request is checked (client, signature, timestamp, nonce, fields, Idempotency-Key), then
 * sent by the client's virtual terminal through the acceptor, the pipeline, the book and the
 * journal exactly as a terminal's request; the answer is the response's receipt data as JSON.
 * Every refusal is an HTTP status with `{"error": reason}` and sends nothing to the switch.
 */
export class HttpChannel {
  private readonly options: HttpChannelOptions;
  private readonly uws: typeof Uws;
  private readonly app: Uws.TemplatedApp;
  private readonly sessions = new Map<string, ClientSession>();
  private readonly nonces = new NonceWindow(MAX_NONCES);
  private readonly store: IdempotencyStore;
  private readonly flights: Flights;
  private listenSocket: Uws.us_listen_socket | null = null;
  private boundPort: number | undefined;
  private enabled = false;
  private timer: NodeJS.Timeout | undefined;
  private ticks = 0;

  constructor(options: HttpChannelOptions) {
    this.options = options;
    this.uws = loadUws();
    this.store = new IdempotencyStore(options.dir);
    this.flights = new Flights(this.store, options.businessDate);
    this.app = options.tls ? this.uws.SSLApp({ cert_file_name: options.tls.cert, key_file_name: options.tls.key }) : this.uws.App();
    this.app
      .post(PAYMENTS_PATH, (res, req) => new PaymentExchange(res, req).read(MAX_PAYMENT_BODY, this.serve))
      .any(PAYMENTS_PATH, (res) => plainAnswer(res, 405, { error: `${PAYMENTS_PATH} takes POST` }))
      .any('/*', (res, req) => plainAnswer(res, 404, { error: `no such endpoint: ${req.getUrl()}` }));
  }

  /** Starts the channel; switched off (`posp channel disable http`) it keeps its port closed until enabled. Resolves the port. */
  async listen(enabled = true): Promise<number> {
    this.timer = setInterval(this.tick, TICK_MS).unref();
    if (enabled) await this.enable();
    return this.port;
  }

  /** The port it takes connections on (as configured until it is first bound). */
  get port(): number {
    return this.boundPort ?? this.options.port;
  }

  /** `enabled`; `draining` while requests taken before it was switched off finish; then `disabled`. */
  get state(): 'enabled' | 'draining' | 'disabled' {
    if (this.enabled) return 'enabled';
    for (const session of this.sessions.values()) if (session.terminal.inFlight > 0) return 'draining';
    return 'disabled';
  }

  /** Opens the port; rejects with a ListenError (and stays off) when it cannot be bound. */
  async enable(): Promise<void> {
    if (this.enabled) return;
    const { host } = this.options;
    const port = this.port;
    await checkPort('HTTP channel', host, port);
    await new Promise<void>((resolve, reject) => {
      this.app.listen(host, port, (socket) => {
        if (!socket) return reject(new Error(`the HTTP channel port ${host}:${port} cannot be opened`));
        this.listenSocket = socket;
        this.boundPort = this.uws.us_socket_local_port(socket);
        resolve();
      });
    });
    this.enabled = true;
    this.options.log.info({ port: this.boundPort, tls: this.options.tls !== undefined }, 'HTTP channel listening');
  }

  /** Closes the port; requests on connections still open are refused (503), those taken finish. */
  disable(): void {
    this.enabled = false;
    if (this.listenSocket) this.uws.us_listen_socket_close(this.listenSocket);
    this.listenSocket = null;
  }

  /** Stops taking requests; those in flight fail (the switch is stopping). */
  async close(): Promise<void> {
    this.disable();
    clearInterval(this.timer);
    for (const session of this.sessions.values()) session.terminal.close();
    this.sessions.clear();
    await this.store.close();
  }

  private readonly tick = (): void => {
    const now = Date.now();
    for (const session of this.sessions.values()) session.terminal.expire(now);
    if (++this.ticks % SWEEP_EVERY_TICKS === 0) this.store.sweep(now);
  };

  private readonly serve = (exchange: PaymentExchange): void => {
    void this.pay(exchange).catch((err: unknown) => this.refuse(exchange, err));
  };

  private async pay(x: PaymentExchange): Promise<void> {
    if (!this.enabled) throw new HttpError(503, 'the HTTP channel is switched off');
    const session = this.authenticate(x);
    const request = parsePaymentRequest(parseJson(x.body));
    if (request.type === 'status') return x.answer(200, this.statusOf(session, (request.original as { idempotencyKey: string }).idempotencyKey));
    const id = session.record.id;
    const key = x.idempotencyKey;
    if (key === '' && request.type !== 'balance') throw new HttpError(400, `a ${request.type} needs an ${IDEMPOTENCY_HEADER} header`);
    if (key !== '' && !IDEMPOTENCY_KEY.test(key)) throw new HttpError(400, `${IDEMPOTENCY_HEADER} must be 1–64 visible ASCII characters`);
    const bodyHash = key === '' ? '' : hash('sha256', x.body, 'base64');
    let sent: IdempotentRequest | undefined;
    if (key !== '') {
      const flying = this.flights.get(id, key);
      if (flying !== undefined) {
        if (flying.bodyHash !== bodyHash) throw reusedKey(key);
        return flying.join(x);
      }
      sent = this.store.get(id, key);
      if (sent !== undefined) {
        if (sent.bodyHash !== bodyHash) throw reusedKey(key);
        if (sent.answer !== undefined) return x.answer(200, sent.answer);
      }
    }
    const terminal = session.terminal;
    if (terminal.inFlight >= this.options.maxInFlight) throw new HttpError(429, `client ${id} has ${terminal.inFlight} requests in flight, the most it may: send more as answers come`);
    const flight = this.flights.take(session, key, bodyHash, request.type, x);
    try {
      await terminal.ready().catch((err: Error) => {
        throw new HttpError(503, err.message);
      });
      const message = this.requestOf(session, request);
      if (sent !== undefined) {
        // Its outcome was never heard: the same STAN and batch again, so the switch answers it as a retransmission if it got it.
        message.set(F.STAN, sent.stan);
        const f60 = message.text(F.RESERVED_60)!;
        message.set(F.RESERVED_60, f60.slice(0, 2) + sent.batch + f60.slice(8));
      } else if (key !== '') {
        sent = { bodyHash, type: request.type, at: Date.now(), stan: message.text(F.STAN)!, batch: batchOf(message) };
        await this.store.sending(id, key, sent);
      }
      flight.sent = sent;
      terminal.send(message, flight);
    } catch (err) {
      // Whoever joined the flight meanwhile hears the same refusal.
      if (err instanceof HttpError) return flight.refused(err.status, maskedReason(err.message));
      this.options.log.error({ err, client: id }, 'HTTP channel request failed');
      flight.refused(500, 'internal error; see the switch log');
    }
  }

  /** The client of the request, if it signed it: unknown client, bad signature, suspended client, stale timestamp, reused nonce are refused in that order. */
  private authenticate(x: PaymentExchange): ClientSession {
    if (x.client === '') throw new HttpError(401, `unknown client: no ${CLIENT_HEADER} header`);
    const session = this.sessionOf(x.client);
    if (x.signature === '') throw new HttpError(401, `bad signature: no ${SIGNATURE_HEADER} header`);
    if (!signatureHolds(session.hmacKey, x.signature, x.timestamp, x.nonce, 'POST', PAYMENTS_PATH, x.body)) throw new HttpError(401, 'bad signature');
    const record = session.record;
    if (record.status !== 'active') throw new HttpError(403, `client ${record.id} is ${record.status}`);
    const now = Date.now();
    const stale = timestampProblem(x.timestamp, now);
    if (stale !== null) throw new HttpError(401, stale);
    const badNonce = nonceProblem(x.nonce);
    if (badNonce !== null) throw new HttpError(401, badNonce);
    const taken = this.nonces.take(record.id, x.nonce, now);
    if (taken === 'reused') throw new HttpError(401, 'reused nonce');
    if (taken === 'full') throw new HttpError(503, 'the channel remembers as many nonces as it can: try again shortly');
    return session;
  }

  /** The session of client `id` as LMDB has it now (a new secret or status takes effect at once). */
  private sessionOf(id: string): ClientSession {
    const state = this.options.state;
    state.refresh();
    const record = keyProblem('apiClients', id) === null ? state.apiClients.get(id) : undefined;
    if (record === undefined) throw new HttpError(401, `unknown client ${JSON.stringify(id.slice(0, 40))}`);
    let session = this.sessions.get(id);
    if (session === undefined || session.record.tid !== record.tid || session.record.mid !== record.mid) {
      session?.terminal.close();
      const { acceptor, hsm, log } = this.options;
      const terminal = new VirtualTerminal({ acceptor, hsm, state, log, client: id, tid: record.tid, mid: record.mid, answerTimeoutMs: ANSWER_TIMEOUT_MS, keyWaitMs: KEY_WAIT_MS });
      session = { record, hmacKey: this.secretOf(record), terminal };
      this.sessions.set(id, session);
    } else if (session.record.secret !== record.secret) {
      session.hmacKey = this.secretOf(record);
    }
    session.record = record;
    return session;
  }

  /** The client's secret as an HMAC key: opened by the security module, kept only as a KeyObject. */
  private secretOf(record: ApiClient): KeyObject {
    return createSecretKey(Buffer.from(this.options.hsm.openPan(record.secret), 'latin1'));
  }

  /** The terminal request a payment request is, as the client's virtual terminal sends it (card keyed in, no PIN). */
  private requestOf(session: ClientSession, request: PaymentRequest): TerminalMessage {
    const requests = session.terminal.requests;
    const card = { ...request.card!, keyed: true };
    switch (request.type) {
      case 'sale':
        return requests.financial('sale', card, request.amount);
      case 'balance':
        return requests.financial('balance-inquiry', card);
      case 'refund':
        return requests.refundOf(this.refunded(session, request.original!), card, request.amount!);
      default: {
        const original = this.voided(session, request.original!);
        return requests.voidOf('sale-void', { ...original, amount: request.amount ?? original.amount }, card);
      }
    }
  }

  /**
   * What a refund names its original by: the RRN alone (RRNs are unique; the switch finds the sale
   * by it, on any terminal of the merchant). The optional date (61.3) is left out: a request sent
   * again after its outcome was lost must be the same bytes, whatever the state has learnt meanwhile.
   */
  private refunded(session: ClientSession, original: OriginalRef): Pick<Receipt, 'rrn' | 'date'> {
    return { rrn: 'rrn' in original ? original.rrn : this.ownApproved(session, original.idempotencyKey).answer!.rrn, date: '' };
  }

  /**
   * What a void names its original by: a sale of the client's own terminal in its batch, by batch,
   * STAN and RRN; found among the channel's own answers first (the state may not hold a sale just
   * made yet), else in the state.
   */
  private voided(session: ClientSession, original: OriginalRef): Pick<Receipt, 'rrn' | 'batch' | 'stan' | 'amount'> {
    const id = session.record.id;
    const own = 'rrn' in original ? this.store.recentByRrn(id, original.rrn) : this.ownApproved(session, original.idempotencyKey);
    if (own !== undefined && own.type === 'sale') return { rrn: own.answer!.rrn, batch: own.batch, stan: own.stan, amount: own.answer!.amount };
    const rrn = 'rrn' in original ? original.rrn : '';
    const txn = rrn === '' ? undefined : this.options.state.txnByRrn(rrn);
    if (txn === undefined || txn.tid !== session.record.tid || txn.type !== 'sale') {
      throw new HttpError(400, `original ${'rrn' in original ? `rrn ${rrn}` : `idempotencyKey ${original.idempotencyKey}`} names no sale of the client's terminal ${session.record.tid}`);
    }
    return { rrn, batch: txn.batch, stan: txn.stan, amount: txn.amount };
  }

  /** The client's approved request under `key` (400 if there is none). */
  private ownApproved(session: ClientSession, key: string): IdempotentRequest {
    const sent = this.store.get(session.record.id, key);
    if (sent?.answer?.approved !== true) throw new HttpError(400, `original.idempotencyKey ${key} names no approved request of client ${session.record.id}`);
    return sent;
  }

  /** Where the request sent under `key` stands: answered (with its answer), pending, or unknown (sent, never answered: send it again). */
  private statusOf(session: ClientSession, key: string): object {
    const id = session.record.id;
    if (this.flights.get(id, key) !== undefined) return { idempotencyKey: key, state: 'pending' };
    const sent = this.store.get(id, key);
    if (sent === undefined) throw new HttpError(404, `no request of client ${id} has ${IDEMPOTENCY_HEADER} ${key}`);
    return sent.answer !== undefined ? { idempotencyKey: key, state: 'answered', answer: sent.answer } : { idempotencyKey: key, state: 'unknown', stan: sent.stan };
  }

  private refuse(x: PaymentExchange, err: unknown): void {
    // A reason may quote what was sent: anything that could be a card number is masked.
    if (err instanceof HttpError) return x.answer(err.status, { error: maskedReason(err.message) });
    this.options.log.error({ err, client: x.client }, 'HTTP channel request failed');
    x.answer(500, { error: 'internal error; see the switch log' });
  }
}

function reusedKey(key: string): HttpError {
  return new HttpError(409, `${IDEMPOTENCY_HEADER} ${key} was used with another body`);
}

function parseJson(body: Buffer): unknown {
  if (body.length === 0) throw new HttpError(400, 'a JSON body is required');
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new HttpError(400, `the body is not JSON: ${(err as Error).message}`);
  }
}

/** An answer written at once, in the request's own callback. */
function plainAnswer(res: Uws.HttpResponse, status: number, body: object): void {
  res.writeStatus(STATUS_LINES[status]).writeHeader('content-type', 'application/json').end(JSON.stringify(body));
}
