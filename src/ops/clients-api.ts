import { randomBytes } from 'node:crypto';
import type { SecurityModule } from '../security/index.js';
import type { ApiClient, Status, Terminal } from '../store/index.js';
import { fieldProblem, shownRecord } from '../txn/index.js';
import { HttpError, type ApiRoutes } from './http.js';
import type { ReferenceDesk } from './reference.js';
import { bodyOf, checkChange, checkKey, checkedChange, including, requireFields, storedRecord, storedRecords } from './reference-api.js';

const CREATE_FIELDS = ['mid', 'tid'] as const;
const CREATE_USAGE = '{"mid", "tid"?}';
/** Virtual terminals the switch names itself: API00001, API00002, ... */
const VIRTUAL_TID = /^API(\d{5})$/;

/**
 * `/api/v1/clients`: the merchants' systems that pay through the HTTP channel. Create (PUT, admin):
 * the client gets a fresh secret, shown in the answer and never again (the switch keeps it sealed
 * under the LMK), and a virtual terminal of its merchant: the terminal named (it must belong to the
 * merchant and to no other client) or, without one, a new terminal `APInnnnn` with a random TMK
 * that exists only wrapped under the LMK (the channel never needs it in clear). List and read
 * (viewer) show no secret; PATCH changes the status (a suspended client is refused, 403).
 */
export function clientsApi(api: ApiRoutes, desk: ReferenceDesk, hsm: SecurityModule): void {
  api
    .get('/api/v1/clients', () => ({ status: 200, body: { clients: Array.from(desk.state.apiClients.getRange(), ({ value }) => shownRecord('apiClients', value)) } }))
    .get('/api/v1/clients/:id', (req) => ({ status: 200, body: shownRecord('apiClients', storedRecord<ApiClient>(desk, 'apiClients', req.params[0])) }))
    .put('/api/v1/clients/:id', 'admin', async (req) => {
      const id = req.params[0];
      checkKey('apiClients', id);
      const body = bodyOf(req.body, CREATE_FIELDS, CREATE_USAGE);
      requireFields(body, ['mid'], 'client');
      for (const name of CREATE_FIELDS) {
        const problem = body[name] === undefined ? null : fieldProblem('apiClients', name, body[name]);
        if (problem !== null) throw new HttpError(400, problem);
      }
      const state = desk.state;
      if (state.apiClients.get(id) !== undefined) throw new HttpError(409, `client ${id} exists`);
      const mid = body.mid as string;
      const tid = (body.tid as string | undefined) ?? nextVirtualTid(desk);
      const owner = Array.from(state.apiClients.getRange()).find(({ value }) => value.tid === tid);
      if (owner !== undefined) throw new HttpError(409, `terminal ${tid} is the virtual terminal of client ${owner.key}`);
      const existing = state.terminals.get(tid);
      const terminal: Terminal | undefined = existing !== undefined ? undefined : { tid, mid, status: 'active', tmk: hsm.importKey(randomBytes(16)), macAlgorithm: 'cup-ecb', batch: '000001', signedIn: false };
      const stored = storedRecords(desk);
      const records = terminal === undefined ? stored : including(stored, 'terminals', tid, terminal);
      const secret = randomBytes(32).toString('hex');
      const client: ApiClient = { id, mid, tid, status: 'active', secret: hsm.sealPan(secret), createdAt: Date.now() };
      // Both checked before either is made: a refused client creates no terminal.
      if (terminal !== undefined) checkChange('terminals', tid, terminal, stored);
      checkChange('apiClients', id, client, records);
      if (terminal !== undefined) await desk.change('terminals', tid, terminal, req.who);
      const shown = { client: shownRecord('apiClients', client), secret, terminalCreated: terminal !== undefined };
      try {
        // Sealed again in the turn the book is handed the change: under the LMK an LMK rotation that began meanwhile re-wraps from, or the new one.
        return { status: 200, body: { seq: await desk.change('apiClients', id, { ...client, secret: hsm.sealPan(secret) }, req.who), ...shown } };
      } catch (err) {
        // Durable and in force, only not readable yet: the secret is shown now or never.
        if (err instanceof HttpError && err.status === 503) return { status: 200, body: { ...shown, notice: err.message } };
        throw err;
      }
    })
    .patch('/api/v1/clients/:id', 'admin', async (req) => {
      const id = req.params[0];
      storedRecord<ApiClient>(desk, 'apiClients', id);
      const { status } = bodyOf(req.body, ['status'], '{"status"}') as { status?: Status };
      if (status === undefined) throw new HttpError(400, 'the body names the status: {"status": "active" | "suspended" | "closed"}');
      const seq = await checkedChange(desk, 'apiClients', id, { status }, req.who);
      return { status: 200, body: { seq, client: shownRecord('apiClients', storedRecord<ApiClient>(desk, 'apiClients', id)) } };
    });
}

/** The first `APInnnnn` after every one there is. */
function nextVirtualTid(desk: ReferenceDesk): string {
  let highest = 0;
  for (const key of desk.state.terminals.getKeys({ start: 'API', end: 'APJ' })) {
    const m = VIRTUAL_TID.exec(String(key));
    if (m !== null) highest = Math.max(highest, Number(m[1]));
  }
  if (highest >= 99_999) throw new HttpError(409, 'every virtual terminal id API00001–API99999 is taken: name the terminal (tid)');
  return `API${String(highest + 1).padStart(5, '0')}`;
}
