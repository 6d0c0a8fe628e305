import net from 'node:net';

/** What a socket error code means, in the words of the one line an operator reads. */
const REASONS: Record<string, string> = {
  EADDRINUSE: 'the address is already in use',
  EACCES: 'permission denied (a port below 1024 needs privileges)',
  EADDRNOTAVAIL: 'the address is not one of this machine',
};

/** A port that cannot be opened: one line naming the access direction, the address and the reason. */
export class ListenError extends Error {
  constructor(
    readonly channel: string,
    readonly host: string,
    readonly port: number,
    cause: NodeJS.ErrnoException,
  ) {
    super(`the ${channel} port ${host}:${port} cannot be opened: ${(cause.code && REASONS[cause.code]) ?? cause.message}`);
  }
}

/**
 * Whether `host:port` can be bound now, by binding and closing it: for listeners whose own library
 * reports a failure without its reason (uWebSockets.js), and to find every port taken before any
 * part of the switch starts. Port 0 always can.
 */
export function checkPort(channel: string, host: string, port: number): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => reject(new ListenError(channel, host, port, err)));
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve()));
  });
}
