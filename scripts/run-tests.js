#!/usr/bin/env node
// Runs every compiled test file with tap and ends with the one line CI reads:
// "N passed, N failed". The counts are tap's own assertion totals (its closing
// "# { total, pass, fail, ... }" line); a run that dies before printing them counts as failed.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
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
const roots = process.argv.slice(2);
const files = (roots.length ? roots : ['dist/test']).flatMap(testFiles);
const args = ['--reporter=tap', '--disable-coverage', '--timeout=300', '--jobs=2', ...files];
const child = spawn(process.execPath, ['node_modules/tap/dist/esm/run.mjs', ...args], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
let totals = null;
const lines = createInterface({ input: child.stdout });
lines.on('line', (line) => {
  process.stdout.write(line + '\n');
  const m = /^# \{ total: (\d+)(.*)\}$/.exec(line);
  if (m) {
    const count = (key) => Number((new RegExp(`${key}: (\\d+)`).exec(m[2]) ?? [0, 0])[1]);
    totals = { pass: count('pass'), fail: count('fail') };
  }
});
child.on('close', (code) => {
  const passed = totals?.pass ?? 0;
  let failed = totals?.fail ?? 0;
  if (code !== 0 && failed === 0) failed = 1;
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed > 0 ? 1 : 0;
});
