import pino, { type Logger } from 'pino';

/**
 * A logger of one thread of the switch, at the configured level, writing to standard output or,
 * with `--log-file`, to one file every thread appends to (each line is one write, so threads'
 * lines never interleave). The main thread writes synchronously, so its last lines before a crash
 * are there; the busy threads buffer.
 */
export function threadLog(level: string, file: string, options: { sync: boolean; base?: Record<string, unknown> }): Logger {
  const destination = file === '' ? pino.destination({ fd: 1, sync: options.sync }) : pino.destination({ dest: file, append: true, mkdir: true, sync: options.sync });
  return pino(options.base === undefined ? { level } : { level, base: options.base }, destination);
}
