import type { EvidenceVerdict, ReportReason } from '@conclave/protocol';

/** The six reasons as the dialog, the account page and the console word them. */
export const REASON_TEXT: Record<ReportReason, string> = {
  harassment: 'Harassment or bullying',
  hate: 'Hate speech',
  sexual_content: 'Sexual content',
  spam: 'Spam or scams',
  impersonation: 'Pretending to be someone else',
  other: 'Something else',
};

/** A verdict as a badge says it (the server's and the console's own checks use the same words). */
export const VERDICT_TEXT: Record<EvidenceVerdict, string> = {
  account_key: 'Signed by this account’s registered device key',
  guest_key: 'Signed by a guest key',
  server_relayed: 'Relayed by this server exactly so (its seal checks)',
  verified: 'Verified from this sender',
  unverified: 'Unverified',
  does_not_verify: 'Does not verify',
};
