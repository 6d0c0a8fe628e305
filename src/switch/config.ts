import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { CUTOVER_STUCK_MS_DEFAULT } from '../book/index.js';
import { parseCutoverTime } from '../day-end/index.js';

/** Everything `posp start` can be told; each option also has a POSP_* environment variable. */
export interface SwitchConfig {
  dataDir: string;
  /** Address the terminal and admin ports bind to. */
  host: string;
  posPort: number;
  adminPort: number;
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
}

export const DEFAULTS: SwitchConfig = {
  dataDir: './data',
  host: '127.0.0.1',
  posPort: 6000,
  adminPort: 8080,
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
  demo: false,
  hostSim: false,
  hostSimPort: 7000,
  links: '',
  keyExchangeMinutes: 60,
  cutoverAt: '00:00',
  cutoverStuckMs: CUTOVER_STUCK_MS_DEFAULT,
};

/** Option name → config key and type. The same table serves flags, env vars and the config file. */
const OPTIONS: Record<string, { key: keyof SwitchConfig; type: 'string' | 'number' | 'boolean' }> = {
  data: { key: 'dataDir', type: 'string' },
  host: { key: 'host', type: 'string' },
  'pos-port': { key: 'posPort', type: 'number' },
  'admin-port': { key: 'adminPort', type: 'number' },
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
};

export const START_USAGE = `posp start [--config FILE] [--data DIR] [--pos-port N] [--admin-port N] [--demo] [--host-sim]
            [--host ADDR] [--workers N] [--max-frame BYTES] [--idle-timeout-ms MS] [--log-level LEVEL]
            [--max-apply-lag ENTRIES] [--wal-limit-mb MB] [--apply-interval-ms MS]
            [--links NAME=HOST:PORT,...] [--zmk HEX] [--host-sim-port N] [--admin-token T]
            [--key-exchange-minutes N] [--cutover-at HH:MM|off] [--cutover-stuck-ms MS]
            [--host-settlement DIR]
  --cutover-at: local time the business day ends (default 00:00; after noon the new day is tomorrow's date).
  --admin-token (better POSP_ADMIN_TOKEN: flags show in ps) guards /api/v1; --demo without one prints a fresh one.
  Every option has an environment variable: --pos-port is POSP_POS_PORT, --demo is POSP_DEMO=1, ...
  Precedence: flag, then environment, then the --config JSON file (same names), then defaults.`;

export class ConfigError extends Error {}

function parseValue(name: string, type: 'string' | 'number' | 'boolean', raw: string | boolean): string | number | boolean {
  if (type === 'boolean') return raw === true || raw === '1' || raw === 'true' || raw === 'yes';
  if (typeof raw !== 'string' || raw === '') throw new ConfigError(`--${name} needs a value`);
  if (type === 'number') {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) throw new ConfigError(`--${name} must be a non-negative integer, got ${raw}`);
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
  const config: Record<string, unknown> = { ...DEFAULTS };
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

  return result;
}
