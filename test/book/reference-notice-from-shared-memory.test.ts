/**
 * A reference notice is read out of a ring, i.e. out of a SharedArrayBuffer. msgpackr decodes the
 * strings of larger maps through APIs that refuse such memory: a route's notice crashed the worker
 * that read it. Every notice must come out as it went in.
 */
import t from 'tap';
import { packReferenceNotice, unpackReferenceNotice } from '../../src/book/index.js';
import type { ReferenceChange } from '../../src/store/index.js';

const notices: ReferenceChange[] = [
  { table: 'routes', key: 'demo-off-us', value: { id: 'demo-off-us', match: { binPrefix: '621700' }, to: { links: [{ link: 'a', weight: 70 }, { link: 'b', weight: 30 }] }, timeoutMs: 20000 } },
  { table: 'merchants', key: '898100012340001', value: { name: 'A MERCHANT NAME OF SOME LENGTH', status: 'active', mcc: '5411' } },
  { table: 'terminals', key: '10000001', value: null },
];

t.test('notices unpacked from shared memory equal what was packed', async (t) => {
  const ring = Buffer.from(new SharedArrayBuffer(4096));
  for (const notice of notices) {
    const bytes = packReferenceNotice(notice);
    bytes.copy(ring, 64);
    t.same(unpackReferenceNotice(ring, 64, 64 + bytes.length), notice, `${notice.table} ${notice.key}`);
  }
});
