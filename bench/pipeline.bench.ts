/**
 * CPU cost of one on-us sale through the pipeline and the book, with no network and no thread
 * hops: frames go straight into a Pipeline, proposals straight into a real Book (real LMDB, real
 * SQLite journal, group commit every 100 entries, LMDB applied between groups). What is left
 * when the transport is free, as CPU time (all of the process's threads) and as wall time (which
 * includes waiting for each group's fsync).
 *
 *   node dist/bench/pipeline.bench.js [--sales 20000] [--echo]
 *
 * With --echo every request is an echo test (0820 301) instead of a sale: what the pipeline and the
 * book cost a request that needs no business work (its journal entry included), the floor under a sale.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { threadCpu } from './child.js';
import { decodeTerminalFrame, type IsoMessage } from '../src/codec/index.js';
import { Book, emptyReply, packProposal, unpackProposal, type Reply } from '../src/book/index.js';
import { SimTerminal } from '../src/loadgen/index.js';
import { Pipeline } from '../src/pipeline/index.js';
import { SecurityModule, loadLmk } from '../src/security/index.js';
import { DEMO, StateStore, demoPan, demoTid, seedDemo } from '../src/store/index.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};


/** µs per request by role: this thread (the pipeline and the book), the apply thread, and V8's and libuv's helpers. */
function byThread(before: Map<string, number>, after: Map<string, number>, requests: number): Record<string, number> {
  const roles: Record<string, number> = { 'pipeline+book': 0, 'posp-apply': 0, helpers: 0 };
  for (const [key, cpu] of after) {
    const [tid, name] = [Number(key.slice(0, key.indexOf(' '))), key.slice(key.indexOf(' ') + 1)];
    const role = tid === process.pid ? 'pipeline+book' : name === 'posp-apply' ? 'posp-apply' : 'helpers';
    roles[role] += cpu - (before.get(key) ?? 0);
  }
  for (const role of Object.keys(roles)) roles[role] = +((roles[role] * 1e6) / requests).toFixed(1);
  return roles;
}

/**
 * The answers, copied into one slab as they come and decoded after the clock stops: an object per
 * answer kept until the end would be old-generation garbage the switch itself never makes.
 */
class Answers {
  private readonly slab: Buffer;
  private readonly ends: Uint32Array;
  private used = 0;
  count = 0;

  constructor(max: number) {
    this.slab = Buffer.allocUnsafe(max * 256);
    this.ends = new Uint32Array(max);
  }

  keep(frame: Buffer, start: number, end: number): void {
    this.used += frame.copy(this.slab, this.used, start, end);
    this.ends[this.count++] = this.used;
  }

  clear(): void {
    this.used = 0;
    this.count = 0;
  }

  decode(i: number): IsoMessage {
    const start = i === 0 ? 0 : this.ends[i - 1];
    return decodeTerminalFrame(this.slab, start, this.ends[i], true);
  }
}

/** Terminals, and requests per group commit. */
const GROUP = 100;

async function main(): Promise<void> {
  const sales = arg('sales', 20_000);
  const echo = process.argv.includes('--echo');
  const dir = mkdtempSync(join(tmpdir(), 'posp-pipeline-bench-'));
  try {
    const hsm = new SecurityModule(loadLmk({ file: join(dir, 'lmk.key') }));
    const state = new StateStore(dir);
    await seedDemo(state, hsm);
    const book = new Book(state, dir, { businessDate: '20261124', holdDays: 30 });
    await book.recover();

    const answers = new Answers(sales + GROUP);
    const proposals: { id: number; bytes: Buffer }[] = [];
    const pipeline = new Pipeline({
      state, hsm, businessDate: '20261124', acquirerId: '00010000', refundWindowDays: 30, holdDays: 30, keyRotationHours: 24,
      log: pino({ level: 'silent' }),
      respond: (_c, frame, start, end) => answers.keep(frame, start, end),
      close: () => undefined,
      // The proposal crosses a ring in its binary layout in the switch: pack it here too.
      propose: (id, proposal) => proposals.push({ id, bytes: Buffer.from(packProposal(proposal)) }),
    });
    const reply = emptyReply();
    const settle = async (): Promise<void> => {
      const batch = proposals.splice(0);
      const replies: { id: number; reply: Reply }[] = [];
      for (const p of batch) {
        book.enter(unpackProposal(p.bytes), reply);
        replies.push({ id: p.id, reply: { ...reply } });
      }
      book.commit();
      await book.sync();
      for (const r of replies) pipeline.onReply(r.id, r.reply);
    };

    // Terminals whose frames we build with the simulated terminal's keys (no socket needed).
    const { openKeyBlock, DesKey } = await import('../src/security/index.js');
    const terminals: SimTerminal[] = [];
    for (let n = 0; n < GROUP; n++) {
      const term = new SimTerminal({ host: '', port: 0, tid: demoTid(n), mid: DEMO.mid, tmk: DEMO.tmk });
      const signIn = term.pack(term.message('0800').set(11, term.nextStan()).set(60, '00000001003').set(63, '001'));
      answers.clear();
      pipeline.onFrame(n, signIn, 2, signIn.length);
      await settle();
      const res = answers.decode(0);
      const keys = openKeyBlock(Buffer.from(DEMO.tmk, 'hex'), res.binary(62)!, '003');
      Object.assign(term as unknown as { mak: unknown; pik: unknown }, { mak: new DesKey(keys.mak), pik: keys.pik });
      terminals.push(term);
    }

    const frames: Buffer[] = [];
    for (let i = 0; i < sales; i++) {
      const term = terminals[i % GROUP];
      frames.push(term.pack(echo ? term.echo() : term.sale({ pan: demoPan(1 + (i % 50_000)), expiry: DEMO.expiry, pin: DEMO.pin }, 100 + (i % 900))));
    }
    answers.clear();
    const started = process.hrtime.bigint();
    const cpuStart = process.cpuUsage();
    const threadsStart = threadCpu(process.pid);
    for (let i = 0; i < frames.length; i++) {
      pipeline.onFrame(i % GROUP, frames[i], 2, frames[i].length);
      // One request per terminal per group: the group is committed with one fsync, as under load.
      if (i % GROUP === GROUP - 1) await settle();
    }
    await settle();
    await book.settled();
    const threadsEnd = threadCpu(process.pid);
    await book.close();
    const us = Number(process.hrtime.bigint() - started) / 1000;
    const cpu = process.cpuUsage(cpuStart);
    const cpuUs = cpu.user + cpu.system;
    let approved = 0;
    for (let i = 0; i < answers.count; i++) if (answers.decode(i).text(39) === '00') approved++;
    console.log(JSON.stringify({ requests: echo ? 'echo test' : 'sale', sales, approved, group: GROUP, cpuMicrosecondsPerSale: +(cpuUs / sales).toFixed(1), microsecondsPerSale: +(us / sales).toFixed(1), salesPerSecond: Math.round(sales / (us / 1e6)), cpuMicrosecondsByThread: byThread(threadsStart, threadsEnd, sales) }));
    await state.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
