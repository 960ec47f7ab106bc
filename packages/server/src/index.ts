export {
  loadConfig,
  ConfigError,
  CONFIG_HELP,
  LOG_LEVELS,
  type ServerConfig,
  type LogLevel,
} from './config.js';
export { createLogger, REDACT_PATHS, type Logger, type LoggerOptions } from './logger.js';
export { SIGNALING_PATH } from './ws-endpoint.js';
export { buildHttpApp, type HttpAppDeps } from './http/app.js';
export { HTTP_BODY_LIMIT } from './http/errors.js';
export { HOST_SECRET_HEADER } from './http/meeting-routes.js';
export {
  TokenBucketLimiter,
  DEFAULT_CREATE_MEETING_LIMIT,
  type TokenBucketOptions,
} from './http/rate-limit.js';
export {
  MeetingStore,
  type MeetingStoreOptions,
  type MeetingChange,
  type PasscodeCheck,
} from './meeting-store/meeting-store.js';
export { DEFAULT_PASSCODE_LIMIT, type PasscodeLimit } from './meeting-store/passcode-limiter.js';
export { clientKeyForIp } from './meeting-store/client-key.js';
export { loadOrCreateExternalSender, EXTERNAL_SENDER_KEY_NAME } from './meeting-store/server-key.js';
export { createDatabase, SQLITE_FILE_NAME } from './store/database.js';
export { migrateToLatest, appliedMigrations, MigrationError } from './store/migrate.js';
export type { Db, DatabaseSchema } from './store/schema.js';
export { SERVER_VERSION } from './version.js';
export { startConclave, type ConclaveServer, type ConclaveStartOptions } from './conclave.js';
export type { Storage } from './storage.js';
export * from './accounts/index.js';
export * from './verification/index.js';
export * from './risk/index.js';
export * from './moderation/index.js';
export * from './reports/index.js';
