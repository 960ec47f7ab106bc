export {
  DEFAULT_RISK_CONFIG,
  RISK_ACTIONS,
  riskConfig,
  type RiskConfig,
  type RiskAction,
  type RiskSignal,
  type PerCount,
} from './config.js';
export {
  assessRisk,
  type RiskAssessment,
  type RiskDecision,
  type RiskFacts,
  type RiskReason,
} from './engine.js';
export { RiskService, type RiskContext } from './service.js';
export {
  AuthEventLog,
  FAILURE_OUTCOMES,
  type AuthEvent,
  type AuthEventAction,
  type AuthOutcome,
} from './auth-events.js';
export { countOpenReports } from './reports.js';
export { isDisposableEmail } from './disposable.js';
export { ipPrefix } from './network.js';
