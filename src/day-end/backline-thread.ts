// The back line's worker thread: the day-end work (sealing, account day-end, clearing, reports,
// reconciliation) runs here, so none of it takes CPU time from the front line's event loops.
import { parentPort, workerData } from 'node:worker_threads';
import { threadLog } from '../switch/log.js';
import { BookGauges, nameThread, setThreadNice, threadId } from '../book/index.js';
import { Journal, StateStore } from '../store/index.js';
import { dayAfter } from '../txn/index.js';
import { Backline } from './backline.js';

export interface BacklineThreadData {
  dataDir: string;
  /** The book's gauges: how far LMDB has applied the journal. */
  gauges: SharedArrayBuffer;
  businessDate: string;
  /** The host's settlement files, for reconciliation (`--host-settlement`, or the simulator's under `--host-sim`). */
  hostSettlement: string | undefined;
  logLevel: string;
  logFile: string;
}

/**
 * Messages to the thread: a new business date (after a cut-over); create the journal of a day a
 * cut-over is about to begin and hold it open (`prepare`) until the book has it open too
 * (`release`); stop.
 */
export interface BacklineThreadMessage {
  businessDate?: string;
  prepare?: string;
  release?: string;
  stop?: boolean;
}

/** How often ended days that could not run yet (LMDB behind, a stage failed) are tried again. */
const RETRY_MS = 5000;

/** Batch work takes only what the front line leaves: the lowest priority, for good. */
const BACKGROUND_NICE = 19;

const data = workerData as BacklineThreadData;
nameThread('posp-backline');
const log = threadLog(data.logLevel, data.logFile, { sync: false }).child({ part: 'backline' });
if (!setThreadNice(threadId(), BACKGROUND_NICE)) log.warn('the back line thread could not lower its priority: day-end work competes with the front line');
const state = new StateStore(data.dataDir);
const gauges = BookGauges.attach(data.gauges);
const backline = new Backline(data.dataDir, state, () => gauges.applied, data.hostSettlement, log);
let businessDate = data.businessDate;
let work = Promise.resolve();

function catchUp(): void {
  work = work.then(async () => {
    try {
      const finished = await backline.catchUp(businessDate);
      if (finished.length > 0) parentPort!.postMessage({ finished });
    } catch (err) {
      log.error({ err }, 'back line failed');
    }
  });
}

const retry = setInterval(catchUp, RETRY_MS);
/**
 * The next day's journal, created here so the book's cut-over only opens it: the schema, the WAL
 * and the directory sync cost the book nothing. It is held open until the book has opened it,
 * because SQLite removes the WAL file when its last connection closes, and a new one would need
 * its directory entry synced again. The day after the current one is prepared as soon as the
 * business date is known, long before its cut-over: a cut-over then neither waits for this thread
 * (which may be deep in a day-end stage) nor opens a file whose creation the disk is still busy with.
 */
const prepared = new Map<string, Journal>();

function prepare(date: string): void {
  try {
    if (!prepared.has(date)) prepared.set(date, new Journal(data.dataDir, date));
    parentPort!.postMessage({ prepared: date });
  } catch (err) {
    log.warn({ err, date }, "could not prepare the next day's journal: the book will create it");
    parentPort!.postMessage({ prepared: date, error: (err as Error).message });
  }
}

function release(date: string): void {
  prepared.get(date)?.close();
  prepared.delete(date);
}

/** The book has the current day open: files prepared for it or for days it passed are let go, and the next day's is made. */
function learnBusinessDate(date: string): void {
  businessDate = date;
  for (const day of [...prepared.keys()]) if (day <= date) release(day);
  prepare(dayAfter(date));
}

parentPort!.on('message', (msg: BacklineThreadMessage) => {
  if (msg.prepare !== undefined) prepare(msg.prepare);
  if (msg.release !== undefined) release(msg.release);
  if (msg.businessDate !== undefined) {
    learnBusinessDate(msg.businessDate);
    catchUp();
  }
  if (msg.stop) {
    clearInterval(retry);
    void work.then(async () => {
      for (const journal of prepared.values()) journal.close();
      backline.close();
      await state.close();
      parentPort!.postMessage({ stopped: true });
    });
  }
});
learnBusinessDate(data.businessDate);
catchUp();
