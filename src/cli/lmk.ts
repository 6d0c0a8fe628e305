import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Book } from '../book/index.js';
import { LmkCustodian, SecurityError, lmkFileOf } from '../security/index.js';
import { StateStore } from '../store/index.js';
import { DEFAULTS } from '../switch/index.js';
import { localDate } from '../txn/index.js';
import { adminOf, callAdmin, commandArgs, type Io } from './admin-client.js';

export const LMK_USAGE = `posp lmk rotate [--data DIR] [--admin http://HOST:PORT] [--token T]
  A new local master key: every stored key (terminal master and working keys, advices' sealed card
  numbers) is re-wrapped under it and the old LMK file is removed once the state holds them on disk.
  When a switch runs on the data directory (--data, POSP_DATA, default ./data) it does this itself,
  asked through its admin API (admin token); on a stopped switch this command does it. Refused for
  an LMK given in POSP_LMK. Prints {seq, checkValue, previousCheckValue}.
  Exit 0 done, 1 refused or unreachable, 2 usage.`;

const OPTIONS = ['data', 'admin', 'token'];

/** `posp lmk rotate`: through the running switch, or on a stopped switch's data directory. */
export async function lmkCommand(args: string[], io: Io): Promise<number> {
  const [action, ...rest] = args;
  const parsed = commandArgs(rest, OPTIONS);
  if (typeof parsed === 'string') return usage(parsed, io);
  const { positional, options } = parsed;
  if (positional.length > 0) return usage(`${positional[0]} is not an option`, io);
  if (action !== 'rotate') return usage(action === undefined ? 'lmk needs an action' : `no lmk action ${action}`, io);
  const dataDir = options.get('data') ?? process.env.POSP_DATA ?? DEFAULTS.dataDir;
  if (!existsSync(lmkFileOf(dataDir)) || !existsSync(join(dataDir, 'state'))) {
    io.err(`no switch data in ${dataDir} (no lmk.key and state): give the data directory with --data`);
    return 1;
  }
  const state = new StateStore(dataDir);
  try {
    // A switch holding the state open owns the LMK: only it can switch every thread over at once.
    if (usedByAnotherProcess(state)) return await callAdmin(adminOf(options), { method: 'POST', path: '/api/v1/lmk/rotate', body: '{}' }, io);
    if (process.env.POSP_LMK) {
      io.err('refused: the LMK comes from POSP_LMK: posp keeps no LMK file to rotate; rotate it where it is kept');
      return 1;
    }
    return await rotateStopped(state, dataDir, io);
  } finally {
    await state.close();
  }
}

/**
 * The rotation on a stopped switch's data directory, through the book as the switch would do it:
 * the journal's unapplied tail goes into LMDB first (its entries may carry keys under the old LMK),
 * then the rotation's entry is journalled and applied, which re-wraps every stored key.
 */
async function rotateStopped(state: StateStore, dataDir: string, io: Io): Promise<number> {
  const book = new Book(state, dataDir, { businessDate: localDate(new Date()), holdDays: DEFAULTS.holdDays, applyInline: true });
  await book.recover();
  const custodian = new LmkCustodian(
    { file: lmkFileOf(dataDir) },
    {
      // Nothing else holds the LMK: the book and LMDB read the files themselves.
      adopt: async () => undefined,
      async journal() {
        const result = book.control({ kind: 'lmk-rotation' }, Date.now());
        if ('refused' in result) throw new SecurityError('lmk', `the book refused the LMK rotation: ${result.refused}`);
        book.commit();
        await book.sync();
        return result.seq;
      },
      settled: () => state.synced(),
    },
  );
  try {
    io.out(JSON.stringify(await custodian.rotate()));
    return 0;
  } catch (err) {
    if (!(err instanceof SecurityError)) throw err;
    io.err(`refused: ${err.message}`);
    return 1;
  } finally {
    await book.close();
  }
}

/** Whether a live process other than this one has the state open (LMDB's reader table names each by pid). */
function usedByAnotherProcess(state: StateStore): boolean {
  state.root.readerCheck();
  for (const line of state.root.readerList().split('\n').slice(1)) {
    const pid = Number(line.trim().split(/\s+/)[0]);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EPERM') return true;
    }
  }
  return false;
}

function usage(why: string, io: Io): number {
  io.err(`${why}\n${LMK_USAGE}`);
  return 2;
}
