#!/usr/bin/env node
// `npm start`: compiles first when any source is newer than the build (or there is none), then
// runs the switch with the demo set-up and the host simulator beside it. Extra arguments go to
// `posp start`.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function newest(dir) {
  let latest = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stat = statSync(path);
    latest = Math.max(latest, stat.isDirectory() ? newest(path) : stat.mtimeMs);
  }
  return latest;
}

let built = 0;
try {
  built = statSync('dist/src/cli/index.js').mtimeMs;
} catch {
  built = 0;
}
if (newest('src') > built) {
  console.log('posp: compiling (sources changed since the last build)');
  // The switch, then the console's browser code (its own project: DOM types, ES modules).
  for (const project of ['.', 'src/ops/console']) {
    const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', project], { stdio: 'inherit' });
    if (tsc.status !== 0) process.exit(tsc.status ?? 1);
  }
}
const run = spawnSync(process.execPath, ['bin/posp.js', 'start', '--demo', '--host-sim', ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(run.status ?? 1);
