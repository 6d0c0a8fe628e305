import { mkdirSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import pino, { type Logger } from 'pino';
import { FormatError, HOST_LENGTH_PREFIX, HostMessage, buildBalance, decodeHostFrame, encodeHostFrame, toHex } from '../codec/index.js';
import { DesKey, kcv, x919Mac } from '../security/index.js';
import { randomKey } from '../security/keys.js';
import { decodePinBlock } from '../security/pinblock.js';
import { HF, maskPan, NMC, RC } from '../txn/index.js';
import { SIM_HOST_DEFAULTS, checkSimHostOptions, type HostSimOptions } from './options.js';
import { Originals, originalKey, type Original } from './originals.js';
import { SettlementFile } from './settlement.js';
import { NETWORK_ECHO, TRANSACTION_ECHO } from './vocabulary.js';

/** Frames whose length prefix says more than this close the connection. */
const MAX_HOST_FRAME = 4096;

/** Balance every inquiry reports: 1,000,000.00 CNY available. */
const BALANCE_FEN = 100_000_000n;

/** Bytes of the KCV sent with each zone key (6 hex digits). */
const KCV_BYTES = 3;

const MAC_PLACEHOLDER = Buffer.alloc(8);
const UPPER_HEX = Buffer.from('0123456789ABCDEF', 'latin1');
const TWO_DIGITS: readonly string[] = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));

/** One switch host link as the host sees it: its zone keys live and die with the connection. */
class HostConnection {
  readonly id: number;
  readonly socket: Socket;
  readonly remote: string;
  zpk: DesKey | undefined;
  zak: DesKey | undefined;
  /** The start of a frame whose rest has not arrived yet. */
  rest: Buffer | undefined;
  /** Closed by the host with its own log line; the close event adds none. */
  rejected = false;

  constructor(id: number, socket: Socket) {
    this.id = id;
    this.socket = socket;
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
  }
}

function deliver(conn: HostConnection, frame: Buffer): void {
  if (!conn.socket.destroyed) conn.socket.write(frame);
}

/** The issuer's decision by the amount's last two digits (DESIGN.md, host simulator). */
function decideByAmount(amount: string): string {
  switch (amount.slice(-2)) {
    case '51':
      return RC.INSUFFICIENT_FUNDS;
    case '05':
      return RC.DO_NOT_HONOUR;
    case '55':
      return RC.WRONG_PIN;
    case '91':
      return RC.ISSUER_UNAVAILABLE;
    case '96':
      return RC.SYSTEM_MALFUNCTION;
    default:
      return RC.APPROVED;
  }
}

/** The PAN of F2, else the one in front of track 2's separator. */
function panOf(req: HostMessage): string | undefined {
  const pan = req.text(HF.PAN);
  if (pan !== undefined) return pan;
  const track2 = req.text(HF.TRACK_2);
  if (track2 === undefined) return undefined;
  const sep = track2.indexOf('=');
  return sep < 0 ? track2 : track2.slice(0, sep);
}

/** The answer to `req`: its MTI + 10 (`0200` → `0210`) and the fields it repeats. */
function answerTo(req: HostMessage, echo: readonly number[]): HostMessage {
  const mti = req.mti;
  const res = new HostMessage(mti.slice(0, 2) + String.fromCharCode(mti.charCodeAt(2) + 1) + mti[3]);
  for (let i = 0; i < echo.length; i++) res.fields[echo[i]] = req.fields[echo[i]];
  return res;
}

function randomAuthCode(): string {
  return String(Math.floor(Math.random() * 1_000_000)).padStart(6, '0');
}

export interface HostSimulatorOptions extends Partial<HostSimOptions> {
  /** Defaults to a pino logger at `logLevel`. */
  log?: Logger;
}

/**
 * The acquirer/issuer host the switch's host links talk to (PROTOCOL.md section 9): network
 * management and key exchange, X9.19 MACs under per-connection zone keys, approvals and declines
 * by amount, reversal advices applied at most once, and a durable settlement file per business day.
 */
export class HostSimulator {
  readonly options: Readonly<HostSimOptions>;
  readonly #log: Logger;
  readonly #debug: boolean;
  readonly #zmk: DesKey;
  readonly #server: Server;
  readonly #connections = new Set<HostConnection>();
  readonly #originals = new Originals();
  readonly #settlement: SettlementFile;
  #nextId = 1;
  #port = -1;
  // The clock of the message being handled: business day YYYYMMDD and local time hhmmss.
  #day = '';
  #time = '';
  // Answers waiting for the commit of their burst's settlement lines (parallel arrays: nothing
  // allocated per answer but the frame).
  readonly #outConn: HostConnection[] = [];
  readonly #outFrame: Buffer[] = [];
  readonly #outDelay: number[] = [];
  #flushScheduled = false;
  readonly #flush = (): void => this.#commitAndSend();
  // The largest frame a 4-digit length prefix can announce.
  readonly #out = Buffer.allocUnsafe(HOST_LENGTH_PREFIX + 9999);
  readonly #mac = Buffer.allocUnsafe(8);
  readonly #pinBlock = Buffer.alloc(8);

  constructor(options: HostSimulatorOptions = {}) {
    const d = SIM_HOST_DEFAULTS;
    const settings: HostSimOptions = {
      host: options.host ?? d.host,
      port: options.port ?? d.port,
      zmk: options.zmk ?? d.zmk,
      latencyMs: options.latencyMs ?? d.latencyMs,
      jitterMs: options.jitterMs ?? d.jitterMs,
      dataDir: options.dataDir ?? d.dataDir,
      logLevel: options.logLevel ?? d.logLevel,
    };
    checkSimHostOptions(settings);
    this.options = settings;
    this.#log = options.log ?? pino({ level: settings.logLevel });
    this.#debug = this.#log.isLevelEnabled('debug');
    this.#zmk = new DesKey(Buffer.from(settings.zmk, 'hex'));
    this.#settlement = new SettlementFile(settings.dataDir);
    this.#server = createServer((socket) => this.#accept(socket));
  }

  /** The port listened on, once started (the actual one when 0 was asked for). */
  get port(): number {
    return this.#port;
  }

  async start(): Promise<void> {
    mkdirSync(this.options.dataDir, { recursive: true });
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.options.port, this.options.host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#port = (this.#server.address() as AddressInfo).port;
  }

  /** Stops listening, drops every connection and closes the settlement file (committed). */
  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const conn of this.#connections) conn.socket.destroy();
    this.#settlement.close();
    await closed;
  }

  #accept(socket: Socket): void {
    const conn = new HostConnection(this.#nextId++, socket);
    this.#connections.add(conn);
    socket.setNoDelay(true);
    this.#log.info({ conn: conn.id, remote: conn.remote }, 'host link connected');
    socket.on('data', (chunk: Buffer) => this.#onData(conn, chunk));
    socket.on('error', (err) => this.#log.info({ conn: conn.id, err: err.message }, 'host link error'));
    socket.on('close', () => {
      this.#connections.delete(conn);
      if (!conn.rejected) this.#log.info({ conn: conn.id, remote: conn.remote }, 'host link closed');
    });
  }

  /** Frames out of the byte stream; each complete one is decoded and handled in place. */
  #onData(conn: HostConnection, chunk: Buffer): void {
    const buf = conn.rest === undefined ? chunk : Buffer.concat([conn.rest, chunk]);
    conn.rest = undefined;
    let p = 0;
    while (buf.length - p >= HOST_LENGTH_PREFIX) {
      let len = 0;
      for (let i = p; i < p + HOST_LENGTH_PREFIX; i++) {
        const c = buf[i];
        if (c < 48 || c > 57) return this.#reject(conn, 'length prefix is not 4 ASCII digits');
        len = len * 10 + c - 48;
      }
      if (len > MAX_HOST_FRAME) return this.#reject(conn, `frame of ${len} bytes, above ${MAX_HOST_FRAME}`);
      const end = p + HOST_LENGTH_PREFIX + len;
      if (end > buf.length) break;
      let req: HostMessage;
      try {
        req = decodeHostFrame(buf, p, end, true);
      } catch (err) {
        if (!(err instanceof FormatError)) throw err;
        return this.#reject(conn, err.message, err.partial as HostMessage | undefined);
      }
      this.#handle(conn, req, buf);
      p = end;
    }
    if (p < buf.length) conn.rest = buf.subarray(p);
  }

  /** Closes a connection that sent what is not a host frame: one log line, PAN masked. */
  #reject(conn: HostConnection, reason: string, partial?: HostMessage): void {
    const pan = partial?.fields[HF.PAN];
    this.#log.warn(
      { conn: conn.id, remote: conn.remote, mti: partial?.mti, pan: typeof pan === 'string' ? maskPan(pan) : undefined },
      `closing host link: ${reason}`,
    );
    conn.rejected = true;
    conn.socket.destroy();
  }

  #handle(conn: HostConnection, req: HostMessage, frame: Buffer): void {
    switch (req.mti) {
      case '0800':
        return this.#networkManagement(conn, req);
      case '0220':
        // An advice carries the decision already taken (F39): the acquirer stood in for us.
        if (req.has(HF.RESPONSE_CODE)) return this.#standInAdvice(conn, req, frame);
        return this.#transaction(conn, req, frame);
      case '0100':
      case '0200':
        return this.#transaction(conn, req, frame);
      case '0420':
        return this.#reversal(conn, req, frame);
    }
    // Function digit even: a request or advice this host does not take; odd: a stray response.
    if ((req.mti.charCodeAt(2) & 1) === 0) {
      this.#log.warn({ conn: conn.id, mti: req.mti }, 'message type not supported');
      this.#queue(conn, answerTo(req, TRANSACTION_ECHO).set(HF.RESPONSE_CODE, RC.FUNCTION_NOT_SUPPORTED), undefined, 0);
    } else {
      this.#log.warn({ conn: conn.id, mti: req.mti }, 'unexpected response ignored');
    }
  }

  /** 0800 → 0810: sign-on, sign-off, echo, key exchange. No MAC either way. */
  #networkManagement(conn: HostConnection, req: HostMessage): void {
    const res = answerTo(req, NETWORK_ECHO);
    let code: string = RC.APPROVED;
    switch (req.text(HF.NETWORK_CODE)) {
      case NMC.SIGN_ON:
        this.#log.info({ conn: conn.id }, 'sign-on');
        break;
      case NMC.SIGN_OFF:
        this.#log.info({ conn: conn.id }, 'sign-off');
        break;
      case NMC.ECHO:
        if (this.#debug) this.#log.debug({ conn: conn.id, stan: req.text(HF.STAN) }, 'echo');
        break;
      case NMC.KEY_EXCHANGE:
        res.set(HF.ZONE_KEYS, this.#exchangeKeys(conn));
        break;
      default:
        this.#log.warn({ conn: conn.id, code: req.text(HF.NETWORK_CODE) }, 'network management code not supported');
        code = RC.FUNCTION_NOT_SUPPORTED;
    }
    this.#queue(conn, res.set(HF.RESPONSE_CODE, code), undefined, 0);
  }

  /**
   * New ZPK and ZAK for this connection. F48 = ZPK under the ZMK (32 hex) + its KCV (6 hex) + ZAK
   * under the ZMK (32 hex) + its KCV (6 hex). Requests in flight keep the keys they were checked with.
   */
  #exchangeKeys(conn: HostConnection): string {
    const zpk = randomKey(16);
    const zak = randomKey(16);
    conn.zpk = new DesKey(zpk);
    conn.zak = new DesKey(zak);
    const zpkKcv = toHex(kcv(conn.zpk), 0, KCV_BYTES);
    const zakKcv = toHex(kcv(conn.zak), 0, KCV_BYTES);
    const f48 = toHex(this.#zmk.encryptEcb(zpk)) + zpkKcv + toHex(this.#zmk.encryptEcb(zak)) + zakKcv;
    zpk.fill(0);
    zak.fill(0);
    this.#log.info({ conn: conn.id, zpkKcv, zakKcv }, 'zone keys exchanged');
    return f48;
  }

  /** '' when the request may be processed; otherwise the answer's code (sent without a MAC). */
  #refusal(conn: HostConnection, req: HostMessage, frame: Buffer): string {
    if (conn.zak === undefined) {
      this.#log.warn({ conn: conn.id, mti: req.mti, stan: req.text(HF.STAN), tid: req.text(HF.TERMINAL_ID) }, 'request before key exchange');
      return RC.SYSTEM_MALFUNCTION;
    }
    const mac = req.fields[HF.MAC];
    if (mac instanceof Buffer) {
      x919Mac(conn.zak, frame, req.mabStart, req.mabEnd, this.#mac, 0);
      if (this.#mac.equals(mac)) return '';
    }
    this.#log.warn(
      { conn: conn.id, mti: req.mti, stan: req.text(HF.STAN), tid: req.text(HF.TERMINAL_ID), macPresent: mac !== undefined },
      'MAC does not verify',
    );
    return RC.MAC_ERROR;
  }

  /** 0100/0200/0220 → 0110/0210/0230, decided by the amount; approvals reach the settlement file. */
  #transaction(conn: HostConnection, req: HostMessage, frame: Buffer): void {
    const res = answerTo(req, TRANSACTION_ECHO);
    const delay = this.#latency();
    const refused = this.#refusal(conn, req, frame);
    if (refused !== '') return this.#queue(conn, res.set(HF.RESPONSE_CODE, refused), undefined, delay);
    const zak = conn.zak;
    const stan = req.text(HF.STAN);
    const tid = req.text(HF.TERMINAL_ID);
    const processingCode = req.text(HF.PROCESSING_CODE);
    if (stan === undefined || tid === undefined || processingCode === undefined) {
      return this.#queue(conn, res.set(HF.RESPONSE_CODE, RC.FORMAT_ERROR), zak, delay);
    }
    this.#readClock();
    const mid = req.text(HF.MERCHANT_ID) ?? '';
    const key = originalKey(stan, req.text(HF.TRANSMISSION_TIME) ?? '', tid, mid);
    const pan = panOf(req);
    const panMasked = pan === undefined ? '' : maskPan(pan);
    const amount = req.text(HF.AMOUNT) ?? '';
    const rrn = req.text(HF.RRN) ?? '';
    const currency = req.text(HF.CURRENCY);
    let code: string;
    let authCode = '';
    if (this.#originals.find(key) !== undefined) {
      // Already seen, or already reversed before it arrived: never approved twice.
      code = RC.DUPLICATE_TRANSACTION;
    } else {
      code = decideByAmount(amount);
      if (code === RC.ISSUER_UNAVAILABLE) {
        this.#originals.add(key, { approved: false, reversed: false, amount, rrn, authCode, panMasked });
        if (this.#debug) this.#log.debug({ conn: conn.id, mti: req.mti, stan, tid, pan: panMasked, amount }, 'issuer unavailable: no answer');
        return;
      }
      const pinBlock = req.fields[HF.PIN_BLOCK];
      if (pinBlock instanceof Buffer && !this.#pinWellFormed(conn.zpk!, pinBlock, pan)) code = RC.WRONG_PIN;
      if (code === RC.APPROVED) authCode = randomAuthCode();
      this.#originals.add(key, { approved: code === RC.APPROVED, reversed: false, amount, rrn, authCode, panMasked });
    }
    res.set(HF.RESPONSE_CODE, code);
    if (code === RC.APPROVED) {
      res.set(HF.AUTH_CODE, authCode);
      if (processingCode.startsWith('31')) {
        res.set(HF.BALANCE, buildBalance({ accountType: '10', amountType: '02', currency: currency ?? '156', amount: BALANCE_FEN }));
      }
      this.#settlement.append({
        date: this.#day, time: this.#time, mti: req.mti, processingCode, stan, rrn, tid, mid,
        acquirer: req.text(HF.ACQUIRER_ID) ?? '', panMasked, amount, currency: currency ?? '', authCode,
        responseCode: code, reversesStan: '', reversesRrn: '',
      });
    }
    if (this.#debug) this.#log.debug({ conn: conn.id, mti: req.mti, stan, tid, pan: panMasked, amount, rc: code }, 'transaction');
    this.#queue(conn, res, zak, delay);
  }

  /**
   * 0220 with F39 `00` → 0230 `00` for every copy: the acquirer approved in stand-in while it could
   * not reach us. The first copy records the approval (its F38) and writes its settlement line;
   * a copy, or an advice whose reversal came first, changes nothing.
   */
  #standInAdvice(conn: HostConnection, req: HostMessage, frame: Buffer): void {
    const res = answerTo(req, TRANSACTION_ECHO);
    const refused = this.#refusal(conn, req, frame);
    if (refused !== '') return this.#queue(conn, res.set(HF.RESPONSE_CODE, refused), undefined, 0);
    const zak = conn.zak;
    const stan = req.text(HF.STAN);
    const tid = req.text(HF.TERMINAL_ID);
    const processingCode = req.text(HF.PROCESSING_CODE);
    if (stan === undefined || tid === undefined || processingCode === undefined || req.text(HF.RESPONSE_CODE) !== RC.APPROVED) {
      return this.#queue(conn, res.set(HF.RESPONSE_CODE, RC.FORMAT_ERROR), zak, 0);
    }
    this.#readClock();
    const mid = req.text(HF.MERCHANT_ID) ?? '';
    const key = originalKey(stan, req.text(HF.TRANSMISSION_TIME) ?? '', tid, mid);
    if (this.#originals.find(key) === undefined) {
      const pan = panOf(req);
      const panMasked = pan === undefined ? '' : maskPan(pan);
      const amount = req.text(HF.AMOUNT) ?? '';
      const rrn = req.text(HF.RRN) ?? '';
      const authCode = req.text(HF.AUTH_CODE) ?? '';
      const currency = req.text(HF.CURRENCY) ?? '';
      this.#originals.add(key, { approved: true, reversed: false, amount, rrn, authCode, panMasked });
      this.#settlement.append({
        date: this.#day, time: this.#time, mti: req.mti, processingCode, stan, rrn, tid, mid,
        acquirer: req.text(HF.ACQUIRER_ID) ?? '', panMasked, amount, currency, authCode,
        responseCode: RC.APPROVED, reversesStan: '', reversesRrn: '',
      });
      this.#log.info({ conn: conn.id, stan, tid, pan: panMasked, amount }, 'stand-in advice recorded');
    } else if (this.#debug) {
      this.#log.debug({ conn: conn.id, stan, tid }, 'stand-in advice already known');
    }
    this.#queue(conn, res.set(HF.RESPONSE_CODE, RC.APPROVED), zak, 0);
  }

  /** A well-formed ISO format 0 block for `pan` under the ZPK; the PIN itself is not known here. */
  #pinWellFormed(zpk: DesKey, block: Buffer, pan: string | undefined): boolean {
    if (pan === undefined) return false;
    zpk.decryptBlock(block, 0, this.#pinBlock, 0);
    const result = decodePinBlock(this.#pinBlock, 0, pan);
    this.#pinBlock.fill(0);
    return typeof result === 'number';
  }

  /**
   * 0420 → 0430 `00` for every copy; the first copy reverses the original (if approved) and writes
   * the reversal line: response_code `00` when an approval was undone, `25` when there was nothing
   * to undo (original declined, unanswered, or never seen: "reversal of unknown original").
   */
  #reversal(conn: HostConnection, req: HostMessage, frame: Buffer): void {
    const res = answerTo(req, TRANSACTION_ECHO).set(HF.ORIGINAL_DATA, req.fields[HF.ORIGINAL_DATA]);
    const refused = this.#refusal(conn, req, frame);
    if (refused !== '') return this.#queue(conn, res.set(HF.RESPONSE_CODE, refused), undefined, 0);
    const zak = conn.zak;
    const f90 = req.text(HF.ORIGINAL_DATA);
    const tid = req.text(HF.TERMINAL_ID);
    if (f90 === undefined || tid === undefined) return this.#queue(conn, res.set(HF.RESPONSE_CODE, RC.FORMAT_ERROR), zak, 0);
    this.#readClock();
    // F90: original MTI n4, STAN n6, F7 n10, acquirer n11, forwarding n11.
    const originalStan = f90.slice(4, 10);
    const key = originalKey(originalStan, f90.slice(10, 20), tid, req.text(HF.MERCHANT_ID) ?? '');
    let original: Original | undefined = this.#originals.find(key);
    const pan = panOf(req);
    if (original === undefined) {
      original = {
        approved: false, reversed: false, amount: req.text(HF.AMOUNT) ?? '', rrn: '', authCode: req.text(HF.AUTH_CODE) ?? '',
        panMasked: pan === undefined ? '' : maskPan(pan),
      };
      this.#originals.add(key, original);
      this.#log.info({ conn: conn.id, stan: req.text(HF.STAN), tid, originalStan, pan: original.panMasked }, 'reversal of unknown original');
    }
    if (!original.reversed) {
      original.reversed = true;
      this.#settlement.append({
        date: this.#day, time: this.#time, mti: req.mti, processingCode: req.text(HF.PROCESSING_CODE) ?? '', stan: req.text(HF.STAN) ?? '',
        rrn: req.text(HF.RRN) ?? '', tid, mid: req.text(HF.MERCHANT_ID) ?? '', acquirer: req.text(HF.ACQUIRER_ID) ?? '',
        panMasked: original.panMasked, amount: original.amount, currency: req.text(HF.CURRENCY) ?? '', authCode: original.authCode,
        responseCode: original.approved ? RC.APPROVED : RC.ORIGINAL_NOT_FOUND, reversesStan: originalStan, reversesRrn: original.rrn,
      });
      if (this.#debug) this.#log.debug({ conn: conn.id, tid, originalStan, undone: original.approved }, 'reversal');
    } else if (this.#debug) {
      this.#log.debug({ conn: conn.id, tid, originalStan }, 'repeated reversal: nothing more to undo');
    }
    this.#queue(conn, res.set(HF.RESPONSE_CODE, RC.APPROVED), zak, 0);
  }

  #latency(): number {
    const { latencyMs, jitterMs } = this.options;
    return jitterMs > 0 ? latencyMs + Math.floor(Math.random() * (jitterMs + 1)) : latencyMs;
  }

  #readClock(): void {
    const now = new Date();
    this.#day = String(now.getFullYear()) + TWO_DIGITS[now.getMonth() + 1] + TWO_DIGITS[now.getDate()];
    this.#time = TWO_DIGITS[now.getHours()] + TWO_DIGITS[now.getMinutes()] + TWO_DIGITS[now.getSeconds()];
    this.#originals.roll(this.#day);
  }

  /**
   * Encodes the answer (with F128 under `zak` when given) and holds it until this burst's
   * settlement lines are durable; `delayMs` more before it leaves.
   */
  #queue(conn: HostConnection, res: HostMessage, zak: DesKey | undefined, delayMs: number): void {
    const out = this.#out;
    if (zak !== undefined) res.set(HF.MAC, MAC_PLACEHOLDER);
    const end = encodeHostFrame(res, out, 0, true);
    if (zak !== undefined) {
      x919Mac(zak, out, res.mabStart, res.mabEnd, this.#mac, 0);
      // F128 is the last field: its 16 hex characters end the frame.
      for (let i = 0, at = end - 16; i < 8; i++, at += 2) {
        out[at] = UPPER_HEX[this.#mac[i] >>> 4];
        out[at + 1] = UPPER_HEX[this.#mac[i] & 15];
      }
    }
    this.#outConn.push(conn);
    this.#outFrame.push(Buffer.from(out.subarray(0, end)));
    this.#outDelay.push(delayMs);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(this.#flush);
    }
  }

  /** One write and fdatasync for the burst, then its answers. */
  #commitAndSend(): void {
    this.#flushScheduled = false;
    this.#settlement.commit();
    const conns = this.#outConn;
    const frames = this.#outFrame;
    const delays = this.#outDelay;
    for (let i = 0; i < conns.length; i++) {
      if (delays[i] > 0) setTimeout(deliver, delays[i], conns[i], frames[i]).unref();
      else deliver(conns[i], frames[i]);
    }
    conns.length = 0;
    frames.length = 0;
    delays.length = 0;
  }
}
