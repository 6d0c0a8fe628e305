import { fieldTable, type FieldSpec } from './spec.js';

/** Terminal dialect (China UnionPay POS), PROTOCOL.md section 2. */
const CUP_FIELDS: readonly FieldSpec[] = [
  { id: 2, name: 'PAN', format: 'n', length: 'LL', max: 19 },
  { id: 3, name: 'processing code', format: 'n', length: 'fixed', max: 6 },
  { id: 4, name: 'amount', format: 'n', length: 'fixed', max: 12 },
  { id: 11, name: 'STAN', format: 'n', length: 'fixed', max: 6 },
  { id: 12, name: 'local time', format: 'n', length: 'fixed', max: 6 },
  { id: 13, name: 'local date', format: 'n', length: 'fixed', max: 4 },
  { id: 14, name: 'expiry', format: 'n', length: 'fixed', max: 4 },
  { id: 15, name: 'settlement date', format: 'n', length: 'fixed', max: 4 },
  { id: 22, name: 'entry mode', format: 'n', length: 'fixed', max: 3, align: 'left' },
  { id: 23, name: 'card sequence number', format: 'n', length: 'fixed', max: 3 },
  { id: 25, name: 'condition code', format: 'n', length: 'fixed', max: 2 },
  { id: 26, name: 'max PIN length', format: 'n', length: 'fixed', max: 2 },
  { id: 32, name: 'acquirer id', format: 'n', length: 'LL', max: 11 },
  { id: 35, name: 'track 2', format: 'z', length: 'LL', max: 37 },
  { id: 36, name: 'track 3', format: 'z', length: 'LLL', max: 104 },
  { id: 37, name: 'RRN', format: 'an', length: 'fixed', max: 12 },
  { id: 38, name: 'auth code', format: 'an', length: 'fixed', max: 6 },
  { id: 39, name: 'response code', format: 'an', length: 'fixed', max: 2 },
  { id: 41, name: 'terminal id', format: 'ans', length: 'fixed', max: 8 },
  { id: 42, name: 'merchant id', format: 'ans', length: 'fixed', max: 15 },
  { id: 44, name: 'issuer/acquirer ids', format: 'an', length: 'LL', max: 25 },
  { id: 48, name: 'additional data', format: 'n', length: 'LLL', max: 322 },
  { id: 49, name: 'currency', format: 'an', length: 'fixed', max: 3 },
  { id: 52, name: 'PIN block', format: 'b', length: 'fixed', max: 8 },
  { id: 53, name: 'security control', format: 'n', length: 'fixed', max: 16 },
  { id: 54, name: 'balance', format: 'an', length: 'LLL', max: 20 },
  { id: 55, name: 'IC data', format: 'b', length: 'LLL', max: 255 },
  { id: 60, name: 'reserved private 60', format: 'n', length: 'LLL', max: 19 },
  { id: 61, name: 'original data', format: 'n', length: 'LLL', max: 29 },
  { id: 62, name: 'reserved private 62', format: 'b', length: 'LLL', max: 512 },
  { id: 63, name: 'reserved private 63', format: 'ans', length: 'LLL', max: 163 },
  { id: 64, name: 'MAC', format: 'b', length: 'fixed', max: 8 },
];

export const CUP_TABLE = fieldTable(64, CUP_FIELDS);
