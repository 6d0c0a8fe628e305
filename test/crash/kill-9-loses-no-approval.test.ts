/**
 * DESIGN.md section 2: "Kill -9 at any moment loses no transaction a terminal saw approved, and
 * never applies one twice after restart." The switch runs as a real child process (bin/posp.js);
 * 20 simulated terminals sell on 50 shared cards; the child is SIGKILLed under load twice, restarted
 * on the same data directory each time (recovery replays the journal tail into LMDB), and finally
 * stopped with SIGTERM. Then the journal (SQLite) and the state (LMDB) are checked against what the
 * terminals saw and against each other.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkJournal, live, load, startChild, tailAtCrash, type Approval, type Sent } from './crash-harness.js';

const LOAD_MS = 2500;

t.test('kill -9 under load, twice: no approval lost, none applied twice, LMDB equals the journal', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'posp-crash-'));
  t.teardown(() => {
    for (const proc of live) proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const approvals: Approval[] = [];
  const dropped: Sent[] = [];

  // Each load has its own number: it places the terminals' STANs, so no request key repeats.
  let loads = 0;
  for (const round of [1, 2]) {
    // A kill that lands while no request is in flight cuts none and proves less: that round runs
    // again on the same data (everything it approved is checked with the rest), at most 3 times.
    for (let attempt = 1; ; attempt++) {
      const child = await startChild(dir);
      const result = await load(child.port, ++loads, LOAD_MS, () => child.proc.kill('SIGKILL'), child.output);
      const exit = await child.exited;
      t.equal(exit.signal, 'SIGKILL', `round ${round}: the switch died of SIGKILL`);
      t.same(result.badEchoes, [], `round ${round}: every response echoes its request's STAN, TID and amount`);
      t.ok(result.approvals.length >= 20, `round ${round}: terminals saw approvals before the kill (${result.approvals.length})`);
      const tail = await tailAtCrash(dir);
      t.comment(
        `round ${round}: sent ${result.sent}, answered ${result.answered}, approved ${result.approvals.length}, ` +
          `declined ${JSON.stringify(result.declined)}, cut by the kill ${result.dropped.length}; ` +
          `at the crash the journal ended at seq ${tail.journalMax}, LMDB had applied ${tail.appliedSeq}`,
      );
      t.ok(tail.appliedSeq <= tail.journalMax, `round ${round}: LMDB never runs ahead of the journal`);
      approvals.push(...result.approvals);
      dropped.push(...result.dropped);
      if (result.dropped.length > 0 || attempt === 3) {
        t.ok(result.dropped.length > 0, `round ${round}: the kill cut requests in flight (${result.dropped.length} never answered)`);
        break;
      }
      t.comment(`round ${round}: the kill landed with no request in flight; the round runs again`);
    }
  }

  // Third start: recovery after recovery; a short load shows the switch carries on from the
  // recovered balances and sequence, then a clean stop.
  const child = await startChild(dir);
  const last = await load(child.port, ++loads, 500, undefined, child.output);
  t.equal(last.dropped.length, 0, 'after recovery: every request is answered');
  t.same(last.badEchoes, [], 'after recovery: every response echoes its request');
  approvals.push(...last.approvals);
  child.proc.kill('SIGTERM');
  const exit = await child.exited;
  t.equal(exit.code, 0, `the recovered switch stops cleanly on SIGTERM${exit.code === 0 ? '' : `:\n${child.output()}`}`);

  await checkJournal(t, dir, approvals, dropped);
});
