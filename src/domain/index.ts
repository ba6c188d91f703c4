export { RATE_SCALE, applyRate, formatMoney, formatRate, parseMoney, parseRate } from './money.ts';
export type { Rate } from './money.ts';
export {
  DEFAULT_RULES,
  InvalidRulesError,
  ORDER_STATUSES,
  SEVERITIES,
  TIERS,
  compileRules,
  isOrderStatus,
  isTier,
  normalizeCategory,
  taxRateFor,
} from './rules.ts';
export type { BusinessRules, CompiledRules, OrderStatus, Severity, Tier } from './rules.ts';
export { fraudAlertFor, processOrder } from './process-order.ts';
export type { CustomerRow, FraudAlert, ProcessedOrder, ProcessedStatus, ProductRow, SourceOrder } from './process-order.ts';
export {
  EMPTY_SUMMARY,
  addContribution,
  parseSummaryKey,
  retractContribution,
  summaryKeyOf,
  windowEndFor,
  windowStartFor,
} from './windows.ts';
export type { SummaryAccumulator, SummaryKey } from './windows.ts';
export { DEFAULT_PATTERNS, MAX_ESCALATION_MINUTES, PATTERN_KINDS, THRESHOLD_PATTERN, alignmentMinutes, countsForFanIn, escalationAlert, fanInAlert, isFanIn, isWindowed, patternAlert, patternWindowEnd, patternWindowStart, velocityAlert } from './patterns.ts';
export type { CompiledEscalation, CompiledFanIn, CompiledPattern, CompiledVelocity, EscalationRule, FanInContribution, FanInRule, PatternKind, PatternRule, VelocityRule } from './patterns.ts';
