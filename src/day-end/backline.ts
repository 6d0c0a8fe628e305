import Database from 'better-sqlite3';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { journalDates, type StateStore } from '../store/index.js';
import { closeAccounts } from './accounts.js';
import { clearDay } from './clearing.js';
import { backlineDir, dayDir, writeAtomically } from './files.js';
import { exportDay } from './parquet.js';
import { reconcileDay } from './reconciliation.js';
import { renderReport, reportDay } from './reports.js';
import { isSealed, lastSeqOf, sealDay } from './seal.js';

/** What a stage of the back line is given. */
export interface BacklineContext {
  dataDir: string;
  date: string;
  state: StateStore;
  /** The directory of the host's settlement files, to reconcile against; undefined: no host side. */
  hostSettlement: string | undefined;
  log: Logger;
}

/** A stage's job for one day; what it returns is kept as the stage's detail (shown by `posp backline status`). */
export type Stage = (ctx: BacklineContext) => unknown;

/**
 * The back line's stages, in the order each business day goes through them. Each is idempotent
 * and reads only the sealed day (and earlier days' archives), so a day re-runs with the same
 * results after a data repair.
 */
export const STAGES: readonly { name: string; run: Stage }[] = [
  { name: 'sealed', run: ({ dataDir, date }) => ({ sha256: sealDay(dataDir, date) }) },
  { name: 'accounts-closed', run: ({ dataDir, date, state }) => closeAccounts(dataDir, date, accountsOf(state)) },
  { name: 'exported', run: ({ dataDir, date }) => exportDay({ dataDir, date }) },
  { name: 'cleared', run: async ({ dataDir, date, state }) => ({ merchants: (await clearDay({ dataDir, date, mccOf: (mid) => state.merchants.get(mid)?.mcc })).merchants.length }) },
  { name: 'reconciled', run: ({ dataDir, date, hostSettlement }) => reconcileDay({ dataDir, date, hostSettlement }).counts },
  { name: 'reported', run: writeReports },
];

/** The day's report as CSV and as the HTML page with its charts, beside the day's other files. */
async function writeReports({ dataDir, date }: BacklineContext): Promise<{ files: string[] }> {
  const report = await reportDay({ dataDir, date });
  const files = (['csv', 'html'] as const).map((format) => {
    const path = join(dayDir(dataDir, date), `report-${date}.${format}`);
    writeAtomically(path, renderReport(report, format));
    return path;
  });
  return { files };
}

function* accountsOf(state: StateStore) {
  state.refresh();
  for (const { value } of state.accounts.getRange()) yield value;
}

/** One day's place in the back line. */
export interface DayStatus {
  date: string;
  /** The last stage done ('' none yet). */
  stage: string;
  /** Every stage done. */
  done: boolean;
  updatedAt: string;
  /** What the last stage reported, or why it failed. */
  detail: string;
  error: string;
}

/** Every day the back line has taken up, oldest first (none before the first day ends). */
export function backlineDays(dataDir: string): DayStatus[] {
  if (!existsSync(join(backlineDir(dataDir), 'backline.sqlite'))) return [];
  const ledger = new BacklineLedger(dataDir, true);
  try {
    return ledger.days();
  } finally {
    ledger.close();
  }
}

/**
 * Where each business day stands in the back line, kept in `backline/backline.sqlite` so a day is
 * resumed at its next stage after a restart.
 */
export class BacklineLedger {
  private readonly db: Database.Database;

  constructor(dataDir: string, readonly = false) {
    const path = join(backlineDir(dataDir), 'backline.sqlite');
    if (!readonly) mkdirSync(backlineDir(dataDir), { recursive: true });
    this.db = new Database(path, readonly ? { readonly: true, fileMustExist: true } : {});
    if (!readonly) {
      this.db.pragma('journal_mode = WAL');
      this.db.exec("CREATE TABLE IF NOT EXISTS days (date TEXT PRIMARY KEY, stage TEXT NOT NULL DEFAULT '', updated_at TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT '', error TEXT NOT NULL DEFAULT '')");
    }
  }

  days(): DayStatus[] {
    const rows = this.db.prepare('SELECT date, stage, updated_at AS updatedAt, detail, error FROM days ORDER BY date').all() as Omit<DayStatus, 'done'>[];
    return rows.map((r) => ({ ...r, done: r.stage === STAGES[STAGES.length - 1].name }));
  }

  stageOf(date: string): string {
    return (this.db.prepare('SELECT stage FROM days WHERE date = ?').get(date) as { stage: string } | undefined)?.stage ?? '';
  }

  record(date: string, stage: string, detail: string, error: string): void {
    this.db
      .prepare('INSERT INTO days (date, stage, updated_at, detail, error) VALUES (?, ?, ?, ?, ?) ON CONFLICT(date) DO UPDATE SET stage = excluded.stage, updated_at = excluded.updated_at, detail = excluded.detail, error = excluded.error')
      .run(date, stage, new Date().toISOString(), detail, error);
  }

  close(): void {
    this.db.close();
  }
}

/**
 * The back line: each business day that has ended goes through the stages in order, one day at a
 * time and oldest first, resuming where it stopped. A day is taken only once LMDB has applied the
 * entry after its last (`appliedSeq`): the next day's first, so the book has closed the day's file
 * and the apply thread has left it, and sealing never races the front line. Runs off the front line's threads (its own worker thread in the switch).
 */
export class Backline {
  private readonly ledger: BacklineLedger;
  private running = false;

  constructor(
    private readonly dataDir: string,
    private readonly state: StateStore,
    private readonly appliedSeq: () => number,
    private readonly hostSettlement: string | undefined,
    private readonly log: Logger,
  ) {
    this.ledger = new BacklineLedger(dataDir);
  }

  /** Runs every ended day (before `businessDate`) that LMDB has passed; returns the days it finished. */
  async catchUp(businessDate: string): Promise<string[]> {
    if (this.running) return [];
    this.running = true;
    const finished: string[] = [];
    try {
      for (const date of journalDates(this.dataDir).filter((d) => d < businessDate)) {
        if (this.ledger.stageOf(date) === STAGES[STAGES.length - 1].name) continue;
        if (!isSealed(this.dataDir, date)) {
          const last = lastSeqOf(this.dataDir, date);
          // A file with no entry is a day no business happened on (prepared for a cut-over that went elsewhere).
          if (last === 0) continue;
          // The next day's first entry applied: the book has closed this day's file and the apply thread has left it.
          if (this.appliedSeq() <= last) break;
        }
        if (!(await this.runDay(date, false))) break;
        finished.push(date);
      }
    } finally {
      this.running = false;
    }
    return finished;
  }

  /** Runs a day's remaining stages (all of them again with `rerun`); false if one failed (recorded, retried at the next catch-up). */
  async runDay(date: string, rerun: boolean): Promise<boolean> {
    const done = rerun ? -1 : STAGES.findIndex((s) => s.name === this.ledger.stageOf(date));
    for (const stage of STAGES.slice(done + 1)) {
      const started = Date.now();
      try {
        const detail = await stage.run({ dataDir: this.dataDir, date, state: this.state, hostSettlement: this.hostSettlement, log: this.log });
        this.ledger.record(date, stage.name, JSON.stringify(detail ?? {}), '');
        this.log.info({ date, stage: stage.name, ms: Date.now() - started }, 'back line stage done');
      } catch (err) {
        const previous = STAGES[STAGES.indexOf(stage) - 1]?.name ?? '';
        this.ledger.record(date, previous, '', `${stage.name}: ${(err as Error).message}`);
        this.log.error({ err, date, stage: stage.name }, 'back line stage failed; retried at the next catch-up');
        return false;
      }
    }
    return true;
  }

  close(): void {
    this.ledger.close();
  }
}
