import { newAdminToken } from '../ops/index.js';
import { ConfigError, START_USAGE, loadConfig, startSwitch } from '../switch/index.js';
import { ListenError } from '../channels/index.js';

/** `posp start`: runs the switch until SIGINT/SIGTERM, then stops it cleanly. */
export async function startCommand(args: string[], io: { out: (s: string) => void; err: (s: string) => void }): Promise<number> {
  let config;
  try {
    config = loadConfig(args, process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(err.message);
      return 2;
    }
    throw err;
  }
  // A demo without a token gets one for this run, shown once here and nowhere else (never logged).
  const generatedToken = config.demo && config.adminToken === undefined ? newAdminToken() : undefined;
  let running;
  try {
    running = await startSwitch({ ...config, adminToken: config.adminToken ?? generatedToken });
  } catch (err) {
    if (!(err instanceof ListenError)) throw err;
    io.err(`posp: ${err.message}`);
    // Parts already started (threads) would keep the process alive: a port lost after the start's own check ends it here.
    process.exit(1);
  }
  io.out(`posp: terminals on ${config.host}:${running.posPort}, admin and monitor on http://${config.host}:${running.adminPort}/health, data in ${config.dataDir}, business date ${running.businessDate}${running.hostSimPort === undefined ? '' : `, host simulator on ${config.host}:${running.hostSimPort}`}${running.apiPort === undefined ? '' : `, HTTP channel on ${config.host}:${running.apiPort}`}; recovery replayed ${running.replayed} journal entries in ${running.recoveryMs} ms`);
  if (generatedToken !== undefined) io.out(`admin token: ${generatedToken}`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  running.log.info('stopping');
  await running.close();
  return 0;
}

export { START_USAGE };
