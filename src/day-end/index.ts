export { CutoverRefused, CutoverSchedule, DayCut, parseCutoverTime, scheduledBusinessDate, type CutResult, type CutoverBook } from './cutover.js';
export { dayJournalPath, isSealed, sealDay, sealPath, verifySeal } from './seal.js';
export { archiveDir, closeAccounts, type AccountDay, type AccountsClosed } from './accounts.js';
export { Backline, BacklineLedger, STAGES, backlineDays, backlineDir, type DayStatus } from './backline.js';
export type { BacklineThreadData, BacklineThreadMessage } from './backline-thread.js';
