import net from 'node:net';
import type { Logger } from 'pino';
import { TerminalMessage, decodeTerminalFrame, encodeTerminalFrame, locateField, responseTpdu } from '../codec/index.js';
import { Doorbell, Outbox, Ring } from '../ring/index.js';
import { F, FINANCIAL_ECHO, MANAGEMENT_ECHO, RC, classify } from '../txn/index.js';

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

class Connection {
  readonly id: number;
  readonly socket: net.Socket;
  readonly remote: string;
  /** A frame whose length is known but whose bytes are still arriving. */
  partial: Buffer | null = null;
  partialFill = 0;
  /** The first length byte, when a chunk ended between the two. */
  lengthHigh = -1;
  /** Request frames not yet answered, oldest first (answered `96` if their worker dies). */
  readonly outstanding: { frame: Buffer; worker: number }[] = [];
  ended = false;
  corked = false;
  paused = false;

  constructor(id: number, socket: net.Socket) {
    this.id = id;
    this.socket = socket;
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
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
  private nextId = 1;
  private running = true;
  private enabled = true;
  /** Per worker: its frames ring, with the frames a full ring refused kept in order. */
  private readonly outboxes: Outbox[];
  private readonly corked: Connection[] = [];
  private pumpDone: Promise<void> | undefined;

  constructor(options: AcceptorOptions) {
    this.options = options;
    this.outboxes = options.workers.map((link) => new Outbox(link.frames, link.bell));
    this.server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => this.accept(socket));
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => resolve());
    });
    this.pumpDone = this.pump();
    return (this.server.address() as net.AddressInfo).port;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Turns the terminal channel off (new connections refused) or on, without a restart. */
  setEnabled(enabled: boolean): void {
    this.enabled = enabled;
  }

  async close(): Promise<void> {
    this.running = false;
    this.options.bell.ring();
    for (const conn of this.connections.values()) conn.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.pumpDone;
  }

  private accept(socket: net.Socket): void {
    if (!this.enabled) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const conn = new Connection(this.nextId, socket);
    this.nextId = this.nextId >= 0x7fffffff ? 1 : this.nextId + 1;
    this.connections.set(conn.id, conn);
    socket.setTimeout(this.options.idleTimeoutMs);
    socket.on('data', (chunk: Buffer) => this.onData(conn, chunk));
    socket.on('timeout', () => {
      this.options.log.info({ connection: conn.id, remote: conn.remote }, 'idle timeout, closing the connection');
      socket.destroy();
    });
    socket.on('end', () => {
      conn.ended = true;
      if (conn.outstanding.length === 0) socket.end();
    });
    socket.on('error', (err) => this.options.log.debug({ connection: conn.id, err: err.message }, 'socket error'));
    socket.on('close', () => this.connections.delete(conn.id));
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
        p += 1;
        continue;
      } else {
        length = (chunk[p] << 8) | chunk[p + 1];
        p += 2;
      }
      if (length === 0 || length > this.options.maxFrame) {
        this.options.log.warn({ connection: conn.id, remote: conn.remote, length, max: this.options.maxFrame }, 'frame length out of range, closing the connection');
        conn.socket.destroy();
        return;
      }
      if (n - p >= length) {
        this.dispatch(conn, chunk.subarray(p, p + length));
        p += length;
      } else {
        conn.partial = Buffer.allocUnsafe(length);
        conn.partialFill = 0;
      }
    }
    this.flushFrames();
    if (conn.outstanding.length >= this.options.maxOutstanding && !conn.paused) {
      conn.paused = true;
      conn.socket.pause();
    }
  }

  /** Sends a frame to the worker that owns its terminal; frames of one terminal keep their order. */
  private dispatch(conn: Connection, frame: Buffer): void {
    const inline = this.options.inline;
    if (inline !== undefined) {
      conn.outstanding.push({ frame, worker: -1 });
      inline.onFrame(conn.id, frame, 0, frame.length);
      return;
    }
    const workers = this.options.workers;
    const tid = locateField(frame, 0, frame.length, F.TERMINAL_ID);
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
    const conn = this.connections.get(connection);
    if (conn === undefined) return;
    conn.outstanding.shift();
    this.write(conn, Buffer.from(buf.subarray(start, end)));
  }

  /** Closes the connection: its frame was too broken to answer. */
  drop(connection: number): void {
    const conn = this.connections.get(connection);
    if (conn === undefined) return;
    conn.outstanding.shift();
    conn.socket.destroy();
  }

  private uncorkAll(): void {
    for (const conn of this.corked) {
      conn.corked = false;
      conn.socket.uncork();
    }
    this.corked.length = 0;
  }

  private write(conn: Connection, frame: Buffer): void {
    if (!conn.corked) {
      conn.corked = true;
      conn.socket.cork();
      this.corked.push(conn);
    }
    conn.socket.write(frame);
    if (conn.paused && conn.outstanding.length < this.options.maxOutstanding) {
      conn.paused = false;
      conn.socket.resume();
    }
    if (conn.ended && conn.outstanding.length === 0) conn.socket.end();
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
    for (const conn of this.connections.values()) {
      const lost = conn.outstanding.filter((o) => o.worker === index);
      if (lost.length === 0) continue;
      conn.outstanding.splice(0, conn.outstanding.length, ...conn.outstanding.filter((o) => o.worker !== index));
      for (const o of lost) {
        const answer = failureResponse(o.frame, RC.SYSTEM_MALFUNCTION);
        if (answer) this.write(conn, answer);
        else conn.socket.destroy();
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
  const mti = req.mti.slice(0, 2) + String(Number(req.mti[2]) + 1) + req.mti[3];
  const res = new TerminalMessage(mti, responseTpdu(req.tpdu), req.header);
  for (const id of classify(req)?.financial !== undefined ? FINANCIAL_ECHO : MANAGEMENT_ECHO) res.fields[id] = req.fields[id];
  res.set(F.RESPONSE_CODE, code);
  const out = Buffer.allocUnsafe(frame.length + 64);
  const end = encodeTerminalFrame(res, out, 0, true);
  return out.subarray(0, end);
}
