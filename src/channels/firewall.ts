import net from 'node:net';
import type { Logger } from 'pino';

/**
 * Why the listener refused: a new connection (the first four), an open connection it closed (a
 * frame too slow, a length out of range, a frame it cannot answer, silence past the idle timeout),
 * or one request over its terminal's rate.
 */
export const REFUSALS = [
  'denied',
  'not-allowed',
  'source-connections',
  'total-connections',
  'frame-timeout',
  'frame-length',
  'unanswerable-frame',
  'idle-timeout',
  'terminal-rate',
] as const;
export type Refusal = (typeof REFUSALS)[number];

/** A listener's limits (`posp start --allow/--deny/...`); each has a default that lets `npm run bench:e2e` through. */
export interface FirewallOptions {
  /** CIDRs (IPv4 or IPv6) a connection must come from; empty: any. */
  allow: readonly string[];
  /** CIDRs no connection may come from (checked first). */
  deny: readonly string[];
  /** Open connections from one source address at most. */
  maxConnectionsPerSource: number;
  /** Open connections at most, all sources together. */
  maxConnections: number;
  /** A frame not complete this long after its first byte closes its connection (slow senders). */
  frameTimeoutMs: number;
  /** Requests a second one terminal may send, on average (token bucket); over it, answered `65` and not processed. */
  terminalRate: number;
  /** Requests one terminal may send at once above its rate (the bucket's size). */
  terminalBurst: number;
}

export const FIREWALL_DEFAULTS: FirewallOptions = {
  allow: [],
  deny: [],
  // bench:e2e holds 1,000 terminals and 10,000 idle connections from loopback; a flood is cut above.
  maxConnectionsPerSource: 12_000,
  maxConnections: 50_000,
  frameTimeoutMs: 5_000,
  terminalRate: 200,
  terminalBurst: 400,
};

/** How often a source's refusals are logged at most: a flood is one line per source per interval. */
const LOG_INTERVAL_MS = 10_000;

/** Terminals whose request rate is tracked at most (far above any real estate of terminals). */
const MAX_BUCKETS = 200_000;

/** One token bucket per terminal: refilled at the rate, spent by each request. */
interface Bucket {
  tokens: number;
  at: number;
}

/**
 * The listener's perimeter: which sources may connect, how many connections each may hold and
 * all may hold together, and how fast each terminal may send. It decides and counts; the acceptor
 * closes what it refuses (or answers a request over its terminal's rate). Refusals are counted by
 * reason for the metrics and the monitor, and logged once per source per interval.
 */
export class Firewall {
  private readonly allow: net.BlockList | undefined;
  private readonly deny = new net.BlockList();
  private readonly perSource = new Map<string, number>();
  private readonly buckets = new Map<string, Bucket>();
  /** Per source and reason: when it was last logged, and how many refusals since went unlogged. */
  private readonly logged = new Map<string, { at: number; suppressed: number }>();
  private open = 0;
  /** Refusals since start, by reason. */
  readonly refused: Record<Refusal, number> = Object.fromEntries(REFUSALS.map((r) => [r, 0])) as Record<Refusal, number>;

  constructor(
    readonly options: FirewallOptions,
    private readonly log: Logger,
  ) {
    for (const cidr of options.deny) addCidr(this.deny, cidr);
    if (options.allow.length > 0) {
      this.allow = new net.BlockList();
      for (const cidr of options.allow) addCidr(this.allow, cidr);
    }
  }

  /** Takes a new connection from `remote`, or says why not (then nothing is counted as open). */
  admit(remote: string): Refusal | null {
    const address = sourceOf(remote);
    const family = net.isIPv6(address) ? 'ipv6' : 'ipv4';
    let refusal: Refusal | null = null;
    if (this.deny.check(address, family)) refusal = 'denied';
    else if (this.allow !== undefined && !this.allow.check(address, family)) refusal = 'not-allowed';
    else if ((this.perSource.get(address) ?? 0) >= this.options.maxConnectionsPerSource) refusal = 'source-connections';
    else if (this.open >= this.options.maxConnections) refusal = 'total-connections';
    if (refusal !== null) {
      this.refuse(refusal, address);
      return refusal;
    }
    this.open++;
    this.perSource.set(address, (this.perSource.get(address) ?? 0) + 1);
    return null;
  }

  /** A connection `admit` took has closed. */
  release(remote: string): void {
    const address = sourceOf(remote);
    this.open--;
    const n = (this.perSource.get(address) ?? 1) - 1;
    if (n === 0) this.perSource.delete(address);
    else this.perSource.set(address, n);
  }

  /** Whether terminal `tid` may send a request now (spends a token), counting a refusal if not. */
  takeRequest(tid: string, address: string, now: number): boolean {
    const { terminalRate, terminalBurst } = this.options;
    let bucket = this.buckets.get(tid);
    if (bucket === undefined) {
      // Terminal ids come from the wire: a sender inventing them may not grow this without bound.
      if (this.buckets.size >= MAX_BUCKETS) this.buckets.clear();
      bucket = { tokens: terminalBurst, at: now };
      this.buckets.set(tid, bucket);
    } else {
      bucket.tokens = Math.min(terminalBurst, bucket.tokens + ((now - bucket.at) * terminalRate) / 1000);
      bucket.at = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens--;
      return true;
    }
    this.refuse('terminal-rate', address, tid);
    return false;
  }

  /** Open connections now, all sources together. */
  get connections(): number {
    return this.open;
  }

  /**
   * Counts a refusal and logs it: one line per source and reason per interval, saying how many
   * like it went unlogged since the last, so a flood or a fuzzer writes a line every ten seconds.
   */
  refuse(reason: Refusal, remote: string, tid?: string): void {
    this.refused[reason]++;
    const address = sourceOf(remote);
    const key = `${reason}|${address}`;
    const now = Date.now();
    const last = this.logged.get(key);
    if (last !== undefined && now - last.at < LOG_INTERVAL_MS) {
      last.suppressed++;
      return;
    }
    // The map is cleared as it grows (a flood of sources): at worst a source logs a line early.
    if (this.logged.size > 10_000) this.logged.clear();
    this.logged.set(key, { at: now, suppressed: 0 });
    const tidPart = tid === undefined ? {} : { tid };
    this.log.warn({ reason, remote: address, ...tidPart, suppressed: last?.suppressed ?? 0, refusedSoFar: this.refused[reason] }, 'listener refused');
  }
}

/** Throws with the reason when a CIDR of the options cannot be read (for the configuration's check). */
export function checkFirewall(options: FirewallOptions): void {
  const list = new net.BlockList();
  for (const cidr of [...options.allow, ...options.deny]) addCidr(list, cidr);
}

/** An IPv4 peer of a dual-stack listener shows as `::ffff:a.b.c.d`: it is the IPv4 address for the lists. */
function sourceOf(remote: string): string {
  return remote.startsWith('::ffff:') && net.isIPv4(remote.slice(7)) ? remote.slice(7) : remote;
}

/** `a.b.c.d/n`, `x:y::z/n` or a single address; throws with the reason for anything else. */
function addCidr(list: net.BlockList, text: string): void {
  const [address, bits] = text.trim().split('/');
  const family = net.isIPv6(address) ? 'ipv6' : net.isIPv4(address) ? 'ipv4' : undefined;
  if (family === undefined) throw new Error(`not an IP address or CIDR: ${JSON.stringify(text)}`);
  if (bits === undefined) return list.addAddress(address, family);
  const prefix = Number(bits);
  if (!/^\d{1,3}$/.test(bits) || prefix > (family === 'ipv4' ? 32 : 128)) throw new Error(`not a CIDR prefix length: ${JSON.stringify(text)}`);
  list.addSubnet(address, prefix, family);
}
