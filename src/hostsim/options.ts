/** What `posp sim-host` can be told: flags, then environment variables, then defaults. */

/** The zone master key of the demo set-up, shared by the switch and the simulated host. */
export const DEMO_ZMK = '202122232425262728292A2B2C2D2E2F';

export interface HostSimOptions {
  host: string;
  port: number;
  /** Double-length zone master key, 32 hex digits: the key the zone keys travel under. */
  zmk: string;
  /** Wait before every answer to an 0100/0200/0220, plus 0..jitterMs at random. */
  latencyMs: number;
  jitterMs: number;
  /** Where the settlement files go: `settlement-YYYYMMDD.csv`, one per business day. */
  dataDir: string;
  logLevel: string;
}

export const SIM_HOST_DEFAULTS: Readonly<HostSimOptions> = {
  host: '127.0.0.1',
  port: 7000,
  zmk: DEMO_ZMK,
  latencyMs: 0,
  jitterMs: 0,
  dataDir: './hostsim-data',
  logLevel: 'info',
};

export const SIM_HOST_USAGE = `posp sim-host [--host ADDR] [--port N] [--zmk HEX] [--latency-ms N] [--jitter-ms N] [--data DIR]
              [--log-level LEVEL]
  The acquirer/issuer host simulator (PROTOCOL.md section 9) the switch's host links connect to:
  approves, except by the amount's last two digits (51, 05, 55, 96 answer that code, 91 no answer);
  appends every approval and reversal to DIR/settlement-YYYYMMDD.csv before answering.
  Environment: POSP_SIM_HOST_HOST, POSP_SIM_HOST_PORT, POSP_ZMK, POSP_SIM_HOST_LATENCY_MS,
  POSP_SIM_HOST_JITTER_MS, POSP_SIM_HOST_DATA, POSP_SIM_HOST_LOG_LEVEL (a flag wins).`;

export class SimHostConfigError extends Error {}

type Key = keyof HostSimOptions;

/** Flag name → option and environment variable. */
const FLAGS: Readonly<Record<string, { key: Key; env: string }>> = {
  host: { key: 'host', env: 'POSP_SIM_HOST_HOST' },
  port: { key: 'port', env: 'POSP_SIM_HOST_PORT' },
  zmk: { key: 'zmk', env: 'POSP_ZMK' },
  'latency-ms': { key: 'latencyMs', env: 'POSP_SIM_HOST_LATENCY_MS' },
  'jitter-ms': { key: 'jitterMs', env: 'POSP_SIM_HOST_JITTER_MS' },
  data: { key: 'dataDir', env: 'POSP_SIM_HOST_DATA' },
  'log-level': { key: 'logLevel', env: 'POSP_SIM_HOST_LOG_LEVEL' },
};

export function parseSimHostOptions(args: readonly string[], env: NodeJS.ProcessEnv): HostSimOptions {
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith('--')) throw new SimHostConfigError(`unexpected argument ${arg}\n${SIM_HOST_USAGE}`);
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    if (FLAGS[name] === undefined) throw new SimHostConfigError(`unknown option --${name}\n${SIM_HOST_USAGE}`);
    const value = eq < 0 ? args[++i] : arg.slice(eq + 1);
    if (value === undefined || value === '') throw new SimHostConfigError(`--${name} needs a value`);
    flags.set(name, value);
  }
  const options: HostSimOptions = { ...SIM_HOST_DEFAULTS };
  for (const [name, { key, env: envName }] of Object.entries(FLAGS)) {
    const raw = flags.get(name) ?? env[envName];
    if (raw === undefined || raw === '') continue;
    if (key === 'port' || key === 'latencyMs' || key === 'jitterMs') options[key] = nonNegative(name, raw);
    else options[key] = raw;
  }
  checkSimHostOptions(options);
  return options;
}

/** Throws SimHostConfigError for values the simulator cannot run with. */
export function checkSimHostOptions(options: HostSimOptions): void {
  if (!/^[0-9A-Fa-f]{32}$/.test(options.zmk)) throw new SimHostConfigError('--zmk must be 32 hex digits (a double-length 3DES key)');
  if (options.port > 65535) throw new SimHostConfigError(`--port must be 0..65535, got ${options.port}`);
}

function nonNegative(name: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new SimHostConfigError(`--${name} must be a non-negative integer, got ${raw}`);
  return n;
}
