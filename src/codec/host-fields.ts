import { fieldTable, type FieldSpec } from './spec.js';

/** Host dialect (ISO 8583:1987, ASCII), PROTOCOL.md section 9. */
const HOST_FIELDS: readonly FieldSpec[] = [
  { id: 2, name: 'PAN', format: 'n', length: 'LL', max: 19 },
  { id: 3, name: 'processing code', format: 'n', length: 'fixed', max: 6 },
  { id: 4, name: 'amount', format: 'n', length: 'fixed', max: 12 },
  { id: 7, name: 'transmission date and time', format: 'n', length: 'fixed', max: 10 },
  { id: 11, name: 'STAN', format: 'n', length: 'fixed', max: 6 },
  { id: 12, name: 'local time', format: 'n', length: 'fixed', max: 6 },
  { id: 13, name: 'local date', format: 'n', length: 'fixed', max: 4 },
  { id: 14, name: 'expiry', format: 'n', length: 'fixed', max: 4 },
  { id: 15, name: 'settlement date', format: 'n', length: 'fixed', max: 4 },
  { id: 18, name: 'merchant category code', format: 'n', length: 'fixed', max: 4 },
  { id: 22, name: 'entry mode', format: 'n', length: 'fixed', max: 3 },
  { id: 25, name: 'condition code', format: 'n', length: 'fixed', max: 2 },
  { id: 32, name: 'acquirer id', format: 'n', length: 'LL', max: 11 },
  { id: 35, name: 'track 2', format: 'z', length: 'LL', max: 37 },
  { id: 37, name: 'RRN', format: 'an', length: 'fixed', max: 12 },
  { id: 38, name: 'auth code', format: 'an', length: 'fixed', max: 6 },
  { id: 39, name: 'response code', format: 'an', length: 'fixed', max: 2 },
  { id: 41, name: 'terminal id', format: 'ans', length: 'fixed', max: 8 },
  { id: 42, name: 'merchant id', format: 'ans', length: 'fixed', max: 15 },
  { id: 43, name: 'merchant name/location', format: 'ans', length: 'fixed', max: 40 },
  // Chosen (PROTOCOL.md section 9 names no field for it): the zone keys of a key exchange (0810/101).
  { id: 48, name: 'additional data (zone keys)', format: 'ans', length: 'LLL', max: 999 },
  { id: 49, name: 'currency', format: 'an', length: 'fixed', max: 3 },
  { id: 52, name: 'PIN block', format: 'b', length: 'fixed', max: 8 },
  { id: 54, name: 'additional amounts', format: 'an', length: 'LLL', max: 120 },
  { id: 64, name: 'MAC (primary)', format: 'b', length: 'fixed', max: 8 },
  { id: 70, name: 'network management code', format: 'n', length: 'fixed', max: 3 },
  { id: 90, name: 'original data elements', format: 'n', length: 'fixed', max: 42 },
  { id: 128, name: 'MAC', format: 'b', length: 'fixed', max: 8 },
];

export const HOST_TABLE = fieldTable(128, HOST_FIELDS);
