import type { HostGateway, LinkFailure } from '../channels/index.js';
import type { HostMessage } from '../codec/index.js';
import type { KeyHandle, SecurityModule } from '../security/index.js';
import {
  addTotals,
  authKey,
  emptyTotals,
  type BatchTotals,
  type Biller,
  type Card,
  type CardBin,
  type ChannelSwitch,
  type JournalEntry,
  type Merchant,
  type ParameterKind,
  type ParameterSet,
  type ReferenceChange,
  type StateStore,
  type Terminal,
  type TxnRecord,
} from '../store/index.js';
import { RiskRuleSet, RoutingTable, dayNumber, RC, type RiskRule, type Route, type RouteQuery } from '../txn/index.js';
import { TerminalState } from './context.js';

/** What the switch is configured with that the rules read. */
export interface Settings {
  /** F32 and the acquirer half of F44. */
  acquirerId: string;
  refundWindowDays: number;
  /** Days a pre-authorisation holds funds and can be completed. */
  holdDays: number;
  /** Hours after which a terminal's working keys are due for rotation (header asks it to sign in again). */
  keyRotationHours: number;
}

/**
 * Everything a step or a type's rules may use, and nothing of the engine that runs them (as jPOS
 * participants see a context, never the transaction manager): look-ups, the security module, the
 * clock, the settings, and the business date as the book last said it.
 */
export interface Services {
  readonly hsm: SecurityModule;
  readonly settings: Settings;
  /** Epoch milliseconds. */
  now(): number;
  /** The business date (YYYYMMDD) of the book's latest reply. */
  businessDate(): string;
  /** Business days from `businessDate` to today's. */
  daysSince(businessDate: string): number;
  terminal(tid: string): TerminalState | undefined;
  merchant(mid: string): Merchant | undefined;
  /** The BIN entry of a card (longest prefix). */
  bin(pan: string): CardBin | undefined;
  card(pan: string): Card | undefined;
  biller(code: string): Biller | undefined;
  parameterSet(kind: ParameterKind): ParameterSet | undefined;
  /** The index record under a request key. */
  txn(key: string): TxnRecord | undefined;
  txnByRrn(rrn: string): TxnRecord | undefined;
  /** The approved pre-auth with this card token, auth code and date. */
  txnByAuth(panHash: string, authCode: string, date: string): TxnRecord | undefined;
  /** The settlement totals of the terminal's current batch as counted so far. */
  totals(terminal: TerminalState): BatchTotals;
  /** Current version of each parameter set (for the header's processing requirement). */
  parameterVersions(): Partial<Record<ParameterKind, number>>;
  /** Hands a waiting request (its `ctx.ticket`) the answer its step waited for: `''` goes on, a code ends it. */
  resume(ticket: number, code: string): void;
  /** The routing rule of a transaction for a card that is not ours, if one matches. */
  route(q: RouteQuery): Route | undefined;
  /** The risk rules, compiled for look-ups (src/txn/risk-rules.ts). */
  riskRules(): RiskRuleSet;
  /** Whether a host link is up (signed on, zone keys in place). A property: routing passes it on. */
  readonly hostLinkUp: (link: string) => boolean;
  /** The zone PIN key of a link's session. */
  hostZpk(link: string): KeyHandle | undefined;
  /** Sends a converted request on a link; the answer resumes `ticket`. Why nothing was sent, or null. */
  sendToHost(link: string, request: HostMessage, ticket: number, timeoutMs: number): LinkFailure | null;
  /** The link's next STAN, taken before the request is journalled; undefined when there is no such link. */
  reserveHostStan(link: string): string | undefined;
}

/** Records kept beyond what LMDB has applied are trimmed down to half this. */
const RECENT_LIMIT = 10_000;
/** Reference data changes (a merchant suspended, a BIN added) reach the workers within this time plus LMDB's apply lag. */
const REFERENCE_TTL_MS = 500;
const REFERENCE_CACHE_LIMIT = 10_000;

/**
 * A worker's services over LMDB: reference data cached briefly, the terminals it owns, and the
 * newest copy of every record its own requests changed (LMDB applies them a little later).
 */
export class WorkerServices implements Services {
  readonly hsm: SecurityModule;
  readonly settings: Settings;
  readonly resume: (ticket: number, code: string) => void;
  private readonly state: StateStore;
  private date: string;
  private day: number;
  private readonly terminals = new Map<string, TerminalState>();
  private readonly recent = new Map<string, TxnRecord>();
  private readonly recentRrns = new Map<string, string>();
  private readonly recentAuths = new Map<string, string>();
  private readonly merchants = new Map<string, { at: number; value: Merchant | undefined }>();
  private readonly bins = new Map<string, { at: number; value: CardBin | undefined }>();
  private binsReadAt = 0;
  private versions: Partial<Record<ParameterKind, number>> = {};
  private versionsReadAt = 0;

  /**
   * The routing rules: read from LMDB once, then kept by the book's notices, which announce every
   * change in order (LMDB may apply a change after its notice, so it is not read again).
   */
  private routes: Map<string, Route> | undefined;
  private routing: RoutingTable | undefined;
  /** The risk rules, kept the same way as the routing rules. */
  private risks: Map<string, RiskRule> | undefined;
  private riskRuleSet: RiskRuleSet | undefined;
  readonly hostLinkUp: (link: string) => boolean;

  constructor(
    state: StateStore,
    hsm: SecurityModule,
    settings: Settings,
    businessDate: string,
    resume: (ticket: number, code: string) => void,
    private readonly hosts: HostGateway | undefined,
  ) {
    this.state = state;
    this.hsm = hsm;
    this.settings = settings;
    this.resume = resume;
    this.date = businessDate;
    this.day = dayNumber(businessDate);
    this.hostLinkUp = hosts === undefined ? () => false : (link) => hosts.isUp(link);
    // Links switched off before this worker started stay off (the switch is kept in LMDB).
    for (const { value } of state.channels.getRange()) hosts?.setEnabled(value.name, value.state !== 'disabled');
  }

  route(q: RouteQuery): Route | undefined {
    this.routing ??= new RoutingTable(this.knownRoutes().values());
    return this.routing.match(q);
  }

  riskRules(): RiskRuleSet {
    return (this.riskRuleSet ??= new RiskRuleSet(this.knownRiskRules().values()));
  }

  hostZpk(link: string): KeyHandle | undefined {
    return this.hosts?.zpk(link);
  }

  sendToHost(link: string, request: HostMessage, ticket: number, timeoutMs: number): LinkFailure | null {
    return this.hosts === undefined ? 'down' : this.hosts.send(link, request, ticket, timeoutMs);
  }

  reserveHostStan(link: string): string | undefined {
    return this.hosts?.reserveStan(link);
  }

  now(): number {
    return Date.now();
  }

  businessDate(): string {
    return this.date;
  }

  daysSince(businessDate: string): number {
    return this.day - dayNumber(businessDate);
  }

  terminal(tid: string): TerminalState | undefined {
    let terminal = this.terminals.get(tid);
    if (terminal === undefined) {
      const record = this.state.terminals.get(tid);
      if (record === undefined) return undefined;
      // Batch totals are read from LMDB only now, when LMDB holds all of the terminal's entries: a
      // later read could already include an entry whose reply is about to be counted.
      terminal = new TerminalState(record, { batch: record.batch, totals: this.state.batchTotals(tid, record.batch) });
      this.loadKeys(terminal);
      this.terminals.set(tid, terminal);
    }
    return terminal;
  }

  merchant(mid: string): Merchant | undefined {
    const now = Date.now();
    const hit = this.merchants.get(mid);
    if (hit !== undefined && now - hit.at < REFERENCE_TTL_MS) return hit.value;
    const value = this.state.merchants.get(mid);
    if (this.merchants.size >= REFERENCE_CACHE_LIMIT) this.merchants.clear();
    this.merchants.set(mid, { at: now, value });
    return value;
  }

  bin(pan: string): CardBin | undefined {
    const now = Date.now();
    // A BIN of a new length changes which digits decide: re-read the lengths with the BINs.
    if (now - this.binsReadAt >= REFERENCE_TTL_MS) {
      this.binsReadAt = now;
      this.state.loadBinLengths();
    }
    const key = pan.slice(0, this.state.binKeyLength);
    const hit = this.bins.get(key);
    if (hit !== undefined && now - hit.at < REFERENCE_TTL_MS) return hit.value;
    const value = this.state.binFor(pan);
    if (this.bins.size >= REFERENCE_CACHE_LIMIT) this.bins.clear();
    this.bins.set(key, { at: now, value });
    return value;
  }

  card(pan: string): Card | undefined {
    return this.state.cards.get(pan);
  }

  biller(code: string): Biller | undefined {
    return this.state.billers.get(code);
  }

  parameterSet(kind: ParameterKind): ParameterSet | undefined {
    return this.state.parameters.get(kind);
  }

  parameterVersions(): Partial<Record<ParameterKind, number>> {
    const now = Date.now();
    if (now - this.versionsReadAt > 1000) {
      this.versionsReadAt = now;
      const versions: Partial<Record<ParameterKind, number>> = {};
      for (const { key, value } of this.state.parameters.getRange()) versions[key] = value.version;
      this.versions = versions;
    }
    return this.versions;
  }

  txn(key: string): TxnRecord | undefined {
    return this.recent.get(key) ?? this.state.txns.get(key);
  }

  txnByAuth(panHash: string, authCode: string, date: string): TxnRecord | undefined {
    const key = this.recentAuths.get(authKey(panHash, authCode, date));
    return key !== undefined ? this.txn(key) : this.state.txnByAuth(panHash, authCode, date);
  }

  txnByRrn(rrn: string): TxnRecord | undefined {
    const key = this.recentRrns.get(rrn);
    return key !== undefined ? this.txn(key) : this.state.txnByRrn(rrn);
  }

  totals(terminal: TerminalState): BatchTotals {
    const batch = terminal.record.batch;
    if (terminal.totals.batch !== batch) terminal.totals = { batch, totals: emptyTotals() };
    return terminal.totals.totals;
  }

  /**
   * The book has made `entry` durable: what it changed is now this worker's newest copy (its
   * terminal, the originals it touched, its own index record), and its business date is today's.
   */
  learn(entry: JournalEntry, terminal: TerminalState | undefined): void {
    if (entry.businessDate !== this.date) this.learnDate(entry.businessDate);
    const effects = entry.effects;
    if (terminal && effects.totals) {
      const counted = this.totals(terminal);
      terminal.totals = { batch: terminal.record.batch, totals: addTotals(counted, effects.totals) };
    }
    if (terminal && effects.terminal) this.updateTerminal(terminal, effects.terminal);
    for (const update of effects.originals ?? []) {
      const original = this.txn(update.key);
      if (original === undefined) continue;
      const changed = { ...original };
      if (update.status) changed.status = update.status;
      if (update.refund !== undefined) changed.refunded = (original.refunded ?? 0) + update.refund;
      this.remember(changed);
    }
    if (effects.txn) this.remember(effects.txn);
  }

  /**
   * A durable reference change, as the book announced it (LMDB may apply it a little later): a
   * terminal this worker holds takes the changed fields over its own record (its keys reloaded if
   * they changed), so does a merchant's cached record, and cached BINs are dropped.
   */
  referenceChanged(change: ReferenceChange): void {
    if (change.table === 'terminals') {
      const terminal = this.terminals.get(change.key);
      if (terminal === undefined) return;
      if (change.value === null) this.terminals.delete(change.key);
      else this.updateTerminal(terminal, change.value as Partial<Terminal>);
    } else if (change.table === 'merchants') {
      // The fields set over the record as this worker knows it (LMDB may not have the change yet).
      const known = this.merchant(change.key);
      const value = change.value === null || known === undefined ? undefined : { ...known, ...(change.value as Partial<Merchant>) };
      this.merchants.set(change.key, { at: Date.now(), value });
    } else if (change.table === 'bins') {
      this.bins.clear();
      this.binsReadAt = 0;
    } else if (change.table === 'channels') {
      this.hosts?.setEnabled(change.key, (change.value as Partial<ChannelSwitch> | null)?.state !== 'disabled');
    } else if (change.table === 'routes') {
      // The book stores a route whole, so the notice's value is the rule.
      const routes = this.knownRoutes();
      if (change.value === null) routes.delete(change.key);
      else routes.set(change.key, change.value as Route);
      this.routing = new RoutingTable(routes.values());
    } else if (change.table === 'riskRules') {
      // The book stores a rule whole too.
      const rules = this.knownRiskRules();
      if (change.value === null) rules.delete(change.key);
      else rules.set(change.key, change.value as RiskRule);
      this.riskRuleSet = new RiskRuleSet(rules.values());
    }
  }

  private knownRoutes(): Map<string, Route> {
    return (this.routes ??= new Map(this.state.routes.getRange().map(({ key, value }) => [key, value])));
  }

  private knownRiskRules(): Map<string, RiskRule> {
    return (this.risks ??= new Map(this.state.riskRules.getRange().map(({ key, value }) => [key, value])));
  }

  /** The book's business date, as a reply (or the book at start-up) said it. */
  learnDate(businessDate: string): void {
    this.date = businessDate;
    this.day = dayNumber(businessDate);
  }

  private updateTerminal(terminal: TerminalState, update: Partial<Terminal>): void {
    terminal.record = { ...terminal.record, ...update };
    if (update.keys !== undefined || update.tmk !== undefined) this.loadKeys(terminal);
  }

  private loadKeys(terminal: TerminalState): void {
    const keys = terminal.record.keys;
    terminal.mak = keys ? this.hsm.loadKey(keys.mak) : undefined;
    terminal.pik = keys ? this.hsm.loadKey(keys.pik) : undefined;
    terminal.tdk = keys?.tdk ? this.hsm.loadKey(keys.tdk) : undefined;
  }

  private remember(record: TxnRecord): void {
    this.recent.delete(record.key);
    this.recent.set(record.key, record);
    if (record.rrn) this.recentRrns.set(record.rrn, record.key);
    if (record.type === 'pre-auth' && record.responseCode === RC.APPROVED) this.recentAuths.set(authKey(record.panHash, record.authCode, record.date), record.key);
    if (this.recent.size > RECENT_LIMIT) this.trimRecent();
  }

  /** Drops the oldest records that LMDB already has. */
  private trimRecent(): void {
    const applied = this.state.appliedSeq();
    for (const [key, record] of this.recent) {
      if (this.recent.size <= RECENT_LIMIT / 2 || record.seq > applied) break;
      this.recent.delete(key);
      this.recentRrns.delete(record.rrn);
      this.recentAuths.delete(authKey(record.panHash, record.authCode, record.date));
    }
  }
}
