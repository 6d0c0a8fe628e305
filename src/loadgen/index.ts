export { SimTerminal, ResponseMacError, type CardData, type FrameTransport, type Receipt, type SimTerminalOptions } from './terminal.js';
export { runHttpLoad, type HttpClientCredentials, type HttpLoadOptions } from './http.js';
export { FULL_DAY_MIX, UsageError, defaultLoadTarget, parseMix, runLoad, type LoadOptions, type LoadReport, type MixKind, type Scenario } from './load.js';
