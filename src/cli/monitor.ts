import type { MonitorFrame } from '../ops/index.js';
import type { Io } from './admin-client.js';
import { WebSocketClient, WebSocketRefused } from './ws-client.js';

export const MONITOR_USAGE = `posp monitor [--host H] [--admin-port P | --admin http://HOST:PORT] [--token T] [--once] [--json]
  Watches the running switch live (ws://HOST:PORT/ws/monitor, any token's role will do): TPS by
  type, latency, response codes, queues, terminals, channels, host links and a sampled tail, each
  second; a refreshed screen on a terminal, one line per second otherwise; --json prints the frames
  as they come; --once prints one and exits. Ctrl-C ends it. Exit 0, 1 refused or unreachable, 2 usage.`;

const VALUE_OPTIONS = ['host', 'admin-port', 'admin', 'token'];
const FLAGS = ['once', 'json'];
/** A frame comes each second: this long without one means the switch has stopped sending. */
const FRAME_TIMEOUT_MS = 10_000;
const CLEAR_SCREEN = '\x1b[H\x1b[2J';

/** `posp monitor`: prints the live monitor's frames until Ctrl-C (or one, with --once). */
export async function monitorCommand(args: string[], io: Io): Promise<number> {
  const options = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const name = args[i].startsWith('--') ? args[i].slice(2) : '';
    if (FLAGS.includes(name)) options.set(name, '');
    else if (VALUE_OPTIONS.includes(name) && args[i + 1] !== undefined) options.set(name, args[++i]);
    else {
      io.err(`${VALUE_OPTIONS.includes(name) ? `--${name} needs a value` : `unexpected ${args[i]}`}\n${MONITOR_USAGE}`);
      return 2;
    }
  }
  const port = options.get('admin-port') ?? process.env.POSP_ADMIN_PORT ?? '8080';
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) {
    io.err(`--admin-port must be a port number, got ${port}\n${MONITOR_USAGE}`);
    return 2;
  }
  const admin = options.get('admin') ?? (options.has('host') || options.has('admin-port') ? undefined : process.env.POSP_ADMIN);
  const base = admin ?? `http://${options.get('host') ?? process.env.POSP_HOST ?? '127.0.0.1'}:${port}`;
  if (!/^https?:\/\/[^/]+\/*$/.test(base)) {
    io.err(`--admin must be http://HOST:PORT, got ${base}\n${MONITOR_USAGE}`);
    return 2;
  }
  const url = `${base.replace(/^http/, 'ws').replace(/\/+$/, '')}/ws/monitor`;
  const token = options.get('token') ?? process.env.POSP_ADMIN_TOKEN;
  return watch(url, token, { once: options.has('once'), json: options.has('json'), screen: process.stdout.isTTY === true }, io);
}

async function watch(url: string, token: string | undefined, mode: { once: boolean; json: boolean; screen: boolean }, io: Io): Promise<number> {
  let client: WebSocketClient;
  try {
    client = await WebSocketClient.connect(url, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
  } catch (err) {
    if (err instanceof WebSocketRefused) io.err(`refused (HTTP ${err.status}): ${err.message}`);
    else io.err(`cannot reach the switch's monitor at ${url}: ${(err as { code?: string }).code ?? (err as Error).message}`);
    return 1;
  }
  let stopping = false;
  const stop = (): void => {
    stopping = true;
    client.close();
  };
  const silence = setTimeout(() => {
    io.err(`no frame from ${url} in ${FRAME_TIMEOUT_MS / 1000} s`);
    client.close();
  }, FRAME_TIMEOUT_MS);
  client.onMessage = (text) => {
    silence.refresh();
    if (mode.json) io.out(text);
    else {
      const frame = JSON.parse(text) as MonitorFrame;
      io.out(mode.screen ? CLEAR_SCREEN + screenOf(frame, url) : lineOf(frame));
    }
    if (mode.once) {
      stopping = true;
      client.close();
    }
  };
  process.once('SIGINT', stop);
  const closed = await client.closed;
  process.off('SIGINT', stop);
  clearTimeout(silence);
  if (stopping) return 0;
  io.err(`the switch ended the monitor: ${closed.code}${closed.reason === '' ? '' : ` ${closed.reason}`}`);
  return 1;
}

/** One line per frame, for logs and pipes. */
function lineOf(f: MonitorFrame): string {
  const parts = [
    clock(f.at),
    f.businessDate,
    `tps=${f.tps.total}`,
    ...byCount(f.tps.byType).map(([type, tps]) => `${type}=${tps}`),
    `p50=${f.latencyUs.p50}us p90=${f.latencyUs.p90}us p99=${f.latencyUs.p99}us max=${f.latencyUs.max}us`,
    `codes ${byCount(f.codes).map(([code, n]) => `${code}=${n}`).join(' ') || '-'}`,
    `terminals=${f.terminals.connected}/${f.terminals.signedIn}`,
    `queues ${Object.entries(f.queues).map(([name, n]) => `${name}=${n}`).join(' ')}`,
    `channels ${f.channels.map((c) => `${c.name}=${c.now}`).join(' ')}`,
    `links ${f.hostLinks.map((l) => `${l.name}=${l.state}(${l.up}/${l.connections})`).join(' ') || '-'}`,
  ];
  return parts.join(' ');
}

/** The refreshed screen of a terminal. */
function screenOf(f: MonitorFrame, url: string): string {
  const q = f.queues;
  const lines = [
    `posp monitor  ${url}  ${clock(f.at)}  business date ${f.businessDate}`,
    '',
    `TPS ${f.tps.total.toFixed(1)}   latency p50 ${ms(f.latencyUs.p50)}  p90 ${ms(f.latencyUs.p90)}  p99 ${ms(f.latencyUs.p99)}  max ${ms(f.latencyUs.max)}`,
    ...byCount(f.tps.byType).map(([type, tps]) => `  ${type.padEnd(28)} ${tps.toFixed(1).padStart(10)}/s`),
    `codes      ${byCount(f.codes).map(([code, n]) => `${code} ${n}`).join('   ') || '-'}`,
    `terminals  ${f.terminals.connected} connected, ${f.terminals.signedIn} signed in`,
    `queues     frames ${q.frames}  responses ${q.responses}  proposals ${q.proposals}  replies ${q.replies}  feed ${q.feed}  advices ${q.advices}`,
    `book       apply lag ${q.applyLag}  WAL ${(q.walBytes / 1048576).toFixed(1)} MB${q.throttled === null ? '' : `  THROTTLED (${q.throttled})`}`,
    `channels   ${f.channels.map((c) => `${c.name} ${c.now}${c.port === undefined ? '' : ` :${c.port}`}`).join('   ')}`,
    `host links ${f.hostLinks.map((l) => `${l.name} ${l.state} ${l.up}/${l.connections} (${l.inFlight} in flight)`).join('   ') || '-'}`,
    '',
    'tail',
    ...f.tail.map((t) => `  ${clock(t.at)}  ${String(t.seq).padStart(9)}  ${t.type.padEnd(20)} ${t.code}  ${(t.amount / 100).toFixed(2).padStart(12)}  ${t.tid} ${t.mid}  ${t.route.padEnd(7)} ${ms(t.latencyUs)}`),
  ];
  return lines.join('\n');
}

function byCount(counts: Record<string, number>): [string, number][] {
  return Object.entries(counts).sort((a, b) => b[1] - a[1]);
}

function clock(at: number): string {
  const d = new Date(at);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

function ms(us: number): string {
  return `${(us / 1000).toFixed(2)} ms`;
}
