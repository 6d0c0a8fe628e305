// Public surface of the host simulator: `posp sim-host` runs it as its own process; tests and
// `posp start --host-sim` can run it in-process.

export { HostSimulator, type HostSimulatorOptions } from './simulator.js';
export {
  DEMO_ZMK,
  SIM_HOST_DEFAULTS,
  SIM_HOST_USAGE,
  SimHostConfigError,
  parseSimHostOptions,
  type HostSimOptions,
} from './options.js';
export { SETTLEMENT_COLUMNS, settlementFileName } from './settlement.js';
