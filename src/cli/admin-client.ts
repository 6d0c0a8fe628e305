import { readFileSync } from 'node:fs';

/** What a command prints through. */
export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

/** One request to the admin API, as the command line asked for it. */
export interface AdminCall {
  method: 'GET' | 'PUT' | 'DELETE' | 'POST';
  path: string;
  body?: string;
}

/** Where the running switch's admin API is, and the token to show it. */
export interface AdminTarget {
  url: string;
  token: string | undefined;
}

const DEFAULT_ADMIN = 'http://127.0.0.1:8080';
/** An admin request answers once the change is durable and applied: seconds at worst. */
const REQUEST_TIMEOUT_MS = 30_000;

/** `--admin` and `--token`, else POSP_ADMIN and POSP_ADMIN_TOKEN, else the default port and no token. */
export function adminOf(options: Map<string, string>): AdminTarget {
  return {
    url: (options.get('admin') ?? process.env.POSP_ADMIN ?? DEFAULT_ADMIN).replace(/\/+$/, ''),
    token: options.get('token') ?? process.env.POSP_ADMIN_TOKEN,
  };
}

/** Makes the call; prints the answer (0), or the switch's reason or why it could not be reached (1). */
export async function callAdmin({ url: admin, token }: AdminTarget, call: AdminCall, io: Io): Promise<number> {
  let res: Response;
  try {
    res = await fetch(admin + call.path, {
      method: call.method,
      headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...(call.body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: call.body,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    io.err(`cannot reach the switch at ${admin}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
    return 1;
  }
  const text = await res.text();
  const answer = parseAnswer(text);
  if (!res.ok) {
    const reason = typeof answer === 'object' && answer !== null && 'error' in answer ? String(answer.error) : text;
    io.err(`refused (HTTP ${res.status}): ${reason}`);
    return 1;
  }
  io.out(JSON.stringify(answer));
  return 0;
}

function parseAnswer(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A command over one rule table of the admin API (`posp route`, `posp risk`). */
export interface RuleTable {
  /** The command's name, as usage errors say it. */
  command: string;
  /** What one record is called: `route`, `rule`. */
  noun: string;
  /** The table's endpoint, e.g. `/api/v1/routes`. */
  path: string;
  usage: string;
}

class UsageError extends Error {}

/** `list | get ID | set ID (--file F | JSON) | delete ID` on a running switch: prints the answer as JSON; exit 0 done, 1 refused or unreachable, 2 usage. */
export async function ruleTableCommand(table: RuleTable, args: string[], io: Io): Promise<number> {
  let call: AdminCall;
  let options: Map<string, string>;
  try {
    const parsed = parseArgs(args);
    options = parsed.options;
    call = ruleTableCall(table, parsed.positional, options);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`${err.message}\n${table.usage}`);
    return 2;
  }
  return callAdmin(adminOf(options), call, io);
}

/** Positional words and `--name value` / `--name=value` options. */
function parseArgs(args: string[]): { positional: string[]; options: Map<string, string> } {
  const positional: string[] = [];
  const options = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2);
    if (!['admin', 'token', 'file'].includes(name)) throw new UsageError(`unknown option --${name}`);
    const value = inline ?? args[++i];
    if (value === undefined || value === '') throw new UsageError(`--${name} needs a value`);
    options.set(name, value);
  }
  return { positional, options };
}

function ruleTableCall({ command, noun, path }: RuleTable, [action, id, ...rest]: string[], options: Map<string, string>): AdminCall {
  const file = options.get('file');
  if (file !== undefined && action !== 'set') throw new UsageError('--file goes with set');
  const pathOf = (key: string | undefined): string => {
    if (key === undefined) throw new UsageError(`${command} ${action} needs a ${noun} id`);
    return `${path}/${encodeURIComponent(key)}`;
  };
  switch (action) {
    case 'list':
      if (id !== undefined) throw new UsageError(`${command} list takes no arguments`);
      return { method: 'GET', path };
    case 'get':
    case 'delete':
      if (rest.length > 0) throw new UsageError(`${command} ${action} takes one ${noun} id`);
      return { method: action === 'get' ? 'GET' : 'DELETE', path: pathOf(id) };
    case 'set': {
      // The switch checks the JSON and the rule and answers with the reason, so it is sent as given.
      if (rest.length + (file === undefined ? 0 : 1) !== 1) throw new UsageError(`${command} set takes the ${noun} as JSON or --file F, one of the two`);
      return { method: 'PUT', path: pathOf(id), body: file === undefined ? rest[0] : readRuleFile(file) };
    }
    default:
      throw new UsageError(action === undefined ? `${command} needs an action` : `unknown action ${action}`);
  }
}

function readRuleFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Words and `--name value` options of a command; a reason when an option is unknown or has no value. */
export function commandArgs(args: readonly string[], allowed: readonly string[]): { positional: string[]; options: Map<string, string> } | string {
  const options = new Map<string, string>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (!args[i].startsWith('--')) {
      positional.push(args[i]);
      continue;
    }
    const name = args[i].slice(2);
    const value = args[++i];
    if (!allowed.includes(name)) return `--${name} is not an option`;
    if (value === undefined) return `--${name} needs a value`;
    options.set(name, value);
  }
  return { positional, options };
}
