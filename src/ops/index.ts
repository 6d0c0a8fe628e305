export { AdminServer, type AdminApiOptions, type AdminStatus } from './admin.js';
export { newAdminToken } from './auth.js';
export type { ReferenceBook } from './reference.js';
export { renderMetrics, type Metric } from './metrics.js';
export { loadUws } from './uws.js';
export { findReceipt, receiptHtml, receiptText, type ReceiptData } from './receipt.js';
