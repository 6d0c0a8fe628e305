import { join } from 'node:path';
import { rowsOf, sqlString, withDuckDb } from './duckdb.js';
import { csvLine, dayDir, writeAtomically } from './files.js';
import { dayParquet } from './parquet.js';
import { reportHtml } from './report-html.js';
import { DIMENSIONS, type DailyReport, type Dimension, type ReportRow } from './report-shape.js';

const MEASURES = `count(*) AS count, coalesce(sum(amount), 0)::BIGINT AS amount,
  count(*) FILTER (WHERE approved) AS approved_count, coalesce(sum(amount) FILTER (WHERE approved), 0)::BIGINT AS approved_amount`;

const HOURS = Array.from({ length: 24 }, (_, h) => String(h).padStart(2, '0'));

/**
 * Computes business day `date`'s report from its Parquet (`dayParquet`) and writes it
 * as `<dataDir>/backline/D/report-D.csv`; the same day gives the same bytes.
 */
export async function reportDay(options: { dataDir: string; date: string }): Promise<DailyReport> {
  const { dataDir, date } = options;
  const from = `read_parquet(${sqlString(await dayParquet(dataDir, date))})`;
  const report = await withDuckDb(dayDir(dataDir, date), async (db): Promise<DailyReport> => {
    const [total] = (await rowsOf(db, `SELECT 'all' AS key, ${MEASURES} FROM ${from} WHERE request AND NOT replay`)).map(reportRow);
    const [replays] = (await rowsOf(db, `SELECT 'replays' AS key, ${MEASURES} FROM ${from} WHERE request AND replay`)).map(reportRow);
    const by = {} as Record<Dimension, ReportRow[]>;
    for (const d of DIMENSIONS) {
      const rows = await rowsOf(db, `SELECT ${d.key} AS key, ${MEASURES} FROM ${from} WHERE request AND NOT replay GROUP BY 1 ORDER BY 1`);
      by[d.dimension] = rows.map(reportRow);
    }
    by.hour = HOURS.map((hour) => by.hour.find((r) => r.key === hour) ?? { key: hour, count: 0, amount: 0, approvedCount: 0, approvedAmount: 0 });
    return { date, total, replays, by };
  });
  writeAtomically(join(dayDir(dataDir, date), `report-${date}.csv`), reportCsv(report));
  return report;
}

function reportRow(r: Record<string, unknown>): ReportRow {
  return { key: r.key as string, count: r.count as number, amount: r.amount as number, approvedCount: r.approved_count as number, approvedAmount: r.approved_amount as number };
}

/** The report as a page (HTML with its charts, nothing fetched) or as CSV. */
export function renderReport(report: DailyReport, format: 'csv' | 'html'): string {
  return format === 'html' ? reportHtml(report) : reportCsv(report);
}

/**
 * One tidy table: a line per group, `dimension` saying which grouping it belongs to; `day,all` is
 * the total and `day,replays` the retransmissions answered again (counted nowhere else).
 */
function reportCsv(report: DailyReport): string {
  const line = (dimension: string, r: ReportRow) => csvLine([report.date, dimension, r.key, r.count, r.amount, r.approvedCount, r.approvedAmount]);
  return [
    csvLine(['business_date', 'dimension', 'key', 'count', 'amount', 'approved_count', 'approved_amount']),
    line('day', report.total),
    line('day', report.replays),
    ...DIMENSIONS.flatMap((d) => report.by[d.dimension].map((r) => line(d.dimension, r))),
  ].join('');
}
