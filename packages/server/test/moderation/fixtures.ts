import type { ReportVerification } from '@conclave/protocol';
import { adminSetRole, type Db } from '../../src/index.js';
import type { ReportsTable } from '../../src/store/schema.js';
import type { Harness, TestClient } from '../accounts/harness.js';

let counter = 0;

/**
 * A report as the submission route (test/reports/) stores it, written as a row: these tests
 * are about what moderators do with reports, not how they arrive.
 */
export async function insertReport(
  db: Db,
  fields: Partial<Omit<ReportsTable, 'verification'>> & { verification?: ReportVerification } = {},
): Promise<string> {
  const id = fields.id ?? `report-${++counter}-${Math.random().toString(36).slice(2, 8)}`;
  const { verification, ...rest } = fields;
  await db
    .insertInto('reports')
    .values({
      meeting_id: 'meeting0000a',
      status: 'open',
      reason: 'harassment',
      text: 'they kept shouting',
      reporter_user_id: null,
      reporter_network: '198.51.100.0/24',
      reported_user_id: null,
      reported_guest_key: null,
      reported_name: 'Reported',
      sealed_evidence: null,
      sealed_key_id: null,
      evidence_expires_at: null,
      created_at: new Date().toISOString(),
      decided_at: null,
      outcome: null,
      ...rest,
      id,
      verification: JSON.stringify(verification ?? { chat: [], screenshots: 0 }),
    })
    .execute();
  return id;
}

/** A signed-in admin account (role set as `conclave admin role` does). */
export async function signedInAdmin(
  h: Harness,
  email = 'mod@example.org',
  ip = '203.0.113.50',
): Promise<TestClient> {
  const c = h.client(ip);
  await c.signup(email);
  await adminSetRole(h.db, email, 'admin');
  return c;
}
