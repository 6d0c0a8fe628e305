/**
 * Shared set-up for the HTTP channel's integration tests: the real switch with the demo set-up, an
 * admin token and every port ephemeral (the HTTP channel's too), signed payment requests over real
 * HTTP, and reads of the journal. Not a test file itself (no `.test.` in the name).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PAYMENTS_PATH, signRequest } from '../../src/channels/index.js';
import { journalTail, type JournalEntry } from '../../src/store/index.js';
import { DEFAULTS, startSwitch, type RunningSwitch, type SwitchConfig } from '../../src/switch/index.js';
import { suiteLogging } from '../suite-log.js';

export const ADMIN_TOKEN = 'http-channel-test-admin-token-0123';

export interface Answer {
  status: number;
  body: any;
  /** The answer as sent, to look for what must never be in it. */
  text: string;
}

export interface Client {
  id: string;
  secret: string;
}

/** What a signed request may be made to look like (the defaults make a good one). */
export interface Signed {
  key?: string;
  timestamp?: string;
  nonce?: string;
  /** The signature sent; default: the right one. */
  signature?: string;
  /** The secret it is signed under; default: the client's. */
  secret?: string;
  /** The client named in X-Posp-Client; default: the client's id. */
  clientHeader?: string;
  /** Headers left out. */
  without?: string[];
}

export interface HttpSwitch {
  sw: RunningSwitch;
  dataDir: string;
  /** A call to the admin API with the bootstrap token. */
  admin(method: string, path: string, body?: unknown): Promise<Answer>;
  /** A new client of `mid` (with its virtual terminal), its secret as the switch showed it once. */
  client(id: string, mid: string, tid?: string): Promise<Client>;
  /** `POST /api/v1/payments` signed for `client`; a string body is sent as it is. */
  pay(client: Client, body: unknown, signed?: Signed): Promise<Answer>;
  /** Every journal entry so far. */
  journal(): JournalEntry[];
  /** Entries made durable so far (the book's count). */
  durable(): number;
}

let nonces = 0;

/** The demo switch with the HTTP channel; `t.teardown` closes it and deletes its data (unless `dataDir` is given: the caller keeps it). */
export async function startHttpSwitch(t: { teardown(fn: () => unknown): void }, config: Partial<SwitchConfig> = {}): Promise<HttpSwitch> {
  const dataDir = config.dataDir ?? mkdtempSync(join(tmpdir(), 'posp-http-channel-'));
  const logging = suiteLogging();
  const sw = await startSwitch(
    { ...DEFAULTS, demo: true, adminToken: ADMIN_TOKEN, posPort: 0, adminPort: 0, apiPort: 0, workers: 1, ...logging.config, cutoverAt: 'off', ...config, dataDir },
    logging.log,
  );
  t.teardown(async () => {
    await sw.close();
    if (config.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
  });
  const admin = async (method: string, path: string, body?: unknown): Promise<Answer> => {
    const res = await fetch(`http://127.0.0.1:${sw.adminPort}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: JSON.parse(text), text };
  };
  const client = async (id: string, mid: string, tid?: string): Promise<Client> => {
    const created = await admin('PUT', `/api/v1/clients/${id}`, { mid, ...(tid === undefined ? {} : { tid }) });
    if (created.status !== 200) throw new Error(`client ${id} not created: ${created.text}`);
    // On a busy machine LMDB may apply the client after the answer (it then says so): the channel reads clients from LMDB.
    for (const until = Date.now() + 30_000; (await admin('GET', `/api/v1/clients/${id}`)).status !== 200; await new Promise((r) => setTimeout(r, 50))) {
      if (Date.now() > until) throw new Error(`client ${id} never reached LMDB`);
    }
    return { id, secret: created.body.secret };
  };
  const pay = async (who: Client, body: unknown, signed: Signed = {}): Promise<Answer> => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    const timestamp = signed.timestamp ?? String(Date.now());
    const nonce = signed.nonce ?? `${randomBytes(8).toString('hex')}-${++nonces}`;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-posp-client': signed.clientHeader ?? who.id,
      'x-posp-timestamp': timestamp,
      'x-posp-nonce': nonce,
      'x-posp-signature': signed.signature ?? signRequest(signed.secret ?? who.secret, timestamp, nonce, 'POST', PAYMENTS_PATH, text),
      ...(signed.key === undefined ? {} : { 'idempotency-key': signed.key }),
    };
    for (const name of signed.without ?? []) delete headers[name];
    const res = await fetch(`http://127.0.0.1:${sw.apiPort}${PAYMENTS_PATH}`, { method: 'POST', headers, body: text });
    const answer = await res.text();
    return { status: res.status, body: JSON.parse(answer), text: answer };
  };
  return {
    sw,
    dataDir,
    admin,
    client,
    pay,
    journal: () => journalTail(dataDir, 0).entries,
    durable: () => sw.pressure().durableSeq,
  };
}
