export { SimTerminal, ResponseMacError, type CardData, type Receipt, type SimTerminalOptions } from './terminal.js';
export { UsageError, defaultLoadTarget, parseMix, runLoad, type LoadOptions, type LoadReport, type MixKind } from './load.js';
