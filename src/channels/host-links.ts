import type { Logger } from 'pino';
import type { HostMessage } from '../codec/index.js';
import type { KeyHandle, SecurityModule } from '../security/index.js';
import { HostLink, type AnswerHandler, type LinkFailure, type LinkState } from './host-link.js';
import type { LinkGaugeSlot } from './link-gauges.js';

/** One configured host: `posp start --links NAME=HOST:PORT,...`. */
export interface LinkConfig {
  name: string;
  host: string;
  port: number;
  /** Where this pipeline's connection to the host reports its state (set by the switch, per pipeline). */
  gauge?: LinkGaugeSlot;
}

/** What the pipeline needs of the host links: whether one is up, its session's zone PIN key, sending. */
export interface HostGateway {
  isUp(link: string): boolean;
  zpk(link: string): KeyHandle | undefined;
  /** Sends on `link`; the answer comes back with `ticket`. Returns why nothing was sent, or null. */
  send(link: string, request: HostMessage, ticket: number, timeoutMs: number): LinkFailure | null;
  /** The link's next STAN, for a request journalled before it is sent (undefined: no such link). */
  reserveStan(link: string): string | undefined;
  /** Switches a link off (`posp channel disable NAME`): routing skips it and nothing new is sent on it; what is in flight finishes. */
  setEnabled(link: string, enabled: boolean): void;
}

/** The listeners' names among the access directions: the terminal port and the HTTP channel. */
export const LISTENER_NAMES: readonly string[] = ['terminal', 'http'];

/** `NAME=HOST:PORT,...` → link configs; throws with the reason for anything else. */
export function parseLinks(text: string): LinkConfig[] {
  if (text.trim() === '') return [];
  const links = text.split(',').map((part) => {
    const m = /^([A-Za-z0-9_.-]{1,40})=([^:\s]+):(\d{1,5})$/.exec(part.trim());
    if (!m || Number(m[3]) > 65535) throw new Error(`a link is NAME=HOST:PORT, got ${JSON.stringify(part)}`);
    return { name: m[1], host: m[2], port: Number(m[3]) };
  });
  const names = new Set<string>();
  for (const l of links) {
    // Access directions share one namespace (`posp channel disable NAME`): the listeners' names are taken.
    if (LISTENER_NAMES.includes(l.name)) throw new Error(`a link may not be called ${l.name}: that is a listener's name`);
    if (names.has(l.name)) throw new Error(`link ${l.name} is configured twice`);
    names.add(l.name);
  }
  return links;
}

/**
 * The host links of one pipeline (a worker, or the acceptor's thread with `--workers 0`): one
 * persistent connection to each configured host. Links live with the pipeline that parks the
 * requests they carry, so an answer resumes its request without a hop between threads; each has
 * its own STAN, so a host sees one connection per worker.
 */
export class HostLinks implements HostGateway {
  private readonly links = new Map<string, HostLink>();
  /** Where answers go; set once the pipeline that takes them exists. */
  onAnswer: AnswerHandler = () => undefined;
  /** Links switched off at run time: their connections stay (answers in flight arrive), unused. */
  private readonly disabled = new Set<string>();

  constructor(configs: readonly LinkConfig[], options: { acquirerId: string; hsm: SecurityModule; zmk: Buffer; keyExchangeMs: number; log: Logger }) {
    const handler: AnswerHandler = (ticket, answer, failure) => this.onAnswer(ticket, answer, failure);
    for (const c of configs) {
      this.links.set(c.name, new HostLink({ ...c, acquirerId: options.acquirerId, hsm: options.hsm, zmk: options.zmk, keyExchangeMs: options.keyExchangeMs, log: options.log, onAnswer: handler }));
    }
  }

  isUp(link: string): boolean {
    return this.links.get(link)?.state === 'up' && !this.disabled.has(link);
  }

  zpk(link: string): KeyHandle | undefined {
    return this.links.get(link)?.zpk;
  }

  send(link: string, request: HostMessage, ticket: number, timeoutMs: number): LinkFailure | null {
    const l = this.links.get(link);
    return l === undefined || this.disabled.has(link) ? 'down' : l.send(request, ticket, timeoutMs);
  }

  setEnabled(link: string, enabled: boolean): void {
    if (enabled) this.disabled.delete(link);
    else this.disabled.add(link);
  }

  reserveStan(link: string): string | undefined {
    return this.links.get(link)?.reserveStan();
  }

  /** Each link's state, for the admin API and the monitor. */
  states(): Record<string, LinkState> {
    return Object.fromEntries([...this.links].map(([name, l]) => [name, l.state]));
  }

  close(): void {
    for (const l of this.links.values()) l.close();
  }
}
