import type { SecurityModule } from '../security/index.js';
import type { ParameterKind, Status, Terminal } from '../store/index.js';
import { HttpError, type ApiAnswer, type ApiRequest, type ApiRoutes } from './http.js';
import type { ReferenceDesk } from './reference.js';
import { bodyOf, checkKey, checkedChange, listQuery, pageOf, requireFields, storedRecord } from './reference-api.js';
import type { TerminalActivity } from './terminal-activity.js';

/** A terminal as a list shows it. */
export interface TerminalSummary {
  tid: string;
  mid: string;
  status: Status;
  signedIn: boolean;
  batch: string;
  /** Epoch ms of its newest journalled request since the switch started, or null. */
  lastSeen: number | null;
}

/** A terminal as a read shows it: the key mode and age of its working keys, never a key's bytes. */
export interface TerminalView extends TerminalSummary {
  macAlgorithm: string;
  parameterVersions: Partial<Record<ParameterKind, number>>;
  /** Check value of the terminal master key (hex), for comparing with the key custodians' record. */
  tmkCheckValue: string;
  workingKeys: { mode: string; issuedAt: number } | null;
  /** Epoch ms of its last POS status upload, or null. */
  lastStatusUpload: number | null;
}

const CREATE_FIELDS = ['mid', 'tmk', 'macAlgorithm', 'batch', 'status'] as const;
const CREATE_USAGE = '{"mid", "tmk": 32 or 48 hex digits, "macAlgorithm"?, "batch"?, "status"?}';
/** A double- or triple-length DES key in clear, as key custodians hand it over. */
const CLEAR_TMK = /^(?:[0-9A-Fa-f]{32}|[0-9A-Fa-f]{48})$/;

/**
 * `/api/v1/terminals`: list (`?offset&limit&mid&status`), read, create (PUT: its TMK given in clear
 * is wrapped under the LMK by the security module at once and never kept or shown in clear),
 * remove, and disable or enable (a suspended terminal's every request answers 58 from the next one).
 */
export function terminalsApi(api: ApiRoutes, desk: ReferenceDesk, hsm: SecurityModule, activity: TerminalActivity): void {
  const summary = (t: Terminal): TerminalSummary => ({ tid: t.tid, mid: t.mid, status: t.status, signedIn: t.signedIn, batch: t.batch, lastSeen: activity.lastSeen(t.tid) });
  const view = (t: Terminal): TerminalView => ({
    ...summary(t),
    macAlgorithm: t.macAlgorithm,
    parameterVersions: t.parameterVersions ?? {},
    tmkCheckValue: hsm.kcv(t.tmk).toString('hex').toUpperCase(),
    workingKeys: t.keys === undefined ? null : { mode: t.keys.mode, issuedAt: t.keys.issuedAt },
    lastStatusUpload: desk.state.terminalStatus.get(t.tid)?.at ?? null,
  });
  const stored = (tid: string): Terminal => storedRecord<Terminal>(desk, 'terminals', tid);
  const setStatus = async (req: ApiRequest, status: Status): Promise<ApiAnswer> => {
    const tid = req.params[0];
    bodyOf(req.body, [], '{}');
    const terminal = stored(tid);
    if (terminal.status === 'closed') throw new HttpError(409, `terminal ${tid} is closed`);
    // Already so: nothing to journal.
    if (terminal.status === status) return { status: 200, body: { terminal: view(terminal) } };
    const seq = await checkedChange(desk, 'terminals', tid, { status }, req.who);
    return { status: 200, body: { seq, terminal: view(stored(tid)) } };
  };
  api
    .get('/api/v1/terminals', (req) => {
      const { offset, limit, filters } = listQuery(req.query, 'terminals', ['mid', 'status']);
      const keep = (t: Terminal) => (filters.mid === undefined || t.mid === filters.mid) && (filters.status === undefined || t.status === filters.status);
      const page = pageOf(desk.state.terminals.getRange(), keep, offset, limit, summary);
      return { status: 200, body: { total: page.total, offset, limit, terminals: page.items } };
    })
    .get('/api/v1/terminals/:tid', (req) => ({ status: 200, body: view(stored(req.params[0])) }))
    .put('/api/v1/terminals/:tid', 'admin', async (req) => {
      const tid = req.params[0];
      checkKey('terminals', tid);
      const body = bodyOf(req.body, CREATE_FIELDS, CREATE_USAGE);
      requireFields(body, ['mid', 'tmk'], 'terminal');
      if (desk.state.terminals.get(tid) !== undefined) throw new HttpError(409, `terminal ${tid} exists: disable, enable or remove it`);
      const { tmk, ...fields } = body;
      if (typeof tmk !== 'string' || !CLEAR_TMK.test(tmk)) throw new HttpError(400, 'tmk must be 32 or 48 hex digits: a double- or triple-length DES key in clear');
      const terminal = { tid, status: 'active', macAlgorithm: 'cup-ecb', batch: '000001', ...fields, tmk: hsm.importKey(tmk), signedIn: false };
      const seq = await checkedChange(desk, 'terminals', tid, terminal, req.who);
      return { status: 200, body: { seq, terminal: view(stored(tid)) } };
    })
    .del('/api/v1/terminals/:tid', 'admin', async (req) => {
      const tid = req.params[0];
      stored(tid);
      return { status: 200, body: { seq: await checkedChange(desk, 'terminals', tid, null, req.who) } };
    })
    .post('/api/v1/terminals/:tid/disable', 'operator', (req) => setStatus(req, 'suspended'))
    .post('/api/v1/terminals/:tid/enable', 'operator', (req) => setStatus(req, 'active'));
}
