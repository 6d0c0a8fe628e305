import { parseBusinessDate } from '../txn/index.js';
import { adminOf, callAdmin, type Io } from './admin-client.js';

export const DAY_CUT_USAGE = `posp day-cut [--date YYYYMMDD] [--admin http://HOST:PORT] [--token T]
  Cuts the running switch's business day over now (to --date, default the next day); prints
  {from, to, seq, ms} once the new day's first journal entry is durable. The ended day then goes
  through the back line (posp backline status). Exit 0 done, 1 refused or unreachable, 2 usage.`;

/** `posp day-cut`: asks the running switch, through its admin API, to start the next business day. */
export async function dayCutCommand(args: string[], io: Io): Promise<number> {
  const options = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const [name, inline] = args[i].startsWith('--') ? args[i].slice(2).split(/=(.*)/s, 2) : [''];
    const value = inline ?? args[++i];
    if (!['date', 'admin', 'token'].includes(name) || value === undefined || value === '') {
      io.err(`${name === '' ? `unexpected ${args[i]}` : `--${name} ${['date', 'admin', 'token'].includes(name) ? 'needs a value' : 'is not an option'}`}\n${DAY_CUT_USAGE}`);
      return 2;
    }
    options.set(name, value);
  }
  const date = options.get('date');
  const to = date === undefined ? undefined : parseBusinessDate(date);
  if (date !== undefined && to === undefined) {
    io.err(`--date must be YYYYMMDD or YYYY-MM-DD, got ${date}\n${DAY_CUT_USAGE}`);
    return 2;
  }
  return callAdmin(adminOf(options), { method: 'POST', path: '/api/v1/day-cut', body: JSON.stringify(to === undefined ? {} : { date: to }) }, io);
}
