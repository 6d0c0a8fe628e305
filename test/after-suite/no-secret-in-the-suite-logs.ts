/**
 * Run by `npm test` after the whole suite (scripts/run-tests.js), not beside it: every switch the
 * suite started logged at `debug` into POSP_TEST_LOG_DIR (test/suite-log.ts), every thread of it,
 * main, pipeline workers and back line. Every line of every file there is scanned for Luhn-valid
 * 13–19 digit numbers and runs of 32 or more hex digits: none may be there. The suite's switches
 * sign in, sell with PINs on and off us, reverse, refund, upload batches, rotate keys and LMKs,
 * take bad frames and floods of them, and refuse over the API.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { secretsIn } from '../security/secrets.js';

const dir = process.env.POSP_TEST_LOG_DIR ?? '';

t.test('every log the test suite wrote holds no card number and no key', async (t) => {
  if (dir === '') {
    t.fail('POSP_TEST_LOG_DIR is not set: run through npm test (scripts/run-tests.js)');
    return;
  }
  const files = readdirSync(dir).filter((name) => name.endsWith('.log'));
  let lines = 0;
  const threads = new Set<string>();
  const found: string[] = [];
  for (const name of files) {
    const text = readFileSync(join(dir, name), 'latin1');
    for (const line of text.split('\n')) {
      if (line === '') continue;
      lines++;
      if (line.includes('"worker":')) threads.add('worker');
      else if (line.includes('"part":"backline"')) threads.add('backline');
      else threads.add('main');
      for (const secret of secretsIn(line)) found.push(`${name}: ${secret} in ${line.slice(0, 200)}`);
    }
  }
  t.same(found, [], `none of the ${lines} lines of ${files.length} files holds a card number or a key`);
  // A run of some test files may start no switch at all; the whole suite starts dozens.
  if (process.env.POSP_TEST_WHOLE_SUITE !== '1') return;
  t.ok(files.length >= 20, `the suite's switches wrote their logs there (${files.length} files)`);
  t.same([...threads].sort(), ['backline', 'main', 'worker'], 'lines from every kind of thread were scanned');
});
