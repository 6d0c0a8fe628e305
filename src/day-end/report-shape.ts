// What a daily report is, apart from how it is computed (reports.ts) and drawn (report-html.ts).

/** Counts and amounts (fen, as requested) of a group of requests: all of them, and those approved. */
export interface ReportRow {
  key: string;
  count: number;
  amount: number;
  approvedCount: number;
  approvedAmount: number;
}

export type Dimension = 'type' | 'response_code' | 'merchant' | 'terminal' | 'hour';

/**
 * A business day's activity: every terminal request answered once (a retransmission answered
 * again is counted in `replays` only; entries the switch makes itself are no request), in total and
 * by each dimension. An approval stays counted when a later void or reversal undoes it: the void is
 * counted under its own type (clearing is where approvals net out).
 */
export interface DailyReport {
  date: string;
  total: ReportRow;
  replays: ReportRow;
  by: Record<Dimension, ReportRow[]>;
}

/** Each dimension's group key in the day's Parquet; hours are the switch's local hours, all 24 listed. */
export const DIMENSIONS: readonly { dimension: Dimension; key: string; title: string }[] = [
  { dimension: 'type', key: 'type', title: 'Transaction type' },
  { dimension: 'response_code', key: 'response_code', title: 'Response code' },
  { dimension: 'merchant', key: 'mid', title: 'Merchant' },
  { dimension: 'terminal', key: 'tid', title: 'Terminal' },
  { dimension: 'hour', key: "lpad(local_hour::VARCHAR, 2, '0')", title: 'Hour (local)' },
];
