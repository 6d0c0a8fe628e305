import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { Logger } from 'pino';
import { threadLog } from './log.js';
import { reserveFileDescriptors } from './descriptors.js';
import { BookGauges, EventFeed, FSYNC_BOUNDS_MS, type BookThreadData, type ControlChange, type ControlResult, type PressureSnapshot } from '../book/index.js';
import { Acceptor, Firewall, HostLinks, HttpChannel, checkPort, LinkGauges, parseLinks, type LinkConfig, type WorkerLink } from '../channels/index.js';
import { DEMO_ZMK, HostSimulator } from '../hostsim/index.js';
import { AdminServer, LiveMonitor, TerminalActivity, TrafficStats, channelStatuses, gaugeMetrics, ringDepth, type AccessDirections, type Listener, type Metric, type SwitchGauges } from '../ops/index.js';
import { CutoverSchedule, DayCut, parseCutoverTime, type BacklineThreadData, type BacklineThreadMessage } from '../day-end/index.js';
import { InlinePipeline, type WorkerData } from '../pipeline/index.js';
import { Doorbell, Ring } from '../ring/index.js';
import { LmkCustodian, LmkGeneration, SecurityError, SecurityModule, lmkFileOf, loadLmk, type LmkSource } from '../security/index.js';
import { StateStore, seedDemo } from '../store/index.js';
import { isDate, localDate } from '../txn/index.js';
import { ConfigError, firewallOf, type SwitchConfig } from './config.js';

export { ConfigError, DEFAULTS, START_USAGE, loadConfig, type SwitchConfig } from './config.js';
export type { ControlChange, ControlResult } from '../book/index.js';
export { InProcessSwitch, type Answer, type InProcessOptions } from './in-process.js';

const FRAME_RING = 1 << 20;
/** How long an LMK rotation waits for every pipeline worker to take the new LMK. */
const LMK_ADOPT_WAIT_MS = 5000;
const BOOK_RING = 1 << 21;

export interface RunningSwitch {
  posPort: number;
  adminPort: number;
  /** Where the HTTP transaction channel listens; undefined with `--api-port off`. */
  apiPort?: number;
  /** The business date the book started with (it moves on through `control`). */
  businessDate: string;
  /** Where `--host-sim` listens, when it runs. */
  hostSimPort?: number;
  /** Journal entries recovery replayed into LMDB at start (what a crash had left unapplied). */
  replayed: number;
  /** Milliseconds from the start call until the book was ready (recovery included). */
  recoveryMs: number;
  /** How far LMDB and the WAL are behind, and how long the book has held terminals back for them. */
  pressure(): PressureSnapshot;
  log: Logger;
  /** Every durable journal entry, summarised, in order. */
  feed: EventFeed;
  /** A change through the book's control channel; resolves once its entry is durable, or with why it was refused. */
  control(change: ControlChange): Promise<ControlResult>;
  close(): Promise<void>;
}


/** One pipeline worker's rings and its long-lived task. */
interface WorkerSlot {
  data: WorkerData;
  link: WorkerLink;
  task?: Promise<void>;
}

/**
 * Starts the switch: security module and state, the book thread (recovery first), the pipeline
 * workers, the terminal channel and the admin API. Resolves once every part accepts work.
 */
export async function startSwitch(config: SwitchConfig, log: Logger = threadLog(config.logLevel, config.logFile, { sync: true })): Promise<RunningSwitch> {
  const startedAt = Date.now();
  reserveFileDescriptors();
  mkdirSync(config.dataDir, { recursive: true });
  // The LMK first: an LMK file others can read stops the start before anything listens.
  const lmkSource: LmkSource = { env: config.lmk, file: lmkFileOf(config.dataDir) };
  const lmk = loadLmk(lmkSource);
  const hsm = new SecurityModule(lmk);
  let links: LinkConfig[];
  try {
    links = parseLinks(config.links);
  } catch (err) {
    throw new ConfigError(`--links: ${(err as Error).message}`);
  }
  const zmk = config.zmk ?? (config.demo || config.hostSim ? DEMO_ZMK : undefined);
  // `--host-sim`: the host simulator beside the switch, in this process, and a link `sim` to it.
  let hostSim: HostSimulator | undefined;
  if (config.hostSim) {
    hostSim = new HostSimulator({ host: config.host, port: config.hostSimPort, zmk, dataDir: join(config.dataDir, 'hostsim'), log: log.child({ part: 'sim-host' }) });
    await hostSim.start();
    links = [...links.filter((l) => l.name !== 'sim'), { name: 'sim', host: config.host, port: hostSim.port }];
    log.info({ port: hostSim.port }, 'host simulator listening');
  }
  if (links.length > 0 && zmk === undefined) throw new ConfigError('--links needs the zone master key: --zmk HEX or POSP_ZMK');
  const firewall = new Firewall(firewallOf(config), log.child({ part: 'firewall' }));
  const state = new StateStore(config.dataDir);
  // The terminal listener may have been switched off (`posp channel disable terminal`): it stays off.
  const terminalListener = state.channels.get('terminal')?.state !== 'disabled';
  const httpListener = config.apiPort !== 'off' && state.channels.get('http')?.state !== 'disabled';
  // Every port before any part starts: one that cannot be opened stops the start with its reason.
  try {
    await checkPort('admin', config.host, config.adminPort);
    if (terminalListener) await checkPort('terminal', config.host, config.posPort);
    if (httpListener && config.apiPort !== 'off') await checkPort('HTTP channel', config.host, config.apiPort);
  } catch (err) {
    await hostSim?.stop();
    await state.close();
    throw err;
  }
  if (config.demo && (await seedDemo(state, hsm))) log.info('demo set-up created');
  // The book owns the business date: this is only the date of a first start.
  const firstDate = localDate(new Date());

  const gauges = BookGauges.create(config.maxApplyLag, config.walLimitMb * 1024 * 1024, config.cutoverStuckMs);
  // Each pipeline (every worker, or the acceptor's thread with --workers 0) has its own connection to each host.
  const linkGauges = LinkGauges.create(links.map((l) => l.name), Math.max(1, config.workers));
  const linksOf = (pipeline: number): LinkConfig[] => links.map((l, i) => ({ ...l, gauge: linkGauges.slot(pipeline, i) }));
  const bookBell = Doorbell.create();
  const acceptorBell = Doorbell.create();
  const lmkGeneration = LmkGeneration.create(config.workers);
  const slots: WorkerSlot[] = [];
  for (let index = 0; index < config.workers; index++) {
    const frames = Ring.create(FRAME_RING);
    const responses = Ring.create(FRAME_RING);
    const bell = Doorbell.create();
    const data: WorkerData = {
      index,
      generation: 0,
      dataDir: config.dataDir,
      lmk: lmkSource,
      lmkGeneration: lmkGeneration.sab,
      businessDate: firstDate,
      acquirerId: config.acquirerId,
      refundWindowDays: config.refundWindowDays,
      holdDays: config.holdDays,
      keyRotationHours: config.keyRotationHours,
      logLevel: config.logLevel,
      logFile: config.logFile,
      frames: frames.sab,
      responses: responses.sab,
      proposals: Ring.create(BOOK_RING).sab,
      replies: Ring.create(BOOK_RING).sab,
      bell: bell.sab,
      acceptorBell: acceptorBell.sab,
      bookBell: bookBell.sab,
      control: new SharedArrayBuffer(4),
      links: linksOf(index),
      zmk: zmk ?? '',
      keyExchangeMs: config.keyExchangeMinutes * 60_000,
      gauges: gauges.sab,
    };
    slots.push({ data, link: { frames, responses, bell } });
  }

  // --workers 0: the pipeline runs on this thread, with its own pair of book rings and host links.
  const inlineHosts = config.workers === 0 && links.length > 0 ? new HostLinks(linksOf(0), { acquirerId: config.acquirerId, hsm, zmk: hsm.importKey(zmk!), keyExchangeMs: config.keyExchangeMinutes * 60_000, log }) : undefined;
  const inline =
    config.workers === 0
      ? new InlinePipeline({
          state,
          hsm,
          businessDate: firstDate,
          acquirerId: config.acquirerId,
          refundWindowDays: config.refundWindowDays,
          holdDays: config.holdDays,
          keyRotationHours: config.keyRotationHours,
          log,
          hosts: inlineHosts,
          sendsAdvices: true,
          gauges,
          proposals: Ring.create(BOOK_RING),
          replies: Ring.create(BOOK_RING),
          bookBell,
        })
      : undefined;
  if (inline && inlineHosts) inlineHosts.onAnswer = (ticket, answer, failure) => inline.hostAnswer(ticket, answer, failure);
  const bookLinks = slots.map((s) => ({ proposals: s.data.proposals, replies: s.data.replies, bell: s.data.bell }));
  if (inline) bookLinks.push({ proposals: inline.proposalsSab, replies: inline.repliesSab, bell: acceptorBell.sab });
  const { feed, sab: feedSab } = EventFeed.create();
  const book = await startBook(
    {
      dataDir: config.dataDir,
      businessDate: firstDate,
      holdDays: config.holdDays,
      applyIntervalMs: config.applyIntervalMs,
      gauges: gauges.sab,
      bell: bookBell.sab,
      feed: feedSab,
      workers: bookLinks,
    },
    log,
  );
  const businessDate = book.businessDate;
  for (const slot of slots) slot.data.businessDate = businessDate;
  inline?.learnBusinessDate(businessDate);
  // The book is ready: LMDB holds every entry so far, and the feed carries every one after.
  const traffic = new TrafficStats(signedInTerminals(state));
  feed.subscribe(traffic.record);
  const activity = new TerminalActivity();
  feed.subscribe(activity.record);
  feed.start();

  const pool = new Piscina<WorkerData, void>({
    filename: new URL('../pipeline/worker.js', import.meta.url).href,
    minThreads: config.workers,
    maxThreads: Math.max(1, config.workers),
    idleTimeout: Number.MAX_SAFE_INTEGER,
    concurrentTasksPerWorker: 1,
  });
  const acceptor = new Acceptor({
    host: config.host,
    port: config.posPort,
    maxFrame: config.maxFrame,
    idleTimeoutMs: config.idleTimeoutMs,
    maxOutstanding: config.maxOutstanding,
    firewall,
    log,
    bell: acceptorBell,
    workers: slots.map((s) => s.link),
    inline,
  });
  inline?.attach(acceptor);
  let running = true;
  const serve = (slot: WorkerSlot): void => {
    slot.task = pool.run(slot.data).then(
      () => undefined,
      (err: unknown) => {
        if (!running) return;
        // Piscina replaces the thread; its terminals get 96 for what was in flight.
        log.error({ err, worker: slot.data.index }, 'pipeline worker died; replacing it');
        const frames = Ring.create(FRAME_RING);
        const responses = Ring.create(FRAME_RING);
        slot.link = { frames, responses, bell: slot.link.bell };
        acceptor.workerLost(slot.data.index, slot.link);
        slot.data = { ...slot.data, generation: slot.data.generation + 1, frames: frames.sab, responses: responses.sab };
        serve(slot);
      },
    );
  };
  for (const slot of slots) serve(slot);

  // The back line works on ended days in its own thread; it hears of each new business date.
  const backline = startBacklineThread(
    {
      dataDir: config.dataDir,
      gauges: gauges.sab,
      businessDate,
      hostSettlement: config.hostSettlementDir ?? (hostSim ? join(config.dataDir, 'hostsim') : undefined),
      logLevel: config.logLevel,
      logFile: config.logFile,
    },
    log,
  );
  const control = async (change: ControlChange): Promise<ControlResult> => {
    if (change.kind !== 'business-date' || !isDate(change.date) || change.date <= book.businessDate) return book.control(change);
    // The back line makes the new day's file (as a rule long before): the book only opens it.
    const release = await backline.prepare(change.date);
    let result: ControlResult;
    try {
      result = await book.control(change);
    } finally {
      release();
    }
    if (!('refused' in result)) backline.post({ businessDate: change.date });
    return result;
  };
  const custodian = new LmkCustodian(lmkSource, {
    async adopt(keyring) {
      lmk.adopt(keyring);
      const generation = lmkGeneration.advance();
      for (const slot of slots) slot.link.bell.ring();
      // A worker that does not answer (being replaced) loads the files afresh when it starts.
      if (!(await lmkGeneration.heldByAll(generation, slots.length, LMK_ADOPT_WAIT_MS))) log.warn({ generation }, 'a pipeline worker has not taken the rotated LMK yet');
    },
    async journal() {
      const result = await control({ kind: 'lmk-rotation' });
      if ('refused' in result) throw new SecurityError('lmk', `the book refused the LMK rotation: ${result.refused}`);
      return result.seq;
    },
    async settled(seq) {
      while (gauges.applied < seq) await new Promise((r) => setTimeout(r, 5));
      await state.synced();
    },
  });
  const finished = await custodian.finishInterrupted();
  if (finished) log.warn({ seq: finished.seq, lmk: finished.checkValue, previous: finished.previousCheckValue }, 'finished an LMK rotation a stop had interrupted');
  const dayCut = new DayCut({ businessDate: () => book.businessDate, control }, log);
  const cutAt = parseCutoverTime(config.cutoverAt);
  const schedule = cutAt === null ? undefined : new CutoverSchedule(dayCut, { businessDate: () => book.businessDate, control }, cutAt, log);

  const posPort = await acceptor.listen(terminalListener);
  // The HTTP channel's clients pay as virtual terminals on local connections of the acceptor.
  const httpChannel =
    config.apiPort === 'off'
      ? undefined
      : new HttpChannel({
          host: config.host,
          port: config.apiPort,
          tls: config.apiCert !== undefined && config.apiKey !== undefined ? { cert: config.apiCert, key: config.apiKey } : undefined,
          acceptor,
          hsm,
          state,
          dir: join(config.dataDir, 'http-channel'),
          businessDate: () => book.businessDate,
          maxInFlight: config.maxOutstanding,
          log: log.child({ part: 'http-channel' }),
        });
  const apiPort = await httpChannel?.listen(httpListener);
  // What `posp channel enable|disable` switches: the listeners here, the host links in every pipeline.
  const access: AccessDirections = {
    listeners: new Map<string, Listener>([
      ['terminal', { get port() { return acceptor.port; }, get state() { return acceptor.listenerState; }, enable: () => acceptor.enable(), disable: () => acceptor.disable() }],
      ...(httpChannel === undefined ? [] : [['http', httpChannel] as const]),
    ]),
    hostLinks: () => linkGauges.read().map(({ name, state }) => ({ name, state })),
  };
  log.info({ port: posPort, workers: config.workers, businessDate }, 'terminal channel listening');
  const feedRing = Ring.attach(feedSab);
  const bookRings = bookLinks.map((l, i) => ({ pipeline: i < slots.length ? String(i) : 'inline', proposals: Ring.attach(l.proposals), replies: Ring.attach(l.replies) }));
  const switchGauges = (): SwitchGauges => {
    // The advice queue is counted in LMDB: a fresh read, not this thread's last snapshot.
    state.refresh();
    return {
      businessDate: book.businessDate,
      connectedTerminals: acceptor.connectionCount,
      rings: [
        ...slots.flatMap((s) => [ringDepth('frames', String(s.data.index), s.link.frames), ringDepth('responses', String(s.data.index), s.link.responses)]),
        ...bookRings.flatMap((b) => [ringDepth('proposals', b.pipeline, b.proposals), ringDepth('replies', b.pipeline, b.replies)]),
        ringDepth('feed', undefined, feedRing),
      ],
      adviceQueue: state.advices.getCount(),
      pressure: gauges.snapshot(),
      channels: channelStatuses(state, access),
      firewall: { connections: firewall.connections, refused: firewall.refused },
      hostLinks: linkGauges.read(),
    };
  };
  const monitor = new LiveMonitor(traffic, switchGauges, () => feed.poll());
  const admin = new AdminServer(
    {
      accepting: () => running,
      snapshot: () => ({
        businessDate: book.businessDate,
        connections: acceptor.connectionCount,
        workers: config.workers,
        journalledSeq: feed.lastSeq,
        pressure: gauges.snapshot(),
        recovery: { replayed: book.replayed, ms: book.readyAt - startedAt },
        // How long the book spent on the latest cut-over, and how long the one under way has run.
        cutover: { lastBookMs: gauges.lastCutoverMicros / 1000, inProgressMs: gauges.cutoverSince === 0 ? null : Date.now() - gauges.cutoverSince },
      }),
      metrics: () => {
        feed.poll();
        return [...traffic.metrics(), ...gaugeMetrics(switchGauges()), ...pressureMetrics(gauges.snapshot()), fsyncMetric(gauges.fsyncs())];
      },
    },
    { token: config.adminToken, book: { control, appliedSeq: () => gauges.applied, state }, dayCut, dataDir: config.dataDir, monitor, hsm, activity, custodian, access },
    log,
  );
  const adminPort = await admin.listen(config.host, config.adminPort);
  monitor.start();

  let closing: Promise<void> | undefined;
  return {
    posPort,
    adminPort,
    ...(apiPort === undefined ? {} : { apiPort }),
    businessDate,
    ...(hostSim ? { hostSimPort: hostSim.port } : {}),
    replayed: book.replayed,
    recoveryMs: book.readyAt - startedAt,
    pressure: () => gauges.snapshot(),
    log,
    feed,
    control,
    close() {
      closing ??= stop();
      return closing;
    },
  };

  /** Stops intake first, lets the workers and the book finish what they hold, then closes the stores. */
  async function stop(): Promise<void> {
    running = false;
    schedule?.stop();
    monitor.stop();
    admin.close();
    await httpChannel?.close();
    await acceptor.close();
    for (const slot of slots) {
      Atomics.store(new Int32Array(slot.data.control), 0, 1);
      slot.link.bell.ring();
    }
    await Promise.all(slots.map((s) => s.task));
    await pool.destroy();
    await backline.stop();
    await book.stop();
    feed.stop();
    inline?.close();
    inlineHosts?.close();
    await hostSim?.stop();
    await state.close();
  }
}

/** Terminals LMDB has signed in (a scan, once at start: afterwards the feed's sign-ins and sign-offs keep the count). */
function signedInTerminals(state: StateStore): string[] {
  state.refresh();
  const tids: string[] = [];
  for (const { key, value } of state.terminals.getRange()) if (value.signedIn) tids.push(key);
  return tids;
}

/** The journal's fsyncs as the book waited for them, as a Prometheus histogram. */
function fsyncMetric(fsyncs: { counts: number[]; sumSeconds: number }): Metric {
  return {
    name: 'posp_journal_fsync_seconds',
    help: "Time from the book asking for a journal fsync to hearing it done (every answer waits for one).",
    type: 'histogram',
    bounds: FSYNC_BOUNDS_MS.map((ms) => ms / 1000),
    series: [{ labels: {}, counts: fsyncs.counts, sum: fsyncs.sumSeconds }],
  };
}

/** The book's pressure as Prometheus samples. */
function pressureMetrics(p: PressureSnapshot): Metric[] {
  return [
    { name: 'posp_apply_lag_entries', help: 'Journal entries durable but not yet applied to LMDB.', type: 'gauge', value: p.applyLag },
    { name: 'posp_apply_lag_bound_entries', help: 'Most entries LMDB may be behind before terminals are held back.', type: 'gauge', value: p.maxApplyLag },
    { name: 'posp_book_throttled', help: '1 while the book admits no proposals (LMDB or the WAL behind), else 0.', type: 'gauge', value: p.throttled ? 1 : 0 },
    { name: 'posp_book_throttled_seconds_total', help: 'Time the book held terminals back for LMDB or the WAL.', type: 'counter', value: p.throttledMs / 1000 },
    { name: 'posp_journal_wal_bytes', help: "Size of the current day's WAL file after the last commit.", type: 'gauge', value: p.walBytes },
    { name: 'posp_journal_wal_limit_bytes', help: 'Most bytes the WAL file may take.', type: 'gauge', value: p.walLimitBytes },
    { name: 'posp_apply_thread_nice', help: "The apply thread's nice value (19 keeping up, the process's own catching up).", type: 'gauge', value: p.applyNice },
    { name: 'posp_apply_read_back_entries_total', help: "Entries the apply thread read back from the journal because the book's feed to it was full.", type: 'counter', value: p.readBack },
    { name: 'posp_journal_durable_seq', help: 'Highest journal seq made durable.', type: 'counter', value: p.durableSeq },
    { name: 'posp_lmdb_applied_seq', help: 'Highest journal seq LMDB holds.', type: 'counter', value: p.appliedSeq },
  ];
}

interface BacklineHandle {
  post(msg: BacklineThreadMessage): void;
  /**
   * Has the back line create a day's journal before a cut-over begins it; resolves with the
   * release to call once the cut-over is over (at once if the back line is slow: the book then
   * creates the file itself).
   */
  prepare(date: string): Promise<() => void>;
  /** Lets the stage under way finish, then ends the thread. */
  stop(): Promise<void>;
}

/** How long a cut-over waits for the back line to prepare the new day's file (it may be in a long stage). */
const PREPARE_WAIT_MS = 1000;

function startBacklineThread(data: BacklineThreadData, log: Logger): BacklineHandle {
  const thread = new Worker(new URL('../day-end/backline-thread.js', import.meta.url), { workerData: data });
  const exited = new Promise<void>((resolve) => thread.once('exit', () => resolve()));
  thread.on('error', (err) => log.error({ err }, 'back line thread failed'));
  const waiting = new Map<string, () => void>();
  // Days whose journal the back line has made ahead of time (the day after the current one, always).
  const ready = new Set<string>();
  thread.on('message', (msg: { prepared?: string; error?: string }) => {
    if (msg.prepared === undefined) return;
    if (msg.error === undefined) ready.add(msg.prepared);
    waiting.get(msg.prepared)?.();
  });
  return {
    post(msg) {
      // The back line lets go of files made for days the business date has reached or passed.
      if (msg.businessDate !== undefined) for (const day of ready) if (day <= msg.businessDate) ready.delete(day);
      thread.postMessage(msg);
    },
    async prepare(date) {
      const release = () => {
        ready.delete(date);
        thread.postMessage({ release: date } satisfies BacklineThreadMessage);
      };
      if (ready.has(date)) return release;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, PREPARE_WAIT_MS);
        waiting.set(date, () => {
          clearTimeout(timer);
          resolve();
        });
        thread.postMessage({ prepare: date } satisfies BacklineThreadMessage);
      });
      waiting.delete(date);
      return release;
    },
    async stop() {
      thread.postMessage({ stop: true } satisfies BacklineThreadMessage);
      await new Promise<void>((resolve) => {
        thread.on('message', (msg: { stopped?: boolean }) => msg.stopped && resolve());
        void exited.then(resolve);
      });
      await thread.terminate();
    },
  };
}

interface BookHandle {
  /** The business date now (updated by each date change made through `control`). */
  readonly businessDate: string;
  /** Entries recovery replayed. */
  readonly replayed: number;
  /** When the book reported ready (Date.now()). */
  readonly readyAt: number;
  control(change: ControlChange): Promise<ControlResult>;
  stop(): Promise<void>;
}

/** Messages from the book thread. */
interface BookMessage {
  ready?: boolean;
  replayed?: number;
  appliedSeq?: number;
  businessDate?: string;
  control?: number;
  result?: ControlResult;
  fatal?: string;
  stopped?: boolean;
}

async function startBook(data: BookThreadData, log: Logger): Promise<BookHandle> {
  const thread = new Worker(new URL('../book/thread.js', import.meta.url), { workerData: data });
  let stopped: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (stopped = resolve));
  let businessDate = data.businessDate;
  let replayed = 0;
  let readyAt = 0;
  const controls = new Map<number, (result: ControlResult) => void>();
  let nextControl = 1;
  await new Promise<void>((resolve, reject) => {
    thread.on('message', (msg: BookMessage) => {
      if (msg.businessDate) businessDate = msg.businessDate;
      if (msg.ready) {
        replayed = msg.replayed ?? 0;
        readyAt = Date.now();
        log.info({ replayed: msg.replayed, appliedSeq: msg.appliedSeq, businessDate }, 'book ready');
        resolve();
      } else if (msg.control !== undefined) {
        controls.get(msg.control)?.(msg.result!);
        controls.delete(msg.control);
      } else if (msg.fatal) {
        log.fatal({ error: msg.fatal }, 'book failed: the journal cannot be written, stopping');
        reject(new Error(msg.fatal));
        process.exit(70);
      } else if (msg.stopped) {
        stopped();
      }
    });
    thread.on('error', reject);
  });
  let stopping = false;
  thread.on('exit', (code) => {
    if (stopping) return;
    // Without the book nothing can be journalled: stop rather than answer without it.
    log.fatal({ code }, 'book thread exited; stopping the switch');
    process.exit(70);
  });
  return {
    get businessDate() {
      return businessDate;
    },
    replayed,
    readyAt,
    control(change) {
      const id = nextControl++;
      return new Promise((resolve) => {
        controls.set(id, resolve);
        thread.postMessage({ control: id, change });
      });
    },
    async stop() {
      stopping = true;
      thread.postMessage({ stop: true });
      await done;
      await thread.terminate();
    },
  };
}
