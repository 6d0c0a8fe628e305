import { writeFileSync } from 'node:fs';
import { journalFile, renderReport, reportDay } from '../day-end/index.js';
import { DEFAULTS } from '../switch/index.js';
import { parseBusinessDate } from '../txn/index.js';

export const REPORT_USAGE = `posp report --date YYYYMMDD|YYYY-MM-DD [--format csv|html] [--data DIR] [--out FILE]
  Counts and amounts of a business day by type, response code, merchant, terminal and hour, from its
  journal (also written to DIR/backline/D/); HTML is one page with its charts.`;

export async function reportCommand(args: string[], io: { out: (s: string) => void; err: (s: string) => void }): Promise<number> {
  let dataDir = process.env.POSP_DATA ?? DEFAULTS.dataDir;
  let dateText: string | undefined;
  let format = 'csv';
  let out: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--date') dateText = args[++i];
    else if (args[i] === '--format') format = args[++i] ?? '';
    else if (args[i] === '--data') dataDir = args[++i] ?? '';
    else if (args[i] === '--out') out = args[++i];
    else {
      io.err(`unknown argument ${args[i]}\n${REPORT_USAGE}`);
      return 2;
    }
  }
  const date = parseBusinessDate(dateText ?? '');
  if (date === undefined) {
    io.err(dateText === undefined ? `--date is required\n${REPORT_USAGE}` : `bad date '${dateText}': expected a calendar day as YYYYMMDD or YYYY-MM-DD`);
    return 2;
  }
  if (format !== 'csv' && format !== 'html') {
    io.err(`bad format '${format}': expected csv or html`);
    return 2;
  }
  try {
    journalFile(dataDir, date);
  } catch (err) {
    io.err((err as Error).message);
    return 1;
  }
  const text = renderReport(await reportDay({ dataDir, date }), format);
  if (out === undefined) io.out(text.trimEnd());
  else writeFileSync(out, text);
  return 0;
}
