import { randomBytes } from 'node:crypto';
import { adminOf, callAdmin, commandArgs, type AdminCall, type Io } from './admin-client.js';

export const CLIENT_USAGE = `posp client create --mid MID [--id ID] [--tid TID] | list [--admin http://HOST:PORT] [--token T]
  Clients of the HTTP transaction channel (merchants' systems; needs an admin token). create makes
  one for merchant MID (id: --id, or a fresh one) with its virtual terminal (--tid, or a new APInnnnn)
  and prints its signing secret once: the switch keeps it only sealed under the LMK (suspend a
  client with PATCH /api/v1/clients/ID {"status": "suspended"}). Requests to
  POST /api/v1/payments carry X-Posp-Client, X-Posp-Timestamp, X-Posp-Nonce and X-Posp-Signature
  (hex HMAC-SHA256 of "timestamp\\nnonce\\nPOST\\n/api/v1/payments\\nbody" under the secret).
  Exit 0 done, 1 refused or unreachable, 2 usage.`;

const OPTIONS = ['mid', 'id', 'tid', 'admin', 'token'];

/** `posp client`: create and list HTTP channel clients through the running switch's admin API. */
export async function clientCommand(args: string[], io: Io): Promise<number> {
  const [action, ...rest] = args;
  const parsed = commandArgs(rest, OPTIONS);
  if (typeof parsed === 'string') return usage(parsed, io);
  const { positional, options } = parsed;
  let call: AdminCall;
  if (action === 'create' && positional.length === 0 && options.has('mid')) {
    const id = options.get('id') ?? `client-${randomBytes(4).toString('hex')}`;
    const body = { mid: options.get('mid'), ...(options.has('tid') ? { tid: options.get('tid') } : {}) };
    call = { method: 'PUT', path: `/api/v1/clients/${encodeURIComponent(id)}`, body: JSON.stringify(body) };
  } else if (action === 'list' && positional.length === 0) {
    call = { method: 'GET', path: '/api/v1/clients' };
  } else {
    return usage(action === undefined ? 'client needs an action' : `client ${action}: wrong arguments`, io);
  }
  return callAdmin(adminOf(options), call, io);
}

function usage(why: string, io: Io): number {
  io.err(`${why}\n${CLIENT_USAGE}`);
  return 2;
}
