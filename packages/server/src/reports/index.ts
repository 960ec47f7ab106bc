export {
  adminCreateModerationKey,
  adminModerationKeyStatus,
  type CreatedModerationKey,
  type ModerationKeyStatus,
} from './moderation-key-admin.js';
