/**
 * Custody of the LMK file: a key file group or others may read is refused (the key may already be
 * theirs), by loadLmk and by `posp start`, which stops with one line naming the file and its mode
 * before anything listens; the files posp writes (a new LMK, a rotation's two files) are 0600
 * whatever the umask; POSP_LMK does not read the file at all.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecurityError, loadLmk, previousLmkFileOf, startLmkRotation } from '../../src/security/index.js';
import { runPosp } from '../switch/harness.js';

const dir = mkdtempSync(join(tmpdir(), 'posp-lmk-mode-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function keyFile(name: string, mode: number): string {
  const file = join(dir, name);
  writeFileSync(file, randomBytes(32), { mode: 0o600 });
  chmodSync(file, mode);
  return file;
}

t.test('a key file with any group or other permission is refused, naming the file and its mode', async (t) => {
  for (const mode of [0o644, 0o640, 0o604, 0o620, 0o602, 0o660, 0o601]) {
    const file = keyFile(`loose-${mode.toString(8)}.key`, mode);
    const err = t.throws(() => loadLmk({ file })) as SecurityError;
    t.equal(err.code, 'lmk', `mode ${mode.toString(8)}: an LMK error`);
    t.match(err.message, `LMK file ${file} has mode 0${mode.toString(8)}`, 'names the file and its mode');
  }
  t.ok(loadLmk({ file: keyFile('owner-rw.key', 0o600) }), '0600 is used');
  t.ok(loadLmk({ file: keyFile('owner-r.key', 0o400) }), '0400 is used');
});

t.test('the previous LMK a rotation keeps is held to the same rule', async (t) => {
  const file = keyFile('rotated.key', 0o600);
  startLmkRotation(file);
  t.ok(loadLmk({ file }), 'both files 0600: loaded');
  chmodSync(previousLmkFileOf(file), 0o644);
  t.throws(() => loadLmk({ file }), /rotated\.previous has mode 0644/, 'a loose previous LMK file is refused too');
});

t.test('what posp writes is 0600 whatever the umask', async (t) => {
  const umask = process.umask(0);
  t.teardown(() => process.umask(umask));
  const file = join(dir, 'fresh', 'lmk.key');
  loadLmk({ file });
  t.equal(statSync(file).mode & 0o777, 0o600, 'a new LMK file');
  startLmkRotation(file);
  t.equal(statSync(file).mode & 0o777, 0o600, "a rotation's new LMK file");
  t.equal(statSync(previousLmkFileOf(file)).mode & 0o777, 0o600, "a rotation's previous LMK file");
});

t.test('POSP_LMK wins without reading the file, loose or not', async (t) => {
  const file = keyFile('ignored.key', 0o644);
  t.ok(loadLmk({ env: randomBytes(32).toString('hex'), file }), 'loaded from POSP_LMK; the loose file is not read');
});

t.test('posp start refuses a readable LMK file with one clear line, and starts nothing', async (t) => {
  const data = join(dir, 'data');
  const file = join(data, 'lmk.key');
  loadLmk({ file });
  chmodSync(file, 0o644);
  // --host-sim would keep the process alive had it started before the LMK was checked.
  const run = await runPosp(['start', '--demo', '--host-sim', '--data', data, '--pos-port', '0', '--admin-port', '0', '--api-port', '0', '--host-sim-port', '0', '--log-level', 'warn']);
  t.equal(run.code, 1, 'exit code 1');
  t.same(run.stderr.trim().split('\n'), [`LMK file ${file} has mode 0644: group or others may read it; refusing to use it (chmod 600 ${file})`], 'one line naming the file and its mode');
  t.notMatch(run.stdout, /listening|terminals on/, 'nothing listened');
  chmodSync(file, 0o600);
});
