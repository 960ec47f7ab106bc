import type { ExternalSender } from '@conclave/crypto';
import type { LogSink } from './logger.js';
import { DbAdmissionStore } from './meeting-store/admission-records.js';
import { MeetingStore, type MeetingStoreOptions } from './meeting-store/meeting-store.js';
import { loadOrCreateExternalSender } from './meeting-store/server-key.js';
import { createDatabase, truncateWal } from './store/database.js';
import { migrateToLatest } from './store/migrate.js';
import type { Db } from './store/schema.js';

export interface StorageOptions {
  dataDir: string;
  /** The meeting store's options (clock, passcode limits). */
  meetingStore: MeetingStoreOptions;
  /** Resume tokens of participants connected when the last process stopped get this grace. */
  resumeGraceMs: number;
  logger: LogSink;
}

const WAL_TRUNCATE_INTERVAL_MS = 60_000;

/** The storage part: the database and what lives in it. */
export interface Storage {
  db: Db;
  meetings: MeetingStore;
  /** Resume tokens and removal marks (the hub's admission records). */
  admission: DbAdmissionStore;
  /** The delivery service's MLS external-sender key (`server_keys`). */
  externalSender: ExternalSender;
  /** Closes the database. */
  close(): Promise<void>;
}

/**
 * Opens the database (creating and migrating it as needed), loads or makes the server's MLS
 * external-sender key and carries the admission records over a restart. A failure on the way
 * closes the database again. Once a minute the WAL is truncated (store/database.ts): rows
 * deleted since (sessions, resume tokens, …) leave no old page behind for longer than that.
 */
export async function openStorage(options: StorageOptions): Promise<Storage> {
  const { logger } = options;
  const db = createDatabase({ dataDir: options.dataDir });
  try {
    const applied = await migrateToLatest(db);
    if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated');
    const externalSender = await loadOrCreateExternalSender(db);
    const meetings = new MeetingStore(db, {
      ...options.meetingStore,
      onListenerError: (err) => logger.error({ err }, 'meeting change listener failed'),
    });
    const admission = new DbAdmissionStore(db);
    await admission.afterRestart(options.resumeGraceMs);
    const scrub = setInterval(() => void truncateWal(db), WAL_TRUNCATE_INTERVAL_MS);
    scrub.unref();
    const close = async () => {
      clearInterval(scrub);
      await db.destroy();
    };
    return { db, meetings, admission, externalSender, close };
  } catch (err) {
    await db.destroy();
    throw err;
  }
}
