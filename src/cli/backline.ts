import pino from 'pino';
import { Backline, STAGES, backlineDays } from '../day-end/index.js';
import { StateStore } from '../store/index.js';
import { parseBusinessDate } from '../txn/index.js';
import type { Io } from './admin-client.js';

export const BACKLINE_USAGE = `posp backline status [--data DIR] [--json] | run --date YYYYMMDD [--data DIR] [--host-settlement DIR]
  status: where each ended business day stands in the back line (stages: ${STAGES.map((s) => s.name).join(' → ')}).
  run: runs every stage of one ended day again (after a data repair), with the switch stopped or
  running; the results are the same for the same journal. --host-settlement: the directory of the
  host's settlement-YYYYMMDD.csv files to reconcile against (none: the host side is not compared).`;

/** `posp backline`: the back line's state per business day, and re-running a day. */
export async function backlineCommand(args: string[], io: Io): Promise<number> {
  const [action, ...rest] = args;
  const options = new Map<string, string>();
  for (let i = 0; i < rest.length; i++) {
    const name = rest[i].replace(/^--/, '');
    if (name === 'json') {
      options.set('json', '1');
      continue;
    }
    const value = rest[++i];
    if (!['data', 'date', 'host-settlement'].includes(name) || value === undefined) {
      io.err(`unexpected ${rest[i - 1]}\n${BACKLINE_USAGE}`);
      return 2;
    }
    options.set(name, value);
  }
  const dataDir = options.get('data') ?? process.env.POSP_DATA ?? './data';
  if (action === 'status') return status(dataDir, options.has('json'), io);
  if (action === 'run') {
    const date = parseBusinessDate(options.get('date') ?? '');
    if (date === undefined) {
      io.err(`backline run needs --date YYYYMMDD\n${BACKLINE_USAGE}`);
      return 2;
    }
    return run(dataDir, date, options, io);
  }
  io.err(`${action === undefined ? 'backline needs an action' : `unknown action ${action}`}\n${BACKLINE_USAGE}`);
  return 2;
}

function status(dataDir: string, json: boolean, io: Io): number {
  const days = backlineDays(dataDir);
  if (json) {
    io.out(JSON.stringify(days));
    return 0;
  }
  if (days.length === 0) io.out('no business day has ended yet');
  for (const d of days) io.out(`${d.date}  ${(d.done ? 'done' : d.stage || 'waiting').padEnd(16)} ${d.updatedAt}${d.error ? `  error: ${d.error}` : ''}`);
  return 0;
}

async function run(dataDir: string, date: string, options: Map<string, string>, io: Io): Promise<number> {
  const state = new StateStore(dataDir);
  const backline = new Backline(dataDir, state, () => Number.MAX_SAFE_INTEGER, options.get('host-settlement'), pino({ level: 'warn' }));
  try {
    const days = backlineDays(dataDir);
    if (!days.some((d) => d.date === date && d.stage !== '')) {
      io.err(`${date} has not been through the back line yet: it runs once the day has ended (posp backline status)`);
      return 1;
    }
    const ok = await backline.runDay(date, true);
    const after = backlineDays(dataDir).find((d) => d.date === date)!;
    io.out(`${date}  ${after.done ? 'done' : after.stage}${after.error ? `  error: ${after.error}` : ''}`);
    return ok ? 0 : 1;
  } finally {
    backline.close();
    await state.close();
  }
}
