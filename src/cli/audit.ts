import { auditLedger } from '../ledger/index.js';
import { StateStore } from '../store/index.js';
import { DEFAULTS } from '../switch/index.js';

export const AUDIT_USAGE = `posp audit [--data DIR] [--json]
  Checks the books against the journal: every entry balances (double entry) and every account's
  balance and holds equal its opening plus the journal's postings. Exit 1 on any difference.`;

export async function auditCommand(args: string[], io: { out: (s: string) => void; err: (s: string) => void }): Promise<number> {
  let dataDir = process.env.POSP_DATA ?? DEFAULTS.dataDir;
  let json = false;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--data') dataDir = args[++i] ?? '';
    else if (args[i] === '--json') json = true;
    else {
      io.err(`unknown argument ${args[i]}\n${AUDIT_USAGE}`);
      return 2;
    }
  }
  const state = new StateStore(dataDir);
  try {
    const report = auditLedger(dataDir, state);
    if (json) io.out(JSON.stringify(report));
    else {
      io.out(`${report.entries} journal entries, ${report.unbalancedEntries.length} unbalanced; ${report.accounts} accounts, ${report.mismatches.length} not equal to opening + postings`);
      for (const m of report.mismatches.slice(0, 20)) io.out(`  ${m.account}: balance ${m.balance} expected ${m.expected}, held ${m.held} expected ${m.expectedHeld}`);
    }
    return report.unbalancedEntries.length === 0 && report.mismatches.length === 0 ? 0 : 1;
  } finally {
    await state.close();
  }
}
