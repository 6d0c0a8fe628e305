// The management console: a page of the admin port that talks to the same REST API and live
// monitor as every other client, with the token the operator signs in with. Forms are data
// (RECORD_PAGES); the switch's answer, refusals included, is shown as it comes.

declare const Chart: typeof import('chart.js').Chart;
type ChartOf = import('chart.js').Chart;

const TOKEN_KEY = 'posp-token';
/** Seconds of history the dashboard's charts keep. */
const HISTORY = 120;

interface Answer {
  status: number;
  body: any;
}

const main = document.getElementById('main')!;
let token = sessionStorage.getItem(TOKEN_KEY) ?? '';
/** Whatever the current page must stop when another is shown (the monitor's socket). */
let leavePage: (() => void) | undefined;

async function api(method: string, path: string, body?: unknown): Promise<Answer> {
  const res = await fetch(path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = { status: res.status, body: await res.json().catch(() => ({ error: `HTTP ${res.status}` })) };
  if (res.status === 401) signIn(answer.body.error);
  return answer;
}

/** Builds an element: `h('td', {class: 'x'}, 'text', child)`. */
function h(tag: string, attrs: Record<string, string> = {}, ...children: (Node | string | number)[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of children) el.append(typeof c === 'number' ? String(c) : c);
  return el;
}

function table(columns: string[], rows: (Node | string | number)[][]): HTMLElement {
  return h('table', {}, h('thead', {}, h('tr', {}, ...columns.map((c) => h('th', {}, c)))), h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((c) => h('td', {}, c))))));
}

function when(ms: number | null | undefined): string {
  return ms ? new Date(ms).toLocaleString() : '—';
}

function fen(amount: number): string {
  return (amount / 100).toFixed(2);
}

/** A line that says how a change went: the API's reason when refused. */
function outcome(answer: Answer, done: string): HTMLElement {
  return answer.status === 200 ? h('p', { class: 'ok' }, done) : h('p', { class: 'error' }, `${answer.status}: ${answer.body.error ?? 'refused'}`);
}

function signIn(reason?: string): void {
  const dialog = document.getElementById('sign-in') as HTMLDialogElement;
  document.getElementById('sign-in-error')!.textContent = reason ?? '';
  if (!dialog.open) dialog.showModal();
}

document.getElementById('sign-in-form')!.addEventListener('submit', () => {
  token = (document.getElementById('token') as HTMLInputElement).value.trim();
  sessionStorage.setItem(TOKEN_KEY, token);
  void route();
});
document.getElementById('sign-out')!.addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  token = '';
  signIn();
});

// ---------------------------------------------------------------------------------------------
// Dashboard: the live monitor's frames, once a second.

/** The live monitor's frame (src/ops/monitor.ts), as far as the dashboard reads it. */
interface MonitorFrame {
  at: number;
  businessDate: string;
  tps: { total: number; byType: Record<string, number> };
  latencyUs: { p50: number; p90: number; p99: number; max: number };
  codes: Record<string, number>;
  terminals: { connected: number; signedIn: number };
  queues: Record<string, number | string | null>;
  channels: { name: string; kind: string; switched: string; now: string; port?: number }[];
  hostLinks: { name: string; state: string; up: number; connections: number; inFlight: number }[];
  tail: { at: number; type: string; code: string; amount: number; latencyUs: number; mid: string; tid: string; route: string; card: string }[];
}

function lineChart(canvas: HTMLCanvasElement, series: string[]): ChartOf {
  return new Chart(canvas, {
    type: 'line',
    data: { labels: [], datasets: series.map((label) => ({ label, data: [], pointRadius: 0, borderWidth: 1.5, tension: 0.2 })) },
    options: { animation: false, responsive: true, maintainAspectRatio: false, scales: { y: { beginAtZero: true } } },
  });
}

function dashboard(): void {
  const tile = (id: string, label: string) => h('div', { class: 'tile' }, h('div', { class: 'label' }, label), h('div', { class: 'value', id }, '—'));
  const canvas = (id: string) => h('div', { class: 'panel' }, h('canvas', { id }));
  main.replaceChildren(
    h('h1', {}, 'Dashboard'),
    h('div', { class: 'tiles' }, tile('tps-now', 'TPS'), tile('p99-now', 'p99 latency (ms)'), tile('connected', 'Terminals connected'), tile('signed-in', 'Signed in'), tile('approved', 'Approved (this second)'), tile('apply-lag', 'Apply lag'), tile('advices', 'Advices queued'), tile('business-date', 'Business date')),
    h('div', { class: 'charts' }, canvas('tps-chart'), canvas('latency-chart'), canvas('codes-chart')),
    h('h2', {}, 'Channels and host links'),
    h('div', { id: 'links' }),
    h('h2', {}, 'Live tail'),
    h('div', { id: 'tail' }),
  );
  const tps = lineChart(document.getElementById('tps-chart') as HTMLCanvasElement, ['TPS']);
  const latency = lineChart(document.getElementById('latency-chart') as HTMLCanvasElement, ['p50 ms', 'p90 ms', 'p99 ms']);
  const codes: ChartOf = new Chart(document.getElementById('codes-chart') as HTMLCanvasElement, {
    type: 'bar',
    data: { labels: [], datasets: [{ label: 'responses by code (last second)', data: [] }] },
    options: { animation: false, responsive: true, maintainAspectRatio: false },
  });
  const socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/monitor?token=${encodeURIComponent(token)}`);
  socket.onmessage = (event) => {
    const f = JSON.parse(String(event.data)) as MonitorFrame;
    const set = (id: string, value: string | number) => (document.getElementById(id)!.textContent = String(value));
    set('tps-now', Math.round(f.tps.total));
    set('p99-now', (f.latencyUs.p99 / 1000).toFixed(1));
    set('connected', f.terminals.connected);
    set('signed-in', f.terminals.signedIn);
    set('approved', f.codes['00'] ?? 0);
    set('apply-lag', String(f.queues.applyLag));
    set('advices', String(f.queues.advices));
    set('business-date', f.businessDate);
    const label = new Date(f.at).toLocaleTimeString();
    push(tps, label, [f.tps.total]);
    push(latency, label, [f.latencyUs.p50 / 1000, f.latencyUs.p90 / 1000, f.latencyUs.p99 / 1000]);
    codes.data.labels = Object.keys(f.codes);
    codes.data.datasets[0].data = Object.values(f.codes);
    codes.update();
    const state = (s: string) => h('span', { class: `state-${s}` }, s);
    document.getElementById('links')!.replaceChildren(
      table(['name', 'kind', 'switched', 'now', 'port / connections up', 'in flight'], f.channels.map((c) => {
        const link = f.hostLinks.find((l) => l.name === c.name);
        return [c.name, c.kind, state(c.switched), state(c.now), link ? `${link.up} of ${link.connections}` : c.port ?? '', link?.inFlight ?? ''];
      })),
    );
    document.getElementById('tail')!.replaceChildren(table(['time', 'type', 'code', 'amount', 'card', 'latency ms', 'merchant', 'terminal', 'route'], f.tail.slice(-15).reverse().map((t) => [new Date(t.at).toLocaleTimeString(), t.type, t.code, fen(t.amount), t.card, (t.latencyUs / 1000).toFixed(1), t.mid, t.tid, t.route])));
  };
  socket.onclose = (event) => {
    if (event.code !== 1000) main.prepend(h('p', { class: 'error' }, `the monitor closed (${event.code}${event.reason ? `: ${event.reason}` : ''}); reload to reconnect`));
  };
  leavePage = () => socket.close(1000);
}

function push(chart: ChartOf, label: string, values: number[]): void {
  chart.data.labels!.push(label);
  values.forEach((v, i) => chart.data.datasets[i].data.push(v));
  if (chart.data.labels!.length > HISTORY) {
    chart.data.labels!.shift();
    for (const d of chart.data.datasets) d.data.shift();
  }
  chart.update();
}

// ---------------------------------------------------------------------------------------------
// Terminals: paged list with filters, a page per terminal with disable and enable.

async function terminals(params: URLSearchParams): Promise<void> {
  const offset = Number(params.get('offset') ?? 0);
  const query = new URLSearchParams({ offset: String(offset), limit: '50' });
  for (const k of ['mid', 'status']) if (params.get(k)) query.set(k, params.get(k)!);
  const answer = await api('GET', `/api/v1/terminals?${query}`);
  if (answer.status !== 200) return void main.replaceChildren(h('h1', {}, 'Terminals'), outcome(answer, ''));
  const { total, terminals: list } = answer.body as { total: number; terminals: { tid: string; mid: string; status: string; signedIn: boolean; batch: string; lastSeen: number | null }[] };
  const filter = h('form', { class: 'filters' }, 'Merchant', h('input', { name: 'mid', value: params.get('mid') ?? '', size: '16' }), 'Status', select('status', ['', 'active', 'suspended', 'closed'], params.get('status') ?? ''), h('button', {}, 'Filter'));
  filter.addEventListener('submit', (e) => {
    e.preventDefault();
    const data = new FormData(filter as HTMLFormElement);
    location.hash = `#/terminals?${new URLSearchParams([...data].filter(([, v]) => v !== '') as [string, string][])}`;
  });
  const page = (to: number) => {
    const next = new URLSearchParams(params);
    next.set('offset', String(to));
    return `#/terminals?${next}`;
  };
  main.replaceChildren(
    h('h1', {}, `Terminals (${total})`),
    filter,
    table(['terminal', 'merchant', 'status', 'signed in', 'batch', 'last seen'], list.map((t) => [h('a', { href: `#/terminals/${t.tid}` }, t.tid), t.mid, h('span', { class: `state-${t.status}` }, t.status), t.signedIn ? 'yes' : 'no', t.batch, when(t.lastSeen)])),
    h('p', {}, ...(offset > 0 ? [h('a', { href: page(Math.max(0, offset - 50)) }, '← previous'), ' '] : []), ...(offset + 50 < total ? [h('a', { href: page(offset + 50) }, 'next →')] : [])),
  );
}

async function terminalPage(tid: string, note?: HTMLElement): Promise<void> {
  const answer = await api('GET', `/api/v1/terminals/${encodeURIComponent(tid)}`);
  if (answer.status !== 200) return void main.replaceChildren(h('h1', {}, `Terminal ${tid}`), outcome(answer, ''));
  const t = answer.body;
  const act = (what: 'disable' | 'enable') => {
    const b = h('button', { id: what, type: 'button' }, what === 'disable' ? 'Disable' : 'Enable');
    b.addEventListener('click', async () => {
      const done = await api('POST', `/api/v1/terminals/${encodeURIComponent(tid)}/${what}`, {});
      await terminalPage(tid, outcome(done, `terminal ${tid} ${what}d`));
    });
    return b;
  };
  main.replaceChildren(
    h('h1', {}, `Terminal ${t.tid}`),
    table(['field', 'value'], [
      ['merchant', t.mid],
      ['status', h('span', { class: `state-${t.status}`, id: 'terminal-status' }, t.status)],
      ['signed in', t.signedIn ? 'yes' : 'no'],
      ['batch', t.batch],
      ['MAC algorithm', t.macAlgorithm],
      ['TMK check value', t.tmkCheckValue],
      ['working keys', t.workingKeys ? `mode ${t.workingKeys.mode}, issued ${when(t.workingKeys.issuedAt)}` : 'none'],
      ['parameter versions', JSON.stringify(t.parameterVersions)],
      ['last seen', when(t.lastSeen)],
      ['last status upload', when(t.lastStatusUpload)],
    ]),
    h('p', { class: 'filters' }, act('disable'), act('enable'), h('a', { href: `#/transactions?tid=${t.tid}` }, 'transactions')),
    ...(note ? [note] : []),
  );
}

// ---------------------------------------------------------------------------------------------
// Reference records: each page is a list and a form, described as data.

type InputKind = 'text' | 'integer' | 'boolean' | 'lines' | 'json';

interface FormField {
  name: string;
  kind: InputKind;
  options?: string[];
  hint?: string;
}

interface RecordPage {
  title: string;
  /** The collection's path; a record is `${path}/${key}`. */
  path: string;
  /** The field of the list's answer that holds the records (none: no listing, look up by key). */
  listField?: string;
  key: string;
  columns: string[];
  fields: FormField[];
  /** The body a form makes (default: its fields as they are). */
  body?: (values: Record<string, unknown>) => unknown;
}

const STATUS = ['active', 'suspended', 'closed'];

const RECORD_PAGES: Record<string, RecordPage> = {
  merchants: {
    title: 'Merchants',
    path: '/api/v1/merchants',
    listField: 'merchants',
    key: 'mid',
    columns: ['mid', 'name', 'mcc', 'status', 'standInLimit', 'account'],
    fields: [
      { name: 'name', kind: 'text' },
      { name: 'mcc', kind: 'text', hint: '4 digits' },
      { name: 'status', kind: 'text', options: STATUS },
      { name: 'standInLimit', kind: 'integer', hint: 'fen' },
    ],
  },
  bins: {
    title: 'Card BINs',
    path: '/api/v1/bins',
    listField: 'bins',
    key: 'prefix',
    columns: ['prefix', 'issuer', 'organisation', 'onUs', 'domestic'],
    fields: [
      { name: 'issuer', kind: 'text' },
      { name: 'organisation', kind: 'text', options: ['CUP', 'VIS', 'MCC', 'JCB', 'AMX'] },
      { name: 'onUs', kind: 'boolean' },
      { name: 'domestic', kind: 'boolean' },
    ],
  },
  cards: {
    title: 'Cards',
    path: '/api/v1/cards',
    key: 'pan',
    columns: ['pan', 'expiry', 'status', 'account'],
    fields: [
      { name: 'expiry', kind: 'text', hint: 'YYMM' },
      { name: 'pin', kind: 'text', hint: '4–12 digits' },
      { name: 'openingBalance', kind: 'integer', hint: 'fen' },
    ],
  },
  parameters: {
    title: 'Parameter sets',
    path: '/api/v1/parameters',
    listField: 'parameters',
    key: 'kind',
    columns: ['kind', 'version', 'items'],
    fields: [
      { name: 'version', kind: 'integer', hint: 'above the stored one' },
      { name: 'items', kind: 'lines', hint: 'one hex TLV item per line' },
    ],
  },
  routes: {
    title: 'Routes',
    path: '/api/v1/routes',
    listField: 'routes',
    key: 'id',
    columns: ['id', 'match', 'to', 'timeoutMs', 'standIn'],
    fields: [{ name: 'rule', kind: 'json', hint: '{"match": {...}, "to": {...}, "timeoutMs"?, "standIn"?}' }],
    body: (values) => values.rule,
  },
};

function select(name: string, options: string[], value: string): HTMLElement {
  return h('select', { name }, ...options.map((o) => h('option', o === value ? { value: o, selected: '' } : { value: o }, o)));
}

function input(field: FormField, value: unknown): HTMLElement {
  if (field.options) return select(field.name, ['', ...field.options], value === undefined ? '' : String(value));
  if (field.kind === 'boolean') return select(field.name, ['', 'true', 'false'], value === undefined ? '' : String(value));
  if (field.kind === 'lines') return h('textarea', { name: field.name }, Array.isArray(value) ? value.join('\n') : '');
  if (field.kind === 'json') return h('textarea', { name: field.name }, value === undefined ? '' : JSON.stringify(value, null, 2));
  return h('input', { name: field.name, value: value === undefined || value === null ? '' : String(value), placeholder: field.hint ?? '' });
}

/** The form's values as the API takes them; an empty input is left out (the API's default, or the stored value). */
function valuesOf(form: HTMLFormElement, fields: FormField[]): Record<string, unknown> | string {
  const values: Record<string, unknown> = {};
  for (const f of fields) {
    const raw = String(new FormData(form).get(f.name) ?? '').trim();
    if (raw === '') continue;
    if (f.kind === 'integer') values[f.name] = /^-?\d+$/.test(raw) ? Number(raw) : raw;
    else if (f.kind === 'boolean') values[f.name] = raw === 'true';
    else if (f.kind === 'lines') values[f.name] = raw.split(/\s+/);
    else if (f.kind === 'json') {
      try {
        values[f.name] = JSON.parse(raw);
      } catch (err) {
        return `${f.name} is not JSON: ${(err as Error).message}`;
      }
    } else values[f.name] = raw;
  }
  return values;
}

function recordForm(page: RecordPage, key: string, record: Record<string, unknown> | undefined, after: (note: HTMLElement) => void): HTMLElement {
  const keyInput = h('input', { name: page.key, value: key, placeholder: page.key, required: '' });
  if (record) keyInput.setAttribute('readonly', '');
  const form = h('form', { class: 'record', id: 'record-form' }, h('label', {}, page.key), keyInput, ...page.fields.flatMap((f) => [h('label', { title: f.hint ?? '' }, f.name), input(f, page.body ? record : record?.[f.name])]), h('div', { class: 'actions' }, h('button', { type: 'submit' }, record ? 'Save' : 'Create'))) as HTMLFormElement;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const id = String(new FormData(form).get(page.key) ?? '').trim();
    const values = valuesOf(form, page.fields);
    if (typeof values === 'string') return after(h('p', { class: 'error' }, values));
    const answer = await api('PUT', `${page.path}/${encodeURIComponent(id)}`, page.body ? page.body(values) : values);
    after(outcome(answer, `${id} saved`));
  });
  return form;
}

async function recordPage(name: string, key: string | undefined, note?: HTMLElement): Promise<void> {
  const page = RECORD_PAGES[name];
  const show = (note: HTMLElement) => void recordPage(name, key ?? keyOf(), note);
  const keyOf = () => String(new FormData(document.getElementById('record-form') as HTMLFormElement).get(page.key) ?? '');
  const parts: (HTMLElement | string)[] = [h('h1', {}, page.title)];
  let record: Record<string, unknown> | undefined;
  if (key) {
    const answer = await api('GET', `${page.path}/${encodeURIComponent(key)}`);
    if (answer.status === 200) record = answer.body;
    else if (answer.status !== 404) parts.push(outcome(answer, ''));
  }
  if (page.listField) {
    const list = await api('GET', page.path);
    if (list.status === 200) {
      const cell = (v: unknown) => (v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
      parts.push(table(page.columns, (list.body[page.listField] as Record<string, unknown>[]).map((r) => page.columns.map((c, i) => (i === 0 ? h('a', { href: `#/${name}/${encodeURIComponent(String(r[c]))}` }, String(r[c])) : c === 'items' && Array.isArray(r[c]) ? `${(r[c] as unknown[]).length} items` : cell(r[c]))))));
    } else parts.push(outcome(list, ''));
  } else {
    const lookup = h('form', { class: 'filters' }, `Look up by ${page.key}`, h('input', { name: 'key', size: '24' }), h('button', {}, 'Look up')) as HTMLFormElement;
    lookup.addEventListener('submit', (e) => {
      e.preventDefault();
      location.hash = `#/${name}/${encodeURIComponent(String(new FormData(lookup).get('key') ?? '').trim())}`;
    });
    parts.push(lookup);
    if (record) parts.push(table(['field', 'value'], page.columns.map((c) => [c, String(record![c] ?? '')])));
    if (record && name === 'cards') parts.push(cardStatusForm(key!));
  }
  parts.push(h('h2', {}, record ? `Edit ${key}` : `New ${page.key === 'pan' ? 'card' : page.title.toLowerCase().replace(/s$/, '')}`), recordForm(page, record ? key! : '', name === 'cards' ? undefined : record, show));
  if (note) parts.push(note);
  main.replaceChildren(...parts);
}

function cardStatusForm(pan: string): HTMLElement {
  const form = h('form', { class: 'filters' }, 'Status', select('status', ['active', 'suspended', 'closed', 'lost', 'stolen'], ''), h('button', {}, 'Set status')) as HTMLFormElement;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const answer = await api('PUT', `/api/v1/cards/${encodeURIComponent(pan)}/status`, { status: new FormData(form).get('status') });
    await recordPage('cards', pan, outcome(answer, 'status set'));
  });
  return form;
}

// ---------------------------------------------------------------------------------------------
// Channels: every access direction, switched on and off.

async function channels(note?: HTMLElement): Promise<void> {
  const answer = await api('GET', '/api/v1/channels');
  if (answer.status !== 200) return void main.replaceChildren(h('h1', {}, 'Channels'), outcome(answer, ''));
  const list = answer.body.channels as { name: string; kind: string; switched: string; now: string; port?: number }[];
  const button = (name: string, action: 'enable' | 'disable') => {
    const b = h('button', { type: 'button', id: `${action}-${name}` }, action === 'enable' ? 'Enable' : 'Disable');
    b.addEventListener('click', async () => {
      const done = await api('POST', `/api/v1/channels/${encodeURIComponent(name)}/${action}`, {});
      await channels(outcome(done, `${name} ${action}d`));
    });
    return b;
  };
  main.replaceChildren(
    h('h1', {}, 'Channels'),
    table(['name', 'kind', 'switched', 'now', 'port', ''], list.map((c) => [c.name, c.kind, h('span', { class: `state-${c.switched}` }, c.switched), h('span', { class: `state-${c.now}` }, c.now), c.port ?? '', button(c.name, c.switched === 'enabled' ? 'disable' : 'enable')])),
    ...(note ? [note] : []),
  );
}

// ---------------------------------------------------------------------------------------------
// Transactions (search across today and the archives) and the day end.

const SEARCH_FIELDS = ['from', 'to', 'tid', 'mid', 'last4', 'rrn', 'amount', 'code', 'type'];

async function transactions(params: URLSearchParams): Promise<void> {
  const form = h('form', { class: 'filters' }, ...SEARCH_FIELDS.flatMap((f) => [f, h('input', { name: f, value: params.get(f) ?? '', size: f === 'from' || f === 'to' ? '10' : '8' })]), h('button', {}, 'Search')) as HTMLFormElement;
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    location.hash = `#/transactions?${new URLSearchParams([...new FormData(form)].filter(([, v]) => v !== '') as [string, string][])}`;
  });
  const parts: HTMLElement[] = [h('h1', {}, 'Transactions'), form];
  if ([...params.keys()].length > 0) {
    const answer = await api('GET', `/api/v1/transactions?${params}`);
    if (answer.status !== 200) parts.push(outcome(answer, ''));
    else {
      const rows = answer.body.rows as Record<string, any>[];
      parts.push(table(['day', 'time', 'type', 'code', 'amount', 'card', 'merchant', 'terminal', 'RRN', 'route'], rows.map((r) => [r.businessDate, when(r.at), r.type, r.responseCode, fen(r.amount), r.panMasked, r.mid, r.tid, r.rrn, r.route])));
    }
  }
  main.replaceChildren(...parts);
}

async function dayEnd(note?: HTMLElement): Promise<void> {
  const answer = await api('GET', '/api/v1/backline');
  const cut = h('button', { type: 'button', id: 'day-cut' }, 'Cut over to the next business day');
  cut.addEventListener('click', async () => {
    if (!confirm('End the business day now?')) return;
    const done = await api('POST', '/api/v1/day-cut', {});
    await dayEnd(outcome(done, `cut over to ${done.body.to}`));
  });
  const days = answer.status === 200 ? (answer.body.days as { date: string; stage: string; updatedAt: string; error: string; done: boolean }[]) : [];
  main.replaceChildren(
    h('h1', {}, 'Day end'),
    h('p', {}, cut),
    ...(note ? [note] : []),
    answer.status === 200 ? table(['business day', 'stage', 'updated', 'error', 'report'], days.map((d) => [d.date, d.stage, d.updatedAt, d.error, d.done ? h('a', { href: `#/report/${d.date}` }, 'report') : ''])) : outcome(answer, ''),
  );
}

async function report(date: string): Promise<void> {
  const answer = await api('GET', `/api/v1/reports/${date}`);
  main.replaceChildren(h('h1', {}, `Report ${date}`), answer.status === 200 ? h('pre', {}, JSON.stringify(answer.body, null, 2)) : outcome(answer, ''));
}

// ---------------------------------------------------------------------------------------------

async function route(): Promise<void> {
  leavePage?.();
  leavePage = undefined;
  if (token === '') return signIn();
  const [path, query = ''] = location.hash.replace(/^#/, '').split('?');
  const params = new URLSearchParams(query);
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('current', a.getAttribute('href') === `#/${parts[0] ?? ''}`);
  if (parts.length === 0) return dashboard();
  if (parts[0] === 'terminals') return parts[1] ? terminalPage(parts[1]) : terminals(params);
  if (parts[0] in RECORD_PAGES) return recordPage(parts[0], parts[1]);
  if (parts[0] === 'transactions') return transactions(params);
  if (parts[0] === 'channels') return channels();
  if (parts[0] === 'day-end') return dayEnd();
  if (parts[0] === 'report' && parts[1]) return report(parts[1]);
  main.replaceChildren(h('h1', {}, 'Not found'), h('p', {}, `no page ${location.hash}`));
}

window.addEventListener('hashchange', () => void route());
void route();
