import { adminOf, callAdmin, type AdminCall, type Io } from './admin-client.js';
import { readFileSync } from 'node:fs';

export const ROUTE_USAGE = `posp route list | get ID | set ID (--file F | JSON) | delete ID [--admin http://HOST:PORT] [--token T]
  Reads and changes the routing rules of a running switch through its admin API; prints the answer as JSON.
  --admin  the admin port (POSP_ADMIN, default http://127.0.0.1:8080)
  --token  the admin token (better POSP_ADMIN_TOKEN: flags show in ps)
  Exit 0 done, 1 refused (the switch's reason on stderr) or switch unreachable, 2 usage.`;

class UsageError extends Error {}

/** `posp route`: list, read, set or delete routing rules on the running switch. */
export async function routeCommand(args: string[], io: Io): Promise<number> {
  let call: AdminCall;
  let options: Map<string, string>;
  try {
    const parsed = parseArgs(args);
    options = parsed.options;
    call = adminCall(parsed.positional, options);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`${err.message}\n${ROUTE_USAGE}`);
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

function adminCall([action, id, ...rest]: string[], options: Map<string, string>): AdminCall {
  const file = options.get('file');
  if (file !== undefined && action !== 'set') throw new UsageError('--file goes with set');
  const path = (routeId: string | undefined): string => {
    if (routeId === undefined) throw new UsageError(`route ${action} needs a route id`);
    return `/api/v1/routes/${encodeURIComponent(routeId)}`;
  };
  switch (action) {
    case 'list':
      if (id !== undefined) throw new UsageError('route list takes no arguments');
      return { method: 'GET', path: '/api/v1/routes' };
    case 'get':
    case 'delete':
      if (rest.length > 0) throw new UsageError(`route ${action} takes one route id`);
      return { method: action === 'get' ? 'GET' : 'DELETE', path: path(id) };
    case 'set': {
      // The switch checks the JSON and the rule and answers with the reason, so it is sent as given.
      if (rest.length + (file === undefined ? 0 : 1) !== 1) throw new UsageError('route set takes the rule as JSON or --file F, one of the two');
      return { method: 'PUT', path: path(id), body: file === undefined ? rest[0] : readRuleFile(file) };
    }
    default:
      throw new UsageError(action === undefined ? 'route needs an action' : `unknown action ${action}`);
  }
}

function readRuleFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
