/**
 * The settlement file is committed before answers leave: kill -9 the simulator process while four
 * host links keep it busy with pipelined sales, and every approval any link received (including
 * those still in the socket when the process died) has its line in the file, once.
 */
import t from 'tap';
import { HostClient, keyedClient, readSettlement, startSimHost } from './host-client.js';

const LINKS = 4;
const IN_FLIGHT = 16;
const KILL_AFTER = 400;

t.test('kill -9 right after approvals: each answered approval is in the settlement file', async (t) => {
  const dir = t.testdir();
  const sim = await startSimHost(dir, ['--log-level', 'warn']);
  t.teardown(() => sim.proc.kill('SIGKILL'));
  const clients: HostClient[] = [];
  for (let i = 0; i < LINKS; i++) clients.push(await keyedClient(t, sim.port, undefined, 1 + i * 100_000));

  let approvals = 0;
  let killed = false;
  const lanes: Promise<void>[] = [];
  clients.forEach((client, link) => {
    const tid = `1000000${link + 1}`;
    for (let lane = 0; lane < IN_FLIGHT; lane++) {
      lanes.push(
        (async () => {
          for (let n = 0; !killed; n++) {
            const answer = await client.request(client.transaction(100 * (1 + (n % 500)), { tid }), 10_000).catch(() => undefined);
            if (answer === undefined) return;
            if (answer.msg.text(39) === '00' && ++approvals >= KILL_AFTER && !killed) {
              killed = true;
              sim.proc.kill('SIGKILL');
            }
          }
        })(),
      );
    }
  });
  await Promise.all(lanes);
  const { signal } = await sim.exited;
  t.equal(signal, 'SIGKILL', 'the simulator was killed');
  await Promise.all(clients.map((c) => c.closed));

  const answered = clients.flatMap((c) => c.answers).filter((m) => m.mti === '0210' && m.text(39) === '00');
  t.ok(answered.length >= KILL_AFTER, `${answered.length} approvals answered before the kill`);
  const lines = readSettlement(dir);
  const recorded = new Map<string, number>();
  for (const r of lines) recorded.set(`${r.tid}/${r.stan}`, (recorded.get(`${r.tid}/${r.stan}`) ?? 0) + 1);
  const missing = answered.filter((m) => !recorded.has(`${m.text(41)}/${m.text(11)}`));
  t.same(missing.map((m) => `${m.text(41)}/${m.text(11)}`), [], 'no answered approval is missing');
  t.same([...recorded.values()].filter((n) => n !== 1), [], 'no line twice');
  const byKey = new Map(lines.map((r) => [`${r.tid}/${r.stan}`, r]));
  const wrong = answered.filter((m) => byKey.get(`${m.text(41)}/${m.text(11)}`)?.auth_code !== m.text(38));
  t.equal(wrong.length, 0, 'each line has the auth code that was answered');
  t.ok(lines.length >= answered.length, `${lines.length} lines for ${answered.length} answers`);
});
