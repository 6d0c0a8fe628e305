import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DIMENSIONS, type DailyReport, type ReportRow } from './report-shape.js';

/** Bars a chart shows at most (the busiest); its table lists every group. */
const CHART_BARS = 30;

/**
 * Chart.js (MIT, maintained; bar charts of categories built in), its minified UMD build as npm
 * installed it, read when a page is rendered (the page carries the library and fetches nothing)
 * or, by the console, once when the admin port starts.
 */
export function chartLibrary(): string {
  const main = createRequire(import.meta.url).resolve('chart.js');
  return readFileSync(join(dirname(main), 'chart.umd.min.js'), 'utf8');
}

/** A daily report as one self-contained HTML page: a summary, then a chart and a table per dimension. */
export function reportHtml(report: DailyReport): string {
  const day = `${report.date.slice(0, 4)}-${report.date.slice(4, 6)}-${report.date.slice(6, 8)}`;
  const charts = DIMENSIONS.map((d) => {
    const rows = report.by[d.dimension];
    const shown = busiest(rows, d.dimension === 'hour');
    return { id: `chart-${d.dimension}`, title: shown.length < rows.length ? `${d.title}, the ${shown.length} busiest` : d.title, rows: shown };
  });
  const sections = DIMENSIONS.map((d) => `<section>
<h2>${escape(d.title)}</h2>
<div class="chart"><canvas id="chart-${d.dimension}"></canvas></div>
${table(d.title, report.by[d.dimension])}
</section>`).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>posp daily report ${day}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
section { margin-bottom: 2.5rem; }
.chart { position: relative; height: 260px; max-width: 960px; }
table { border-collapse: collapse; margin-top: 1rem; }
th, td { border: 1px solid #ccc; padding: 0.2rem 0.6rem; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
</style>
</head>
<body>
<h1>posp daily report, business day ${day}</h1>
<p>${report.total.count} requests answered, ${report.total.approvedCount} approved for ${yuan(report.total.approvedAmount)} CNY;
${report.replays.count} retransmissions answered again (counted nowhere else).</p>
${table('Day', [report.total])}
${sections}
<script>${chartLibrary().replaceAll('</script', '<\\/script')}</script>
<script>
const charts = ${JSON.stringify(charts).replaceAll('<', '\\u003c')};
for (const c of charts) {
  new Chart(document.getElementById(c.id), {
    type: 'bar',
    data: {
      labels: c.rows.map((r) => r.key),
      datasets: [
        { label: 'approved', data: c.rows.map((r) => r.approvedCount), backgroundColor: '#2e7d32' },
        { label: 'not approved', data: c.rows.map((r) => r.count - r.approvedCount), backgroundColor: '#c62828' },
      ],
    },
    options: { animation: false, maintainAspectRatio: false, plugins: { title: { display: true, text: c.title + ': requests' } }, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
  });
}
</script>
</body>
</html>
`;
}

/** The groups a chart shows: all of them in order for hours, otherwise the busiest `CHART_BARS` in their order. */
function busiest(rows: readonly ReportRow[], all: boolean): ReportRow[] {
  if (all || rows.length <= CHART_BARS) return [...rows];
  const kept = new Set([...rows].sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : 1)).slice(0, CHART_BARS));
  return rows.filter((r) => kept.has(r));
}

function table(title: string, rows: readonly ReportRow[]): string {
  const body = rows
    .map((r) => `<tr><td>${escape(r.key)}</td><td class="n">${r.count}</td><td class="n">${yuan(r.amount)}</td><td class="n">${r.approvedCount}</td><td class="n">${yuan(r.approvedAmount)}</td></tr>`)
    .join('\n');
  return `<table>
<tr><th>${escape(title)}</th><th>requests</th><th>amount (CNY)</th><th>approved</th><th>approved amount (CNY)</th></tr>
${body}
</table>`;
}

/** Fen as yuan with two decimals, from the integer (no float rounding). */
function yuan(fen: number): string {
  return `${Math.trunc(fen / 100)}.${String(fen % 100).padStart(2, '0')}`;
}

function escape(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}
