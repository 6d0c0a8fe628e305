export { Ledger } from './ledger.js';
export { auditLedger, type AuditReport } from './audit.js';
