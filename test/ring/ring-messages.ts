/**
 * Test messages for the cross-thread ring tests: message `seq` has a length, content and
 * checksum derived from `seq`, so the receiving thread can check order and every byte.
 *
 *   u32 seq | filler bytes (seq + 31 i) & 0xff | u32 FNV-1a of everything before it
 *
 * Lengths vary from 8 to 607 bytes (both sides of Ring's copy-loop threshold). Run directly,
 * as tap does with every file under dist/test, this module does nothing but report a skip.
 */
import { isMainThread } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';

export function messageLength(seq: number): number {
  return 8 + ((seq * 7919) % 600);
}

function fnv1a(buf: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i], 0x01000193);
  return h >>> 0;
}

/** Writes message `seq` at buf[at..]; returns its length. */
export function writeMessage(buf: Buffer, at: number, seq: number): number {
  const len = messageLength(seq);
  buf.writeUInt32LE(seq >>> 0, at);
  const end = at + len - 4;
  for (let i = at + 4, k = 0; i < end; i++, k++) buf[i] = (seq + 31 * k) & 0xff;
  buf.writeUInt32LE(fnv1a(buf, at, end), end);
  return len;
}

export interface Checker {
  /** The sequence number expected next (= messages checked so far). */
  next: number;
  bad: number;
  firstBad: string;
}

/** Checks one received message against the next expected sequence number. */
export function checkMessage(c: Checker, tag: number, data: Buffer, start: number, end: number): void {
  const seq = c.next++;
  const len = end - start;
  let why = '';
  if (tag !== ((seq ^ 0x5a5a5a5a) >>> 0)) why = `tag ${tag}`;
  else if (len !== messageLength(seq)) why = `length ${len}`;
  else if (data.readUInt32LE(start) !== seq >>> 0) why = `seq field ${data.readUInt32LE(start)}`;
  else if (data.readUInt32LE(end - 4) !== fnv1a(data, start, end - 4)) why = 'checksum';
  else {
    for (let i = start + 4, k = 0; i < end - 4; i++, k++) {
      if (data[i] !== ((seq + 31 * k) & 0xff)) {
        why = `byte ${k}`;
        break;
      }
    }
  }
  if (why) {
    if (c.bad++ === 0) c.firstBad = `message ${seq}: ${why}`;
  }
}

if (isMainThread && process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log('1..0 # SKIP helper module for ring-cross.test.js');
}
