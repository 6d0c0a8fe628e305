import { createInterface, type Interface } from 'node:readline';
import { Writable } from 'node:stream';
import { componentCheckValue, componentsProblem } from '../security/index.js';
import { adminOf, callAdmin, commandArgs, type Io } from './admin-client.js';

export const TERMINAL_USAGE = `posp terminal tmk-import TID [--components 2|3] [--kcv HEX] [--admin http://HOST:PORT] [--token T]
  Sets a terminal's master key from the clear components its key custodians hold (default 2). Each
  custodian types a component (32 or 48 hex digits; not shown on a terminal, a line each from a
  pipe), is shown its check value and types the one on the component's form. The running switch
  XORs the components in its security module (the whole key is never formed here), checks each
  check value and the key's (--kcv, 6 hex digits) and signs the terminal out: it signs in again
  under the new key. A clear TMK is never taken on the command line.
  Prints {seq, tid, kcv, componentKcvs}. Exit 0 done, 1 refused, mismatched or unreachable, 2 usage.`;

const OPTIONS = ['components', 'kcv', 'admin', 'token'];
const COMPONENT = /^(?:[0-9A-F]{32}|[0-9A-F]{48})$/;

/** What the command reads the components from: the terminal, or a pipe. */
export type Input = NodeJS.ReadableStream & { isTTY?: boolean };

/** `posp terminal tmk-import`: key custodians enter a terminal's master key, component by component. */
export async function terminalCommand(args: string[], io: Io & { stdin: Input }): Promise<number> {
  const [action, tid, ...rest] = args;
  if (action !== 'tmk-import') return usage(action === undefined ? 'terminal needs an action' : `no terminal action ${action}`, io);
  if (tid === undefined || tid.startsWith('--')) return usage('tmk-import needs the terminal id', io);
  const parsed = commandArgs(rest, OPTIONS);
  if (typeof parsed === 'string') return usage(parsed, io);
  const { positional, options } = parsed;
  if (positional.length > 0) return usage(`${positional[0]} is not an option`, io);
  const count = Number(options.get('components') ?? 2);
  if (count !== 2 && count !== 3) return usage('--components is 2 or 3', io);
  const kcv = options.get('kcv')?.toUpperCase();

  const custodians = new PromptReader(io.stdin, process.stderr);
  const components: string[] = [];
  const componentKcvs: string[] = [];
  try {
    for (let n = 1; n <= count; n++) {
      io.err(`Component ${n} of ${count} (32 or 48 hex digits, not shown):`);
      const component = (await custodians.line(true))?.trim().toUpperCase();
      if (component === undefined) return refuse(`the input ended before component ${n}`, io);
      if (!COMPONENT.test(component)) return refuse(`component ${n} must be 32 or 48 hex digits`, io);
      const checkValue = componentCheckValue(Buffer.from(component, 'hex'));
      io.err(`Component ${n} check value: ${checkValue}`);
      io.err(`Check value on component ${n}'s form:`);
      const confirmed = (await custodians.line(false))?.trim().toUpperCase();
      if (confirmed !== checkValue) return refuse(`component ${n}'s check value is ${checkValue}, not ${confirmed ?? 'given'}: it was mistyped`, io);
      components.push(component);
      componentKcvs.push(checkValue);
    }
  } finally {
    custodians.close();
  }
  const given = { components, componentKcvs, ...(kcv === undefined ? {} : { kcv }) };
  const problem = componentsProblem(given);
  if (problem !== null) return refuse(problem, io);
  return callAdmin(adminOf(options), { method: 'PUT', path: `/api/v1/terminals/${encodeURIComponent(tid)}/tmk`, body: JSON.stringify(given) }, io);
}

/**
 * Lines typed by the custodians: from a terminal without echo for the components (and with no
 * history kept), from a pipe as they come.
 */
class PromptReader {
  private hidden = false;
  private readonly tty: boolean;
  private readonly lines: Interface;
  private readonly next: AsyncIterator<string>;

  constructor(
    input: Input,
    private readonly echo: NodeJS.WritableStream,
  ) {
    this.tty = input.isTTY === true;
    const output = new Writable({
      write: (chunk, _encoding, done) => {
        if (!this.hidden) echo.write(chunk);
        done();
      },
    });
    this.lines = createInterface({ input, output, terminal: this.tty, historySize: 0 });
    this.next = this.lines[Symbol.asyncIterator]();
  }

  /** The next line, or undefined when the input has ended. */
  async line(hidden: boolean): Promise<string | undefined> {
    this.hidden = hidden;
    try {
      const { done, value } = await this.next.next();
      return done ? undefined : value;
    } finally {
      this.hidden = false;
      // The Enter of a hidden line was not echoed either.
      if (hidden && this.tty) this.echo.write('\n');
    }
  }

  close(): void {
    this.lines.close();
  }
}

function refuse(why: string, io: Io): number {
  io.err(`refused: ${why}; nothing was imported`);
  return 1;
}

function usage(why: string, io: Io): number {
  io.err(`${why}\n${TERMINAL_USAGE}`);
  return 2;
}
