import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Stops a child process with SIGTERM (SIGKILL after `graceMs`); resolves once it has exited. */
export async function stop(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** The repository's root (benches run from dist/bench/). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const POSP = path.join(ROOT, 'bin', 'posp.js');

/** A switch started as a child process, once it printed its ready line. */
export interface SwitchChild {
  child: ChildProcess;
  posPort: number;
  adminPort: number;
}

/**
 * `posp start --demo` on `data` with ephemeral ports, the admin token `token`, no scheduled
 * cut-over and warnings only, plus `args`; resolves once it says where it listens.
 */
export async function startSwitchChild(data: string, token: string, args: readonly string[] = []): Promise<SwitchChild> {
  const child = spawn(process.execPath, [POSP, 'start', '--demo', '--data', data, '--pos-port', '0', '--admin-port', '0', '--api-port', '0', '--log-level', 'warn', '--admin-token', token, '--cutover-at', 'off', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const m = await new Promise<RegExpExecArray>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the switch exited (${code}) before it was ready:\n${out}`)));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const ready = /posp: terminals on [\d.]+:(\d+), admin and monitor on http:\/\/[\d.]+:(\d+)\//.exec(out);
      if (ready) resolve(ready);
    });
  });
  child.stdout!.resume();
  return { child, posPort: Number(m[1]), adminPort: Number(m[2]) };
}

/** Clock ticks per second of /proc's CPU times (USER_HZ on Linux). */
export const CLK_TCK = 100;

/** utime + stime of a process (all its threads), in seconds, from /proc/PID/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/** CPU seconds per thread, keyed by "tid name". */
export function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(`${tid} ${name}`, (Number(f[11]) + Number(f[12])) / CLK_TCK);
    } catch {
      // the thread ended
    }
  }
  return out;
}
