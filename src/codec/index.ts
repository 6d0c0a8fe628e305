export { FormatError } from './errors.js';
export { IsoMessage } from './message.js';
export type { FieldFormat, FieldSpec, FieldTable, FieldValue, LengthKind } from './spec.js';
export { CUP_TABLE } from './cup-fields.js';
export { HOST_TABLE } from './host-fields.js';
export {
  LENGTH_PREFIX,
  TerminalMessage,
  decodeTerminalFrame,
  encodeTerminalFrame,
  locateField,
  packTerminalFrame,
  responseTpdu,
  withProcessingRequirement,
} from './terminal.js';
export { HOST_LENGTH_PREFIX, HostMessage, decodeHostFrame, encodeHostFrame, packHostFrame } from './host.js';
export * from './subfields.js';
export { fromHex, toHex } from './bcd.js';
export { messageToJson } from './json.js';
