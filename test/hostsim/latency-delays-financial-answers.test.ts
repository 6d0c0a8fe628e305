/**
 * --latency-ms (and POSP_SIM_HOST_JITTER_MS on top): every financial answer leaves no earlier than
 * the latency after its request; network management is not held back. The simulator runs as its
 * own process (`node bin/posp.js sim-host`).
 */
import t from 'tap';
import { keyedClient, startSimHost } from './host-client.js';

const LATENCY_MS = 300;

t.test('answers arrive after at least the configured latency', async (t) => {
  const sim = await startSimHost(t.testdir(), ['--latency-ms', String(LATENCY_MS), '--log-level', 'warn'], { POSP_SIM_HOST_JITTER_MS: '50' });
  t.teardown(() => sim.proc.kill('SIGKILL'));
  const client = await keyedClient(t, sim.port);
  const answers = await Promise.all([1000, 2000, 10051].map((amount) => client.request(client.transaction(amount))));
  t.same(answers.map((a) => a.msg.text(39)), ['00', '00', '51'], 'approvals and declines alike');
  for (const a of answers) t.ok(a.ms >= LATENCY_MS, `answered after ${a.ms} ms (≥ ${LATENCY_MS})`);
  const echo = await client.request(client.networkManagement('301'));
  t.equal(echo.msg.text(39), '00', 'echo answered');
});
