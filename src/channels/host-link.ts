import net from 'node:net';
import type { Logger } from 'pino';
import { FormatError, HOST_LENGTH_PREFIX, HostMessage, decodeHostFrame, encodeHostFrame, toHex } from '../codec/index.js';
import { MAC_LENGTH, SecurityError, type KeyHandle, type SecurityModule } from '../security/index.js';
import { HF, NMC } from '../txn/index.js';
import { LinkGauge, type LinkGaugeSlot } from './link-gauges.js';

/** A link's state: only an `up` link (signed on, zone keys exchanged) carries transactions. */
export type LinkState = 'connecting' | 'signing-on' | 'up' | 'down' | 'closed';

/** Why a request got no answer from the host. */
export type LinkFailure =
  /** The link is not up: nothing was sent. */
  | 'down'
  /** The link already has its most requests in flight: nothing was sent. */
  | 'busy'
  /** Sent, and no answer came in time: the host may have acted on it. */
  | 'timeout'
  /** Sent, and the connection went before the answer: the host may have acted on it. */
  | 'lost'
  /** An answer came whose MAC does not verify: it cannot be trusted, and the host may have acted. */
  | 'mac';

/** Where a link's answers go: one handler per link, called with the ticket the request was sent with. */
export type AnswerHandler = (ticket: number, answer: HostMessage | null, failure: LinkFailure | null) => void;

export interface HostLinkOptions {
  /** The link's name in routes, logs and the monitor. */
  name: string;
  host: string;
  port: number;
  /** F32 of every request: this switch as the host knows it. */
  acquirerId: string;
  hsm: SecurityModule;
  /** The zone master key shared with the host, wrapped under the LMK: zone keys arrive under it. */
  zmk: Buffer;
  onAnswer: AnswerHandler;
  log: Logger;
  /** Most requests awaiting an answer at once. */
  maxInFlight?: number;
  /** An idle link sends an echo (0800/301) this often; one unanswered within `networkTimeoutMs` drops the connection. */
  echoIntervalMs?: number;
  /** Answer time allowed to sign-on, key exchange and echo. */
  networkTimeoutMs?: number;
  /** A link that is up renews its zone keys (0800/101) this often; 0: only at sign-on. */
  keyExchangeMs?: number;
  /** Reconnect back-off: first wait, doubled after each failed attempt up to the most. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Where the link reports its state and requests in flight for the monitor (it lives on a pipeline's thread). */
  gauge?: LinkGaugeSlot;
}

/** Frames larger than this from a host are garbage: the connection is dropped. */
const MAX_FRAME = 8192;
/** How often deadlines are looked at: a request times out at most this late. */
const SWEEP_MS = 100;
const NETWORK_MANAGEMENT = '0800';
/** Zone keys in F48 of the 0810 to a key exchange: ZPK under ZMK (32 hex), its KCV (6), ZAK under ZMK (32), its KCV (6). */
const ZONE_KEYS_LENGTH = 76;

/** A request awaiting its answer. `ticket` < 0: the link's own network management. */
interface Pending {
  ticket: number;
  deadline: number;
  /** F41 of the request: an answer matches on F11 and F41. */
  tid: string | undefined;
  /** MACed requests expect MACed answers. */
  maced: boolean;
  /** The zone MAC key it went under (set as it is sent): its answer may come under that key even after a renewal. */
  zak: KeyHandle | undefined;
}

/** A request that came while a key renewal was in flight: it goes out once the new keys are in. */
interface Held {
  request: HostMessage;
  pending: Pending;
}

/**
 * A persistent client connection to one acquirer/issuer host (PROTOCOL.md section 9), after
 * moov-io/iso8583-connection: the link owns its requests in flight by F11 + F41 (F11 is the
 * link's own STAN, so it is unique on the link whatever the terminals' STANs are), each with its
 * deadline, and fails them all at once when the socket goes. On connect it signs on (0800/001)
 * and exchanges zone keys (0800/101) before it carries transactions, and renews them while up;
 * idle, it echoes; lost, it reconnects with back-off. Requests other than network management carry
 * an X9.19 MAC under the zone MAC key in F128, and so must their answers.
 */
export class HostLink {
  private socket: net.Socket | undefined;
  private current: LinkState = 'connecting';
  /** Requests in flight by the link's STAN (unique on the link while in flight). */
  private readonly pending = new Map<string, Pending>();
  private stan = 0;
  private zak: KeyHandle | undefined;
  private zpkHandle: KeyHandle | undefined;
  /** Bytes received and not yet taken as frames: [0, received). Room for a few whole frames. */
  private readonly input = Buffer.allocUnsafe(MAX_FRAME * 4);
  private received = 0;
  private readonly out = Buffer.allocUnsafe(MAX_FRAME);
  private readonly sweeper: NodeJS.Timeout;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private backoffMs: number;
  private lastTraffic = Date.now();
  private readonly maxInFlight: number;
  private readonly echoIntervalMs: number;
  private readonly networkTimeoutMs: number;
  private readonly reconnectMinMs: number;
  private readonly reconnectMaxMs: number;
  /** Network management requests in flight, by their negative ticket. */
  private readonly network = new Map<number, (answer: HostMessage | null) => void>();
  private nextNetworkTicket = -1;
  private readonly keyExchangeMs: number;
  /** When a link that is up next renews its zone keys. */
  private keysDueAt = 0;
  /**
   * A renewal is in flight: the host replaces its keys as it reads the 0800, so requests wait in
   * `held` until the 0810 says which keys they go under.
   */
  private renewing = false;
  private readonly held: Held[] = [];
  private exchanges = 0;
  private readonly gauge: LinkGauge | undefined;

  constructor(private readonly options: HostLinkOptions) {
    this.gauge = options.gauge === undefined ? undefined : new LinkGauge(options.gauge);
    this.maxInFlight = options.maxInFlight ?? 256;
    this.echoIntervalMs = options.echoIntervalMs ?? 30_000;
    this.networkTimeoutMs = options.networkTimeoutMs ?? 10_000;
    this.reconnectMinMs = options.reconnectMinMs ?? 250;
    this.reconnectMaxMs = options.reconnectMaxMs ?? 10_000;
    this.keyExchangeMs = options.keyExchangeMs ?? 3_600_000;
    this.backoffMs = this.reconnectMinMs;
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.connect();
  }

  get name(): string {
    return this.options.name;
  }

  get state(): LinkState {
    return this.current;
  }

  /** Requests awaiting an answer (sent, or held back by a key renewal). */
  get inFlight(): number {
    return this.pending.size + this.held.length;
  }

  /** Zone key exchanges that took effect on this link: the one of each sign-on, then each renewal. */
  get keyExchanges(): number {
    return this.exchanges;
  }

  /** The zone PIN key of the current session: PIN blocks for this host are translated to it. */
  get zpk(): KeyHandle | undefined {
    return this.zpkHandle;
  }

  /**
   * Sends a request; its answer (or why there is none) goes to the link's handler with `ticket`.
   * F11 (the link's STAN), F7, F32 and F128 are the link's to set. Returns why nothing was sent
   * ('down' or 'busy'), or null when it is on its way.
   */
  send(request: HostMessage, ticket: number, timeoutMs: number): LinkFailure | null {
    if (this.current !== 'up') return 'down';
    if (this.inFlight >= this.maxInFlight) return 'busy';
    const pending: Pending = { ticket, deadline: Date.now() + timeoutMs, tid: request.text(HF.TERMINAL_ID), maced: true, zak: undefined };
    if (this.renewing) this.held.push({ request, pending });
    else this.transmit(request, pending);
    return null;
  }

  /** Closes the link for good: requests in flight fail as lost. */
  close(): void {
    if (this.current === 'closed') return;
    this.enter('closed');
    clearInterval(this.sweeper);
    clearTimeout(this.reconnectTimer);
    this.socket?.destroy();
    this.failAll('lost');
  }

  private connect(): void {
    this.enter('connecting');
    const socket = net.connect({ host: this.options.host, port: this.options.port });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('connect', () => void this.signOn(socket));
    socket.on('data', (chunk: Buffer) => this.onData(socket, chunk));
    socket.on('error', (err) => this.options.log.warn({ link: this.name, err: err.message }, 'host link error'));
    socket.on('close', () => this.onClose(socket));
  }

  /** Sign-on, then key exchange: only then does the link carry transactions. */
  private async signOn(socket: net.Socket): Promise<void> {
    this.enter('signing-on');
    this.received = 0;
    const signOn = await this.manage(NMC.SIGN_ON);
    if (socket !== this.socket) return;
    if (signOn?.text(HF.RESPONSE_CODE) !== '00') return this.drop(socket, `sign-on answered ${signOn ? signOn.text(HF.RESPONSE_CODE) : 'nothing'}`);
    const keys = await this.manage(NMC.KEY_EXCHANGE);
    if (socket !== this.socket) return;
    const refused = this.takeZoneKeys(keys);
    if (refused !== null) return this.drop(socket, `key exchange ${refused}`);
    this.enter('up');
    this.backoffMs = this.reconnectMinMs;
    this.keysDueAt = Date.now() + this.keyExchangeMs;
    this.options.log.info({ link: this.name, host: this.options.host, port: this.options.port, zak: this.zak!.kcv, zpk: this.zpkHandle!.kcv }, 'host link up');
  }

  /**
   * New zone keys while the link is up; requests wait in `held` meanwhile. A renewal that fails
   * keeps the current keys and the link: whether the connection goes is for the network management
   * deadline (an unanswered 0800 drops it, as at sign-on) and the echo to decide.
   */
  private async renewZoneKeys(socket: net.Socket): Promise<void> {
    this.renewing = true;
    this.keysDueAt = Date.now() + this.keyExchangeMs;
    const answer = await this.manage(NMC.KEY_EXCHANGE);
    // The connection went meanwhile: closing it failed what was held.
    if (socket !== this.socket || socket.destroyed) return;
    const pinKeyBefore = this.zpkHandle!;
    const refused = this.takeZoneKeys(answer);
    if (refused === null) this.options.log.info({ link: this.name, zak: this.zak!.kcv, zpk: this.zpkHandle!.kcv }, 'zone keys renewed');
    else this.options.log.warn({ link: this.name, why: `key exchange ${refused}` }, 'zone key renewal failed: the current keys stay');
    this.renewing = false;
    this.releaseHeld(pinKeyBefore);
  }

  /**
   * Sends what a renewal held back, under the keys now in force. A PIN block was translated to the
   * zone PIN key of when the request was made: it goes from that key to the current one.
   */
  private releaseHeld(pinKeyBefore: KeyHandle): void {
    const zpk = this.zpkHandle!;
    for (const { request, pending } of this.held.splice(0)) {
      const block = request.binary(HF.PIN_BLOCK);
      if (block !== undefined && zpk !== pinKeyBefore) request.set(HF.PIN_BLOCK, this.options.hsm.translatePin(pinKeyBefore, zpk, block, request.text(HF.PAN) ?? ''));
      this.transmit(request, pending);
    }
  }

  /** The zone keys of a key exchange's answer, installed; returns why not, or null when they are in. */
  private takeZoneKeys(answer: HostMessage | null): string | null {
    if (answer?.text(HF.RESPONSE_CODE) !== '00') return `answered ${answer?.text(HF.RESPONSE_CODE) ?? 'nothing'}`;
    try {
      this.installZoneKeys(answer.text(HF.ZONE_KEYS) ?? '');
    } catch (err) {
      return `refused: ${err instanceof Error ? err.message : String(err)}`;
    }
    this.exchanges++;
    return null;
  }

  /** Zone keys from F48 of a key exchange's answer, each checked against its KCV, into handles. */
  private installZoneKeys(f48: string): void {
    if (f48.length !== ZONE_KEYS_LENGTH || !/^[0-9A-Fa-f]+$/.test(f48)) throw new SecurityError('key-block', `zone keys must be ${ZONE_KEYS_LENGTH} hex digits, got ${f48.length}`);
    const { hsm, zmk } = this.options;
    const hex = (from: number, to: number): Buffer => Buffer.from(f48.slice(from, to), 'hex');
    const zpk = hsm.importUnderKek(zmk, hex(0, 32), hex(32, 38));
    const zak = hsm.importUnderKek(zmk, hex(38, 70), hex(70, 76));
    this.zpkHandle = hsm.loadKey(zpk);
    this.zak = hsm.loadKey(zak);
  }

  /** One network management exchange (0800 with F70 = `code`); resolves with the answer, or null. */
  private manage(code: string): Promise<HostMessage | null> {
    const request = new HostMessage(NETWORK_MANAGEMENT);
    request.set(HF.NETWORK_CODE, code);
    const ticket = this.nextNetworkTicket--;
    return new Promise((resolve) => {
      this.network.set(ticket, resolve);
      this.transmit(request, { ticket, deadline: Date.now() + this.networkTimeoutMs, tid: undefined, maced: false, zak: undefined });
    });
  }

  private transmit(request: HostMessage, pending: Pending): void {
    // A request whose STAN and F7 were reserved (so its journal entry could name them) keeps them.
    const stan = request.text(HF.STAN) ?? this.nextStan();
    request.set(HF.STAN, stan);
    if (!request.has(HF.TRANSMISSION_TIME)) request.set(HF.TRANSMISSION_TIME, transmissionTime(new Date()));
    if (pending.maced) {
      request.set(HF.ACQUIRER_ID, this.options.acquirerId);
      request.set(HF.MAC, ZERO_MAC);
      pending.zak = this.zak;
    }
    const end = encodeHostFrame(request, this.out, 0);
    if (pending.maced) {
      // F128 is the last field: the MAC covers the MTI up to where it starts, and goes there as hex.
      this.options.hsm.generateMac(this.zak!, 'x9.19', this.out, request.mabStart, request.mabEnd, macScratch, 0);
      this.out.write(toHex(macScratch), request.mabEnd, 'latin1');
    }
    this.pending.set(stan, pending);
    this.lastTraffic = Date.now();
    this.socket!.write(Buffer.from(this.out.subarray(0, end)));
  }

  /**
   * Takes the link's next STAN for a request that will be sent later: its journal entry names it
   * (a reversal advice repeats it in F90) before the host is asked.
   */
  reserveStan(): string {
    return this.nextStan();
  }

  /** The link's STAN: 000001–999999, skipping any still in flight. */
  private nextStan(): string {
    for (;;) {
      this.stan = this.stan >= 999_999 ? 1 : this.stan + 1;
      const stan = String(this.stan).padStart(6, '0');
      if (!this.pending.has(stan)) return stan;
    }
  }

  private onData(socket: net.Socket, chunk: Buffer): void {
    let from = 0;
    while (from < chunk.length && socket === this.socket) {
      const n = Math.min(chunk.length - from, this.input.length - this.received);
      chunk.copy(this.input, this.received, from, from + n);
      this.received += n;
      from += n;
      this.takeFrames(socket);
    }
  }

  /** Takes every whole frame received; what is left of the next moves to the front. */
  private takeFrames(socket: net.Socket): void {
    const input = this.input;
    let at = 0;
    while (this.received - at >= HOST_LENGTH_PREFIX) {
      const length = Number(input.toString('latin1', at, at + HOST_LENGTH_PREFIX));
      if (!Number.isInteger(length) || length < 12 || length > MAX_FRAME) {
        return this.drop(socket, `bad length prefix ${JSON.stringify(input.toString('latin1', at, at + HOST_LENGTH_PREFIX))}`);
      }
      const end = at + HOST_LENGTH_PREFIX + length;
      if (this.received < end) break;
      let answer: HostMessage;
      try {
        answer = decodeHostFrame(input, at, end);
      } catch (err) {
        if (err instanceof FormatError) return this.drop(socket, `undecodable frame: ${err.message}`);
        throw err;
      }
      this.onAnswer(answer, input);
      at = end;
    }
    input.copyWithin(0, at, this.received);
    this.received -= at;
  }

  private onAnswer(answer: HostMessage, frame: Buffer): void {
    this.lastTraffic = Date.now();
    const stan = answer.text(HF.STAN) ?? '';
    const pending = this.pending.get(stan);
    if (pending === undefined || pending.tid !== answer.text(HF.TERMINAL_ID)) {
      this.options.log.warn({ link: this.name, mti: answer.mti, stan, tid: answer.text(HF.TERMINAL_ID), code: answer.text(HF.RESPONSE_CODE) }, 'host answer matches no request in flight (late or unknown): dropped');
      return;
    }
    this.pending.delete(stan);
    if (pending.maced && !this.authentic(answer, frame, pending.zak)) {
      this.options.log.warn({ link: this.name, mti: answer.mti, stan: answer.text(HF.STAN), tid: answer.text(HF.TERMINAL_ID) }, 'host answer fails its MAC: not trusted');
      this.deliver(pending.ticket, null, 'mac');
      return;
    }
    this.deliver(pending.ticket, answer, null);
  }

  /**
   * An answer with F128 must verify under the zone MAC key its request went under (a host answers
   * under the key it checked the request with, even once a renewal has replaced it) or the current
   * one. One without may only refuse: a host answers `A0` (MAC failure) or `96` (no keys yet)
   * unMACed, and a forged refusal can do no harm that a forged approval could.
   */
  private authentic(answer: HostMessage, frame: Buffer, sentUnder: KeyHandle | undefined): boolean {
    const mac = answer.binary(HF.MAC);
    if (mac === undefined) return answer.text(HF.RESPONSE_CODE) !== '00';
    if (this.macVerifies(sentUnder, answer, frame, mac)) return true;
    return this.zak !== sentUnder && this.macVerifies(this.zak, answer, frame, mac);
  }

  private macVerifies(zak: KeyHandle | undefined, answer: HostMessage, frame: Buffer, mac: Buffer): boolean {
    return zak !== undefined && this.options.hsm.verifyMac(zak, 'x9.19', frame, answer.mabStart, answer.mabEnd, mac, 0);
  }

  private deliver(ticket: number, answer: HostMessage | null, failure: LinkFailure | null): void {
    if (ticket < 0) {
      const resolve = this.network.get(ticket);
      this.network.delete(ticket);
      resolve?.(answer);
      return;
    }
    this.options.onAnswer(ticket, answer, failure);
  }

  private enter(state: LinkState): void {
    this.current = state;
    if (this.gauge !== undefined) this.gauge.state = state;
  }

  /** Times out what is past its deadline; echoes an idle link; renews zone keys when they are due; reports requests in flight. */
  private sweep(): void {
    const now = Date.now();
    if (this.gauge !== undefined) this.gauge.inFlight = this.inFlight;
    for (const [stan, pending] of this.pending) {
      if (pending.deadline > now) continue;
      this.pending.delete(stan);
      if (pending.ticket < 0 && this.socket) {
        // A host that does not answer its network management is gone, whatever the socket says.
        this.deliver(pending.ticket, null, 'timeout');
        this.drop(this.socket, 'network management unanswered');
        return;
      }
      this.deliver(pending.ticket, null, 'timeout');
    }
    if (this.current === 'up' && now - this.lastTraffic >= this.echoIntervalMs) {
      const socket = this.socket;
      void this.manage(NMC.ECHO).then((answer) => {
        if (answer !== null && answer.text(HF.RESPONSE_CODE) !== '00' && socket !== undefined) this.drop(socket, `echo answered ${answer.text(HF.RESPONSE_CODE)}`);
      });
    }
    if (this.current === 'up' && !this.renewing && this.keyExchangeMs > 0 && now >= this.keysDueAt) void this.renewZoneKeys(this.socket!);
  }

  /** Drops the connection (logged once); the close handler fails what is in flight and reconnects. */
  private drop(socket: net.Socket, why: string): void {
    if (socket !== this.socket) return;
    this.options.log.warn({ link: this.name, why }, 'host link dropped');
    socket.destroy();
  }

  private onClose(socket: net.Socket): void {
    if (socket !== this.socket) return;
    this.socket = undefined;
    this.zak = undefined;
    this.zpkHandle = undefined;
    this.renewing = false;
    this.failAll('lost');
    if (this.current === 'closed') return;
    this.enter('down');
    this.reconnectTimer = setTimeout(() => this.connect(), this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, this.reconnectMaxMs);
  }

  /** Fails what was sent with `failure`, and what a key renewal held back as `down`: it never left. */
  private failAll(failure: LinkFailure): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    const held = this.held.splice(0);
    for (const pending of all) this.deliver(pending.ticket, null, failure);
    for (const { pending } of held) this.deliver(pending.ticket, null, 'down');
  }
}

const ZERO_MAC = Buffer.alloc(MAC_LENGTH);
const macScratch = Buffer.alloc(MAC_LENGTH);

/** F7: MMDDhhmmss in UTC (ISO 8583:1987 transmission date and time is GMT). */
export function transmissionTime(d: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  return two(d.getUTCMonth() + 1) + two(d.getUTCDate()) + two(d.getUTCHours()) + two(d.getUTCMinutes()) + two(d.getUTCSeconds());
}
