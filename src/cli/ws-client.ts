import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { Duplex } from 'node:stream';

/** RFC 6455 section 1.3: the server proves it read the key by hashing it with this. */
const HANDSHAKE_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const OP_CONTINUATION = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;
/** A monitor frame is a few kilobytes: anything near this is not one. */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** How long a close waits for the server's own close frame before the socket is dropped. */
const CLOSE_WAIT_MS = 1000;

/** The server answered the upgrade with an HTTP status instead (401, 403, 404, ...), and why. */
export class WebSocketRefused extends Error {
  constructor(
    readonly status: number,
    reason: string,
  ) {
    super(reason);
  }
}

/** How the connection ended: the close code and reason the server gave (1006: the connection went without one). */
export interface WebSocketClosed {
  code: number;
  reason: string;
}

/**
 * A minimal WebSocket client (RFC 6455) over node:http's upgrade, for `posp monitor` and the tests:
 * it receives text messages, answers pings, and closes politely; what it sends is masked, as a
 * client's frames must be. Node 20 has no WebSocket without a flag, and the project takes no
 * dependency for this.
 */
export class WebSocketClient {
  /** Each complete text message, as it arrives. */
  onMessage: (text: string) => void = () => undefined;
  /** Resolves once the connection has ended, with the code the server closed it with. */
  readonly closed: Promise<WebSocketClosed>;
  private buffered: Buffer = Buffer.alloc(0);
  private readonly fragments: Buffer[] = [];
  private fragmentsBytes = 0;
  private closeSent = false;
  private ended: WebSocketClosed = { code: 1006, reason: 'the connection went without a close frame' };

  private constructor(private readonly socket: Duplex, head: Buffer) {
    this.closed = new Promise((resolve) => socket.once('close', () => resolve(this.ended)));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => socket.destroy());
    // After the caller's await has set onMessage: the server may have sent a frame with its 101.
    if (head.length > 0) setImmediate(() => this.onData(head));
  }

  /** Opens `url` (ws://HOST:PORT/PATH?QUERY); rejects with WebSocketRefused if the server answers with a status instead. */
  static connect(url: string, options: { headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<WebSocketClient> {
    const target = new URL(url);
    if (target.protocol !== 'ws:') return Promise.reject(new Error(`only ws:// URLs are supported, got ${url}`));
    const key = randomBytes(16).toString('base64');
    return new Promise((resolve, reject) => {
      const req = http.request({
        host: target.hostname,
        port: target.port === '' ? 80 : Number(target.port),
        path: target.pathname + target.search,
        headers: { ...options.headers, connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': key, 'sec-websocket-version': '13' },
        timeout: options.timeoutMs ?? 10_000,
      });
      req.on('timeout', () => req.destroy(new Error(`no answer from ${target.host} in ${options.timeoutMs ?? 10_000} ms`)));
      req.on('error', reject);
      req.on('response', (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => reject(new WebSocketRefused(res.statusCode ?? 0, reasonOf(body) ?? `HTTP ${res.statusCode}`)));
      });
      req.on('upgrade', (res, socket, head) => {
        const expected = createHash('sha1').update(key + HANDSHAKE_GUID).digest('base64');
        if (res.headers['sec-websocket-accept'] !== expected) {
          socket.destroy();
          return reject(new Error('the server answered the upgrade with a wrong Sec-WebSocket-Accept'));
        }
        resolve(new WebSocketClient(socket, head));
      });
      req.end();
    });
  }

  /** Sends a close frame (1000: normal) and ends the connection once the server answers or a second has passed. */
  close(code = 1000, reason = ''): void {
    if (this.closeSent) return;
    this.closeSent = true;
    const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
    payload.writeUInt16BE(code, 0);
    payload.write(reason, 2);
    this.send(OP_CLOSE, payload);
    setTimeout(() => this.socket.destroy(), CLOSE_WAIT_MS).unref();
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    for (;;) {
      const frame = parseFrame(this.buffered);
      if (frame === undefined) return;
      if (frame instanceof Error) return this.fail(1002, frame.message);
      this.buffered = this.buffered.subarray(frame.end);
      this.onFrame(frame.fin, frame.opcode, frame.payload);
    }
  }

  private onFrame(fin: boolean, opcode: number, payload: Buffer): void {
    switch (opcode) {
      case OP_TEXT:
      case OP_BINARY:
      case OP_CONTINUATION:
        this.fragmentsBytes += payload.length;
        if (this.fragmentsBytes > MAX_MESSAGE_BYTES) return this.fail(1009, `a message over ${MAX_MESSAGE_BYTES} bytes`);
        this.fragments.push(payload);
        if (!fin) return;
        this.onMessage(Buffer.concat(this.fragments).toString('utf8'));
        this.fragments.length = 0;
        this.fragmentsBytes = 0;
        return;
      case OP_PING:
        return this.send(OP_PONG, payload);
      case OP_PONG:
        return;
      case OP_CLOSE:
        this.ended = { code: payload.length >= 2 ? payload.readUInt16BE(0) : 1005, reason: payload.subarray(2).toString('utf8') };
        if (!this.closeSent) {
          this.closeSent = true;
          this.send(OP_CLOSE, payload.subarray(0, 2));
        }
        this.socket.end();
        return;
      default:
        return this.fail(1002, `unknown opcode ${opcode}`);
    }
  }

  /** A protocol error: closed with `code`, and the connection dropped. */
  private fail(code: number, reason: string): void {
    this.ended = { code, reason };
    this.close(code, reason.slice(0, 120));
    this.socket.destroy();
  }

  /** One frame, FIN set, masked with a fresh key. */
  private send(opcode: number, payload: Buffer): void {
    if (this.socket.destroyed) return;
    const length = payload.length;
    const headerBytes = length < 126 ? 2 : length < 0x10000 ? 4 : 10;
    const frame = Buffer.allocUnsafe(headerBytes + 4 + length);
    frame[0] = 0x80 | opcode;
    if (length < 126) frame[1] = 0x80 | length;
    else if (length < 0x10000) {
      frame[1] = 0x80 | 126;
      frame.writeUInt16BE(length, 2);
    } else {
      frame[1] = 0x80 | 127;
      frame.writeBigUInt64BE(BigInt(length), 2);
    }
    const mask = randomBytes(4);
    mask.copy(frame, headerBytes);
    for (let i = 0; i < length; i++) frame[headerBytes + 4 + i] = payload[i] ^ mask[i & 3];
    this.socket.write(frame);
  }
}

/** The frame at the start of `buf`; undefined if it has not all arrived; an Error if it breaks the protocol. */
function parseFrame(buf: Buffer): { fin: boolean; opcode: number; payload: Buffer; end: number } | Error | undefined {
  if (buf.length < 2) return undefined;
  if ((buf[1] & 0x80) !== 0) return new Error('a server frame must not be masked');
  let length = buf[1] & 0x7f;
  let at = 2;
  if (length === 126) {
    if (buf.length < 4) return undefined;
    length = buf.readUInt16BE(2);
    at = 4;
  } else if (length === 127) {
    if (buf.length < 10) return undefined;
    const long = buf.readBigUInt64BE(2);
    if (long > BigInt(MAX_MESSAGE_BYTES)) return new Error(`a frame of ${long} bytes`);
    length = Number(long);
    at = 10;
  }
  if (buf.length < at + length) return undefined;
  return { fin: (buf[0] & 0x80) !== 0, opcode: buf[0] & 0x0f, payload: buf.subarray(at, at + length), end: at + length };
}

function reasonOf(body: string): string | undefined {
  try {
    const error = (JSON.parse(body) as { error?: unknown }).error;
    return typeof error === 'string' ? error : undefined;
  } catch {
    return body.trim() || undefined;
  }
}
