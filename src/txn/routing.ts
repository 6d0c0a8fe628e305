import { FINANCIAL_TYPES, type FinancialType } from './types.js';

/** What a route sends its transactions to: the in-house account system, a weighted group of host links, or a refusal. */
export type RouteTarget =
  | { onUs: true }
  | { links: readonly { link: string; weight: number }[] }
  | { reject: string };

/**
 * One routing rule, stored in the `routes` reference table under its id and changed at run time
 * through the book's control channel. Every criterion given must match; the most specific rule
 * that matches wins (`specificity`).
 */
export interface Route {
  id: string;
  match: {
    /** Leading digits of the card number; the longest matching prefix wins. */
    binPrefix?: string;
    /** Card organisation of the card's BIN record (`CUP`, `VIS`, ...). */
    organisation?: string;
    types?: readonly FinancialType[];
    mids?: readonly string[];
    /** Amount range in fen, both ends included. */
    amountMin?: number;
    amountMax?: number;
  };
  to: RouteTarget;
  /** How long a host leg on this route waits for its answer. */
  timeoutMs?: number;
  /**
   * Stand-in: while no link of the route is up, the switch approves for the issuer types that allow
   * it, up to the merchant's `standInLimit`, and tells the host by a 0220 advice. Off by default.
   */
  standIn?: boolean;
}

/** What a transaction is routed by. */
export interface RouteQuery {
  pan: string;
  organisation: string;
  type: FinancialType;
  mid: string;
  amount: number;
}

/** A host leg's answer time unless its route says otherwise: well inside a terminal's own 60 s. */
export const ROUTE_TIMEOUT_MS = 20_000;

const TYPES = new Set<string>(FINANCIAL_TYPES.map((t) => t.type));
const ROUTE_KEYS = new Set(['id', 'match', 'to', 'timeoutMs', 'standIn']);
const MATCH_KEYS = new Set(['binPrefix', 'organisation', 'types', 'mids', 'amountMin', 'amountMax']);

/**
 * Why `value` is not a route that can be stored under `id`, or null when it is. Every route that
 * reaches the book has passed this: a bad one is refused with the reason and changes nothing.
 */
export function routeProblem(id: string, value: unknown): string | null {
  if (!/^[A-Za-z0-9_.-]{1,40}$/.test(id)) return `a route id is 1–40 letters, digits, '_', '.' or '-', got ${JSON.stringify(id)}`;
  if (typeof value !== 'object' || value === null) return 'a route is an object with match and to';
  const route = value as Partial<Route>;
  for (const key of Object.keys(route)) if (!ROUTE_KEYS.has(key)) return `unknown route field ${key}`;
  if (route.id !== undefined && route.id !== id) return `the route's id ${JSON.stringify(route.id)} is not its key ${JSON.stringify(id)}`;
  const match = route.match;
  if (typeof match !== 'object' || match === null) return 'match must be an object (empty matches everything)';
  for (const key of Object.keys(match)) if (!MATCH_KEYS.has(key)) return `unknown match criterion ${key}`;
  if (match.binPrefix !== undefined && !/^\d{1,11}$/.test(match.binPrefix)) return 'match.binPrefix must be 1–11 digits';
  if (match.organisation !== undefined && !/^[A-Z]{3}$/.test(match.organisation)) return 'match.organisation must be 3 capital letters (CUP, VIS, ...)';
  if (match.types !== undefined && (!Array.isArray(match.types) || match.types.length === 0 || match.types.some((t) => !TYPES.has(t)))) {
    return `match.types must be a non-empty list of ${[...TYPES].join(', ')}`;
  }
  if (match.mids !== undefined && (!Array.isArray(match.mids) || match.mids.length === 0 || match.mids.some((m) => typeof m !== 'string' || !/^\d{15}$/.test(m)))) {
    return 'match.mids must be a non-empty list of 15-digit merchant ids';
  }
  for (const end of ['amountMin', 'amountMax'] as const) {
    const v = match[end];
    if (v !== undefined && !(Number.isSafeInteger(v) && v >= 0)) return `match.${end} must be a whole number of fen, 0 or more`;
  }
  if (match.amountMin !== undefined && match.amountMax !== undefined && match.amountMin > match.amountMax) return 'match.amountMin is above match.amountMax';
  if (route.timeoutMs !== undefined && !(Number.isInteger(route.timeoutMs) && route.timeoutMs >= 100 && route.timeoutMs <= 55_000)) {
    return 'timeoutMs must be 100–55,000 ms (a terminal gives up at 60 s)';
  }
  if (route.standIn !== undefined && typeof route.standIn !== 'boolean') return 'standIn must be true or false';
  const problem = targetProblem(route.to);
  if (problem !== null) return problem;
  if (route.standIn === true && !('links' in route.to!)) return 'standIn needs a route to links: it stands in for their hosts';
  return null;
}

function targetProblem(to: unknown): string | null {
  if (typeof to !== 'object' || to === null) return 'to must be {"onUs": true}, {"links": [{"link", "weight"}]} or {"reject": "CODE"}';
  const target = to as Record<string, unknown>;
  const kinds = ['onUs', 'links', 'reject'].filter((k) => target[k] !== undefined);
  if (kinds.length !== 1) return 'to must name exactly one of onUs, links, reject';
  if (kinds[0] === 'onUs') return target.onUs === true ? null : 'to.onUs must be true';
  if (kinds[0] === 'reject') return typeof target.reject === 'string' && /^[0-9A-Z]{2}$/.test(target.reject) && target.reject !== '00' ? null : 'to.reject must be a response code other than 00';
  const links = target.links;
  if (!Array.isArray(links) || links.length === 0) return 'to.links must be a non-empty list';
  const names = new Set<string>();
  for (const l of links as { link?: unknown; weight?: unknown }[]) {
    if (typeof l !== 'object' || l === null || typeof l.link !== 'string' || l.link === '') return 'each of to.links needs a link name';
    if (!(Number.isInteger(l.weight) && (l.weight as number) > 0 && (l.weight as number) <= 1000)) return `the weight of link ${l.link} must be 1–1000`;
    if (names.has(l.link)) return `link ${l.link} is named twice in to.links`;
    names.add(l.link);
  }
  return null;
}

/**
 * The routing rules, compiled once per change: the most specific rule whose every criterion
 * matches decides. Specificity: the longer BIN prefix first, then more criteria, then the id (so
 * the choice never depends on the order rules were stored in).
 */
export class RoutingTable {
  private readonly routes: readonly Route[];

  constructor(routes: Iterable<Route>) {
    this.routes = [...routes].sort((a, b) => specificity(b) - specificity(a) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  get size(): number {
    return this.routes.length;
  }

  /** The route of a transaction, or undefined when no rule matches. */
  match(q: RouteQuery): Route | undefined {
    for (const route of this.routes) {
      const m = route.match;
      if (m.binPrefix !== undefined && !q.pan.startsWith(m.binPrefix)) continue;
      if (m.organisation !== undefined && m.organisation !== q.organisation) continue;
      if (m.types !== undefined && !m.types.includes(q.type)) continue;
      if (m.mids !== undefined && !m.mids.includes(q.mid)) continue;
      if (m.amountMin !== undefined && q.amount < m.amountMin) continue;
      if (m.amountMax !== undefined && q.amount > m.amountMax) continue;
      return route;
    }
    return undefined;
  }
}

/** Longest BIN prefix dominates; each other criterion adds one. */
function specificity(route: Route): number {
  const m = route.match;
  let n = (m.binPrefix?.length ?? 0) * 16;
  if (m.organisation !== undefined) n++;
  if (m.types !== undefined) n++;
  if (m.mids !== undefined) n++;
  if (m.amountMin !== undefined || m.amountMax !== undefined) n++;
  return n;
}

/**
 * Shunting: a link of the group drawn by weight among those that are up (`random` in [0, 1)).
 * A link that is down or disabled is skipped for the next in its group; none up → undefined.
 */
export function pickLink(links: readonly { link: string; weight: number }[], isUp: (link: string) => boolean, random: number): string | undefined {
  let total = 0;
  for (const l of links) if (isUp(l.link)) total += l.weight;
  if (total === 0) return undefined;
  let point = random * total;
  for (const l of links) {
    if (!isUp(l.link)) continue;
    point -= l.weight;
    if (point < 0) return l.link;
  }
  // Rounding at the very end of [0, 1): the last link that is up.
  for (let i = links.length - 1; i >= 0; i--) if (isUp(links[i].link)) return links[i].link;
  return undefined;
}
