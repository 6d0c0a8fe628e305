/**
 * `posp sim-host` as its own process: the ready line names the port actually bound (with --port 0),
 * options come from POSP_SIM_HOST_* too, SIGTERM and SIGINT stop it with exit code 0, a bad option
 * exits 2.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { CHILD_ENV, POSP_BIN } from '../switch/harness.js';
import { keyedClient, readSettlement, startSimHost } from './host-client.js';

t.test('ready line with the real port; SIGTERM stops it cleanly', async (t) => {
  const dir = t.testdir();
  const sim = await startSimHost(dir);
  t.teardown(() => sim.proc.kill('SIGKILL'));
  t.ok(sim.port > 0, `port ${sim.port}`);
  t.ok(sim.output().startsWith(`posp sim-host: listening on 127.0.0.1:${sim.port}, data in ${dir}\n`), 'the ready line comes first');
  const client = await keyedClient(t, sim.port);
  t.equal((await client.request(client.transaction(1000))).msg.text(39), '00');
  sim.proc.kill('SIGTERM');
  t.same(await sim.exited, { code: 0, signal: null }, 'exit 0 on SIGTERM');
  await client.closed;
  t.equal(readSettlement(dir).length, 1, 'the approval is in the settlement file');
});

t.test('options from POSP_SIM_HOST_*; SIGINT stops it cleanly', async (t) => {
  const dir = t.testdir();
  const sim = await startSimHost(undefined, [], { POSP_SIM_HOST_DATA: dir, POSP_SIM_HOST_HOST: '127.0.0.1', POSP_SIM_HOST_LOG_LEVEL: 'warn' });
  t.teardown(() => sim.proc.kill('SIGKILL'));
  t.ok(sim.output().startsWith(`posp sim-host: listening on 127.0.0.1:${sim.port}, data in ${dir}\n`), 'data directory from POSP_SIM_HOST_DATA');
  const client = await keyedClient(t, sim.port);
  t.equal((await client.request(client.transaction(1000))).msg.text(39), '00');
  t.equal(readSettlement(dir).length, 1, 'the line went there');
  sim.proc.kill('SIGINT');
  t.same(await sim.exited, { code: 0, signal: null }, 'exit 0 on SIGINT');
  t.notMatch(sim.output(), /"level":30/, 'POSP_SIM_HOST_LOG_LEVEL=warn: no info lines');
});

t.test('a bad option exits 2 with a message', async (t) => {
  for (const args of [['--zmk', 'ABC'], ['--latency-ms', '-5'], ['--bogus', '1'], ['--port', '70000']]) {
    const child = spawn(process.execPath, [POSP_BIN, 'sim-host', ...args], { env: CHILD_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    t.equal(code, 2, `${args.join(' ')}: exit 2`);
    t.match(err, /--(zmk|latency-ms|bogus|port)/, `${args.join(' ')}: names the option`);
  }
});
