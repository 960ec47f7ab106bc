export { ModerationActions, type ActionResult, type MeetingEnder, type Moderator } from './actions.js';
export { BannedKeys, bannedKeyHash } from './banned-keys.js';
export { EvidenceUnavailable, openReportEvidence } from './evidence.js';
export { ModerationLog } from './log.js';
export {
  listReports,
  reportDetail,
  reportRow,
  resolveAccount,
  VERDICT_WORDS,
  verificationSummary,
} from './queue.js';
