import { FormatError, decodeHostFrame, decodeTerminalFrame, fromHex, messageToJson } from '../codec/index.js';
import { classify } from '../txn/index.js';

export const DECODE_USAGE = `posp decode HEX|- [--no-length] [--host]
  Decodes one frame given as hex (or read from stdin with -) and prints it as JSON.
  --no-length  the frame starts at the TPDU (terminal) or MTI (host), without its length prefix
  --host       the host dialect (ASCII ISO 8583:1987) instead of the terminal dialect`;

/** `posp decode`: prints the frame as JSON; a bad frame prints one line naming field and offset, exit 1. */
export async function decodeCommand(args: string[], io: { stdin: NodeJS.ReadableStream; out: (s: string) => void; err: (s: string) => void }): Promise<number> {
  const flags = new Set(args.filter((a) => a.startsWith('--')));
  const positional = args.filter((a) => !a.startsWith('--'));
  for (const f of flags) {
    if (f !== '--no-length' && f !== '--host') {
      io.err(`unknown option ${f}\n${DECODE_USAGE}`);
      return 2;
    }
  }
  if (positional.length !== 1) {
    io.err(DECODE_USAGE);
    return 2;
  }
  const text = positional[0] === '-' ? await readAll(io.stdin) : positional[0];
  const bytes = fromHex(text.replace(/\s+/g, ''));
  if (bytes === null) {
    io.err('input is not hex: an even number of 0-9 A-F characters is expected');
    return 1;
  }
  const withLength = !flags.has('--no-length');
  try {
    if (flags.has('--host')) {
      const msg = decodeHostFrame(bytes, 0, bytes.length, withLength);
      io.out(JSON.stringify({ mti: msg.mti, fields: messageToJson(msg) }));
    } else {
      const msg = decodeTerminalFrame(bytes, 0, bytes.length, withLength);
      const c = classify(msg);
      const out: Record<string, unknown> = { tpdu: msg.tpdu, header: msg.header, mti: msg.mti, type: c?.type ?? 'unknown' };
      if (c?.response) out.response = true;
      out.fields = messageToJson(msg);
      io.out(JSON.stringify(out));
    }
    return 0;
  } catch (err) {
    if (err instanceof FormatError) {
      io.err(`format error: field ${err.field} at byte ${err.offset}: ${err.reason}`);
      return 1;
    }
    throw err;
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let s = '';
  for await (const chunk of stream) s += chunk.toString();
  return s.trim();
}
