/**
 * The raw loopback ceiling: an echo server with the same 2-byte length framing and a closed-loop
 * client with N connections, one frame outstanding each, both in Node on this machine. Switch
 * throughput is reported as a ratio of this figure measured in the same run.
 *
 *   node dist/bench/loopback-echo.js [--connections 50] [--seconds 5] [--bytes 150]
 */
import net from 'node:net';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** Echo server: answers every complete frame with itself, writes once per chunk. */
export function echoServer(): net.Server {
  return net.createServer({ noDelay: true }, (socket) => {
    socket.setNoDelay(true);
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      const buf: Buffer = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      let p = 0;
      while (buf.length - p >= 2) {
        const len = buf.readUInt16BE(p);
        if (buf.length - p < len + 2) break;
        p += len + 2;
      }
      if (p > 0) socket.write(buf.subarray(0, p));
      pending = buf.subarray(p);
    });
    socket.on('error', () => undefined);
  });
}

/** Closed-loop client: `connections` sockets, one frame outstanding on each; returns round trips/s. */
export async function echoClient(port: number, connections: number, seconds: number, bytes: number): Promise<number> {
  const frame = Buffer.alloc(bytes + 2, 0x5a);
  frame.writeUInt16BE(bytes, 0);
  let count = 0;
  const deadline = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: connections }, () => new Promise<void>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write(frame));
      socket.setNoDelay(true);
      let got = 0;
      socket.on('data', (chunk: Buffer) => {
        got += chunk.length;
        while (got >= frame.length) {
          got -= frame.length;
          count++;
          if (Date.now() < deadline) socket.write(frame);
          else {
            socket.destroy();
            resolve();
            return;
          }
        }
      });
      socket.on('error', () => resolve());
    })),
  );
  return count / seconds;
}

async function main(): Promise<void> {
  const connections = arg('connections', 50);
  const seconds = arg('seconds', 5);
  const bytes = arg('bytes', 150);
  if (process.argv.includes('--serve')) {
    const server = echoServer();
    server.listen(0, '127.0.0.1', () => process.send!((server.address() as net.AddressInfo).port));
    return;
  }
  // The server runs in its own process, like the switch does, so client and server each have a thread.
  const child = fork(fileURLToPath(import.meta.url), ['--serve']);
  const port = await new Promise<number>((resolve) => child.once('message', (m) => resolve(m as number)));
  const rate = await echoClient(port, connections, seconds, bytes);
  child.kill();
  console.log(JSON.stringify({ connections, seconds, bytes, roundTripsPerSecond: Math.round(rate) }));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
