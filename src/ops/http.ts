import type { Logger } from 'pino';
import type * as Uws from 'uWebSockets.js';
import type { AdminRole } from '../store/index.js';
import { luhnValid, maskPan, parseBusinessDate } from '../txn/index.js';
import type { AdminAuth } from './auth.js';

/** Largest request body the admin API reads; admin documents are small, so more is a mistake or an attack. */
export const MAX_BODY_BYTES = 64 * 1024;
/** How much of a too-large body is read and dropped before the 413 closes the connection instead. */
const DRAIN_BYTES = 1024 * 1024;

const STATUS_LINES: Record<number, string> = {
  200: '200 OK',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  409: '409 Conflict',
  413: '413 Payload Too Large',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
};

/** A business date given to the API (YYYYMMDD or YYYY-MM-DD) in the journal's form; anything else is a 400 naming `name`. */
export function businessDateOf(name: string, value: unknown): string {
  const date = typeof value === 'string' ? parseBusinessDate(value) : undefined;
  if (date === undefined) throw new HttpError(400, `${name} must be a business date YYYYMMDD or YYYY-MM-DD, got ${JSON.stringify(value)}`);
  return date;
}

/**
 * A refusal's reason as it is answered: a card number it quotes from what the client sent (a path,
 * a parameter, a JSON parser's excerpt) shown as first 6 and last 4 digits, like every other answer.
 */
export function maskedReason(reason: string): string {
  // Only what could be a card: a merchant id (15 digits) quoted in a reason stays as it is.
  return reason.replace(/(?<![0-9])[0-9]{13,19}(?![0-9])/g, (digits) => (luhnValid(digits) ? maskPan(digits) : digits));
}

/** A refusal: answered with its status and `{"error": reason}`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    reason: string,
  ) {
    super(reason);
  }
}

/** What an API handler is given: the request's parts, read before uWS invalidates its HttpRequest. */
export interface ApiRequest {
  /** The route pattern's `:name` parameters in order, URL-decoded. */
  readonly params: readonly string[];
  /** The query string's parameters. */
  readonly query: URLSearchParams;
  /** Who is asking: the token's id, or `bootstrap` (for the audit log). */
  readonly who: string;
  /** The parsed JSON body (PUT and POST), otherwise undefined. */
  readonly body: unknown;
  /** True once the client has gone away (or been answered): a handler may check it after an await to skip needless work. */
  readonly gone: boolean;
}

export interface ApiAnswer {
  status: number;
  body: unknown;
}

export type ApiHandler = (req: ApiRequest) => ApiAnswer | Promise<ApiAnswer>;

export type ApiMethod = 'get' | 'put' | 'patch' | 'post' | 'delete';

/** One registered endpoint: what the API description must cover. */
export interface Endpoint {
  method: ApiMethod;
  /** The uWS pattern, `:name` for each path parameter. */
  pattern: string;
  role: AdminRole;
}

/**
 * One exchange on uWS: whether the client has gone (an aborted HttpResponse must not be touched)
 * and its single JSON answer, corked since it is usually written after an await.
 */
class Exchange implements ApiRequest {
  params: readonly string[] = [];
  query = new URLSearchParams();
  who = '';
  body: unknown;
  gone = false;
  /** Body bytes may still arrive: the answer then closes the connection rather than leave them unread. */
  bodyPending = false;

  constructor(private readonly res: Uws.HttpResponse) {
    res.onAborted(() => (this.gone = true));
  }

  answer(status: number, body: unknown): void {
    if (this.gone) return;
    this.gone = true;
    this.res.cork(() => {
      this.res.writeStatus(STATUS_LINES[status] ?? String(status)).writeHeader('content-type', 'application/json');
      if (status === 401) this.res.writeHeader('www-authenticate', 'Bearer');
      this.res.end(JSON.stringify(body), this.bodyPending);
    });
  }

  /** The body as JSON, at most `limit` bytes; 413 past it, 400 with the parser's reason if it is not JSON. */
  readJson(limit: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let refused = false;
      this.res.onData((chunk, isLast) => {
        size += chunk.byteLength;
        if (size > limit) {
          // Too large: the rest is read and dropped so that a client still sending gets the 413 rather
          // than a reset, but only up to DRAIN_BYTES; past that the answer closes the connection.
          if (!refused && (isLast || size > DRAIN_BYTES)) {
            refused = true;
            this.bodyPending = !isLast;
            reject(new HttpError(413, `a request body is at most ${limit} bytes`));
          }
          return;
        }
        // uWS neuters the chunk when this callback returns: copy it.
        chunks.push(Buffer.from(chunk.slice(0)));
        if (!isLast) return;
        this.bodyPending = false;
        try {
          resolve(parseJson(Buffer.concat(chunks).toString('utf8')));
        } catch (err) {
          reject(err);
        }
      });
    });
  }
}

function parseJson(text: string): unknown {
  if (text.trim() === '') throw new HttpError(400, 'a JSON body is required');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, `the body is not JSON: ${(err as Error).message}`);
  }
}

/**
 * The admin API's endpoints on a uWS app: each behind the bearer token, its body read and parsed,
 * its answer or refusal written as JSON. Endpoint modules register their handlers here.
 */
export class ApiRoutes {
  /** Every endpoint registered, in order. */
  readonly endpoints: Endpoint[] = [];

  constructor(
    private readonly app: Uws.TemplatedApp,
    private readonly auth: AdminAuth,
    private readonly log: Logger,
  ) {}

  /** Reads need a viewer unless they say otherwise; each change names the role it needs. */
  get(pattern: string, handler: ApiHandler, role: AdminRole = 'viewer'): this {
    this.endpoints.push({ method: 'get', pattern, role });
    this.app.get(pattern, (res, req) => this.serve(res, req, pattern, handler, role, false));
    return this;
  }

  put(pattern: string, role: AdminRole, handler: ApiHandler): this {
    this.endpoints.push({ method: 'put', pattern, role });
    this.app.put(pattern, (res, req) => this.serve(res, req, pattern, handler, role, true));
    return this;
  }

  /** A partial update: the body names only the fields it changes. */
  patch(pattern: string, role: AdminRole, handler: ApiHandler): this {
    this.endpoints.push({ method: 'patch', pattern, role });
    this.app.patch(pattern, (res, req) => this.serve(res, req, pattern, handler, role, true));
    return this;
  }

  post(pattern: string, role: AdminRole, handler: ApiHandler): this {
    this.endpoints.push({ method: 'post', pattern, role });
    this.app.post(pattern, (res, req) => this.serve(res, req, pattern, handler, role, true));
    return this;
  }

  del(pattern: string, role: AdminRole, handler: ApiHandler): this {
    this.endpoints.push({ method: 'delete', pattern, role });
    this.app.del(pattern, (res, req) => this.serve(res, req, pattern, handler, role, false));
    return this;
  }

  private serve(res: Uws.HttpResponse, req: Uws.HttpRequest, pattern: string, handler: ApiHandler, role: AdminRole, hasBody: boolean): void {
    const exchange = new Exchange(res);
    // A refusal before the body is read closes the connection: the unread bytes would follow otherwise.
    exchange.bodyPending = hasBody;
    // HttpRequest is only valid in this call: everything needed from it is read now. Failures are
    // logged with the pattern, not the URL: a URL may hold a card number.
    const endpoint = `${req.getMethod().toUpperCase()} ${pattern}`;
    const who = this.auth.check(req.getHeader('authorization'), role);
    if (who instanceof HttpError) return exchange.answer(who.status, { error: who.message });
    exchange.who = who;
    try {
      exchange.params = paramsOf(req, pattern);
      exchange.query = new URLSearchParams(req.getQuery() ?? '');
    } catch (err) {
      return this.refuse(exchange, err, endpoint);
    }
    const body = hasBody ? exchange.readJson(MAX_BODY_BYTES) : undefined;
    void (async () => {
      try {
        exchange.body = await body;
        if (exchange.gone) return;
        const { status, body: answer } = await handler(exchange);
        exchange.answer(status, answer);
      } catch (err) {
        this.refuse(exchange, err, endpoint);
      }
    })();
  }

  private refuse(exchange: Exchange, err: unknown, endpoint: string): void {
    if (err instanceof HttpError) return exchange.answer(err.status, { error: maskedReason(err.message) });
    this.log.error({ err, endpoint }, 'admin API request failed');
    exchange.answer(500, { error: 'internal error; see the switch log' });
  }
}

/** The `:name` parameters of `pattern` as the request gave them, URL-decoded (400 if one is malformed). */
function paramsOf(req: Uws.HttpRequest, pattern: string): string[] {
  const count = pattern.split('/').filter((part) => part.startsWith(':')).length;
  return Array.from({ length: count }, (_, i) => {
    const raw = req.getParameter(i);
    try {
      return decodeURIComponent(raw);
    } catch {
      throw new HttpError(400, `malformed URL escape in ${JSON.stringify(raw)}`);
    }
  });
}
