import type { Logger } from 'pino';
import type * as Uws from 'uWebSockets.js';
import { AdminAuth } from './auth.js';
import { ApiRoutes, maskedReason } from './http.js';
import { renderMetrics, type Metric } from './metrics.js';
import { ReferenceDesk, type ReferenceBook } from './reference.js';
import { routesApi } from './routes-api.js';
import { riskRulesApi } from './risk-api.js';
import { tokensApi } from './tokens-api.js';
import { auditApi } from './audit-api.js';
import { dayEndApi } from './day-end-api.js';
import { merchantsApi } from './merchants-api.js';
import { terminalsApi } from './terminals-api.js';
import { keysApi } from './keys-api.js';
import { binsApi } from './bins-api.js';
import { cardsApi } from './cards-api.js';
import { parametersApi } from './parameters-api.js';
import { openApi } from './openapi.js';
import { clientsApi } from './clients-api.js';
import { channelsApi, type AccessDirections } from './channels-api.js';
import type { TerminalActivity } from './terminal-activity.js';
import type { LmkCustodian, SecurityModule } from '../security/index.js';
import type { DayCut } from '../day-end/index.js';
import { loadUws } from './uws.js';
import { checkPort } from '../channels/index.js';
import { consoleAssets } from './console-assets.js';
import type { LiveMonitor } from './monitor.js';

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
  /** Wraps TMKs given in clear and makes PIN verifiers for new cards (the switch's own module, on this thread). */
  hsm: SecurityModule;
  /** Rotates the LMK (`POST /api/v1/lmk/rotate`). */
  custodian: LmkCustodian;
  /** When each terminal was last seen, from the book's event feed. */
  activity: TerminalActivity;
  /** The listeners and host links `posp channel` switches on and off. */
  access: AccessDirections;
  /** The live monitor's WebSocket, behind the same tokens. */
  monitor: LiveMonitor;
}

/** The admin and monitoring HTTP endpoint (uWebSockets.js): /health and /metrics open, /api/v1 and the live monitor (/ws/monitor) behind a bearer token. */
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
    const auth = new AdminAuth(api.token, (key) => desk.state.tokens.get(key));
    api.monitor.mount(this.app, auth);
    const routes = new ApiRoutes(this.app, auth, log);
    routesApi(routes, desk);
    riskRulesApi(routes, desk, api.hsm);
    tokensApi(routes, desk);
    auditApi(routes, api.dataDir);
    dayEndApi(routes, api.dayCut, api.dataDir);
    merchantsApi(routes, desk);
    terminalsApi(routes, desk, api.hsm, api.activity);
    keysApi(routes, desk, api.hsm, api.custodian);
    binsApi(routes, desk);
    cardsApi(routes, desk, api.hsm);
    parametersApi(routes, desk);
    clientsApi(routes, desk, api.hsm);
    channelsApi(routes, desk, api.access);
    openApi(routes);
    serveConsole(this.app);
    this.app.any('/*', (res, req) => {
      const path = req.getUrl();
      res.cork(() => {
        res.writeStatus('404 Not Found').writeHeader('content-type', 'application/json');
        res.end(JSON.stringify({ error: `no such endpoint: ${maskedReason(path)}` }));
      });
    });
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.app.listen(host, port, (socket) => {
        // uWS says only that it failed: a probe of the port finds the reason.
        if (!socket) return void checkPort('admin', host, port).then(() => reject(new Error(`the admin port ${host}:${port} cannot be opened`)), reject);
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

/**
 * The management console at `/`: static files, open like any page (the data behind them needs the
 * token the operator signs in with). Kept in memory; each answer is one write.
 */
function serveConsole(app: Uws.TemplatedApp): void {
  const assets = consoleAssets();
  for (const path of ['/', '/console/console.css', '/console/app.js', '/console/chart.js']) {
    app.get(path, (res) => {
      const asset = typeof assets === 'string' ? undefined : assets.get(path);
      res.cork(() => {
        if (asset === undefined) res.writeStatus('503 Service Unavailable').writeHeader('content-type', 'text/plain; charset=utf-8').end(String(assets));
        else res.writeHeader('content-type', asset.type).writeHeader('cache-control', 'no-cache').end(asset.body);
      });
    });
  }
}
