import { StateStore } from '../store/index.js';
import { DEFAULTS } from '../switch/index.js';

export const DISCREPANCIES_USAGE = `posp discrepancies [--data DIR] [--tid TID] [--json]
  Lists the differences batch uploads found between terminals and the journal (for reconciliation).`;

export async function discrepanciesCommand(args: string[], io: { out: (s: string) => void; err: (s: string) => void }): Promise<number> {
  let dataDir = process.env.POSP_DATA ?? DEFAULTS.dataDir;
  let tid: string | undefined;
  let json = false;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--data') dataDir = args[++i] ?? '';
    else if (args[i] === '--tid') tid = args[++i];
    else if (args[i] === '--json') json = true;
    else {
      io.err(`unknown argument ${args[i]}\n${DISCREPANCIES_USAGE}`);
      return 2;
    }
  }
  const state = new StateStore(dataDir);
  try {
    const range = tid === undefined ? state.discrepancies.getRange() : state.discrepancies.getRange({ start: `${tid}|`, end: `${tid}|~` });
    const found = [...range].map(({ value }) => value);
    if (json) io.out(JSON.stringify(found));
    else {
      io.out(['TID', 'BATCH', 'STAN', 'KIND', 'UPLOADED', 'RECORDED', 'DATE'].join('\t'));
      for (const d of found) io.out([d.tid, d.batch, d.stan, d.kind, d.uploaded, d.recorded, d.businessDate].join('\t'));
    }
    return 0;
  } finally {
    await state.close();
  }
}
