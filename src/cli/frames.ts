import { FRAME_KINDS, FramesUsageError, parseFrameMix, writeFrameFile, type FrameKind, type FramesOptions, type FramesSummary } from '../loadgen/frames.js';
import { DEMO } from '../store/index.js';

export const FRAMES_USAGE = `posp frames --out FILE [--terminals N] [--per-terminal K] [--mix KIND | KIND:W,KIND:W,...]
             [--host ADDR] [--port N] [--first-tid N] [--first-stan N] [--cards N] [--seed N] [--json]
  Signs in N demo terminals (from --first-tid, default 10000001) on a running switch and writes K
  pre-built requests per terminal (unique STANs, valid MACs and PIN blocks, demo cards 1..--cards)
  to FILE for the native load generator (native-bench/, format in src/loadgen/frames.ts).
  Kinds for --mix (default sale): sale balance void preauth completion offus echo, e.g.
  sale:60,balance:15,void:10,preauth:8,completion:7; each terminal gets K split by weight, in a
  seeded random order. For every void and completion, the terminal first performs the sale or
  pre-auth it names live (while signed in), so every frame is approved when the file is played once.
  offus is a sale of whole yuan on an off-us demo card (BIN 621700, cards 1..--cards): the switch
  forwards it to its host link, so it needs one that is up, e.g. posp start --demo --host-sim.
  The terminals stay signed in; signing them in again (another posp frames) makes older files stale.
  A file is good for one run; runs against one switch and batch need non-overlapping STAN ranges
  (--first-stan, default random; each terminal uses the sign-in's, then its originals', then K).`;

export async function framesCommand(args: string[], io: { out: (s: string) => void; err: (s: string) => void }): Promise<number> {
  const options: FramesOptions = {
    host: process.env.POSP_HOST ?? '127.0.0.1',
    port: Number(process.env.POSP_POS_PORT ?? 6000),
    terminals: 50,
    perTerminal: 1000,
    mix: parseFrameMix('sale'),
    firstTid: DEMO.firstTid,
    mid: DEMO.mid,
    tmk: DEMO.tmk,
    cards: DEMO.cards,
    firstStan: Math.floor(Math.random() * 900_000),
    seed: Math.floor(Math.random() * 0x7fffffff),
  };
  let out: string | undefined;
  let json = false;
  let summary: FramesSummary;
  try {
    for (let i = 0; i < args.length; i++) {
      const arg = args[i];
      const value = (): string => {
        const v = args[++i];
        if (v === undefined) throw new FramesUsageError(`${arg} needs a value`);
        return v;
      };
      const int = (min: number, max: number): number => {
        const v = value();
        const n = Number(v);
        if (!Number.isInteger(n) || n < min || n > max) throw new FramesUsageError(`${arg} must be an integer from ${min} to ${max}, got ${v}`);
        return n;
      };
      switch (arg) {
        case '--out': out = value(); break;
        case '--terminals': options.terminals = int(1, 100_000); break;
        case '--per-terminal': options.perTerminal = int(1, 999_000); break;
        case '--mix': options.mix = parseFrameMix(value()); break;
        case '--host': options.host = value(); break;
        case '--port': options.port = int(1, 65_535); break;
        case '--first-tid': options.firstTid = int(1, 99_999_999); break;
        case '--first-stan': options.firstStan = int(0, 999_998); break;
        case '--cards': options.cards = int(1, 999_999_999); break;
        case '--seed': options.seed = int(0, 0x7fffffff); break;
        case '--json': json = true; break;
        default: throw new FramesUsageError(`unknown option ${arg}\n${FRAMES_USAGE}`);
      }
    }
    if (out === undefined) throw new FramesUsageError(`--out FILE is required\n${FRAMES_USAGE}`);
    // Inside the try: some limits (STANs per terminal) depend on the mix and are checked there.
    summary = await writeFrameFile(out, options);
  } catch (err) {
    if (err instanceof FramesUsageError) {
      io.err(err.message);
      return 2;
    }
    throw err;
  }
  if (json) io.out(JSON.stringify({ file: out, ...summary }));
  else {
    const names: Record<FrameKind, string> = { sale: 'sales', balance: 'balance inquiries', void: 'voids', preauth: 'pre-auths', completion: 'completions', offus: 'off-us sales', echo: 'echo tests' };
    const kinds = FRAME_KINDS.filter((k) => summary.kinds[k] > 0).map((k) => `${summary.kinds[k]} ${names[k]}`).join(', ');
    io.out(`${summary.frames} frames (${kinds}) for ${summary.terminals} terminals from ${summary.firstTid}, ` +
      `STANs ${summary.firstStan}-${summary.lastStan}, ${(summary.bytes / 1e6).toFixed(1)} MB in ${out}`);
    io.out(`sign-in and ${summary.originals} live originals ${summary.liveMs} ms, build ${summary.buildMs} ms`);
  }
  return 0;
}
