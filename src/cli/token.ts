import { adminOf, callAdmin, commandArgs, type AdminCall, type Io } from './admin-client.js';

export const TOKEN_USAGE = `posp token create --role viewer|operator|admin [--label TEXT] | list | revoke ID [--admin http://HOST:PORT] [--token T]
  Admin API tokens of the running switch (needs an admin token): create prints the new token once
  (the switch keeps only its SHA-256); viewer reads, operator also cuts the day over, admin also
  changes routes and tokens. Exit 0 done, 1 refused or unreachable, 2 usage.`;

/** `posp token`: make, list and revoke admin API tokens through the running switch's admin API. */
export async function tokenCommand(args: string[], io: Io): Promise<number> {
  const [action, ...rest] = args;
  const parsed = commandArgs(rest, ['role', 'label', 'admin', 'token']);
  if (typeof parsed === 'string') return usage(parsed, io);
  const { positional, options } = parsed;
  let call: AdminCall;
  if (action === 'create' && positional.length === 0 && options.has('role')) {
    call = { method: 'POST', path: '/api/v1/tokens', body: JSON.stringify({ role: options.get('role'), label: options.get('label') ?? '' }) };
  } else if (action === 'list' && positional.length === 0) {
    call = { method: 'GET', path: '/api/v1/tokens' };
  } else if (action === 'revoke' && positional.length === 1) {
    call = { method: 'DELETE', path: `/api/v1/tokens/${encodeURIComponent(positional[0])}` };
  } else {
    return usage(action === undefined ? 'token needs an action' : `token ${action}: wrong arguments`, io);
  }
  return callAdmin(adminOf(options), call, io);
}

function usage(why: string, io: Io): number {
  io.err(`${why}\n${TOKEN_USAGE}`);
  return 2;
}
