import { FULL_DAY_MIX, UsageError, defaultLoadTarget, parseMix, runHttpLoad, runLoad, type HttpClientCredentials, type LoadReport, type Scenario } from '../loadgen/index.js';

export const LOADGEN_USAGE = `posp loadgen [--terminals N] [--duration 10s | --count N] [--mix sale:90,void:5,balance:5] [--short]
              [--scenario full-day] [--cards N] [--host ADDR] [--port N] [--first-tid N] [--json]
  kinds for --mix: sale void balance refund reversal echo preauth completion transfer bill offus (a sale on an off-us card: needs a host, e.g. npm start)
  --scenario full-day: a mixed day, then every terminal settles and uploads its batch, and every
  card's balance is checked against what the approvals say (default 200 cards, 20 s).
  Simulated terminals over TCP against a switch with the demo set-up: each signs in, keeps one
  transaction outstanding, checks every response MAC and code; prints TPS, latency percentiles
  and counts by response code. Exit 1 if any transaction failed.
posp loadgen --http --client ID --secret S [--client ID --secret S ...] [--connections N] [--duration 10s | --count N]
              [--cards N] [--host ADDR] [--port N] [--json]
  Signed sales through the HTTP channel (POST /api/v1/payments, default port POSP_API_PORT or 8443):
  each client (from posp client create) on --connections keep-alive connections (default 4), one
  request outstanding on each, every one with its own nonce and Idempotency-Key.`;

function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text);
  if (!m) throw new UsageError(`--duration must look like 10s, 500ms or 2m, got ${text}`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
}

export async function loadgenCommand(args: string[], io: { out: (s: string) => void; err: (s: string) => void }): Promise<number> {
  if (args.includes('--http')) return httpLoadgenCommand(args.filter((a) => a !== '--http'), io);
  const target = defaultLoadTarget();
  const options = {
    host: process.env.POSP_HOST ?? '127.0.0.1',
    port: Number(process.env.POSP_POS_PORT ?? 6000),
    terminals: 50,
    durationMs: undefined as number | undefined,
    count: undefined as number | undefined,
    mix: parseMix('sale:90,void:5,balance:5'),
    short: false,
    scenario: 'mix' as Scenario,
    ...target,
  };
  let mixGiven = false;
  let cardsGiven = false;
  let json = false;
  try {
    for (let i = 0; i < args.length; i++) {
      const arg = args[i];
      const value = (): string => {
        const v = args[++i];
        if (v === undefined) throw new UsageError(`${arg} needs a value`);
        return v;
      };
      const count = (name: string, v: string): number => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1) throw new UsageError(`${name} must be a positive integer, got ${v}`);
        return n;
      };
      switch (arg) {
        case '--terminals': options.terminals = count(arg, value()); break;
        case '--duration': options.durationMs = parseDuration(value()); break;
        case '--count': options.count = count(arg, value()); break;
        case '--mix': options.mix = parseMix(value()); mixGiven = true; break;
        case '--cards': options.cards = count(arg, value()); cardsGiven = true; break;
        case '--scenario': {
          const scenario = value();
          if (scenario !== 'full-day' && scenario !== 'mix') throw new UsageError(`unknown scenario ${scenario} (known: full-day)`);
          options.scenario = scenario;
          break;
        }
        case '--short': options.short = true; break;
        case '--host': options.host = value(); break;
        case '--port': options.port = count(arg, value()); break;
        case '--first-tid': options.firstTid = count(arg, value()); break;
        case '--json': json = true; break;
        default: throw new UsageError(`unknown option ${arg}\n${LOADGEN_USAGE}`);
      }
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(err.message);
      return 2;
    }
    throw err;
  }
  if (options.scenario === 'full-day') {
    if (!mixGiven) options.mix = parseMix(FULL_DAY_MIX);
    if (!cardsGiven) options.cards = 200;
  }
  if (options.durationMs === undefined && options.count === undefined) options.durationMs = options.scenario === 'full-day' ? 20_000 : 10_000;
  const report = await runLoad({ ...options, progress: (line) => io.err(line) });
  return printReport(report, json, io);
}

/** `posp loadgen --http`: signed sales through the HTTP channel. */
async function httpLoadgenCommand(args: string[], io: { out: (s: string) => void; err: (s: string) => void }): Promise<number> {
  const options = {
    host: process.env.POSP_HOST ?? '127.0.0.1',
    port: Number(process.env.POSP_API_PORT ?? 8443),
    clients: [] as HttpClientCredentials[],
    connections: 4,
    durationMs: undefined as number | undefined,
    count: undefined as number | undefined,
    cards: defaultLoadTarget().cards,
  };
  const ids: string[] = [];
  const secrets: string[] = [];
  let json = false;
  try {
    for (let i = 0; i < args.length; i++) {
      const arg = args[i];
      const value = (): string => {
        const v = args[++i];
        if (v === undefined) throw new UsageError(`${arg} needs a value`);
        return v;
      };
      const count = (v: string): number => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1) throw new UsageError(`${arg} must be a positive integer, got ${v}`);
        return n;
      };
      switch (arg) {
        case '--client': ids.push(value()); break;
        case '--secret': secrets.push(value()); break;
        case '--connections': options.connections = count(value()); break;
        case '--duration': options.durationMs = parseDuration(value()); break;
        case '--count': options.count = count(value()); break;
        case '--cards': options.cards = count(value()); break;
        case '--host': options.host = value(); break;
        case '--port': options.port = count(value()); break;
        case '--json': json = true; break;
        default: throw new UsageError(`unknown option ${arg}\n${LOADGEN_USAGE}`);
      }
    }
    if (ids.length === 0 || ids.length !== secrets.length) throw new UsageError(`--http needs --client ID --secret S, a --secret for every --client\n${LOADGEN_USAGE}`);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(err.message);
      return 2;
    }
    throw err;
  }
  options.clients = ids.map((id, i) => ({ id, secret: secrets[i] }));
  if (options.durationMs === undefined && options.count === undefined) options.durationMs = 10_000;
  const report = await runHttpLoad({ ...options, progress: (line) => io.err(line) });
  return printReport(report, json, io);
}

function printReport(report: LoadReport, json: boolean, io: { out: (s: string) => void }): number {
  if (json) io.out(JSON.stringify(report));
  else {
    const l = report.latencyUs;
    io.out(`transactions ${report.transactions} in ${report.seconds.toFixed(2)} s: ${report.tps.toFixed(0)} TPS, errors ${report.errors}`);
    io.out(`latency ms: p50 ${(l.p50 / 1000).toFixed(2)} p90 ${(l.p90 / 1000).toFixed(2)} p99 ${(l.p99 / 1000).toFixed(2)} max ${(l.max / 1000).toFixed(2)}`);
    io.out(`response codes: ${Object.entries(report.responseCodes).map(([c, n]) => `${c}=${n}`).join(' ')}`);
    if (report.settlements) io.out(`settlements: ${report.settlements.balanced} balanced, ${report.settlements.unbalanced} unbalanced`);
    if (report.balanceChecks) io.out(`card balances checked: ${report.balanceChecks.cards}, mismatched ${report.balanceChecks.mismatched}`);
    for (const e of report.errorSamples) io.out(`error: ${e}`);
  }
  return report.errors > 0 ? 1 : 0;
}
