import { ruleTableCommand, type Io } from './admin-client.js';

export const RISK_USAGE = `posp risk list | get ID | set ID (--file F | JSON) | delete ID [--admin http://HOST:PORT] [--token T]
  Reads and changes the risk rules of a running switch through its admin API; prints the answer as JSON.
  A rule is {"kind", "code"?, ...the kind's fields}, e.g. {"kind":"card-daily-count","maxCount":20};
  a card blacklist names its cards as card numbers ("cards"; give them with --file, arguments show in ps),
  which the switch keeps only as tokens and masked numbers.
  --admin  the admin port (POSP_ADMIN, default http://127.0.0.1:8080)
  --token  the admin token (better POSP_ADMIN_TOKEN: flags show in ps)
  Exit 0 done, 1 refused (the switch's reason on stderr) or switch unreachable, 2 usage.`;

/** `posp risk`: list, read, set or delete risk rules on the running switch (in force at once). */
export function riskCommand(args: string[], io: Io): Promise<number> {
  return ruleTableCommand({ command: 'risk', noun: 'rule', path: '/api/v1/risk-rules', usage: RISK_USAGE }, args, io);
}
