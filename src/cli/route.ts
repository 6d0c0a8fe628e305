import { ruleTableCommand, type Io } from './admin-client.js';

export const ROUTE_USAGE = `posp route list | get ID | set ID (--file F | JSON) | delete ID [--admin http://HOST:PORT] [--token T]
  Reads and changes the routing rules of a running switch through its admin API; prints the answer as JSON.
  --admin  the admin port (POSP_ADMIN, default http://127.0.0.1:8080)
  --token  the admin token (better POSP_ADMIN_TOKEN: flags show in ps)
  Exit 0 done, 1 refused (the switch's reason on stderr) or switch unreachable, 2 usage.`;

/** `posp route`: list, read, set or delete routing rules on the running switch. */
export function routeCommand(args: string[], io: Io): Promise<number> {
  return ruleTableCommand({ command: 'route', noun: 'route', path: '/api/v1/routes', usage: ROUTE_USAGE }, args, io);
}
