import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fromBase64, verifyChatEvidence, verifyMembershipProof } from '@conclave/crypto';
import { e2eeAppPayloadSchema, submitReportRequest, type ChatEvidence } from '@conclave/protocol';
import { buildReport, type ConclaveClient, type ReportableMeeting } from '../src/index.js';
import { client, startHubServer, until, type HubServer } from './harness.js';

let server: HubServer;
let clients: ConclaveClient[] = [];
beforeEach(async () => {
  server = await startHubServer({ commitTimeoutMs: 1_000, rekeyMs: 0 });
});
afterEach(async () => {
  await Promise.all(clients.map((c) => c.leave().catch(() => undefined)));
  clients = [];
  await server.close();
});

function join(meetingId: string, name: string, extra = {}) {
  const c = client(server, meetingId, name, extra);
  clients.push(c);
  return c;
}

/** What a moderator would read from one mls_chat item of a request: the signed text, or why not. */
async function check(req: ReturnType<typeof buildReport>, item: ChatEvidence): Promise<string> {
  if (item.kind !== 'mls_chat') throw new Error('expected mls_chat');
  const proof = req.evidence.proofs[item.proof]!;
  const group = await verifyMembershipProof({
    groupContext: fromBase64(proof.groupContext),
    ratchetTree: fromBase64(proof.ratchetTree),
  });
  const r = await verifyChatEvidence(
    { framedContent: fromBase64(item.framedContent), signature: fromBase64(item.signature) },
    group,
  );
  if (!r.ok) return `does not verify: ${r.reason}`;
  const payload = e2eeAppPayloadSchema.parse(JSON.parse(new TextDecoder().decode(r.applicationData)));
  return `${r.sender.identity.displayName}: ${payload.kind === 'chat' ? payload.text : '?'}`;
}

describe('Report a User: the evidence a reporter\u2019s SDK keeps and attaches', () => {
  it('E2EE chat from another member, across a rekey, is attached with proofs a third party verifies', async () => {
    const { id, hostSecret } = server.directory.add('meeting-report');
    const host = join(id, 'host', { hostSecret });
    await host.connect();
    const mallory = join(id, 'mallory');
    await mallory.connect();
    await until(() => host.roster().length === 2 && mallory.e2ee.active && host.e2ee.active, 'group of two');
    await mallory.sendChat('first insult');
    await until(() => host.reportable()!.chat.length === 1, 'first message');
    // a third member joins: a new epoch, the next message is signed under it
    const carol = join(id, 'carol');
    await carol.connect();
    await until(() => [host, mallory, carol].every((c) => c.e2ee.active && c.roster().length === 3), 'three');
    await mallory.sendChat('second insult');
    await carol.sendChat('carol is fine');
    await until(() => host.reportable()!.chat.length === 3, 'all messages');

    const snapshot: ReportableMeeting = JSON.parse(JSON.stringify(host.reportable())); // survives storage
    expect(snapshot.mode).toBe('e2ee');
    expect(snapshot.attestation).toBe(true);
    const reported = snapshot.people.find((p) => p.displayName === 'mallory')!;
    expect(reported.signatureKey).toBeDefined();
    expect(snapshot.people.find((p) => p.isSelf)?.displayName).toBe('host');
    const fromMallory = snapshot.chat.filter((c) => c.senderKey === reported.signatureKey);
    expect(fromMallory.map((c) => c.text)).toEqual(['first insult', 'second insult']);
    expect(new Set(fromMallory.map((c) => c.proofEpoch)).size).toBe(2);

    const req = buildReport(snapshot, {
      reported,
      reason: 'harassment',
      text: '  she insulted me twice ',
      chatIds: fromMallory.map((c) => c.id),
    });
    expect(submitReportRequest.safeParse(req).success).toBe(true);
    expect(req.text).toBe('she insulted me twice');
    expect(req.evidence.proofs).toHaveLength(2);
    expect(await Promise.all(req.evidence.chat.map((c) => check(req, c)))).toEqual([
      'mallory: first insult',
      'mallory: second insult',
    ]);

    // Carol's message cannot be passed off as Mallory's, nor can the reporter report itself.
    const carolsMessage = snapshot.chat.find((c) => c.text === 'carol is fine')!;
    expect(() =>
      buildReport(snapshot, { reported, reason: 'other', text: '', chatIds: [carolsMessage.id] }),
    ).toThrow(/not from mallory/);
    expect(() =>
      buildReport(snapshot, {
        reported: snapshot.people.find((p) => p.isSelf)!,
        reason: 'other',
        text: '',
        chatIds: [],
      }),
    ).toThrow(/yourself/);

    // A reporter that edits a message's text in the request gets "does not verify".
    const first = req.evidence.chat[0]!;
    if (first.kind !== 'mls_chat') throw new Error('unreachable');
    const content = fromBase64(first.framedContent);
    const at = new TextDecoder().decode(content).indexOf('first insult');
    content[at] = 'F'.charCodeAt(0);
    const edited = { ...first, framedContent: Buffer.from(content).toString('base64') };
    expect(await check(req, edited)).toMatch(/^does not verify/);
  });

  it('a departed participant stays reportable, and nothing of a standard meeting is claimed as signed', async () => {
    const { id, hostSecret } = server.directory.add('meeting-standard', { mode: 'standard' });
    const host = join(id, 'host', { hostSecret });
    await host.connect();
    const bob = join(id, 'bob');
    await bob.connect();
    await until(() => host.participants().length === 2, 'two joined');
    await bob.sendChat('spam spam');
    await until(() => host.reportable()!.chat.length === 1, 'chat');
    host.reportable(); // notes the people shown now
    await bob.leave();
    await until(() => host.participants().length === 1, 'bob left');
    const snapshot = host.reportable()!;
    const bobSeen = snapshot.people.find((p) => p.displayName === 'bob');
    expect(bobSeen?.participantId).toBe(bob.participantId);
    expect(bobSeen?.signatureKey).toBeUndefined();
    const msg = snapshot.chat[0]!;
    expect(msg).toMatchObject({ from: bob.participantId, senderName: 'bob', text: 'spam spam' });
    // This test hub relays without a seal (the real server seals: server/test/reports/server-chat.test.ts):
    // an unsealed message is shown but cannot be attached as evidence.
    expect(msg.evidence).toBeUndefined();
    expect(() =>
      buildReport(snapshot, { reported: bobSeen!, reason: 'spam', text: '', chatIds: [msg.id] }),
    ).toThrow(/no evidence/);
  });
});
