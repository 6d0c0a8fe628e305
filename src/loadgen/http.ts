import { randomBytes } from 'node:crypto';
import net from 'node:net';
import * as hdr from 'hdr-histogram-js';
import { CLIENT_HEADER, IDEMPOTENCY_HEADER, NONCE_HEADER, PAYMENTS_PATH, SIGNATURE_HEADER, TIMESTAMP_HEADER, signRequest } from '../channels/signing.js';
import { DEMO, demoPan } from '../store/index.js';
import type { LoadReport } from './load.js';

/** A client of the HTTP channel, as `posp client create` printed it. */
export interface HttpClientCredentials {
  id: string;
  secret: string;
}

export interface HttpLoadOptions {
  host: string;
  port: number;
  clients: HttpClientCredentials[];
  /** Keep-alive connections per client, each with one request outstanding. */
  connections: number;
  /** Stop after this many milliseconds, or after `count` requests in all. */
  durationMs?: number;
  count?: number;
  /** Cards drawn from demo cards 1..cards. */
  cards: number;
  progress?: (line: string) => void;
}

/** One HTTP/1.1 answer: its status and JSON body. */
interface HttpAnswer {
  status: number;
  body: string;
}

/**
 * One keep-alive connection to the HTTP channel with one request outstanding: requests written as
 * HTTP/1.1 text, answers cut by their Content-Length. Kept this small because the load generator
 * shares the machine with the switch: a general HTTP client would cost it several times the CPU.
 */
class PaymentConnection {
  private socket: net.Socket | undefined;
  private buffered = '';
  private waiter: { resolve: (answer: HttpAnswer) => void; reject: (err: Error) => void } | undefined;

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(this.port, this.host, () => resolve());
      socket.setNoDelay(true);
      socket.setEncoding('latin1');
      socket.on('error', (err) => {
        reject(err);
        this.fail(err);
      });
      socket.on('close', () => this.fail(new Error('connection closed by the switch')));
      socket.on('data', (chunk: string) => this.onData(chunk));
      this.socket = socket;
    });
  }

  get connected(): boolean {
    return this.socket !== undefined && !this.socket.destroyed;
  }

  post(head: string, body: string): Promise<HttpAnswer> {
    const answer = new Promise<HttpAnswer>((resolve, reject) => (this.waiter = { resolve, reject }));
    this.socket!.write(head + body, 'latin1');
    return answer;
  }

  close(): void {
    this.socket?.destroy();
  }

  private onData(chunk: string): void {
    this.buffered += chunk;
    const headEnd = this.buffered.indexOf('\r\n\r\n');
    if (headEnd < 0) return;
    const length = /\r\ncontent-length: *(\d+)/i.exec(this.buffered.slice(0, headEnd));
    const bodyLength = length === null ? 0 : Number(length[1]);
    if (this.buffered.length < headEnd + 4 + bodyLength) return;
    const status = Number(this.buffered.slice(9, 12));
    const body = Buffer.from(this.buffered.slice(headEnd + 4, headEnd + 4 + bodyLength), 'latin1').toString('utf8');
    this.buffered = this.buffered.slice(headEnd + 4 + bodyLength);
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.resolve({ status, body });
  }

  private fail(err: Error): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(err);
  }
}

/**
 * Drives the HTTP channel with signed sales on demo cards: every client's connections keep one
 * request outstanding each, each request with its own nonce and Idempotency-Key; an answer that is
 * not an approval counts as an error. Reports as `runLoad` does (codes are F39, or `HTTP n` for a refusal).
 */
export async function runHttpLoad(options: HttpLoadOptions): Promise<LoadReport> {
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  const codes: Record<string, number> = {};
  const errorSamples: string[] = [];
  let done = 0;
  let errors = 0;
  const fail = (what: string) => {
    errors++;
    if (errorSamples.length < 20) errorSamples.push(what);
  };
  // Nonces and keys unique across runs: a run prefix, the connection, a counter.
  const run = randomBytes(6).toString('hex');
  const started = Date.now();
  const deadline = options.durationMs !== undefined ? started + options.durationMs : Infinity;
  const limit = options.count ?? Infinity;
  let lastDone = 0;
  const ticker = setInterval(() => {
    options.progress?.(`${((Date.now() - started) / 1000).toFixed(0)}s ${done} requests, ${done - lastDone}/s, errors ${errors}`);
    lastDone = done;
  }, 1000);

  const drive = async (client: HttpClientCredentials, index: number): Promise<void> => {
    const connection = new PaymentConnection(options.host, options.port);
    await connection.connect();
    const fixed = `POST ${PAYMENTS_PATH} HTTP/1.1\r\nHost: ${options.host}\r\nContent-Type: application/json\r\n${CLIENT_HEADER}: ${client.id}\r\n`;
    for (let n = 1; done + 1 <= limit && Date.now() < deadline; n++) {
      done++;
      const body = `{"type":"sale","amount":${1 + Math.floor(Math.random() * 10_000)},"card":{"pan":"${demoPan(1 + Math.floor(Math.random() * options.cards))}","expiry":"${DEMO.expiry}"}}`;
      const timestamp = String(Date.now());
      const nonce = `${run}-${index}-${n}-nonce`;
      const signature = signRequest(client.secret, timestamp, nonce, 'POST', PAYMENTS_PATH, body);
      const head = `${fixed}Content-Length: ${Buffer.byteLength(body)}\r\n${TIMESTAMP_HEADER}: ${timestamp}\r\n${NONCE_HEADER}: ${nonce}\r\n${SIGNATURE_HEADER}: ${signature}\r\n${IDEMPOTENCY_HEADER}: ${run}-${index}-${n}\r\n\r\n`;
      const sent = process.hrtime.bigint();
      try {
        const answer = await connection.post(head, body);
        histogram.recordValue(Math.max(1, Number((process.hrtime.bigint() - sent) / 1000n)));
        const parsed = JSON.parse(answer.body) as { responseCode?: string; error?: string };
        const code = answer.status === 200 ? parsed.responseCode ?? '--' : `HTTP ${answer.status}`;
        codes[code] = (codes[code] ?? 0) + 1;
        if (code !== '00') fail(`sale of client ${client.id}: ${code}${parsed.error ? ` (${parsed.error})` : ''}`);
      } catch (err) {
        fail(`sale of client ${client.id}: ${(err as Error).message}`);
        if (!connection.connected) await connection.connect();
      }
    }
    connection.close();
  };

  try {
    const drivers = options.clients.flatMap((client, c) => Array.from({ length: options.connections }, (_, i) => drive(client, c * options.connections + i)));
    await Promise.all(drivers.map((d, i) => d.catch((err: Error) => fail(`connection ${i}: ${err.message}`))));
  } finally {
    clearInterval(ticker);
  }
  const seconds = (Date.now() - started) / 1000;
  const transactions = Object.values(codes).reduce((a, b) => a + b, 0);
  return {
    transactions,
    errors,
    seconds,
    tps: transactions / seconds,
    latencyUs: { p50: histogram.getValueAtPercentile(50), p90: histogram.getValueAtPercentile(90), p99: histogram.getValueAtPercentile(99), max: histogram.maxValue },
    responseCodes: codes,
    errorSamples,
  };
}
