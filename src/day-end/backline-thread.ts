// The back line's worker thread: the day-end work (sealing, account day-end, clearing, reports,
// reconciliation) runs here, so none of it takes CPU time from the front line's event loops.
import { parentPort, workerData } from 'node:worker_threads';
import pino from 'pino';
import { BookGauges, setThreadNice, threadId } from '../book/index.js';
import { StateStore } from '../store/index.js';
import { Backline } from './backline.js';

export interface BacklineThreadData {
  dataDir: string;
  /** The book's gauges: how far LMDB has applied the journal. */
  gauges: SharedArrayBuffer;
  businessDate: string;
  /** The host's settlement files, for reconciliation (`--host-settlement`, or the simulator's under `--host-sim`). */
  hostSettlement: string | undefined;
  logLevel: string;
}

/** Messages to the thread: a new business date (after a cut-over), or stop. */
export interface BacklineThreadMessage {
  businessDate?: string;
  stop?: boolean;
}

/** How often ended days that could not run yet (LMDB behind, a stage failed) are tried again. */
const RETRY_MS = 5000;

/** Batch work takes only what the front line leaves: the lowest priority, for good. */
const BACKGROUND_NICE = 19;

const data = workerData as BacklineThreadData;
const log = pino({ level: data.logLevel }).child({ part: 'backline' });
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
parentPort!.on('message', (msg: BacklineThreadMessage) => {
  if (msg.businessDate !== undefined) {
    businessDate = msg.businessDate;
    catchUp();
  }
  if (msg.stop) {
    clearInterval(retry);
    void work.then(async () => {
      backline.close();
      await state.close();
      parentPort!.postMessage({ stopped: true });
    });
  }
});
catchUp();
