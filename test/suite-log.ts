/**
 * Where a test's switch logs. `npm test` (scripts/run-tests.js) sets POSP_TEST_LOG_DIR: every
 * switch a test starts then logs at `debug`, all its threads into one file there, and after the
 * suite `test/after-suite/no-secret-in-the-suite-logs` scans every file for card numbers and keys.
 * Run alone (no directory), a test's switch is silent, and one run as a process shows its warnings.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import { threadLog } from '../src/switch/log.js';

export const SUITE_LOG_DIR = process.env.POSP_TEST_LOG_DIR ?? '';

/** The running test file's name without `.test.js` (tap runs each file as the process's script). */
export const TEST_NAME = path.basename(process.argv[1] ?? 'test').replace(/\.test\.js$/, '');

/** A new log file's path: the test's name, its process, and a count (one file per switch). */
let started = 0;
function logFile(name: string): string {
  return path.join(SUITE_LOG_DIR, `${name}-${process.pid}-${++started}.log`);
}

/** For a switch started in this process: its configuration's `logLevel` and `logFile`, and the main thread's logger. */
export function suiteLogging(name: string = TEST_NAME): { config: { logLevel: string; logFile: string }; log: Logger } {
  if (SUITE_LOG_DIR === '') return { config: { logLevel: 'silent', logFile: '' }, log: threadLog('silent', '', { sync: true }) };
  const file = logFile(name);
  return { config: { logLevel: 'debug', logFile: file }, log: threadLog('debug', file, { sync: true }) };
}

/** The `posp start` flags that do the same for a switch run as a child process. */
export function suiteLogFlags(name: string = TEST_NAME): string[] {
  return SUITE_LOG_DIR === '' ? ['--log-level', 'warn'] : ['--log-level', 'debug', '--log-file', logFile(name)];
}
