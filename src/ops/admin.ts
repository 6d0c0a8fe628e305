import type { Logger } from 'pino';
import type * as Uws from 'uWebSockets.js';
import { AdminAuth } from './auth.js';
import { ApiRoutes } from './http.js';
import { renderMetrics, type Metric } from './metrics.js';
import { ReferenceDesk, type ReferenceBook } from './reference.js';
import { routesApi } from './routes-api.js';
import { tokensApi } from './tokens-api.js';
import { auditApi } from './audit-api.js';
import { dayEndApi } from './day-end-api.js';
import type { DayCut } from '../day-end/index.js';
import { loadUws } from './uws.js';

export interface AdminStatus {
  /** True while the terminal channel accepts transactions. */
  accepting(): boolean;
  snapshot(): Record<string, unknown>;
  metrics(): Metric[];
}

/** What the REST API under /api/v1 works with. */
export interface AdminApiOptions {
  /** The bootstrap admin token; without one every /api/v1 request is answered 503. */
  token: string | undefined;
  book: ReferenceBook;
  /** Cut-over on demand (`posp day-cut`). */
  dayCut: DayCut;
  /** Where the back line keeps its state. */
  dataDir: string;
}

/** The admin and monitoring HTTP endpoint (uWebSockets.js): /health and /metrics open, /api/v1 behind a bearer token. */
export class AdminServer {
  private listenSocket: Uws.us_listen_socket | null = null;
  private readonly app: Uws.TemplatedApp;
  private readonly uws: typeof Uws;

  constructor(status: AdminStatus, api: AdminApiOptions, private readonly log: Logger) {
    this.uws = loadUws();
    this.app = this.uws
      .App()
      .get('/health', (res) => {
        const ok = status.accepting();
        res.cork(() => {
          res.writeStatus(ok ? '200 OK' : '503 Service Unavailable').writeHeader('content-type', 'application/json');
          res.end(JSON.stringify({ status: ok ? 'ok' : 'not accepting', ...status.snapshot() }));
        });
      })
      // Unauthenticated like /health: the admin port belongs on an internal interface.
      .get('/metrics', (res) => {
        const text = renderMetrics(status.metrics());
        res.cork(() => {
          res.writeHeader('content-type', 'text/plain; version=0.0.4');
          res.end(text);
        });
      });
    const desk = new ReferenceDesk(api.book);
    const routes = new ApiRoutes(this.app, new AdminAuth(api.token, (key) => desk.state.tokens.get(key)), log);
    routesApi(routes, desk);
    tokensApi(routes, desk);
    auditApi(routes, api.dataDir);
    dayEndApi(routes, api.dayCut, api.dataDir);
    this.app.any('/*', (res, req) => {
      const path = req.getUrl();
      res.cork(() => {
        res.writeStatus('404 Not Found').writeHeader('content-type', 'application/json');
        res.end(JSON.stringify({ error: `no such endpoint: ${path}` }));
      });
    });
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.app.listen(host, port, (socket) => {
        if (!socket) return reject(new Error(`admin port ${host}:${port} is not available`));
        this.listenSocket = socket;
        const actual = this.uws.us_socket_local_port(socket);
        this.log.info({ port: actual }, 'admin API listening');
        resolve(actual);
      });
    });
  }

  close(): void {
    if (this.listenSocket) this.uws.us_listen_socket_close(this.listenSocket);
    this.listenSocket = null;
  }
}
