/**
 * `posp monitor` (a real child process) against the switch: a line a second until Ctrl-C, then exit
 * 0; `--once` prints one frame as a line (stdout is not a terminal) and exits 0; `--once --json` prints the frame itself; the token and
 * port may come from POSP_ADMIN_TOKEN and POSP_ADMIN_PORT. A wrong token exits 1 with the switch's
 * reason, a switch that is not there exits 1, a malformed option 2.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { MonitorFrame } from '../../src/ops/index.js';
import { DEFAULTS, startSwitch } from '../../src/switch/index.js';
import { CHILD_ENV, POSP_BIN, signedIn, sleep } from '../switch/harness.js';
import { suiteLogging } from '../suite-log.js';

const logging = suiteLogging('monitor-command');

const TOKEN = 'monitor-command-token';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function posp(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [POSP_BIN, ...args], { env: { ...CHILD_ENV, POSP_ADMIN_TOKEN: undefined, POSP_ADMIN_PORT: undefined, POSP_ADMIN: undefined, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

t.test('posp monitor --once prints a frame of the running switch and exits', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'posp-monitor-cli-'));
  const sw = await startSwitch({ ...DEFAULTS, dataDir, posPort: 0, adminPort: 0, demo: true, workers: 1, ...logging.config, adminToken: TOKEN, cutoverAt: 'off' }, logging.log);
  t.teardown(async () => {
    await sw.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  await signedIn(t, { sw, dataDir, journalPath: '' }, 40);
  const port = String(sw.adminPort);

  const line = await posp(['monitor', '--once', '--admin-port', port, '--token', TOKEN]);
  t.equal(line.code, 0, `exit 0 (${line.stderr.trim()})`);
  const lines = line.stdout.trim().split('\n');
  t.equal(lines.length, 1, 'one line: stdout is not a terminal');
  t.match(lines[0], new RegExp(`^\\d\\d:\\d\\d:\\d\\d ${sw.businessDate} tps=[\\d.]+ .*p50=\\d+us .*terminals=1/1 queues frames=0 .*channels terminal=enabled links -$`), `the frame as a line: ${lines[0]}`);

  const json = await posp(['monitor', '--once', '--json', '--host', '127.0.0.1'], { POSP_ADMIN_PORT: port, POSP_ADMIN_TOKEN: TOKEN });
  t.equal(json.code, 0, 'with the port and token from POSP_ADMIN_PORT and POSP_ADMIN_TOKEN');
  const frame = JSON.parse(json.stdout) as MonitorFrame;
  t.match(frame, { businessDate: sw.businessDate, tps: { total: Number, byType: {} }, latencyUs: { p50: Number }, terminals: { connected: 1, signedIn: 1 }, queues: { advices: 0 }, tail: Array }, '--json: the frame itself');

  // Watching until Ctrl-C: a line per frame, then a clean close and exit 0.
  const watcher = spawn(process.execPath, [POSP_BIN, 'monitor', '--admin-port', port, '--token', TOKEN], { env: CHILD_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let watched = '';
  let complaints = '';
  watcher.stdout.setEncoding('utf8').on('data', (d: string) => (watched += d));
  watcher.stderr.setEncoding('utf8').on('data', (d: string) => (complaints += d));
  const exited = new Promise<number | null>((resolve) => watcher.once('exit', (code) => resolve(code)));
  for (let i = 0; i < 300 && watched.split('\n').length < 3; i++) await sleep(100);
  watcher.kill('SIGINT');
  t.equal(await exited, 0, `Ctrl-C: exit 0 ${complaints}`);
  t.ok(watched.trim().split('\n').length >= 2 && watched.trim().split('\n').every((l) => l.includes(' tps=')), `a line a second until then:\n${watched}`);

  const wrong = await posp(['monitor', '--once', '--admin', `http://127.0.0.1:${port}`, '--token', 'wrong']);
  t.equal(wrong.code, 1, 'a wrong token: exit 1');
  t.match(wrong.stderr, /refused \(HTTP 401\): the admin token is not valid/, "with the switch's reason");
  t.equal(wrong.stdout, '', 'and nothing on stdout');
});

t.test('posp monitor: no switch is exit 1, a malformed option 2', async (t) => {
  const gone = await posp(['monitor', '--once', '--admin-port', String(await closedPort()), '--token', TOKEN]);
  t.equal(gone.code, 1, 'nothing listening: exit 1');
  t.match(gone.stderr, /cannot reach the switch's monitor at ws:\/\/127\.0\.0\.1:\d+\/ws\/monitor: ECONNREFUSED/, 'saying where it looked');
  const usage = await posp(['monitor', '--admin-port', 'eighty']);
  t.equal(usage.code, 2, 'a port that is not a number: exit 2');
  t.match(usage.stderr, /--admin-port must be a port number, got eighty/, 'with the reason');
  t.equal((await posp(['monitor', '--every', '2'])).code, 2, 'an unknown option: exit 2');
});
