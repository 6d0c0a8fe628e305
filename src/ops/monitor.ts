import type * as Uws from 'uWebSockets.js';
import type { PressureSnapshot } from '../book/index.js';
import type { HostLinkView } from '../channels/index.js';
import type { Ring } from '../ring/index.js';
import type { AdminAuth } from './auth.js';
import type { ChannelStatus } from './channels-api.js';
import { HttpError } from './http.js';
import type { Labels, Metric, Sample } from './metrics.js';
import type { TailEntry, TrafficStats, TrafficWindow } from './traffic.js';

/** Where the live monitor is served on the admin port. */
export const MONITOR_PATH = '/ws/monitor';
/** The one pub/sub topic every monitor client subscribes to: each frame is built once for all. */
const TOPIC = 'monitor';
const FRAME_INTERVAL_MS = 1000;
/** Clients only listen: anything they send is small or a mistake. */
const MAX_CLIENT_MESSAGE = 1024;

const REFUSALS: Record<number, string> = { 401: '401 Unauthorized', 403: '403 Forbidden', 503: '503 Service Unavailable' };

/** Messages and bytes waiting in one shared-memory ring; `pipeline` names the worker (or `inline`) for rings that have one. */
export interface RingDepth {
  ring: 'frames' | 'responses' | 'proposals' | 'replies' | 'feed';
  pipeline?: string;
  messages: number;
  bytes: number;
  capacityBytes: number;
}

export function ringDepth(ring: RingDepth['ring'], pipeline: string | undefined, r: Ring): RingDepth {
  return { ring, ...(pipeline === undefined ? {} : { pipeline }), messages: r.usedMessages, bytes: r.usedBytes, capacityBytes: r.capacity };
}

/** What the switch shows of itself besides its traffic; read once per monitor frame and once per scrape. */
export interface SwitchGauges {
  businessDate: string;
  connectedTerminals: number;
  rings: RingDepth[];
  /** Reversal advices owed to hosts (store and forward). */
  adviceQueue: number;
  pressure: PressureSnapshot;
  channels: ChannelStatus[];
  hostLinks: HostLinkView[];
  /** The terminal listener's firewall: connections it holds open, refusals since start by reason. */
  firewall: { connections: number; refused: Readonly<Record<string, number>> };
}

/** One frame of the live monitor (JSON), once a second to every client. */
export interface MonitorFrame {
  /** Epoch milliseconds the frame was made. */
  at: number;
  businessDate: string;
  /** The span the traffic figures cover (about a second). */
  seconds: number;
  tps: { total: number; byType: Record<string, number> };
  latencyUs: TrafficWindow['latencyUs'];
  /** Transactions of the span by response code. */
  codes: Record<string, number>;
  terminals: { connected: number; signedIn: number };
  /** Messages waiting in each kind of ring (all pipelines), the advice queue and how far LMDB is behind. */
  queues: { frames: number; responses: number; proposals: number; replies: number; feed: number; advices: number; applyLag: number; walBytes: number; throttled: PressureSnapshot['throttled'] };
  channels: ChannelStatus[];
  firewall: SwitchGauges['firewall'];
  hostLinks: Omit<HostLinkView, 'states'>[];
  /** Some of the span's transactions, evenly spread, oldest first; no card number (the feed carries none). */
  tail: TailEntry[];
}

export function monitorFrame(at: number, window: TrafficWindow, g: SwitchGauges, signedIn: number): MonitorFrame {
  const queued = { frames: 0, responses: 0, proposals: 0, replies: 0, feed: 0 };
  for (const r of g.rings) queued[r.ring] += r.messages;
  return {
    at,
    businessDate: g.businessDate,
    seconds: window.seconds,
    tps: { total: window.tps, byType: window.tpsByType },
    latencyUs: window.latencyUs,
    codes: window.codes,
    terminals: { connected: g.connectedTerminals, signedIn },
    queues: { ...queued, advices: g.adviceQueue, applyLag: g.pressure.applyLag, walBytes: g.pressure.walBytes, throttled: g.pressure.throttled },
    channels: g.channels,
    firewall: g.firewall,
    hostLinks: g.hostLinks.map(({ name, state, up, connections, inFlight }) => ({ name, state, up, connections, inFlight })),
    tail: window.tail,
  };
}

/** The gauges as Prometheus samples: ring depths, the advice queue, connections, channels, host links. */
export function gaugeMetrics(g: SwitchGauges): Metric[] {
  const ringLabels = (r: RingDepth): Labels => (r.pipeline === undefined ? { ring: r.ring } : { ring: r.ring, pipeline: r.pipeline });
  const links = (value: (l: HostLinkView) => number): Sample[] => g.hostLinks.map((l) => ({ labels: { link: l.name }, value: value(l) }));
  return [
    { name: 'posp_ring_queued_messages', help: 'Messages waiting in a shared-memory ring.', type: 'gauge', samples: g.rings.map((r) => ({ labels: ringLabels(r), value: r.messages })) },
    { name: 'posp_ring_queued_bytes', help: 'Bytes waiting in a shared-memory ring.', type: 'gauge', samples: g.rings.map((r) => ({ labels: ringLabels(r), value: r.bytes })) },
    { name: 'posp_ring_capacity_bytes', help: "A shared-memory ring's size.", type: 'gauge', samples: g.rings.map((r) => ({ labels: ringLabels(r), value: r.capacityBytes })) },
    { name: 'posp_firewall_refused_total', help: 'Connections and requests the terminal listener refused, by reason.', type: 'counter', samples: Object.entries(g.firewall.refused).map(([reason, n]) => ({ labels: { reason }, value: n })) },
    { name: 'posp_advice_queue_size', help: 'Reversal advices owed to hosts (store and forward).', type: 'gauge', value: g.adviceQueue },
    { name: 'posp_terminal_connections', help: 'Terminal TCP connections open.', type: 'gauge', value: g.connectedTerminals },
    { name: 'posp_channel_enabled', help: '1 while an access direction is switched on (posp channel enable), else 0.', type: 'gauge', samples: g.channels.map((c) => ({ labels: { channel: c.name, kind: c.kind }, value: c.switched === 'enabled' ? 1 : 0 })) },
    { name: 'posp_host_link_connections', help: 'Connections to a host (one per pipeline).', type: 'gauge', samples: links((l) => l.connections) },
    { name: 'posp_host_link_connections_up', help: 'Connections to a host signed on with zone keys: able to carry transactions.', type: 'gauge', samples: links((l) => l.up) },
    { name: 'posp_host_link_in_flight', help: "Requests awaiting a host's answer.", type: 'gauge', samples: links((l) => l.inFlight) },
  ];
}

/**
 * The live monitor on the admin port: `ws://HOST:PORT/ws/monitor`, for any token (a viewer's will
 * do), given as `?token=T` (browsers cannot set headers on a WebSocket) or `Authorization: Bearer T`;
 * refused with 401/403 before the upgrade. Once a second it closes the traffic window and, only if
 * someone is watching, publishes one JSON frame to every client through uWS pub/sub.
 */
export class LiveMonitor {
  private app: Uws.TemplatedApp | undefined;
  private readonly clients = new Set<Uws.WebSocket<unknown>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly traffic: TrafficStats,
    private readonly gauges: () => SwitchGauges,
    /** Drains the book's event feed, so a frame counts everything durable until it is made. */
    private readonly drainFeed: () => void,
  ) {}

  mount(app: Uws.TemplatedApp, auth: AdminAuth): void {
    this.app = app;
    app.ws(MONITOR_PATH, {
      maxPayloadLength: MAX_CLIENT_MESSAGE,
      upgrade: (res, req, context) => {
        const token = new URLSearchParams(req.getQuery() ?? '').get('token');
        const who = auth.check(token === null ? req.getHeader('authorization') : `Bearer ${token}`, 'viewer');
        if (who instanceof HttpError) {
          res.writeStatus(REFUSALS[who.status] ?? String(who.status)).writeHeader('content-type', 'application/json');
          if (who.status === 401) res.writeHeader('www-authenticate', 'Bearer');
          res.end(JSON.stringify({ error: who.message }), true);
          return;
        }
        res.upgrade({}, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions'), context);
      },
      open: (ws) => {
        ws.subscribe(TOPIC);
        this.clients.add(ws);
      },
      close: (ws) => {
        this.clients.delete(ws);
      },
    });
  }

  /** Starts the frames (once the admin port listens). */
  start(): void {
    this.timer ??= setInterval(() => this.tick(), FRAME_INTERVAL_MS);
    this.timer.unref();
  }

  /** Stops the frames and says goodbye to every client (1001: going away). */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    for (const ws of [...this.clients]) ws.end(1001, 'the switch is stopping');
    this.clients.clear();
  }

  private tick(): void {
    this.drainFeed();
    const now = Date.now();
    const window = this.traffic.roll(now);
    if (this.app === undefined || this.app.numSubscribers(TOPIC) === 0) return;
    this.app.publish(TOPIC, JSON.stringify(monitorFrame(now, window, this.gauges(), this.traffic.signedInTerminals)), false);
  }
}
