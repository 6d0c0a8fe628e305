/**
 * LMK rotation. `posp lmk rotate` on a running switch's data directory goes through the switch
 * while terminals transact: none of them sees anything but approvals, every terminal still signs
 * in and transacts (PINs verify: the verifiers were made under a secret the rotation carries over),
 * every stored key opens under the new LMK alone, the old LMK file is gone and the journal names
 * the new LMK by check value only. It also works on a stopped switch, and a rotation a crash
 * interrupted (at a fixed point, or by kill -9 at any moment) is finished at the next start with
 * no key lost.
 */
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimTerminal } from '../../src/loadgen/index.js';
import { KeyRewrap, Lmk, SecurityModule, finishLmkRotation, lmkFileOf, loadLmk, previousLmkFileOf, startLmkRotation } from '../../src/security/index.js';
import { DEMO, LMK_ROTATION, StateStore, demoOffUsPan, demoPan, demoTid, entriesOfType, journalDates, type ReversalAdvice } from '../../src/store/index.js';
import { live, startChild, type Child } from '../crash/crash-harness.js';
import { runPosp, sleep, startInProcess, terminal } from '../switch/harness.js';

const TOKEN = 'lmk-rotation-test-admin-token-0123456789';
const TERMINALS = 10;

t.teardown(() => {
  for (const proc of live) proc.kill('SIGKILL');
});

t.test('a rotated LMK opens what the old one wrapped only while the old one is kept, and keeps PIN verifiers and PAN tokens', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'lmk.key');
  const old = loadLmk({ file });
  const oldBytes = readFileSync(file);
  const before = new SecurityModule(old);
  const tmk = Buffer.from('70F2A84CCBC2AE8625CBB0F2C22AB923', 'hex');
  const wrapped = before.importKey(tmk);
  const verifier = before.makePinVerifier(demoPan(1), '123456');
  const token = before.panToken(demoPan(1));

  const keyring = startLmkRotation(file);
  t.not(keyring.checkValue, old.checkValue, 'a new LMK');
  t.equal(keyring.previousCheckValue, old.checkValue, 'the old one kept for unwrapping');
  const during = loadLmk({ file });
  t.same(during.unwrap(wrapped), tmk, 'while both files exist, the old wrapping opens');
  const moved = during.rewrap(wrapped)!;
  t.ok(moved, 're-wrapped under the new LMK');
  t.equal(during.rewrap(moved), undefined, 'what is under the new LMK already stays as it is');
  t.throws(() => new Lmk(randomBytes(32)).rewrap(wrapped), /failed authentication/, 'a blob under neither LMK is an error');
  // What the store holds under the LMK: a terminal's TMK and working keys, a stand-in advice's card number.
  const rewrap = new KeyRewrap(during);
  const record = rewrap.terminal({ tmk: wrapped, keys: { mode: '004', pik: wrapped, mak: wrapped, tdk: wrapped, issuedAt: 0 } })!;
  const advice = rewrap.advice({ sealedPan: before.sealPan(demoPan(1)) } as ReversalAdvice)!;
  t.equal(rewrap.rewrapped, 5, 'every key of a terminal record and the sealed card number moved');
  t.equal(rewrap.terminal(record), undefined, 'moving them again changes nothing');

  finishLmkRotation(file);
  t.notOk(existsSync(previousLmkFileOf(file)), 'the old LMK file is removed');
  const after = loadLmk({ file });
  t.same(after.unwrap(moved), tmk, 'the re-wrapped key opens under the new LMK alone');
  t.throws(() => after.unwrap(wrapped), /failed authentication/, 'the old wrapping no longer opens');
  const module = new SecurityModule(after);
  t.ok([record.tmk, record.keys!.pik, record.keys!.mak, record.keys!.tdk!].every((key) => opens(after, key)), "the terminal's keys open under the new LMK alone");
  t.equal(module.openPan(advice.sealedPan!), demoPan(1), "and so does the advice's card number");
  t.same(module.makePinVerifier(demoPan(1), '123456'), verifier, 'PIN verifiers made before still verify');
  t.equal(module.panToken(demoPan(1)), token, 'PAN tokens are the same');
  const content = readFileSync(file);
  t.equal(content.indexOf(oldBytes), -1, 'the new LMK file does not hold the old LMK');
  t.notMatch(content.toString('latin1'), oldBytes.toString('hex'), 'not in hex either');
});

t.test('a running holder keeps opening what it wrapped before each rotation (in memory), the files do not', async (t) => {
  const file = join(t.testdir(), 'lmk.key');
  const holder = loadLmk({ file });
  // As a host link holds its ZMK: wrapped once at start, opened at every key exchange.
  const zmk = holder.wrap(Buffer.from('0123456789ABCDEFFEDCBA9876543210', 'hex'));
  for (let rotation = 1; rotation <= 2; rotation++) {
    holder.adopt(startLmkRotation(file));
    finishLmkRotation(file);
  }
  t.equal(holder.checkValue, loadLmk({ file }).checkValue, 'the holder wraps under the newest LMK');
  t.same(holder.unwrap(zmk).toString('hex').toUpperCase(), '0123456789ABCDEFFEDCBA9876543210', 'and still opens what it wrapped two rotations ago');
  t.throws(() => loadLmk({ file }).unwrap(zmk), /failed authentication/, 'which a fresh load of the files cannot');
});

t.test('from the rotation entry on, the book journals keys only under the new LMK, whatever a worker proposes', async (t) => {
  // The pipeline here keeps the old LMK (nothing tells it of the rotation) and the terminal record
  // it cached at the first sign-in, as a worker that has not taken the new LMK yet: its sign-ins
  // propose working keys under the old LMK.
  const demo = await startInProcess(t);
  const term = await terminal(t, demo, 3);
  t.equal((await term.signIn('003')).text(39), '00', 'a sign-in before the rotation');
  const file = lmkFileOf(demo.dataDir);
  startLmkRotation(file);
  const rotation = await demo.sw.control({ kind: 'lmk-rotation' });
  t.match(rotation, { seq: Number }, 'the rotation is journalled');
  t.equal((await term.signIn('004')).text(39), '00', 'a sign-in after the rotation entry');
  finishLmkRotation(file);
  const lmk = loadLmk({ file });
  const entry = demo.sw.durable.at(-1)!;
  const keys = entry.effects.terminal!.keys!;
  t.ok([keys.pik, keys.mak, keys.tdk!].every((key) => opens(lmk, key)), 'its journalled working keys open under the new LMK alone');
  const stored = demo.sw.state.terminals.get(demoTid(3))!;
  t.ok([stored.tmk, stored.keys!.pik, stored.keys!.mak].every((key) => opens(lmk, key)), 'and so do the TMK and keys LMDB holds');
});

t.test('posp lmk rotate on a running switch, then on a stopped one', async (t) => {
  const dir = dataDir(t);
  let child = await start(dir);
  const oldLmk = readFileSync(lmkFileOf(dir));
  const terminals = await signedInTerminals(child, TERMINALS);
  // Every terminal sells with its PIN all through the rotation (well within the per-terminal rate limit); each answer is recorded.
  const answers: string[] = [];
  let selling = true;
  const loops = terminals.map(async (term, i) => {
    for (; selling; await sleep(10)) answers.push((await term.request(term.sale({ pan: demoPan(i + 1), expiry: DEMO.expiry, pin: DEMO.pin }, 100))).text(39)!);
  });
  await sleep(300);
  const rotate = await runPosp(['lmk', 'rotate', '--data', dir, '--admin', `http://127.0.0.1:${child.adminPort}`, '--token', TOKEN]);
  await sleep(300);
  selling = false;
  await Promise.all(loops);
  t.equal(rotate.code, 0, `posp lmk rotate succeeded: ${rotate.stderr}`);
  const result = JSON.parse(rotate.stdout) as { seq: number; checkValue: string; previousCheckValue: string };
  t.match(result, { seq: Number, checkValue: /^[0-9A-F]{6}$/, previousCheckValue: /^[0-9A-F]{6}$/ });
  t.not(result.checkValue, result.previousCheckValue, 'a new LMK');
  t.ok(answers.length > TERMINALS * 4, `the terminals kept selling (${answers.length} sales)`);
  t.same([...new Set(answers)], ['00'], 'and every sale was approved, through the rotation');

  t.notOk(existsSync(previousLmkFileOf(lmkFileOf(dir))), 'the old LMK file is gone');
  t.equal(statSync(lmkFileOf(dir)).mode & 0o777, 0o600, 'the new one is 0600');
  const lmk = loadLmk({ file: lmkFileOf(dir) });
  t.equal(lmk.checkValue, result.checkValue, 'the LMK file holds the LMK the answer names');
  t.equal(lmk.previousCheckValue, undefined, 'and nothing else');
  t.equal(await unopenedKeys(dir, lmk), 0, 'every key LMDB holds opens under the new LMK alone');

  const rotations = journalEntries(dir, LMK_ROTATION);
  t.same(rotations.map((e) => e.requestKey), [`lmk|${result.checkValue}`], 'the journal names the new LMK by its check value');
  t.notOk(journalHolds(dir, oldLmk) || journalHolds(dir, readFileSync(lmkFileOf(dir))), 'and holds neither LMK');

  for (const term of terminals) t.equal((await term.request(term.sale({ pan: demoPan(50), expiry: DEMO.expiry, pin: DEMO.pin }, 100))).text(39), '00', `${term.options.tid} transacts on its session keys`);
  await everyTerminalSignsInAndSells(t, child, TERMINALS + 2, 'after the rotation');
  for (const term of terminals) term.close();

  // A restart loads only the new LMK: what LMDB holds must open under it.
  await stop(child);
  child = await start(dir);
  await everyTerminalSignsInAndSells(t, child, 3, 'after a restart');
  await stop(child);

  const offline = await runPosp(['lmk', 'rotate', '--data', dir]);
  t.equal(offline.code, 0, `posp lmk rotate on the stopped switch: ${offline.stderr}`);
  const second = JSON.parse(offline.stdout) as { checkValue: string; previousCheckValue: string };
  t.equal(second.previousCheckValue, result.checkValue, 'it rotated away from the LMK of the first rotation');
  t.notOk(existsSync(previousLmkFileOf(lmkFileOf(dir))), 'the old LMK file is gone again');
  t.equal(await unopenedKeys(dir, loadLmk({ file: lmkFileOf(dir) })), 0, 'every stored key opens under the newest LMK');
  child = await start(dir);
  await everyTerminalSignsInAndSells(t, child, 3, 'after the rotation on the stopped switch');
  await stop(child);
});

t.test('a rotation interrupted after its files changed is finished at the next start', async (t) => {
  const dir = dataDir(t);
  let child = await start(dir);
  await everyTerminalSignsInAndSells(t, child, 3, 'before');
  await stop(child);
  // As a crash right after the LMK files were swapped would leave them: LMDB still under the old LMK.
  const keyring = startLmkRotation(lmkFileOf(dir));
  child = await start(dir);
  t.match(child.output(), /finished an LMK rotation a stop had interrupted/, 'the start says it finished the rotation');
  t.notOk(existsSync(previousLmkFileOf(lmkFileOf(dir))), 'the old LMK file is gone');
  t.equal(await unopenedKeys(dir, loadLmk({ file: lmkFileOf(dir) })), 0, 'every stored key opens under the new LMK alone');
  t.equal(loadLmk({ file: lmkFileOf(dir) }).checkValue, keyring.checkValue, 'the new LMK is the one the interrupted rotation made');
  await everyTerminalSignsInAndSells(t, child, 3, 'after');
  await stop(child);
});

t.test('kill -9 during a rotation under load loses no key', async (t) => {
  const dir = dataDir(t);
  for (const delayMs of [0, 5, 20]) {
    let child = await start(dir);
    const terminals = await signedInTerminals(child, 4);
    // Sign-ins too: their new working keys are what a rotation must not lose track of.
    const load = terminals.map(async (term, i) => {
      while (term.connected) await (i % 2 ? term.request(term.sale({ pan: demoPan(i + 1), expiry: DEMO.expiry, pin: DEMO.pin }, 100)) : term.signIn('003')).catch(() => undefined);
    });
    void fetch(`http://127.0.0.1:${child.adminPort}/api/v1/lmk/rotate`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: '{}' }).catch(() => undefined);
    await sleep(delayMs);
    child.proc.kill('SIGKILL');
    await child.exited;
    for (const term of terminals) term.close();
    await Promise.all(load);
    child = await start(dir);
    t.notOk(existsSync(previousLmkFileOf(lmkFileOf(dir))), `killed ${delayMs} ms in: no rotation is left unfinished after the restart`);
    t.equal(await unopenedKeys(dir, loadLmk({ file: lmkFileOf(dir) })), 0, 'every stored key opens under the LMK the files name');
    await everyTerminalSignsInAndSells(t, child, 5, `after a kill ${delayMs} ms into a rotation`);
    await stop(child);
  }
});

function dataDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'posp-lmk-rotate-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The demo switch as a process: two workers (both must take the new LMK), the host simulator, an admin token. */
function start(dir: string): Promise<Child> {
  return startChild(dir, ['--host-sim', '--host-sim-port', '0', '--api-port', 'off', '--workers', '2', '--admin-token', TOKEN, '--cutover-at', 'off']);
}

async function stop(child: Child): Promise<void> {
  child.proc.kill('SIGTERM');
  await child.exited;
}

async function signedInTerminals(child: Child, count: number): Promise<SimTerminal[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const term = new SimTerminal({ host: '127.0.0.1', port: child.port, tid: demoTid(i), mid: DEMO.mid, tmk: DEMO.tmk, firstStan: Math.floor(Math.random() * 900_000) });
      await term.connect();
      const res = await term.signIn('004');
      if (res.text(39) !== '00') throw new Error(`sign-in of ${term.options.tid} answered ${res.text(39)}`);
      return term;
    }),
  );
}

/** Terminals 0..count-1 (and one that has never signed in) sign in afresh and sell on-us with a PIN; the first also off-us through the host. */
async function everyTerminalSignsInAndSells(t: Test, child: Child, count: number, when: string): Promise<void> {
  const terminals = await signedInTerminals(child, count);
  const fresh = new SimTerminal({ host: '127.0.0.1', port: child.port, tid: demoTid(900), mid: DEMO.mid, tmk: DEMO.tmk, firstStan: Math.floor(Math.random() * 900_000) });
  await fresh.connect();
  t.equal((await fresh.signIn('003')).text(39), '00', `${when}: a terminal signs in for the first time`);
  for (const [i, term] of [...terminals, fresh].entries()) {
    t.equal((await term.request(term.sale({ pan: demoPan(i + 1), expiry: DEMO.expiry, pin: DEMO.pin }, 100))).text(39), '00', `${when}: ${term.options.tid} signs in and sells with a PIN`);
  }
  // The host link signs on (zone keys under the LMK) in its own time: off-us answers 91 until then.
  let offUs = '';
  for (let i = 0; i < 100 && offUs !== '00'; i++, await sleep(100)) {
    offUs = (await terminals[0].request(terminals[0].sale({ pan: demoOffUsPan(1), expiry: DEMO.expiry, pin: DEMO.pin }, 100))).text(39)!;
  }
  t.equal(offUs, '00', `${when}: an off-us sale with a PIN is approved through the host`);
  for (const term of [...terminals, fresh]) term.close();
}

/** Keys LMDB holds (terminal master and working keys, advices' sealed card numbers) that `lmk` cannot open. */
async function unopenedKeys(dir: string, lmk: Lmk): Promise<number> {
  const state = new StateStore(dir);
  const blobs: Uint8Array[] = [];
  try {
    for (const { value } of state.terminals.getRange()) {
      blobs.push(value.tmk);
      if (value.keys) for (const key of [value.keys.pik, value.keys.mak, value.keys.tdk]) if (key) blobs.push(key);
    }
    if (blobs.length < 1000) throw new Error(`only ${blobs.length} keys in LMDB`);
    for (const { value } of state.advices.getRange()) if (value.sealedPan) blobs.push(Buffer.from(value.sealedPan, 'base64'));
  } finally {
    await state.close();
  }
  return blobs.filter((blob) => !opens(lmk, blob)).length;
}

function opens(lmk: Lmk, blob: Uint8Array): boolean {
  try {
    lmk.unwrap(blob).fill(0);
    return true;
  } catch {
    return false;
  }
}

function journalEntries(dir: string, type: string): { requestKey: string }[] {
  return journalDates(dir).flatMap((date) => entriesOfType(dir, date, type));
}

/** Whether any journal file (database, WAL) holds `lmk`'s key bytes, raw or as hex text. */
function journalHolds(dir: string, lmkFileContent: Buffer): boolean {
  const keys = lmkFileContent.length === 32 ? [lmkFileContent] : [...lmkFileContent.toString('latin1').matchAll(/^lmk ([0-9a-f]{64})$/gm)].map((m) => Buffer.from(m[1], 'hex'));
  const journal = join(dir, 'journal');
  return readdirSync(journal).some((name) => {
    const bytes = readFileSync(join(journal, name));
    return keys.some((key) => bytes.indexOf(key) >= 0 || bytes.toString('latin1').toLowerCase().includes(key.toString('hex')));
  });
}
