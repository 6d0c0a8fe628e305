export { AdminServer, type AdminStatus } from './admin.js';
export { renderMetrics, type Metric } from './metrics.js';
export { loadUws } from './uws.js';
export { findReceipt, receiptHtml, receiptText, type ReceiptData } from './receipt.js';
