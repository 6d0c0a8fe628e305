import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { CUTOVER_STUCK_MS_DEFAULT } from '../book/index.js';
import { parseCutoverTime } from '../day-end/index.js';
import { FIREWALL_DEFAULTS, checkFirewall, type FirewallOptions } from '../channels/index.js';

/** Everything `posp start` can be told; each option also has a POSP_* environment variable. */
export interface SwitchConfig {
  dataDir: string;
  /** Address the terminal and admin ports bind to. */
  host: string;
  posPort: number;
  adminPort: number;
  /**
   * The HTTP transaction channel's port (0: any free one), or `off`. `posp start` opens 8443 unless
   * told otherwise; a switch started in code has the channel only when given a port, so that tests
   * and embedders never contend for a fixed one.
   */
  apiPort: number | 'off';
  /** PEM certificate and key files: the HTTP channel then speaks HTTPS (plain HTTP without). */
  apiCert?: string;
  apiKey?: string;
  /** Pipeline worker threads (default: cores − 1, at least 1); 0 runs the pipeline on the acceptor's thread. */
  workers: number;
  maxFrame: number;
  idleTimeoutMs: number;
  maxOutstanding: number;
  acquirerId: string;
  refundWindowDays: number;
  /** Days a pre-authorisation holds funds; then the hold is released. */
  holdDays: number;
  /** Hours after which working keys are due for rotation (response header asks for a new sign-in). */
  keyRotationHours: number;
  /** Most journal entries LMDB may be behind what the book entered; past it terminals are held back. */
  maxApplyLag: number;
  /** Most megabytes the day's WAL file may reach. */
  walLimitMb: number;
  /** Least time between LMDB transactions while LMDB keeps up (it applies at once when behind). */
  applyIntervalMs: number;
  logLevel: string;
  /** The file every thread appends its log lines to; '' for standard output. */
  logFile: string;
  demo: boolean;
  hostSim: boolean;
  /** Where `--host-sim` listens (0: any free port). */
  hostSimPort: number;
  /** Acquirer/issuer hosts: `NAME=HOST:PORT,...`, one link to each from every pipeline worker. */
  links: string;
  /** Minutes between renewals of a host link's zone keys while it is up; 0: only at sign-on. */
  keyExchangeMinutes: number;
  /** The zone master key shared with the hosts (32 hex digits, POSP_ZMK); `--demo` uses the demo ZMK. */
  zmk?: string;
  /** The LMK in hex (POSP_LMK); otherwise `<data>/lmk.key`, created on first start. */
  lmk?: string;
  /** The bootstrap admin token for the admin API (POSP_ADMIN_TOKEN); without one the API answers 503. */
  adminToken?: string;
  /** Local time of day (HH:MM) the business day cuts over, or `off` (only `posp day-cut` moves it). */
  cutoverAt: string;
  /** How long a cut-over may hold the book before requests are answered `90`. */
  cutoverStuckMs: number;
  /** The directory of the hosts' settlement files the back line reconciles against (`--host-sim`: the simulator's). */
  hostSettlementDir?: string;
  /** The terminal listener's firewall: CIDRs allowed (empty: any) and denied, comma-separated. */
  allow: string;
  deny: string;
  maxConnectionsPerSource: number;
  maxConnections: number;
  /** A frame not complete this long after its first byte closes its connection. */
  frameTimeoutMs: number;
  /** Requests a second per terminal (token bucket) and the burst above it; over it, `65`. */
  terminalRate: number;
  terminalBurst: number;
}

export const DEFAULTS: SwitchConfig = {
  dataDir: './data',
  host: '127.0.0.1',
  posPort: 6000,
  adminPort: 8080,
  apiPort: 'off',
  workers: Math.max(1, availableParallelism() - 1),
  maxFrame: 2048,
  idleTimeoutMs: 300_000,
  maxOutstanding: 64,
  acquirerId: '00010000',
  refundWindowDays: 30,
  holdDays: 30,
  keyRotationHours: 24,
  maxApplyLag: 10_000,
  walLimitMb: 64,
  applyIntervalMs: 50,
  logLevel: 'info',
  logFile: '',
  demo: false,
  hostSim: false,
  hostSimPort: 7000,
  links: '',
  keyExchangeMinutes: 60,
  cutoverAt: '00:00',
  cutoverStuckMs: CUTOVER_STUCK_MS_DEFAULT,
  allow: '',
  deny: '',
  maxConnectionsPerSource: FIREWALL_DEFAULTS.maxConnectionsPerSource,
  maxConnections: FIREWALL_DEFAULTS.maxConnections,
  frameTimeoutMs: FIREWALL_DEFAULTS.frameTimeoutMs,
  terminalRate: FIREWALL_DEFAULTS.terminalRate,
  terminalBurst: FIREWALL_DEFAULTS.terminalBurst,
};

/** The terminal listener's firewall as configured; throws a ConfigError naming a bad CIDR. */
export function firewallOf(config: SwitchConfig): FirewallOptions {
  const list = (text: string) => text.split(',').map((c) => c.trim()).filter((c) => c !== '');
  const options: FirewallOptions = {
    allow: list(config.allow),
    deny: list(config.deny),
    maxConnectionsPerSource: config.maxConnectionsPerSource,
    maxConnections: config.maxConnections,
    frameTimeoutMs: config.frameTimeoutMs,
    terminalRate: config.terminalRate,
    terminalBurst: config.terminalBurst,
  };
  try {
    checkFirewall(options);
  } catch (err) {
    throw new ConfigError(`--allow/--deny: ${(err as Error).message}`);
  }
  return options;
}

/** What `posp start` has beyond DEFAULTS. */
const START_DEFAULTS: Partial<SwitchConfig> = { apiPort: 8443 };

/** Option name → config key and type. The same table serves flags, env vars and the config file. */
type OptionType = 'string' | 'number' | 'boolean' | 'port-or-off';

const OPTIONS: Record<string, { key: keyof SwitchConfig; type: OptionType }> = {
  data: { key: 'dataDir', type: 'string' },
  host: { key: 'host', type: 'string' },
  'pos-port': { key: 'posPort', type: 'number' },
  'admin-port': { key: 'adminPort', type: 'number' },
  'api-port': { key: 'apiPort', type: 'port-or-off' },
  'api-cert': { key: 'apiCert', type: 'string' },
  'api-key': { key: 'apiKey', type: 'string' },
  workers: { key: 'workers', type: 'number' },
  'max-frame': { key: 'maxFrame', type: 'number' },
  'idle-timeout-ms': { key: 'idleTimeoutMs', type: 'number' },
  'max-outstanding': { key: 'maxOutstanding', type: 'number' },
  'acquirer-id': { key: 'acquirerId', type: 'string' },
  'refund-window-days': { key: 'refundWindowDays', type: 'number' },
  'hold-days': { key: 'holdDays', type: 'number' },
  'key-rotation-hours': { key: 'keyRotationHours', type: 'number' },
  'max-apply-lag': { key: 'maxApplyLag', type: 'number' },
  'wal-limit-mb': { key: 'walLimitMb', type: 'number' },
  'apply-interval-ms': { key: 'applyIntervalMs', type: 'number' },
  'log-level': { key: 'logLevel', type: 'string' },
  'log-file': { key: 'logFile', type: 'string' },
  demo: { key: 'demo', type: 'boolean' },
  'host-sim': { key: 'hostSim', type: 'boolean' },
  'host-sim-port': { key: 'hostSimPort', type: 'number' },
  links: { key: 'links', type: 'string' },
  'key-exchange-minutes': { key: 'keyExchangeMinutes', type: 'number' },
  zmk: { key: 'zmk', type: 'string' },
  lmk: { key: 'lmk', type: 'string' },
  'admin-token': { key: 'adminToken', type: 'string' },
  'cutover-at': { key: 'cutoverAt', type: 'string' },
  'cutover-stuck-ms': { key: 'cutoverStuckMs', type: 'number' },
  'host-settlement': { key: 'hostSettlementDir', type: 'string' },
  allow: { key: 'allow', type: 'string' },
  deny: { key: 'deny', type: 'string' },
  'max-connections-per-source': { key: 'maxConnectionsPerSource', type: 'number' },
  'max-connections': { key: 'maxConnections', type: 'number' },
  'frame-timeout-ms': { key: 'frameTimeoutMs', type: 'number' },
  'terminal-rate': { key: 'terminalRate', type: 'number' },
  'terminal-burst': { key: 'terminalBurst', type: 'number' },
};

export const START_USAGE = `posp start [--config FILE] [--data DIR] [--pos-port N] [--admin-port N] [--demo] [--host-sim]
            [--host ADDR] [--workers N] [--max-frame BYTES] [--idle-timeout-ms MS] [--log-level LEVEL] [--log-file PATH]
            [--max-apply-lag ENTRIES] [--wal-limit-mb MB] [--apply-interval-ms MS]
            [--links NAME=HOST:PORT,...] [--zmk HEX] [--host-sim-port N] [--admin-token T]
            [--key-exchange-minutes N] [--cutover-at HH:MM|off] [--cutover-stuck-ms MS]
            [--api-port N|off] [--api-cert FILE --api-key FILE]
            [--host-settlement DIR] [--allow CIDR,...] [--deny CIDR,...] [--max-connections N]
            [--max-connections-per-source N] [--frame-timeout-ms MS] [--terminal-rate N] [--terminal-burst N]
  --allow/--deny/--max-connections*/--frame-timeout-ms/--terminal-rate: the terminal listener's firewall;
    a request over its terminal's rate is answered 65 and not processed.
  --api-port: the HTTP transaction channel (POST /api/v1/payments, default 8443); HTTPS with --api-cert and --api-key.
  --cutover-at: local time the business day ends (default 00:00; after noon the new day is tomorrow's date).
  --admin-token (better POSP_ADMIN_TOKEN: flags show in ps) guards /api/v1; --demo without one prints a fresh one.
  Every option has an environment variable: --pos-port is POSP_POS_PORT, --demo is POSP_DEMO=1, ...
  Precedence: flag, then environment, then the --config JSON file (same names), then defaults.`;

export class ConfigError extends Error {}

function parseValue(name: string, type: OptionType, raw: string | boolean): string | number | boolean {
  if (type === 'boolean') return raw === true || raw === '1' || raw === 'true' || raw === 'yes';
  if (typeof raw !== 'string' || raw === '') throw new ConfigError(`--${name} needs a value`);
  if (type === 'port-or-off' && raw === 'off') return raw;
  if (type === 'number' || type === 'port-or-off') {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) throw new ConfigError(`--${name} must be a non-negative integer${type === 'port-or-off' ? ' or off' : ''}, got ${raw}`);
    return n;
  }
  return raw;
}

export function loadConfig(args: string[], env: NodeJS.ProcessEnv): SwitchConfig {
  const flags = new Map<string, string | boolean>();
  let configFile = env.POSP_CONFIG;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument ${arg}\n${START_USAGE}`);
    const [name, inline] = arg.slice(2).split('=', 2);
    if (name === 'config') {
      configFile = inline ?? args[++i];
      continue;
    }
    const option = OPTIONS[name];
    if (!option) throw new ConfigError(`unknown option --${name}\n${START_USAGE}`);
    flags.set(name, option.type === 'boolean' ? inline ?? true : inline ?? args[++i]);
  }
  const file: Record<string, unknown> = configFile ? JSON.parse(readFileSync(configFile, 'utf8')) : {};
  const config: Record<string, unknown> = { ...DEFAULTS, ...START_DEFAULTS };
  for (const [name, option] of Object.entries(OPTIONS)) {
    const envName = 'POSP_' + name.toUpperCase().replace(/-/g, '_');
    const raw = flags.get(name) ?? env[envName] ?? (file[name] !== undefined ? String(file[name]) : undefined);
    if (raw !== undefined) config[option.key] = parseValue(name, option.type, raw);
  }
  const result = config as unknown as SwitchConfig;
  if (result.maxApplyLag < 1) throw new ConfigError('--max-apply-lag must be at least 1');
  if (result.walLimitMb < 1) throw new ConfigError('--wal-limit-mb must be at least 1');
  if (result.zmk !== undefined && !/^[0-9A-Fa-f]{32}$/.test(result.zmk)) throw new ConfigError('--zmk must be 32 hex digits (a double-length 3DES key)');
  try {
    parseCutoverTime(result.cutoverAt);
  } catch (err) {
    throw new ConfigError(`--cutover-at: ${(err as Error).message}`);
  }
  firewallOf(result);
  if ((result.apiCert === undefined) !== (result.apiKey === undefined)) throw new ConfigError('--api-cert and --api-key go together: HTTPS needs both');

  return result;
}
