import type { TxnType } from '../../txn/index.js';
import { balanceInquiry, billPayment, refund, reversal, sale, transfer, voidOf } from './financial.js';
import type { TypeHandler } from './handler.js';
import { echo, signIn, signOff, statusUpload } from './management.js';
import { parameterDownload, parameterDownloadEnd, parameterQuery } from './parameters.js';
import { completion, preAuth, preAuthVoid } from './preauth.js';
import { batchUpload, batchUploadEnd, settlement } from './settlement.js';

export type { TypeHandler } from './handler.js';

/** Every transaction type the switch handles, and how. */
export const HANDLERS: Partial<Record<TxnType, TypeHandler>> = {
  'sign-in': signIn,
  'sign-off': signOff,
  echo,
  'status-upload': statusUpload,
  'balance-inquiry': balanceInquiry,
  sale,
  'sale-void': voidOf('sale'),
  refund,
  'pre-auth': preAuth,
  'pre-auth-void': preAuthVoid,
  'pre-auth-completion': completion,
  'pre-auth-completion-notice': completion,
  'completion-void': voidOf('pre-auth-completion'),
  transfer,
  'bill-payment': billPayment,
  reversal,
  settlement,
  'batch-upload': batchUpload,
  'batch-upload-end': batchUploadEnd,
  'parameter-download': parameterDownload('magstripe'),
  'parameter-download-end': parameterDownloadEnd('magstripe'),
  'ca-key-download': parameterDownload('ca-key'),
  'ca-key-download-end': parameterDownloadEnd('ca-key'),
  'ca-key-query': parameterQuery('ca-key'),
  'aid-download': parameterDownload('aid'),
  'aid-download-end': parameterDownloadEnd('aid'),
  'aid-query': parameterQuery('aid'),
};
