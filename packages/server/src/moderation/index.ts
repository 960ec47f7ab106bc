export { ModerationActions, type ActionResult, type MeetingEnder, type Moderator } from './actions.js';
export { BannedKeys, bannedKeyHash } from './banned-keys.js';
export { ModerationLog } from './log.js';
export { listReports, reportDetail, resolveAccount, VERDICT_WORDS, verificationSummary } from './queue.js';
