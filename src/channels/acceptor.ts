import net from 'node:net';
import type { Logger } from 'pino';
import { TerminalMessage, decodeTerminalFrame, encodeTerminalFrame, locateField, responseTpdu } from '../codec/index.js';
import { Doorbell, Outbox, Ring } from '../ring/index.js';
import { F, FINANCIAL_ECHO, MANAGEMENT_ECHO, RC, classify, responseMti } from '../txn/index.js';
import { ListenError } from './listen.js';
import type { Firewall } from './firewall.js';

/** How often connections are looked at for a frame arriving too slowly. */
const SLOW_SENDER_SWEEP_MS = 250;

/** The acceptor's end of one worker's rings. */
export interface WorkerLink {
  /** Frames to the worker (this side produces). */
  frames: Ring;
  /** Responses from the worker (this side consumes). */
  responses: Ring;
  bell: Doorbell;
}

export interface AcceptorOptions {
  host: string;
  port: number;
  /** Who may connect, how many connections, how fast each terminal may send, how slow a frame may arrive. */
  firewall: Firewall;
  /** Largest frame (after the 2-byte length) accepted; a larger one closes the connection. */
  maxFrame: number;
  idleTimeoutMs: number;
  /** Requests a connection may have unanswered before the acceptor stops reading from it. */
  maxOutstanding: number;
  log: Logger;
  bell: Doorbell;
  /** Pipeline workers fed through rings; empty when `inline` handles frames on this thread. */
  workers: WorkerLink[];
  /** Runs each frame on the acceptor's own thread (small machines: no thread hop each way). */
  inline?: InlineHandler;
}

/** A pipeline on the acceptor's thread: frames in directly, answers out through `deliver`/`drop`. */
export interface InlineHandler {
  onFrame(connection: number, frame: Buffer, start: number, end: number): void;
  /** Called once per pump round; drains whatever the handler waits on (the book's replies) and returns how much it did. */
  poll(): number;
}

/** Where a connection's answers go: a terminal's socket (a `net.Socket` is one), or a client in this process. */
export interface FrameSink {
  /** One answer frame, with its 2-byte length; the sink keeps the buffer. */
  write(frame: Buffer): unknown;
  cork(): void;
  uncork(): void;
  /** Closes the connection at once, whatever it has in flight. */
  destroy(): unknown;
}

/** What routing and answering see of any connection: the requests it has in flight, and the sink its answers go to. */
abstract class Link {
  /** Request frames not yet answered, oldest first (answered `96` if their worker dies). */
  readonly outstanding: { frame: Buffer; worker: number }[] = [];
  corked = false;
  abstract readonly sink: FrameSink;
  /** Where it comes from, for the firewall's log: a terminal's address, or the local client's name. */
  abstract readonly source: string;

  constructor(readonly id: number) {}
}

/** A terminal's TCP connection. */
class Connection extends Link {
  readonly sink: FrameSink;
  readonly socket: net.Socket;
  /** A frame whose length is known but whose bytes are still arriving. */
  partial: Buffer | null = null;
  partialFill = 0;
  /** The first length byte, when a chunk ended between the two. */
  lengthHigh = -1;
  ended = false;
  /** When the frame now arriving sent its first byte (0: none is arriving); a slow sender is cut off. */
  frameStarted = 0;
  /** The listener was switched off: what the terminal sent is answered, then the connection is closed. */
  draining = false;
  paused = false;

  readonly source: string;

  constructor(id: number, socket: net.Socket) {
    super(id);
    this.sink = socket;
    this.socket = socket;
    this.source = socket.remoteAddress ?? '';
  }
}

/** The in-process end of a local connection: where its answers arrive. */
export interface LocalClient {
  /** An answer frame, with its 2-byte length; the buffer is the client's. */
  onAnswer(frame: Buffer): void;
  /** The connection closed (the switch dropped it, or is stopping): nothing sent on it will be answered. */
  onClose(): void;
}

/**
 * A connection from inside the process (the HTTP channel's virtual terminals): its frames take the
 * path a terminal's frames take (to the worker owning their TID, counted while outstanding) and its
 * answers go to a callback instead of a socket.
 */
export class LocalConnection extends Link {
  readonly sink: FrameSink;
  get source(): string {
    return `local:${this.name}`;
  }
  private closed = false;

  constructor(
    id: number,
    /** Who opened it, for the log. */
    readonly name: string,
    private readonly client: LocalClient,
    private readonly submit: (conn: LocalConnection, frame: Buffer) => void,
    private readonly forget: (conn: LocalConnection) => void,
  ) {
    super(id);
    // Answers are handed over one by one: nothing to cork.
    this.sink = { write: (frame: Buffer) => client.onAnswer(frame), cork() {}, uncork() {}, destroy: () => this.close() };
  }

  get open(): boolean {
    return !this.closed;
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.outstanding.length;
  }

  /** Sends one request frame (without its 2-byte length); false when the connection is closed. */
  send(frame: Buffer): boolean {
    if (this.closed) return false;
    this.submit(this, frame);
    return true;
  }

  /** Closes the connection: whatever is in flight will not be answered, and the client hears so once. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.forget(this);
    this.client.onClose();
  }
}

/**
 * The terminal channel: accepts TCP connections, cuts the byte stream into frames by their 2-byte
 * length, sends each frame to the worker that owns its terminal (a hash of F41) and writes the
 * answers back, corked once per burst. It never parses more than it needs to route.
 */
export class Acceptor {
  private readonly options: AcceptorOptions;
  private readonly server: net.Server;
  private readonly connections = new Map<number, Connection>();
  private readonly locals = new Map<number, LocalConnection>();
  private nextId = 1;
  private running = true;
  /** The listener takes connections (switched off and on at run time). */
  private enabled = false;
  private boundPort: number | undefined;
  private sweep: NodeJS.Timeout | undefined;
  /** Per worker: its frames ring, with the frames a full ring refused kept in order. */
  private readonly outboxes: Outbox[];
  private readonly corked: Link[] = [];
  private pumpDone: Promise<void> | undefined;

  constructor(options: AcceptorOptions) {
    this.options = options;
    this.outboxes = options.workers.map((link) => new Outbox(link.frames, link.bell));
    // Paused at connect: a connection the firewall refuses is never registered for reading.
    this.server = net.createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: true }, (socket) => this.accept(socket));
  }

  /**
   * Starts moving frames and, unless the listener is switched off (`posp channel disable terminal`,
   * kept across restarts), takes connections on the port. Resolves the port (an ephemeral one once
   * bound: the same one is bound again when the listener is switched back on); rejects with a
   * ListenError when the port cannot be bound.
   */
  async listen(enabled = true): Promise<number> {
    if (enabled) await this.bind();
    this.pumpDone = this.pump();
    this.sweep = setInterval(() => this.cutSlowSenders(Date.now()), SLOW_SENDER_SWEEP_MS).unref();
    return this.port;
  }

  /** Closes each connection whose frame has been arriving for longer than the firewall allows (one byte, then silence). */
  private cutSlowSenders(now: number): void {
    const limit = this.options.firewall.options.frameTimeoutMs;
    for (const conn of this.connections.values()) {
      if (conn.frameStarted === 0 || now - conn.frameStarted <= limit) continue;
      this.options.firewall.refuse('frame-timeout', conn.source);
      conn.socket.destroy();
    }
  }

  /** The port the listener takes connections on (as configured until it is first bound). */
  get port(): number {
    return this.boundPort ?? this.options.port;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** True while the terminal channel takes new connections. */
  get accepting(): boolean {
    return this.running && this.enabled;
  }

  /** `enabled`; `draining` while connections opened before it was switched off finish; then `disabled`. */
  get listenerState(): 'enabled' | 'draining' | 'disabled' {
    if (this.enabled) return 'enabled';
    for (const conn of this.connections.values()) if (conn.draining) return 'draining';
    return 'disabled';
  }

  /** Switches the listener back on; rejects with a ListenError (and stays off) when the port cannot be bound. */
  async enable(): Promise<void> {
    if (!this.enabled) await this.bind();
  }

  /**
   * Switches the listener off without a restart: the port is closed at once (new connections are
   * refused), nothing more is read from open connections, and each is closed once everything it
   * sent has been answered.
   */
  disable(): void {
    if (!this.enabled) return;
    this.enabled = false;
    this.server.close();
    for (const conn of this.connections.values()) {
      conn.draining = true;
      conn.socket.pause();
      if (conn.outstanding.length === 0) conn.socket.destroySoon();
    }
  }

  private bind(): Promise<void> {
    const { host } = this.options;
    const port = this.port;
    return new Promise<void>((resolve, reject) => {
      const failed = (err: NodeJS.ErrnoException) => reject(new ListenError('terminal', host, port, err));
      this.server.once('error', failed);
      this.server.listen(port, host, () => {
        this.server.off('error', failed);
        this.boundPort = (this.server.address() as net.AddressInfo).port;
        this.enabled = true;
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    this.running = false;
    clearInterval(this.sweep);
    this.options.bell.ring();
    for (const conn of this.connections.values()) conn.socket.destroy();
    for (const local of [...this.locals.values()]) local.close();
    if (this.server.listening) await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.pumpDone;
  }

  private accept(socket: net.Socket): void {
    const source = socket.remoteAddress ?? '';
    if (!this.enabled || this.options.firewall.admit(source) !== null) {
      // A reset, not a FIN: nothing of the refused connection lingers on either side.
      socket.resetAndDestroy();
      return;
    }
    const conn = new Connection(this.newId(), socket);
    this.connections.set(conn.id, conn);
    socket.setTimeout(this.options.idleTimeoutMs);
    socket.on('data', (chunk: Buffer) => this.onData(conn, chunk));
    socket.on('timeout', () => {
      // Waiting for its answers is not idle: the timer starts again with the answer (any byte either way).
      if (conn.outstanding.length > 0) return;
      this.options.firewall.refuse('idle-timeout', source);
      socket.destroy();
    });
    socket.on('end', () => {
      conn.ended = true;
      if (conn.outstanding.length === 0) socket.end();
    });
    socket.on('error', (err) => this.options.log.debug({ connection: conn.id, err: err.message }, 'socket error'));
    socket.on('close', () => {
      this.connections.delete(conn.id);
      this.options.firewall.release(source);
    });
    socket.resume();
  }

  /**
   * A connection from inside the process: frames sent on it are routed, counted and answered as a
   * terminal's are, answers go to `client`. It stays open until closed (or dropped by the switch).
   */
  openLocal(name: string, client: LocalClient): LocalConnection {
    const conn = new LocalConnection(this.newId(), name, client, this.submitLocal, this.forgetLocal);
    this.locals.set(conn.id, conn);
    return conn;
  }

  private readonly submitLocal = (conn: LocalConnection, frame: Buffer): void => {
    this.dispatch(conn, frame);
    this.flushFrames();
  };

  private readonly forgetLocal = (conn: LocalConnection): void => {
    this.locals.delete(conn.id);
  };

  /** A connection id no open connection has (answers find their connection by it). */
  private newId(): number {
    let id = this.nextId;
    while (this.connections.has(id) || this.locals.has(id)) id = id >= 0x7fffffff ? 1 : id + 1;
    this.nextId = id >= 0x7fffffff ? 1 : id + 1;
    return id;
  }

  private onData(conn: Connection, chunk: Buffer): void {
    let p = 0;
    const n = chunk.length;
    while (p < n) {
      if (conn.partial !== null) {
        const take = Math.min(conn.partial.length - conn.partialFill, n - p);
        chunk.copy(conn.partial, conn.partialFill, p, p + take);
        conn.partialFill += take;
        p += take;
        if (conn.partialFill === conn.partial.length) {
          const frame = conn.partial;
          conn.partial = null;
          conn.frameStarted = 0;
          this.dispatch(conn, frame);
        }
        continue;
      }
      let length: number;
      if (conn.lengthHigh >= 0) {
        length = (conn.lengthHigh << 8) | chunk[p];
        conn.lengthHigh = -1;
        p += 1;
      } else if (n - p === 1) {
        conn.lengthHigh = chunk[p];
        conn.frameStarted = Date.now();
        p += 1;
        continue;
      } else {
        length = (chunk[p] << 8) | chunk[p + 1];
        p += 2;
      }
      if (length === 0 || length > this.options.maxFrame) {
        this.options.firewall.refuse('frame-length', conn.source);
        conn.socket.destroy();
        return;
      }
      if (n - p >= length) {
        conn.frameStarted = 0;
        this.dispatch(conn, chunk.subarray(p, p + length));
        p += length;
      } else {
        conn.partial = Buffer.allocUnsafe(length);
        conn.partialFill = 0;
        // A frame split across chunks keeps the time of its first byte (its length may have come alone).
        if (conn.frameStarted === 0) conn.frameStarted = Date.now();
      }
    }
    this.flushFrames();
    if (conn.outstanding.length >= this.options.maxOutstanding && !conn.paused) {
      conn.paused = true;
      conn.socket.pause();
    }
  }

  /** Sends a frame to the worker that owns its terminal; frames of one terminal keep their order. */
  private dispatch(conn: Link, frame: Buffer): void {
    const tid = locateField(frame, 0, frame.length, F.TERMINAL_ID);
    // Over its terminal's rate: answered 65 here and never processed (a frame that cannot be answered goes on, to be refused there).
    if (tid >= 0 && tid + 8 <= frame.length && !this.options.firewall.takeRequest(frame.toString('latin1', tid, tid + 8), conn.source, Date.now())) {
      const refusal = failureResponse(frame, RC.EXCEEDS_FREQUENCY_LIMIT);
      if (refusal !== undefined) return this.write(conn, refusal);
    }
    const inline = this.options.inline;
    if (inline !== undefined) {
      conn.outstanding.push({ frame, worker: -1 });
      inline.onFrame(conn.id, frame, 0, frame.length);
      return;
    }
    const workers = this.options.workers;
    let hash = conn.id;
    if (tid >= 0 && tid + 8 <= frame.length) {
      hash = 0x811c9dc5;
      for (let i = tid; i < tid + 8; i++) hash = Math.imul(hash ^ frame[i], 0x01000193);
    }
    const worker = (hash >>> 0) % workers.length;
    conn.outstanding.push({ frame, worker });
    // What a full ring refuses waits in the outbox as a copy, which frees the socket's chunk.
    this.outboxes[worker].send(conn.id, frame, 0, frame.length);
  }

  /** Retries what waits, then makes the frames visible and wakes each worker that got some. */
  private flushFrames(): boolean {
    let backlog = false;
    for (const outbox of this.outboxes) if (outbox.flush()) backlog = true;
    return backlog;
  }

  /** Delivers workers' responses: drains every ring, writes, uncorks once per burst. */
  private async pump(): Promise<void> {
    const bell = this.options.bell;
    const onResponse = this.onResponse;
    while (this.running) {
      const seen = bell.rung;
      let work = 0;
      for (const link of this.options.workers) work += link.responses.drain(onResponse, 1024);
      if (this.options.inline !== undefined) work += this.options.inline.poll();
      this.uncorkAll();
      const backlog = this.flushFrames();
      await bell.rest(seen, work, backlog ? 1 : 1000);
    }
  }

  private readonly onResponse = (tag: number, buf: Buffer, start: number, end: number): void => {
    if (end === start) this.drop(tag);
    else this.deliver(tag, buf, start, end);
  };

  /** Writes an answer (`buf[start, end)`, copied) to the connection, if it is still open. */
  deliver(connection: number, buf: Buffer, start: number, end: number): void {
    const conn = this.connections.get(connection) ?? this.locals.get(connection);
    if (conn === undefined) return;
    conn.outstanding.shift();
    this.write(conn, Buffer.from(buf.subarray(start, end)));
  }

  /** Closes the connection: its frame was too broken to answer. */
  drop(connection: number): void {
    const conn = this.connections.get(connection) ?? this.locals.get(connection);
    if (conn === undefined) return;
    conn.outstanding.shift();
    // A local client builds its frames itself: one the pipeline cannot answer is a bug worth a line.
    if (conn instanceof LocalConnection) this.options.log.warn({ connection: conn.id, client: conn.name }, 'a frame of a local connection could not be answered; closing the connection');
    else this.options.firewall.refuse('unanswerable-frame', conn.source);
    conn.sink.destroy();
  }

  private uncorkAll(): void {
    for (const conn of this.corked) {
      conn.corked = false;
      conn.sink.uncork();
    }
    this.corked.length = 0;
  }

  private write(conn: Link, frame: Buffer): void {
    if (!conn.corked) {
      conn.corked = true;
      conn.sink.cork();
      this.corked.push(conn);
    }
    conn.sink.write(frame);
    if (conn instanceof Connection) this.answered(conn);
  }

  /** After an answer went out on a terminal's socket: it may read again, or close once everything is answered. */
  private answered(conn: Connection): void {
    if (conn.paused && !conn.draining && conn.outstanding.length < this.options.maxOutstanding) {
      conn.paused = false;
      conn.socket.resume();
    }
    if (conn.outstanding.length === 0) {
      // A draining connection is closed both ways once answered: the listener waits for none to stay.
      if (conn.draining) conn.socket.destroySoon();
      else if (conn.ended) conn.socket.end();
    }
  }

  /**
   * A worker died: deliver what it had answered, drop what it had not started, and answer `96`
   * to every request of its terminals still in flight. The caller then starts its successor.
   */
  workerLost(index: number, fresh: WorkerLink): void {
    const old = this.options.workers[index];
    old.responses.drain(this.onResponse);
    Ring.attach(old.frames.sab).drain(() => undefined);
    this.options.workers[index] = fresh;
    this.outboxes[index] = new Outbox(fresh.frames, fresh.bell);
    for (const conn of [...this.connections.values(), ...this.locals.values()]) {
      const lost = conn.outstanding.filter((o) => o.worker === index);
      if (lost.length === 0) continue;
      conn.outstanding.splice(0, conn.outstanding.length, ...conn.outstanding.filter((o) => o.worker !== index));
      for (const o of lost) {
        const answer = failureResponse(o.frame, RC.SYSTEM_MALFUNCTION);
        if (answer) this.write(conn, answer);
        else conn.sink.destroy();
      }
    }
    this.uncorkAll();
  }
}

/** A response carrying only `code`, for requests the switch could not process (no MAC: none was checked). */
export function failureResponse(frame: Buffer, code: string): Buffer | undefined {
  let req: TerminalMessage;
  try {
    req = decodeTerminalFrame(frame, 0, frame.length, false);
  } catch {
    return undefined;
  }
  const mti = responseMti(req.mti);
  if (mti === undefined) return undefined;
  const res = new TerminalMessage(mti, responseTpdu(req.tpdu), req.header);
  for (const id of classify(req)?.financial !== undefined ? FINANCIAL_ECHO : MANAGEMENT_ECHO) res.fields[id] = req.fields[id];
  res.set(F.RESPONSE_CODE, code);
  const out = Buffer.allocUnsafe(frame.length + 64);
  const end = encodeTerminalFrame(res, out, 0, true);
  return out.subarray(0, end);
}
