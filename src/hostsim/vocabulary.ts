import { HF } from '../txn/index.js';

/** Request fields every 0110/0210/0230/0430 repeats when the request had them. */
export const TRANSACTION_ECHO: readonly number[] = [
  HF.PAN, HF.PROCESSING_CODE, HF.AMOUNT, HF.TRANSMISSION_TIME, HF.STAN, HF.ACQUIRER_ID, HF.RRN,
  HF.TERMINAL_ID, HF.MERCHANT_ID, HF.CURRENCY,
];

/** Request fields an 0810 repeats. */
export const NETWORK_ECHO: readonly number[] = [HF.TRANSMISSION_TIME, HF.STAN, HF.NETWORK_CODE];
