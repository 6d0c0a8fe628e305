import { DECODE_USAGE, decodeCommand } from './decode.js';
import { LOADGEN_USAGE, loadgenCommand } from './loadgen.js';
import { FRAMES_USAGE, framesCommand } from './frames.js';
import { AUDIT_USAGE, auditCommand } from './audit.js';
import { DISCREPANCIES_USAGE, discrepanciesCommand } from './discrepancies.js';
import { RECEIPT_USAGE, receiptCommand } from './receipt.js';
import { REPORT_USAGE, reportCommand } from './report.js';
import { SEARCH_USAGE, searchCommand } from './search.js';
import { ROUTE_USAGE, routeCommand } from './route.js';
import { RISK_USAGE, riskCommand } from './risk.js';
import { CHANNEL_USAGE, channelCommand } from './channel.js';
import { START_USAGE, startCommand } from './start.js';
import { DAY_CUT_USAGE, dayCutCommand } from './day-cut.js';
import { TOKEN_USAGE, tokenCommand } from './token.js';
import { CLIENT_USAGE, clientCommand } from './client.js';
import { BACKLINE_USAGE, backlineCommand } from './backline.js';
import { SIM_HOST_USAGE, simHostCommand } from './sim-host.js';
import { MONITOR_USAGE, monitorCommand } from './monitor.js';
import { LMK_USAGE, lmkCommand } from './lmk.js';
import { TERMINAL_USAGE, terminalCommand } from './terminal.js';

const USAGE = `usage: posp <command> [options]

commands:
  ${START_USAGE.split('\n').join('\n  ')}
  ${SIM_HOST_USAGE.split('\n').join('\n  ')}
  ${DAY_CUT_USAGE.split('\n').join('\n  ')}
  ${MONITOR_USAGE.split('\n').join('\n  ')}
  ${TOKEN_USAGE.split('\n').join('\n  ')}
  ${CLIENT_USAGE.split('\n').join('\n  ')}
  ${TERMINAL_USAGE.split('\n').join('\n  ')}
  ${LMK_USAGE.split('\n').join('\n  ')}
  ${BACKLINE_USAGE.split('\n').join('\n  ')}
  ${LOADGEN_USAGE.split('\n').join('\n  ')}
  ${FRAMES_USAGE.split('\n').join('\n  ')}
  ${RECEIPT_USAGE.split('\n').join('\n  ')}
  ${REPORT_USAGE.split('\n').join('\n  ')}
  ${SEARCH_USAGE.split('\n').join('\n  ')}
  ${DISCREPANCIES_USAGE.split('\n').join('\n  ')}
  ${AUDIT_USAGE.split('\n').join('\n  ')}
  ${ROUTE_USAGE.split('\n').join('\n  ')}
  ${RISK_USAGE.split('\n').join('\n  ')}
  ${CHANNEL_USAGE.split('\n').join('\n  ')}
  ${DECODE_USAGE.split('\n').join('\n  ')}
`;

/** Entry point of the `posp` command; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  const io = {
    stdin: process.stdin,
    out: (s: string) => process.stdout.write(s + '\n'),
    err: (s: string) => process.stderr.write(s + '\n'),
  };
  switch (command) {
    case 'start':
      return startCommand(args, io);
    case 'sim-host':
      return simHostCommand(args, io);
    case 'day-cut':
      return dayCutCommand(args, io);
    case 'monitor':
      return monitorCommand(args, io);
    case 'token':
      return tokenCommand(args, io);
    case 'client':
      return clientCommand(args, io);
    case 'terminal':
      return terminalCommand(args, io);
    case 'lmk':
      return lmkCommand(args, io);
    case 'backline':
      return backlineCommand(args, io);
    case 'loadgen':
      return loadgenCommand(args, io);
    case 'frames':
      return framesCommand(args, io);
    case 'receipt':
      return receiptCommand(args, io);
    case 'report':
      return reportCommand(args, io);
    case 'search':
      return searchCommand(args, io);
    case 'discrepancies':
      return discrepanciesCommand(args, io);
    case 'audit':
      return auditCommand(args, io);
    case 'decode':
      return decodeCommand(args, io);
    case 'channel':
      return channelCommand(args, io);
    case 'route':
      return routeCommand(args, io);
    case 'risk':
      return riskCommand(args, io);
    case undefined:
    case 'help':
    case '--help':
      io.out(USAGE);
      return command === undefined ? 2 : 0;
    default:
      io.err(`unknown command ${command}\n${USAGE}`);
      return 2;
  }
}
