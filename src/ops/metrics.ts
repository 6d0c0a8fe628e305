/** A sample's labels, name to value (values are escaped when rendered). */
export type Labels = Readonly<Record<string, string>>;

/** One labelled value of a gauge or counter. */
export interface Sample {
  labels: Labels;
  value: number;
}

/** One labelled series of a histogram. */
export interface HistogramSeries {
  labels: Labels;
  /**
   * Observations per bucket, not cumulative: counts[i] fell in (bounds[i-1], bounds[i]], the last
   * one (counts[bounds.length]) above every bound. Rendering adds them up into `le` buckets.
   */
  counts: ArrayLike<number>;
  sum: number;
}

/** One metric family in the Prometheus text exposition format: a single value, labelled samples, or a histogram. */
export type Metric =
  | { name: string; help: string; type: 'gauge' | 'counter'; value: number }
  | { name: string; help: string; type: 'gauge' | 'counter'; samples: readonly Sample[] }
  | { name: string; help: string; type: 'histogram'; bounds: readonly number[]; series: readonly HistogramSeries[] };

/** Renders metric families as Prometheus text (version 0.0.4): a HELP and TYPE line before each family's samples. */
export function renderMetrics(metrics: readonly Metric[]): string {
  let text = '';
  for (const m of metrics) {
    text += `# HELP ${m.name} ${m.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${m.name} ${m.type}\n`;
    if (m.type === 'histogram') {
      for (const s of m.series) text += histogramLines(m.name, m.bounds, s);
    } else if ('samples' in m) {
      for (const s of m.samples) text += `${m.name}${labelText(s.labels, '')} ${number(s.value)}\n`;
    } else {
      text += `${m.name} ${number(m.value)}\n`;
    }
  }
  return text;
}

function histogramLines(name: string, bounds: readonly number[], s: HistogramSeries): string {
  let text = '';
  let cumulative = 0;
  for (let i = 0; i < bounds.length; i++) {
    cumulative += s.counts[i];
    text += `${name}_bucket${labelText(s.labels, number(bounds[i]))} ${cumulative}\n`;
  }
  cumulative += s.counts[bounds.length];
  text += `${name}_bucket${labelText(s.labels, '+Inf')} ${cumulative}\n`;
  text += `${name}_sum${labelText(s.labels, '')} ${number(s.sum)}\n`;
  text += `${name}_count${labelText(s.labels, '')} ${cumulative}\n`;
  return text;
}

/** `{a="x",b="y"}` (with `le` last when given), or nothing for no labels. */
function labelText(labels: Labels, le: string): string {
  let text = '';
  for (const name in labels) text += `${text === '' ? '' : ','}${name}="${escapeLabel(labels[name])}"`;
  if (le !== '') text += `${text === '' ? '' : ','}le="${le}"`;
  return text === '' ? '' : `{${text}}`;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function number(value: number): string {
  if (Number.isFinite(value)) return String(value);
  return Number.isNaN(value) ? 'NaN' : value > 0 ? '+Inf' : '-Inf';
}
