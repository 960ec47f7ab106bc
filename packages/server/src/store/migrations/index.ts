import type { Migration } from 'kysely';
import * as m0001 from './0001_meetings.js';
import * as m0002 from './0002_server_keys.js';
import * as m0003 from './0003_passcode_attempts.js';
import * as m0004 from './0004_accounts.js';
import * as m0005 from './0005_phone_verification.js';
import * as m0006 from './0006_auth_events.js';
import * as m0007 from './0007_meeting_host_user.js';
import * as m0008 from './0008_admission.js';
import * as m0009 from './0009_pending_codes_in_memory.js';
import * as m0010 from './0010_reports.js';

/**
 * Every migration, by name. A static list (not a folder scan) so it works when bundled.
 * Names sort in the order they run; never rename or edit a migration that has shipped:
 * add a new one.
 */
export const MIGRATIONS: Record<string, Migration> = {
  '0001_meetings': m0001,
  '0002_server_keys': m0002,
  '0003_passcode_attempts': m0003,
  '0004_accounts': m0004,
  '0005_phone_verification': m0005,
  '0006_auth_events': m0006,
  '0007_meeting_host_user': m0007,
  '0008_admission': m0008,
  '0009_pending_codes_in_memory': m0009,
  '0010_reports': m0010,
};
