export {
  FINANCIAL_TYPES,
  MANAGEMENT_TYPES,
  MAC_MTIS,
  classify,
  financialSpec,
  requestMti,
  responseMti,
  type Classification,
  type FinancialSpec,
  type FinancialType,
  type ManagementSpec,
  type ManagementType,
  type TxnType,
} from './types.js';
export { expired, luhnCheckDigit, luhnValid, maskPan } from './card.js';
export { F, FINANCIAL_ECHO, HF, MANAGEMENT_ECHO, NMC, RC, REVERSAL_REPEATS, type ResponseCode } from './vocabulary.js';
export { batchOf, requestKey, requestKeyOf } from './keys.js';
export { dayAfter, dayNumber, isDate, localDate, parseBusinessDate } from './dates.js';
export { ROUTE_TIMEOUT_MS, RoutingTable, pickLink, routeProblem, type Route, type RouteQuery, type RouteTarget } from './routing.js';
export {
  CARD_STATUSES,
  CHANNEL_STATES,
  REFERENCE_SPECS,
  expected,
  fieldProblem,
  isSpecifiedTable,
  keyProblem,
  referenceProblem,
  shownKey,
  shownRecord,
  type FieldSpec,
  type ReferenceRecords,
  type SpecifiedTable,
  type TableSpec,
} from './reference-rules.js';
export { RISK_KINDS, RISK_KIND_NAMES, RiskRuleSet, SCREENING, ruleCode, type RiskKind, type RiskRule } from './risk-rules.js';
