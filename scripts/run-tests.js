#!/usr/bin/env node
// Runs every compiled test file with tap and ends with the one line CI reads:
// "N passed, N failed". The counts are tap's own assertion totals (its closing
// "# { total, pass, fail, ... }" line); a run that dies before printing them counts as failed.
// Every switch a test starts logs at debug into one temporary directory (POSP_TEST_LOG_DIR, see
// test/suite-log.ts); after the suite, test/after-suite scans all of it for card numbers and keys.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

// Only *.test.js files are tests: helpers beside them (worker scripts, fixtures) are not.
function testFiles(path) {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path).sort().flatMap((name) => {
    const full = join(path, name);
    return statSync(full).isDirectory() ? testFiles(full) : name.endsWith('.test.js') ? [full] : [];
  });
}

/** Runs tap over `files`; resolves tap's pass and fail totals (a run that died counts one failure). */
function tap(files, jobs, env) {
  const args = ['--reporter=tap', '--disable-coverage', '--timeout=300', `--jobs=${jobs}`, ...files];
  const child = spawn(process.execPath, ['node_modules/tap/dist/esm/run.mjs', ...args], { stdio: ['ignore', 'pipe', 'inherit'], env });
  let totals = null;
  createInterface({ input: child.stdout }).on('line', (line) => {
    process.stdout.write(line + '\n');
    const m = /^# \{ total: (\d+)(.*)\}$/.exec(line);
    if (m) {
      const count = (key) => Number((new RegExp(`${key}: (\\d+)`).exec(m[2]) ?? [0, 0])[1]);
      totals = { pass: count('pass'), fail: count('fail') };
    }
  });
  return new Promise((resolve) => {
    child.on('close', (code) => {
      const pass = totals?.pass ?? 0;
      let fail = totals?.fail ?? 0;
      if (code !== 0 && fail === 0) fail = 1;
      resolve({ pass, fail });
    });
  });
}

const roots = process.argv.slice(2);
const logDir = mkdtempSync(join(tmpdir(), 'posp-suite-logs-'));
const env = { ...process.env, POSP_TEST_LOG_DIR: logDir, POSP_TEST_WHOLE_SUITE: roots.length ? '0' : '1' };
const suite = await tap((roots.length ? roots : ['dist/test']).flatMap(testFiles), 2, env);
const scan = await tap(['dist/test/after-suite/no-secret-in-the-suite-logs.js'], 1, env);
const passed = suite.pass + scan.pass;
const failed = suite.fail + scan.fail;
// The logs of a failed run stay for reading.
if (failed === 0) rmSync(logDir, { recursive: true, force: true });
else console.log(`# the switches' logs of this run: ${logDir}`);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
