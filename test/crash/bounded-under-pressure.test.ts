/**
 * Bounded under pressure: with a CPU-bound process beside the switch and terminals selling as fast
 * as they can, LMDB never falls further behind the journal than its bound and the WAL file never
 * passes its limit; the book holds terminals back instead. A kill -9 at the end then costs a
 * restart that replays no more than the bound, and nothing is lost or doubled.
 *
 * The bounds are set small (300 entries, a 2 MB WAL) and LMDB is applied at most every 500 ms while
 * it keeps up, so any load above 600 sales a second must reach the lag bound, and the WAL's
 * limit is reached within a second: the test shows the bounds held because they were pressed, not
 * because the load stayed below them (it asserts that the book did throttle).
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHILD_ENV, sleep } from '../switch/harness.js';
import { checkJournal, live, load, startChild, type Approval, type Sent } from './crash-harness.js';

const MAX_APPLY_LAG = 300;
const WAL_LIMIT_MB = 2;
const WAL_LIMIT = WAL_LIMIT_MB * 1024 * 1024;
const BOUNDS = ['--max-apply-lag', String(MAX_APPLY_LAG), '--wal-limit-mb', String(WAL_LIMIT_MB), '--apply-interval-ms', '500'];
const TERMINALS = 40;
const LOAD_MS = 8000;
/** The restart bound: answering /health within 3 s of the start, plus opening the files. */
const RESTART_MS = 3000;

/** `GET /metrics` of the admin port as name → value. */
function metrics(port: number): Promise<Map<string, number>> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/metrics', timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => {
        const values = new Map<string, number>();
        for (const line of body.split('\n')) {
          if (line === '' || line.startsWith('#')) continue;
          const [name, value] = line.split(' ');
          values.set(name, Number(value));
        }
        resolve(values);
      });
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('metrics: no answer in 2 s')));
    req.end();
  });
}

function healthStatus(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/health', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** The WAL file of the newest day's journal, in bytes (0 while there is none). */
function walBytes(dir: string): number {
  const days = readdirSync(join(dir, 'journal')).filter((f) => /^\d{8}\.sqlite$/.test(f)).sort();
  if (days.length === 0) return 0;
  try {
    return statSync(join(dir, 'journal', `${days[days.length - 1]}-wal`)).size;
  } catch {
    return 0;
  }
}

function journalBytes(dir: string): number {
  const days = readdirSync(join(dir, 'journal')).filter((f) => /^\d{8}\.sqlite$/.test(f));
  return days.reduce((sum, f) => sum + statSync(join(dir, 'journal', f)).size, 0);
}

t.test('a CPU hog beside the switch under load: apply lag and WAL stay bounded, kill -9 restarts within the bound, nothing lost or doubled', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'posp-pressure-'));
  const hog = spawn(process.execPath, ['-e', 'for(;;){}'], { env: CHILD_ENV, stdio: 'ignore' });
  t.teardown(() => {
    hog.kill('SIGKILL');
    for (const proc of live) proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const approvals: Approval[] = [];
  const dropped: Sent[] = [];

  const child = await startChild(dir, BOUNDS);
  let sampling = true;
  const seen = { lag: 0, metricWal: 0, fileWal: 0, samples: 0, throttledSeconds: 0, relaxed: false, urgent: false };
  const sampler = (async () => {
    while (sampling) {
      try {
        const m = await metrics(child.adminPort);
        seen.samples++;
        seen.lag = Math.max(seen.lag, m.get('posp_apply_lag_entries') ?? NaN);
        seen.metricWal = Math.max(seen.metricWal, m.get('posp_journal_wal_bytes') ?? NaN);
        seen.throttledSeconds = m.get('posp_book_throttled_seconds_total') ?? NaN;
        if (m.get('posp_apply_thread_nice') === 19) seen.relaxed = true;
        if ((m.get('posp_apply_thread_nice') ?? 19) < 19) seen.urgent = true;
      } catch {
        // The kill ends the admin port too; the loop ends with it.
      }
      seen.fileWal = Math.max(seen.fileWal, walBytes(dir));
      await sleep(20);
    }
  })();
  const result = await load(child.port, 1, LOAD_MS, () => child.proc.kill('SIGKILL'), child.output, TERMINALS);
  sampling = false;
  await sampler;
  const exit = await child.exited;
  hog.kill('SIGKILL');
  approvals.push(...result.approvals);
  dropped.push(...result.dropped);

  t.equal(exit.signal, 'SIGKILL', 'the switch died of SIGKILL under load');
  t.same(result.badEchoes, [], 'every response echoes its request');
  const tps = Math.round(result.answered / (LOAD_MS / 1000));
  t.comment(
    `under load with a CPU hog: ${result.answered} answered (~${tps}/s), ${result.approvals.length} approved, ` +
      `declined ${JSON.stringify(result.declined)}, cut by the kill ${result.dropped.length}; ${seen.samples} samples: ` +
      `max apply lag ${seen.lag} (bound ${MAX_APPLY_LAG}), max WAL ${seen.fileWal} bytes on disk, ${seen.metricWal} reported ` +
      `(limit ${WAL_LIMIT}), throttled ${seen.throttledSeconds.toFixed(3)} s`,
  );
  t.ok(seen.samples >= 50, `the gauges were sampled throughout (${seen.samples} times)`);
  t.ok(result.approvals.length > MAX_APPLY_LAG * 4, `the load went far past the lag bound (${result.approvals.length} approvals)`);
  t.ok(seen.throttledSeconds > 0, `the book held terminals back: the bound was reached (${seen.throttledSeconds} s throttled)`);
  t.ok(seen.urgent, 'the apply thread was given the process priority while it was behind');
  t.ok(seen.lag <= MAX_APPLY_LAG, `LMDB never fell more than ${MAX_APPLY_LAG} entries behind the journal (max ${seen.lag})`);
  t.ok(seen.fileWal > 0 && seen.fileWal <= WAL_LIMIT, `the WAL file never passed ${WAL_LIMIT} bytes (max ${seen.fileWal})`);
  t.ok(seen.metricWal <= WAL_LIMIT, `the reported WAL size stayed under the limit (max ${seen.metricWal})`);
  const journal = journalBytes(dir);
  t.ok(journal > WAL_LIMIT, `checkpoints completed under load: the day's file holds ${journal} bytes, more than the WAL may`);

  // Restart after the kill: recovery replays at most the bound, and the admin port answers soon.
  const started = Date.now();
  const again = await startChild(dir, BOUNDS);
  while ((await healthStatus(again.adminPort)) !== 200) await sleep(20);
  const restartMs = Date.now() - started;
  t.comment(`restart: replayed ${again.replayed} entries, recovery ${again.recoveryMs} ms, /health answered ${restartMs} ms after the start`);
  t.ok(again.replayed <= MAX_APPLY_LAG, `recovery replayed no more than the bound (${again.replayed} ≤ ${MAX_APPLY_LAG})`);
  t.ok(again.recoveryMs < RESTART_MS, `recovery took less than ${RESTART_MS} ms (${again.recoveryMs} ms)`);

  // The recovered switch carries on; then a clean stop and the whole journal against what terminals saw.
  const last = await load(again.port, 2, 500, undefined, again.output, TERMINALS);
  t.equal(last.dropped.length, 0, 'after recovery: every request is answered');
  approvals.push(...last.approvals);
  again.proc.kill('SIGTERM');
  const stopped = await again.exited;
  t.equal(stopped.code, 0, 'the recovered switch stops cleanly on SIGTERM');
  await checkJournal(t, dir, approvals, dropped);
});
