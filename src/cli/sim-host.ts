import pino from 'pino';
import { HostSimulator, SIM_HOST_USAGE, SimHostConfigError, parseSimHostOptions } from '../hostsim/index.js';

/** `posp sim-host`: the host simulator as its own process until SIGINT/SIGTERM. */
export async function simHostCommand(args: string[], io: { out: (s: string) => void; err: (s: string) => void }): Promise<number> {
  let options;
  try {
    options = parseSimHostOptions(args, process.env);
  } catch (err) {
    if (err instanceof SimHostConfigError) {
      io.err(err.message);
      return 2;
    }
    throw err;
  }
  const log = pino({ level: options.logLevel });
  const simulator = new HostSimulator({ ...options, log });
  await simulator.start();
  io.out(`posp sim-host: listening on ${options.host}:${simulator.port}, data in ${options.dataDir}`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  log.info('stopping');
  await simulator.stop();
  return 0;
}

export { SIM_HOST_USAGE };
