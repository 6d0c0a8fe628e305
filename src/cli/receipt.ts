import { findReceipt, receiptHtml, receiptText } from '../ops/index.js';
import { StateStore } from '../store/index.js';
import { DEFAULTS } from '../switch/index.js';

export const RECEIPT_USAGE = `posp receipt RRN [--data DIR] [--html]
  Renders the receipt of a journalled transaction (reprints, disputes); exit 1 if no such RRN.`;

export async function receiptCommand(args: string[], io: { out: (s: string) => void; err: (s: string) => void }): Promise<number> {
  let dataDir = process.env.POSP_DATA ?? DEFAULTS.dataDir;
  let html = false;
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--data') dataDir = args[++i] ?? '';
    else if (args[i] === '--html') html = true;
    else if (args[i].startsWith('--')) {
      io.err(`unknown option ${args[i]}\n${RECEIPT_USAGE}`);
      return 2;
    } else positional.push(args[i]);
  }
  if (positional.length !== 1 || !/^[0-9A-Za-z]{1,12}$/.test(positional[0])) {
    io.err(RECEIPT_USAGE);
    return 2;
  }
  const state = new StateStore(dataDir);
  try {
    const receipt = findReceipt(dataDir, state, positional[0], process.env.POSP_ACQUIRER_ID ?? DEFAULTS.acquirerId);
    if (receipt === undefined) {
      io.err(`no transaction with RRN ${positional[0]} in ${dataDir}`);
      return 1;
    }
    io.out(html ? receiptHtml(receipt) : receiptText(receipt));
    return 0;
  } finally {
    await state.close();
  }
}
