/**
 * The protocol's words, by name (PROTOCOL.md sections 2, 7 and 8): response codes, terminal
 * field numbers, and the lists of request fields a response repeats. Code says `RC.WRONG_PIN`
 * and `F.PIN_BLOCK`; the digits live here once.
 */

/** Response codes (F39), PROTOCOL.md section 7. */
export const RC = {
  APPROVED: '00',
  REFER_TO_ISSUER: '01',
  INVALID_MERCHANT: '03',
  PICK_UP: '04',
  DO_NOT_HONOUR: '05',
  INVALID_TRANSACTION: '12',
  INVALID_AMOUNT: '13',
  INVALID_CARD: '14',
  NO_SUCH_ISSUER: '15',
  SUSPECTED_MALFUNCTION: '22',
  ORIGINAL_NOT_FOUND: '25',
  FORMAT_ERROR: '30',
  FUNCTION_NOT_SUPPORTED: '40',
  LOST_CARD: '41',
  STOLEN_CARD: '43',
  INSUFFICIENT_FUNDS: '51',
  EXPIRED_CARD: '54',
  WRONG_PIN: '55',
  NOT_PERMITTED_TO_CARD: '57',
  NOT_PERMITTED_TO_TERMINAL: '58',
  EXCEEDS_AMOUNT_LIMIT: '61',
  ORIGINAL_AMOUNT_INCORRECT: '64',
  EXCEEDS_FREQUENCY_LIMIT: '65',
  PIN_TRIES_EXCEEDED: '75',
  BATCH_MISMATCH: '77',
  CUT_OVER_IN_PROGRESS: '90',
  ISSUER_UNAVAILABLE: '91',
  DUPLICATE_TRANSACTION: '94',
  SYSTEM_MALFUNCTION: '96',
  TERMINAL_NOT_REGISTERED: '97',
  NO_ISSUER_RESPONSE: '98',
  PIN_FORMAT_ERROR: '99',
  MAC_ERROR: 'A0',
} as const;

export type ResponseCode = (typeof RC)[keyof typeof RC];

/** Terminal fields by name (PROTOCOL.md section 2). */
export const F = {
  PAN: 2,
  PROCESSING_CODE: 3,
  AMOUNT: 4,
  STAN: 11,
  LOCAL_TIME: 12,
  LOCAL_DATE: 13,
  EXPIRY: 14,
  SETTLEMENT_DATE: 15,
  ENTRY_MODE: 22,
  CARD_SEQUENCE: 23,
  CONDITION_CODE: 25,
  ACQUIRER_ID: 32,
  TRACK_2: 35,
  RRN: 37,
  AUTH_CODE: 38,
  RESPONSE_CODE: 39,
  TERMINAL_ID: 41,
  MERCHANT_ID: 42,
  ISSUER_ACQUIRER: 44,
  ADDITIONAL_DATA: 48,
  CURRENCY: 49,
  PIN_BLOCK: 52,
  BALANCE: 54,
  RESERVED_60: 60,
  ORIGINAL_DATA: 61,
  RESERVED_62: 62,
  RESERVED_63: 63,
  MAC: 64,
} as const;

/** Request fields a financial response repeats (PROTOCOL.md sections 2–3). */
export const FINANCIAL_ECHO: readonly number[] = [
  F.PAN, F.PROCESSING_CODE, F.AMOUNT, F.STAN, F.EXPIRY, F.ENTRY_MODE, F.CARD_SEQUENCE, F.CONDITION_CODE,
  F.TERMINAL_ID, F.MERCHANT_ID, F.CURRENCY, F.RESERVED_60, F.ORIGINAL_DATA,
];

/** Request fields a management response repeats. */
export const MANAGEMENT_ECHO: readonly number[] = [F.STAN, F.TERMINAL_ID, F.MERCHANT_ID, F.RESERVED_60];

/** Fields a reversal repeats from its original (PROTOCOL.md section 8). */
export const REVERSAL_REPEATS: readonly number[] = [
  F.PAN, F.PROCESSING_CODE, F.AMOUNT, F.STAN, F.EXPIRY, F.ENTRY_MODE, F.CARD_SEQUENCE, F.CONDITION_CODE,
  F.AUTH_CODE, F.CURRENCY, F.RESERVED_60, F.ORIGINAL_DATA,
];

/** Host dialect field numbers (PROTOCOL.md section 9) by name: the switch's host links and the host simulator speak it. */
export const HF = {
  PAN: 2,
  PROCESSING_CODE: 3,
  AMOUNT: 4,
  TRANSMISSION_TIME: 7,
  STAN: 11,
  LOCAL_TIME: 12,
  LOCAL_DATE: 13,
  EXPIRY: 14,
  MERCHANT_CATEGORY: 18,
  ENTRY_MODE: 22,
  CONDITION_CODE: 25,
  ACQUIRER_ID: 32,
  TRACK_2: 35,
  RRN: 37,
  AUTH_CODE: 38,
  RESPONSE_CODE: 39,
  TERMINAL_ID: 41,
  MERCHANT_ID: 42,
  MERCHANT_NAME: 43,
  /** Chosen: the zone keys of a key exchange answer (0810, F70 101). */
  ZONE_KEYS: 48,
  CURRENCY: 49,
  PIN_BLOCK: 52,
  BALANCE: 54,
  NETWORK_CODE: 70,
  ORIGINAL_DATA: 90,
  MAC: 128,
} as const;

/** F70 network management codes of the host dialect. */
export const NMC = {
  SIGN_ON: '001',
  SIGN_OFF: '002',
  KEY_EXCHANGE: '101',
  ECHO: '301',
} as const;
