/**
 * /metrics on the real switch (with the host simulator): after known sales and inquiries, the
 * labelled counters by type and code equal what was sent, each latency histogram's buckets are
 * cumulative and end in its count, the text parses as Prometheus exposition format (a small parser
 * here), and the gauges show rings, connections, signed-in terminals, channels and the host link
 * (up on every pipeline). The pressure metrics are still there. Labels are escaped as the format says.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { SimTerminal } from '../../src/loadgen/index.js';
import { LATENCY_BOUNDS_S, renderMetrics } from '../../src/ops/index.js';
import { DEMO, demoOffUsPan, demoPan, demoTid } from '../../src/store/index.js';
import { DEFAULTS, startSwitch } from '../../src/switch/index.js';
import { sleep } from '../switch/harness.js';
import { suiteLogging } from '../suite-log.js';

const logging = suiteLogging('prometheus-metrics');

interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Exposition {
  types: Map<string, string>;
  series: Series[];
}

/** Parses Prometheus text format 0.0.4 strictly enough to fail on what a scraper would reject. */
function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const helped = new Set<string>();
  const series: Series[] = [];
  const seen = new Set<string>();
  if (!text.endsWith('\n')) throw new Error('the text must end with a newline');
  for (const line of text.slice(0, -1).split('\n')) {
    const comment = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (comment) {
      const [, kind, name, rest] = comment;
      if (kind === 'HELP') {
        if (helped.has(name)) throw new Error(`a second HELP for ${name}`);
        helped.add(name);
      } else {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) throw new Error(`TYPE ${rest} of ${name}`);
        if (types.has(name)) throw new Error(`a second TYPE for ${name}`);
        types.set(name, rest);
      }
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!sample) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    const [, name, labelText, valueText] = sample;
    const labels: Record<string, string> = {};
    const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y;
    for (let at = 0; labelText !== undefined && at < labelText.length; ) {
      labelRe.lastIndex = at;
      const m = labelRe.exec(labelText);
      if (!m) throw new Error(`bad labels in ${JSON.stringify(line)}`);
      if (m[1] in labels) throw new Error(`label ${m[1]} twice in ${line}`);
      labels[m[1]] = m[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      at = labelRe.lastIndex;
    }
    const value = valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : Number(valueText);
    if (Number.isNaN(value) && valueText !== 'NaN') throw new Error(`bad value in ${line}`);
    const family = types.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
    const type = types.get(family);
    if (type === undefined) throw new Error(`${name} has no TYPE line before it`);
    if (family !== name && type !== 'histogram') throw new Error(`${name} is a suffix of a ${type}`);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) throw new Error(`a second sample of ${key}`);
    seen.add(key);
    series.push({ name, labels, value });
  }
  return { types, series };
}

t.test('renderMetrics writes labelled samples and histograms as the format says', async (t) => {
  const text = renderMetrics([
    { name: 'x_total', help: 'A counter\nwith a \\ in its help.', type: 'counter', samples: [{ labels: { a: 'say "hi"\\\n' }, value: 2 }] },
    { name: 'y_seconds', help: 'A histogram.', type: 'histogram', bounds: [0.5, 1], series: [{ labels: { type: 'sale' }, counts: [1, 0, 2], sum: 4.25 }] },
    { name: 'z', help: 'A gauge.', type: 'gauge', value: NaN },
  ]);
  t.equal(
    text,
    [
      '# HELP x_total A counter\\nwith a \\\\ in its help.',
      '# TYPE x_total counter',
      'x_total{a="say \\"hi\\"\\\\\\n"} 2',
      '# HELP y_seconds A histogram.',
      '# TYPE y_seconds histogram',
      'y_seconds_bucket{type="sale",le="0.5"} 1',
      'y_seconds_bucket{type="sale",le="1"} 1',
      'y_seconds_bucket{type="sale",le="+Inf"} 3',
      'y_seconds_sum{type="sale"} 4.25',
      'y_seconds_count{type="sale"} 3',
      '# HELP z A gauge.',
      '# TYPE z gauge',
      'z NaN',
      '',
    ].join('\n'),
    'the exact text',
  );
  t.same(parseExposition(text).series[0].labels, { a: 'say "hi"\\\n' }, 'the escaped label reads back as it was');
});

t.test('after known sales, /metrics counts them by type and code, with cumulative histograms', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'posp-metrics-'));
  const sw = await startSwitch(
    { ...DEFAULTS, dataDir, posPort: 0, adminPort: 0, demo: true, workers: 1, hostSim: true, hostSimPort: 0, ...logging.config, adminToken: 'metrics-test', cutoverAt: 'off' },
    logging.log,
  );
  t.teardown(async () => {
    await sw.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const scrape = async (): Promise<{ status: number; contentType: string | null; text: string }> => {
    const res = await fetch(`http://127.0.0.1:${sw.adminPort}/metrics`);
    return { status: res.status, contentType: res.headers.get('content-type'), text: await res.text() };
  };
  const value = (e: Exposition, name: string, labels: Record<string, string> = {}) =>
    e.series.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v) && Object.keys(s.labels).length === Object.keys(labels).length)?.value;

  const terms = [0, 1].map((i) => new SimTerminal({ host: '127.0.0.1', port: sw.posPort, tid: demoTid(30 + i), mid: DEMO.mid, tmk: DEMO.tmk }));
  for (const term of terms) {
    await term.connect();
    t.equal((await term.signIn()).text(39), '00', 'signed in');
  }
  t.teardown(() => terms.forEach((term) => term.close()));
  const sent: Record<string, number> = {};
  const note = (type: string, code: string | undefined) => (sent[`${type}|${code}`] = (sent[`${type}|${code}`] ?? 0) + 1);
  for (let k = 0; k < 10; k++) {
    const term = terms[k % 2];
    const res = await term.request(term.sale({ pan: demoPan(200 + k), expiry: DEMO.expiry, pin: k < 3 ? '999999' : DEMO.pin }, 500 + k));
    note('sale', res.text(39));
  }
  // Off-us, through the host simulator: journalled as a host-request leg and the sale's outcome, counted once.
  for (let i = 0; i < 50 && value(parseExposition((await scrape()).text), 'posp_host_link_connections_up', { link: 'sim' }) !== 1; i++) await sleep(100);
  note('sale', (await terms[1].request(terms[1].sale({ pan: demoOffUsPan(7), expiry: DEMO.expiry, pin: DEMO.pin }, 1_000))).text(39));
  for (let k = 0; k < 2; k++) note('balance-inquiry', (await terms[0].request(terms[0].balanceInquiry({ pan: demoPan(300 + k), expiry: DEMO.expiry, pin: DEMO.pin }))).text(39));
  t.same(sent, { 'sale|55': 3, 'sale|00': 8, 'balance-inquiry|00': 2 }, 'sent: 8 approved sales (one off-us), 3 with a wrong PIN, 2 inquiries');

  // The feed reaches the main thread just after the answers: wait for the last one to be counted.
  let e = parseExposition((await scrape()).text);
  for (let i = 0; i < 50 && value(e, 'posp_transactions_total', { type: 'balance-inquiry', code: '00' }) !== 2; i++) {
    await sleep(100);
    e = parseExposition((await scrape()).text);
  }
  const res = await scrape();
  t.equal(res.status, 200, '/metrics answers without a token');
  t.equal(res.contentType, 'text/plain; version=0.0.4', 'as Prometheus text 0.0.4');
  e = parseExposition(res.text);
  t.pass('the exposition parses');

  const counted = Object.fromEntries(e.series.filter((s) => s.name === 'posp_transactions_total').map((s) => [`${s.labels.type}|${s.labels.code}`, s.value]));
  t.same(counted, { 'sign-in|00': 2, ...sent }, 'posp_transactions_total{type,code} equals what was sent (and the sign-ins); the host leg is not a transaction');
  t.equal(e.types.get('posp_transaction_latency_seconds'), 'histogram', 'latency is a histogram');
  for (const type of ['sale', 'balance-inquiry', 'sign-in']) {
    const buckets = e.series.filter((s) => s.name === 'posp_transaction_latency_seconds_bucket' && s.labels.type === type);
    t.same(buckets.map((b) => b.labels.le), [...LATENCY_BOUNDS_S.map(String), '+Inf'], `${type}: a bucket per bound, ascending, then +Inf`);
    t.ok(buckets.every((b, i) => i === 0 || b.value >= buckets[i - 1].value), `${type}: buckets are cumulative`);
    const count = value(e, 'posp_transaction_latency_seconds_count', { type });
    t.equal(buckets.at(-1)!.value, count, `${type}: the +Inf bucket is the count`);
    t.equal(count, type === 'sale' ? 11 : 2, `${type}: counted once each`);
    t.ok(value(e, 'posp_transaction_latency_seconds_sum', { type })! > 0, `${type}: the sum of latencies`);
  }

  const fsyncBuckets = e.series.filter((s) => s.name === 'posp_journal_fsync_seconds_bucket');
  t.equal(e.types.get('posp_journal_fsync_seconds'), 'histogram', 'journal fsync latency is a histogram');
  t.ok(fsyncBuckets.length > 2 && fsyncBuckets.at(-1)!.labels.le === '+Inf' && fsyncBuckets.every((b, i) => i === 0 || b.value >= fsyncBuckets[i - 1].value), 'its buckets are cumulative, up to +Inf');
  t.ok(value(e, 'posp_journal_fsync_seconds_count')! >= 1 && value(e, 'posp_journal_fsync_seconds_count') === fsyncBuckets.at(-1)!.value, `every durable group counted: ${value(e, 'posp_journal_fsync_seconds_count')} fsyncs`);
  t.ok(value(e, 'posp_journal_fsync_seconds_sum')! > 0, 'and the time they took');
  t.equal(value(e, 'posp_terminal_connections'), 2, 'terminal connections');
  t.equal(value(e, 'posp_terminals_signed_in'), 2, 'terminals signed in');
  t.equal(value(e, 'posp_channel_enabled', { channel: 'terminal', kind: 'listener' }), 1, 'the terminal listener is switched on');
  t.equal(value(e, 'posp_channel_enabled', { channel: 'sim', kind: 'host-link' }), 1, 'and the host link');
  for (const ring of ['frames', 'responses', 'proposals', 'replies']) t.equal(value(e, 'posp_ring_queued_messages', { ring, pipeline: '0' }), 0, `ring ${ring} of pipeline 0: idle, empty`);
  t.equal(value(e, 'posp_ring_queued_messages', { ring: 'feed' }), 0, 'the feed ring: drained');
  // An advice owed for a moment (an answer later than its timeout on a loaded machine) is delivered: the queue comes back to 0.
  let advices = value(e, 'posp_advice_queue_size');
  for (let i = 0; i < 100 && advices !== 0; i++) {
    await sleep(100);
    advices = value(parseExposition((await scrape()).text), 'posp_advice_queue_size');
  }
  t.equal(advices, 0, 'no advices owed once every answer is in');
  t.equal(value(e, 'posp_host_link_connections', { link: 'sim' }), 1, 'the host link: one connection (one worker)');
  t.equal(value(e, 'posp_host_link_connections_up', { link: 'sim' }), 1, 'signed on and up');
  // A link's own echo test or key exchange may be in flight for a moment: the gauge comes back to 0.
  let inFlight = value(e, 'posp_host_link_in_flight', { link: 'sim' });
  for (let i = 0; i < 50 && inFlight !== 0; i++) {
    await sleep(100);
    inFlight = value(parseExposition((await scrape()).text), 'posp_host_link_in_flight', { link: 'sim' });
  }
  t.equal(inFlight, 0, 'nothing in flight once every answer is in');
  for (const name of ['posp_apply_lag_entries', 'posp_book_throttled', 'posp_journal_wal_bytes', 'posp_journal_durable_seq', 'posp_lmdb_applied_seq']) {
    t.ok(value(e, name) !== undefined, `pressure metric ${name} still there`);
  }
  t.equal(value(e, 'posp_apply_read_back_entries_total'), 0, "the apply thread took every entry from the book's feed");
  for (const [name, type] of e.types) if (type === 'counter') t.match(name, /_total$|_seq$/, `counter ${name} is named as a counter`);
});
