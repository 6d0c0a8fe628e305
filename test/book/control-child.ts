/**
 * Not a test: a switch in a child process for the book tests that must SIGKILL it (there is no
 * admin endpoint for the control channel yet). Usage: `node control-child.js DATA_DIR [WORKERS]`.
 * Starts the demo switch on DATA_DIR with ephemeral ports and prints
 *   `ready pos=<port> admin=<port> date=<business date>`
 * then, for each stdin line `date YYYYMMDD`, calls `control({kind:'business-date'})` and prints
 *   `control <YYYYMMDD> <result as JSON>`
 * `stop` on stdin, SIGTERM or SIGINT stop the switch cleanly (exit 0).
 */
import { createInterface } from 'node:readline';
import pino from 'pino';
import { DEFAULTS, startSwitch } from '../../src/switch/index.js';
import { SUITE_LOG_DIR, suiteLogging } from '../suite-log.js';

const [dataDir, workers = '1'] = process.argv.slice(2);
if (!dataDir) {
  console.error('usage: control-child.js DATA_DIR [WORKERS]');
  process.exit(2);
}

// Into the suite's log directory under npm test; else warnings on stderr, for a failing test to show.
const logging = SUITE_LOG_DIR === '' ? { config: { logLevel: 'warn', logFile: '' }, log: pino({ level: 'warn' }, pino.destination(2)) } : suiteLogging('control-child');
const sw = await startSwitch({ ...DEFAULTS, dataDir, posPort: 0, adminPort: 0, demo: true, workers: Number(workers), ...logging.config }, logging.log);
process.stdout.write(`ready pos=${sw.posPort} admin=${sw.adminPort} date=${sw.businessDate}\n`);

let stopping: Promise<void> | undefined;
const stop = (): void => {
  stopping ??= sw.close().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const words = line.trim().split(/\s+/);
  if (words[0] === 'date' && words[1] !== undefined) {
    const date = words[1];
    void sw.control({ kind: 'business-date', date }).then((result) => process.stdout.write(`control ${date} ${JSON.stringify(result)}\n`));
  } else if (words[0] === 'stop') {
    stop();
  } else if (words[0] !== '') {
    process.stdout.write(`unknown command: ${line}\n`);
  }
});
// The test that drives this process went away: do not outlive it.
lines.on('close', stop);
