/** One sample in the Prometheus text exposition format. */
export interface Metric {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  value: number;
}

/** Renders samples as Prometheus text (version 0.0.4): a HELP and TYPE line before each. */
export function renderMetrics(metrics: readonly Metric[]): string {
  let text = '';
  for (const m of metrics) text += `# HELP ${m.name} ${m.help}\n# TYPE ${m.name} ${m.type}\n${m.name} ${Number.isFinite(m.value) ? m.value : 'NaN'}\n`;
  return text;
}
