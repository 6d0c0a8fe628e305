/**
 * The HTTP load generator drives the HTTP channel of the real switch with signed sales: every one
 * approved and journalled under the clients' virtual terminals, as a library call and as
 * `posp loadgen --http`.
 */
import t from 'tap';
import { runHttpLoad } from '../../src/loadgen/index.js';
import { DEMO } from '../../src/store/index.js';
import { runPosp } from '../switch/harness.js';
import { startHttpSwitch } from './http-channel-harness.js';

t.test('signed sales from the load generator', async (t) => {
  const { sw, client, journal } = await startHttpSwitch(t);
  const clients = [await client('load-1', DEMO.mid), await client('load-2', DEMO.mid)];
  const report = await runHttpLoad({ host: '127.0.0.1', port: sw.apiPort!, clients, connections: 3, count: 60, cards: 1000 });
  t.equal(report.errors, 0, `no errors ${report.errorSamples.join('; ')}`);
  t.equal(report.transactions, 60, 'every request answered');
  t.same(report.responseCodes, { '00': 60 }, 'and approved');
  const sales = journal().filter((e) => e.type === 'sale' && e.responseCode === '00');
  t.same([...new Set(sales.map((e) => e.tid))].sort(), ['API00001', 'API00002'], 'journalled under both clients\' terminals');
  t.equal(sales.length, 60, 'each once');

  const run = await runPosp(['loadgen', '--http', '--client', 'load-1', '--secret', clients[0].secret, '--port', String(sw.apiPort), '--count', '20', '--cards', '1000']);
  t.equal(run.code, 0, `posp loadgen --http exits 0 ${run.stdout}${run.stderr}`);
  t.match(run.stdout, /^transactions 20 in [\d.]+ s: \d+ TPS, errors 0$/m, 'and reports its throughput');
  t.match(run.stdout, /^response codes: 00=20$/m, 'every sale approved');
  const wrong = await runPosp(['loadgen', '--http', '--client', 'load-1', '--secret', 'f'.repeat(64), '--port', String(sw.apiPort), '--count', '3']);
  t.equal(wrong.code, 1, 'with the wrong secret it fails');
  t.match(wrong.stdout, /response codes: HTTP 401=3/, 'every request refused 401');
  t.equal((await runPosp(['loadgen', '--http', '--client', 'load-1'])).code, 2, 'a client without its secret is a usage error');
});
