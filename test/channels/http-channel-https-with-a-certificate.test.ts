/**
 * With a certificate configured (--api-cert, --api-key) the HTTP channel speaks HTTPS only: a
 * signed sale over TLS is approved, and plain HTTP on that port gets no answer.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { PAYMENTS_PATH, signRequest } from '../../src/channels/index.js';
import { DEMO, demoPan } from '../../src/store/index.js';
import { startHttpSwitch } from './http-channel-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'posp-http-tls-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const cert = join(dir, 'cert.pem');
const key = join(dir, 'key.pem');
const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);

t.test('a signed sale over HTTPS', { skip: made.status === 0 ? false : 'openssl cannot make a test certificate here' }, async (t) => {
  const { sw, client } = await startHttpSwitch(t, { apiCert: cert, apiKey: key });
  const shop = await client('tls-shop', DEMO.mid);
  const body = JSON.stringify({ type: 'sale', amount: 800, card: { pan: demoPan(51), expiry: DEMO.expiry } });
  const timestamp = String(Date.now());
  const nonce = 'tls-nonce-0123456789';
  const headers = {
    'content-type': 'application/json',
    'x-posp-client': shop.id,
    'x-posp-timestamp': timestamp,
    'x-posp-nonce': nonce,
    'x-posp-signature': signRequest(shop.secret, timestamp, nonce, 'POST', PAYMENTS_PATH, body),
    'idempotency-key': 'tls-1',
  };
  const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port: sw.apiPort, path: PAYMENTS_PATH, method: 'POST', headers, ca: readFileSync(cert) }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
  t.equal(answer.status, 200, 'answered over TLS, the certificate verified');
  t.match(JSON.parse(answer.text), { responseCode: '00', approved: true, tid: 'API00001' }, 'approved');
  const plain = await fetch(`http://127.0.0.1:${sw.apiPort}${PAYMENTS_PATH}`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(2000) }).then(
    (res) => `HTTP ${res.status}`,
    () => 'no answer',
  );
  t.equal(plain, 'no answer', 'plain HTTP on the HTTPS port gets no answer');
});
