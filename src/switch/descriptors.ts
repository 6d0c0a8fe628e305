import { closeSync, openSync, readFileSync } from 'node:fs';

/** How many descriptors the table is grown to at most: enough for thousands of terminals, cheap to open once. */
const RESERVE_MAX = 8192;

/**
 * Grows the process's file descriptor table once, at start-up, to what the switch will use. The
 * kernel grows a table that threads share by waiting for an RCU grace period, several milliseconds,
 * in whichever thread opens the descriptor past its size: without this, that was the book opening the
 * new day's WAL at a cut-over, once enough terminals had connected. A grown table never shrinks.
 * Returns the size reserved.
 */
export function reserveFileDescriptors(): number {
  if (reserved > 0) return reserved;
  const count = Math.min(RESERVE_MAX, openFilesLimit() - 64);
  const fds: number[] = [];
  try {
    while (fds.length < count) fds.push(openSync('/dev/null', 'r'));
  } catch {
    // Fewer free than the limit says (another part holds many): the table grew as far as it could.
  } finally {
    for (const fd of fds) closeSync(fd);
  }
  reserved = fds.length;
  return reserved;
}

/** The size reserved so far in this process (switches started in one test process share the table). */
let reserved = 0;

/** The soft RLIMIT_NOFILE, from /proc (Node has no getrlimit). */
function openFilesLimit(): number {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m && m[1] !== 'unlimited') return Number(m[1]);
  } catch {
    // Not Linux: nothing to learn, and the fallback is harmless.
  }
  return 1024;
}
