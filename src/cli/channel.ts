import { adminOf, callAdmin, type AdminCall, type Io } from './admin-client.js';

export const CHANNEL_USAGE = `posp channel list | enable NAME | disable NAME [--admin http://HOST:PORT] [--token T]
  Lists the running switch's access directions, or switches one on or off (kept across restarts):
  terminal (the terminal listener), http (the HTTP channel) or a host link by its name. A listener
  switched off closes its port and lets what is in flight finish; routing skips a host link.
  --admin  the admin port (POSP_ADMIN, default http://127.0.0.1:8080)
  --token  an operator's token (better POSP_ADMIN_TOKEN: flags show in ps)
  Exit 0 done, 1 refused (the switch's reason on stderr, e.g. a port that cannot be opened) or unreachable, 2 usage.`;

/** `posp channel`: list the access directions, or switch one on or off, through the admin API. */
export async function channelCommand(args: string[], io: Io): Promise<number> {
  const options = new Map<string, string>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const m = /^--(admin|token)(?:=(.*))?$/.exec(args[i]);
    if (m === null) {
      if (args[i].startsWith('--')) return usage(io, `unknown option ${args[i]}`);
      positional.push(args[i]);
      continue;
    }
    const value = m[2] ?? args[++i];
    if (value === undefined || value === '') return usage(io, `--${m[1]} needs a value`);
    options.set(m[1], value);
  }
  const [action, name, ...rest] = positional;
  let call: AdminCall;
  if (action === 'list' && name === undefined) call = { method: 'GET', path: '/api/v1/channels' };
  else if ((action === 'enable' || action === 'disable') && name !== undefined && rest.length === 0) {
    call = { method: 'POST', path: `/api/v1/channels/${encodeURIComponent(name)}/${action}`, body: '{}' };
  } else return usage(io, action === undefined ? 'channel needs list, enable NAME or disable NAME' : `channel ${positional.join(' ')}: not understood`);
  return callAdmin(adminOf(options), call, io);
}

function usage(io: Io, reason: string): number {
  io.err(`${reason}\n${CHANNEL_USAGE}`);
  return 2;
}
