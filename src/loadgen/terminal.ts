import net from 'node:net';
import { TerminalMessage, decodeTerminalFrame, encodeTerminalFrame, type SettlementTotals } from '../codec/index.js';
import { TerminalRequests, type CardData, type Receipt } from '../channels/terminal-requests.js';
import { DesKey, computeMac, encryptPinBlock, openKeyBlock, type KeyMode, type MacAlgorithm } from '../security/index.js';
import { MAC_MTIS, batchOf, type FinancialType } from '../txn/index.js';

export type { CardData, Receipt } from '../channels/terminal-requests.js';

/** Carries one request frame to a switch and brings back its answer (`undefined`: the switch closed the connection). */
export interface FrameTransport {
  exchange(frame: Buffer): Promise<Buffer | undefined>;
}

export interface SimTerminalOptions {
  host: string;
  port: number;
  /** Talk to a switch in this process instead of over TCP (`host` and `port` are then unused). */
  transport?: FrameTransport;
  tid: string;
  mid: string;
  /** The terminal's master key in clear: a terminal holds it, the switch only wrapped. */
  tmk: string;
  macAlgorithm?: MacAlgorithm;
  /** Verify every response MAC (on by default). */
  verifyMac?: boolean;
  /** STAN of the first request less one; a load generator starts anywhere so reruns do not repeat keys. */
  firstStan?: number;
}

export class ResponseMacError extends Error {}

/**
 * A POS terminal, as the load generator and the integration tests play it (over real TCP, or
 * through a `transport` to a switch in the same process): signs in,
 * keeps its clear working keys, builds requests with valid MACs and PIN blocks, checks response MACs.
 * Requests on one connection are answered in order.
 */
export class SimTerminal extends TerminalRequests {
  readonly options: SimTerminalOptions;
  private socket: net.Socket | undefined;
  private buffered: Buffer = Buffer.alloc(0);
  private readonly waiting: { resolve: (m: TerminalMessage) => void; reject: (e: Error) => void }[] = [];
  private mak: DesKey | undefined;
  private pik: Buffer | undefined;
  private readonly out = Buffer.allocUnsafe(4096);

  constructor(options: SimTerminalOptions) {
    super(options.tid, options.mid, options.firstStan);
    this.options = { macAlgorithm: 'cup-ecb', verifyMac: true, ...options };
  }

  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(this.options.port, this.options.host, () => resolve());
      socket.setNoDelay(true);
      socket.on('error', (err) => {
        reject(err);
        this.failAll(err);
      });
      socket.on('close', () => this.failAll(new Error('connection closed by the switch')));
      socket.on('data', (chunk) => this.onData(chunk));
      this.socket = socket;
    });
  }

  get connected(): boolean {
    return this.socket !== undefined && !this.socket.destroyed;
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  /** Sends raw bytes (a full frame with its length, or anything at all) and awaits one response frame. */
  sendRaw(frame: Buffer): Promise<TerminalMessage> {
    const transport = this.options.transport;
    if (transport !== undefined) {
      return transport.exchange(frame).then((answer) => {
        if (answer === undefined) throw new Error('connection closed by the switch');
        return this.decodeAnswer(answer);
      });
    }
    const answer = new Promise<TerminalMessage>((resolve, reject) => this.waiting.push({ resolve, reject }));
    this.socket!.write(frame);
    return answer;
  }

  /** Packs the request (with a MAC where the protocol wants one), sends it, awaits the response. */
  async request(msg: TerminalMessage): Promise<TerminalMessage> {
    return this.sendRaw(this.pack(msg));
  }

  pack(msg: TerminalMessage): Buffer {
    const mac = MAC_MTIS.has(msg.mti) && this.mak !== undefined;
    if (mac && !msg.has(64)) msg.set(64, Buffer.alloc(8));
    const end = encodeTerminalFrame(msg, this.out, 0, true);
    if (mac) computeMac(this.mak!, this.options.macAlgorithm!, this.out, msg.mabStart, msg.mabEnd, this.out, end - 8);
    return Buffer.from(this.out.subarray(0, end));
  }

  async signIn(mode: KeyMode = '003'): Promise<TerminalMessage> {
    const res = await this.request(this.signInRequest(mode));
    if (res.text(39) === '00') {
      const keys = openKeyBlock(Buffer.from(this.options.tmk, 'hex'), res.binary(62)!, mode);
      this.mak = new DesKey(keys.mak);
      this.pik = keys.pik;
      this.batch = batchOf(res) || this.batch;
    }
    return res;
  }

  /** A financial request with the PIN block of `card.pin` under the terminal's PIK, once it has one. */
  override financial(type: FinancialType, card: CardData, amount?: number): TerminalMessage {
    return super.financial(type, card, amount, card.pin && this.pik ? encryptPinBlock(this.pik, card.pan, card.pin) : undefined);
  }

  sale(card: CardData, amount: number): TerminalMessage {
    return this.financial('sale', card, amount);
  }

  balanceInquiry(card: CardData): TerminalMessage {
    return this.financial('balance-inquiry', card);
  }

  saleVoid(original: Receipt, card: CardData = { pan: original.pan, expiry: original.expiry }): TerminalMessage {
    return this.voidOf('sale-void', original, card);
  }

  refund(original: Receipt, amount: number): TerminalMessage {
    return this.refundOf(original, { pan: original.pan, expiry: original.expiry }, amount);
  }

  preAuth(card: CardData, amount: number): TerminalMessage {
    return this.financial('pre-auth', card, amount);
  }

  preAuthVoid(preAuth: Receipt, card?: CardData): TerminalMessage {
    return this.onPreAuth('pre-auth-void', preAuth, preAuth.amount, card ?? { pan: preAuth.pan, expiry: preAuth.expiry });
  }

  completion(preAuth: Receipt, amount: number, card?: CardData): TerminalMessage {
    return this.onPreAuth('pre-auth-completion', preAuth, amount, card ?? { pan: preAuth.pan, expiry: preAuth.expiry });
  }

  completionNotice(preAuth: Receipt, amount: number): TerminalMessage {
    return this.onPreAuth('pre-auth-completion-notice', preAuth, amount, { pan: preAuth.pan, expiry: preAuth.expiry });
  }

  completionVoid(completion: Receipt, card?: CardData): TerminalMessage {
    return this.completionVoidOf(completion, card ?? { pan: completion.pan, expiry: completion.expiry });
  }

  transfer(card: CardData, payeePan: string, amount: number): TerminalMessage {
    return this.financial('transfer', card, amount).set(62, Buffer.from(payeePan, 'latin1'));
  }

  /** Bill payment: biller code (TEL1, WATR, ELEC, GAS1) + bill account. */
  billPayment(card: CardData, biller: string, billAccount: string, amount: number): TerminalMessage {
    return this.financial('bill-payment', card, amount).set(62, Buffer.from(biller + billAccount, 'latin1'));
  }

  /** Settles: sends the totals and, when the switch answers balanced (result 1), moves to the next batch as a terminal does. */
  async settle(totals: SettlementTotals): Promise<TerminalMessage> {
    const res = await this.request(this.settlement(totals));
    if (res.text(39) === '00' && res.text(48)?.[30] === '1') this.batch = String((Number(this.batch) % 999_999) + 1).padStart(6, '0');
    return res;
  }

  /** What to keep of an approved response to void, refund or reverse it later. */
  receipt(request: TerminalMessage, response: TerminalMessage, type: FinancialType): Receipt {
    return {
      type,
      pan: request.text(2)!,
      expiry: request.text(14)!,
      amount: Number(request.text(4) ?? 0),
      stan: request.text(11)!,
      batch: batchOf(request),
      rrn: response.text(37) ?? '',
      authCode: response.text(38) ?? '',
      date: response.text(13) ?? '',
    };
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 2) {
      const len = this.buffered.readUInt16BE(0);
      if (this.buffered.length < len + 2) break;
      const frame = this.buffered.subarray(0, len + 2);
      this.buffered = this.buffered.subarray(len + 2);
      const waiter = this.waiting.shift();
      if (!waiter) continue;
      try {
        waiter.resolve(this.decodeAnswer(frame));
      } catch (err) {
        waiter.reject(err as Error);
      }
    }
  }

  private decodeAnswer(frame: Buffer): TerminalMessage {
    const res = decodeTerminalFrame(frame, 0, frame.length, true);
    if (this.options.verifyMac && res.has(64)) this.checkMac(frame, res);
    return res;
  }

  private checkMac(frame: Buffer, res: TerminalMessage): void {
    if (!this.mak) throw new ResponseMacError('response carries a MAC but the terminal has no MAK');
    const expected = computeMac(this.mak, this.options.macAlgorithm!, frame, res.mabStart, res.mabEnd);
    if (!expected.equals(res.binary(64)!)) throw new ResponseMacError(`response MAC does not verify (F39 ${res.text(39)})`);
  }

  private failAll(err: Error): void {
    for (const w of this.waiting.splice(0)) w.reject(err);
  }
}
