/**
 * What Node's TCP transport alone costs on this machine: the C epoll echo server (the ceiling) and
 * a Node echo server (`loopback-echo.ts`, same framing, no work at all) driven by the same native
 * load generator, interleaved, three rounds, medians. A Node switch cannot go faster than its
 * transport: this is the upper bound of any switch ratio measured by `bench:e2e`, and the server
 * CPU per message is what every transaction pays before doing anything.
 *
 *   make -C native-bench && tsc -p . && node dist/bench/node-echo-floor.js [--connections 200] [--seconds 4] [--rounds 3]
 */
import { execFile, fork, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUILD = path.join(ROOT, 'native-bench', 'build');
const CLK_TCK = 100;

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};

/** A frame file (native-bench format) with one 150-byte frame per connection: `--echo` replays it. */
function echoFrames(file: string, connections: number): void {
  const parts = [Buffer.from('PFRM'), u32(connections)];
  for (let i = 0; i < connections; i++) {
    const frame = Buffer.alloc(152, 0x41);
    frame.writeUInt16BE(150, 0);
    parts.push(u32(1), frame);
  }
  fs.writeFileSync(file, Buffer.concat(parts));
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}

function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

interface Server {
  name: string;
  port: number;
  child: ChildProcess;
}

async function cEcho(): Promise<Server> {
  const child = spawn(path.join(BUILD, 'echo'), ['0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  return { name: 'C epoll echo', port, child };
}

async function nodeEcho(): Promise<Server> {
  const child = fork(path.join(ROOT, 'dist', 'bench', 'loopback-echo.js'), ['--serve']);
  const port = await new Promise<number>((resolve) => child.once('message', (m) => resolve(m as number)));
  return { name: 'Node echo', port, child };
}

interface Round {
  tps: number;
  serverUsPerMessage: number;
  clientUsPerMessage: number;
}

function round(server: Server, frames: string, connections: number, seconds: number): Promise<Round> {
  const before = cpuSeconds(server.child.pid!);
  const args = ['--port', String(server.port), '--frames', frames, '--connections', String(connections), '--duration', String(seconds), '--warmup', '1', '--echo'];
  return new Promise((resolve, reject) => {
    execFile(path.join(BUILD, 'loadgen'), args, (err, stdout) => {
      if (err) return reject(err);
      const out = JSON.parse(stdout) as { tps: number; clientCpuSeconds: number; responses: number };
      const messages = out.tps * seconds;
      resolve({
        tps: out.tps,
        // The server's CPU includes the warm-up second: per message over warm-up and measurement.
        serverUsPerMessage: ((cpuSeconds(server.child.pid!) - before) * 1e6) / (out.tps * (seconds + 1)),
        clientUsPerMessage: (out.clientCpuSeconds * 1e6) / messages,
      });
    });
  });
}

const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

async function main(): Promise<void> {
  const connections = arg('connections', 200);
  const seconds = arg('seconds', 4);
  const rounds = arg('rounds', 3);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'posp-echo-floor-'));
  const frames = path.join(dir, 'echo.pfrm');
  echoFrames(frames, connections);
  const servers = [await cEcho(), await nodeEcho()];
  try {
    const results = new Map<string, Round[]>(servers.map((s) => [s.name, []]));
    for (let r = 0; r < rounds; r++) {
      for (const s of servers) results.get(s.name)!.push(await round(s, frames, connections, seconds));
    }
    const ceiling = median(results.get(servers[0].name)!.map((r) => r.tps));
    console.log(`${connections} connections, one frame outstanding each, ${rounds} rounds of ${seconds} s, medians; load ${os.loadavg()[0].toFixed(2)}`);
    console.log('| server | TPS | ratio to C | server CPU µs/msg | client CPU µs/msg |');
    console.log('|---|---:|---:|---:|---:|');
    for (const s of servers) {
      const rs = results.get(s.name)!;
      const tps = median(rs.map((r) => r.tps));
      console.log(`| ${s.name} | ${Math.round(tps).toLocaleString('en-US')} | ${(tps / ceiling).toFixed(2)} | ${median(rs.map((r) => r.serverUsPerMessage)).toFixed(1)} | ${median(rs.map((r) => r.clientUsPerMessage)).toFixed(1)} |`);
    }
  } finally {
    for (const s of servers) s.child.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
