import type { ServerMessageOf } from '@conclave/protocol';
import { submitReportResponse } from '@conclave/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../src/index.js';
import { ChatSealer } from '../../src/reports/chat-seal.js';
import { hostMeeting, ModifiedClient, startAttackServer, type AttackServer } from '../attacks/harness.js';

/**
 * Standard meetings: the server relays chat in clear and seals what it relayed; a report
 * attaches the sealed messages (`server_chat`) and the server checks its seal. Over a real
 * `conclave serve` and two clients on the signaling socket.
 */
describe('Report a User: a standard meeting’s chat, sealed by the server', () => {
  let ts: AttackServer;
  beforeAll(async () => {
    ts = await startAttackServer();
  });
  afterAll(async () => ts.close());

  async function report(from: string, body: Record<string, unknown>) {
    const res = await fetch(`${ts.url}/api/reports`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': from },
      body: JSON.stringify({ v: 1, reason: 'harassment', ...body }),
    });
    return { status: res.status, body: (await res.json()) as unknown };
  }

  it('a relayed message carries sentAt and a seal; reported, it verifies as relayed; a changed text, sender or time does not', async () => {
    const { meetingId } = await hostMeeting(ts, { mode: 'standard' });
    const sender = await ModifiedClient.create(ts, { forwardedFor: '192.0.2.10' });
    const receiver = await ModifiedClient.create(ts, { forwardedFor: '198.51.100.10' });
    const joinedSender = await sender.join(meetingId);
    const joinedReceiver = await receiver.join(meetingId);
    expect(joinedSender.type).toBe('joined');
    expect(joinedReceiver.type).toBe('joined');
    const senderId = sender.resume!.participantId;
    const receiverId = receiver.resume!.participantId;

    const before = Date.now();
    const from = receiver.got.length;
    sender.send({ type: 'chat', text: 'you will regret this' });
    const chat = await receiver.next<ServerMessageOf<'chat'>>(
      (m) => m.type === 'chat',
      'the relayed chat',
      from,
    );
    expect(chat).toMatchObject({ text: 'you will regret this', from: senderId });
    expect(chat.sentAt).toBeGreaterThanOrEqual(before);
    expect(chat.sentAt).toBeLessThanOrEqual(Date.now());
    expect(chat.seal).toMatch(/^[A-Za-z0-9+/]{43}=$/);

    // the seal is the server's HMAC over meeting, sender, text and time
    const db = createDatabase({ dataDir: ts.dataDir });
    try {
      const sealer = await ChatSealer.loadOrCreate(db);
      const relayed = { meetingId, from: senderId, text: chat.text, sentAt: chat.sentAt! };
      expect(sealer.verify(relayed, chat.seal!)).toBe(true);
      expect(sealer.verify({ ...relayed, meetingId: 'othermeeting' }, chat.seal!)).toBe(false);
    } finally {
      await db.destroy();
    }

    const item = {
      kind: 'server_chat',
      from: senderId,
      displayName: 'Mallory',
      text: chat.text,
      sentAt: chat.sentAt,
      seal: chat.seal,
    };
    const res = await report('198.51.100.10', {
      meetingId,
      reported: { participantId: senderId, displayName: 'Mallory' },
      evidence: {
        chat: [
          item,
          { ...item, text: 'you will regret this!' },
          { ...item, sentAt: chat.sentAt! + 1 },
          { ...item, from: receiverId },
        ],
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const verdicts = submitReportResponse.parse(res.body).report.verification.chat;
    expect(verdicts.map((v) => v.verdict)).toEqual([
      'server_relayed',
      'does_not_verify',
      'does_not_verify',
      'does_not_verify',
    ]);
    expect(verdicts[0]).toMatchObject({
      text: 'you will regret this',
      sentAt: chat.sentAt,
      senderName: 'Mallory',
    });
    expect(verdicts[1]!.detail).toMatch(/seal/);

    // A sealed message of the sender does not verify in a report against someone else.
    const res2 = await report('203.0.113.10', {
      meetingId,
      reported: { participantId: receiverId, displayName: 'Receiver' },
      evidence: { chat: [item] },
    });
    expect(res2.status, JSON.stringify(res2.body)).toBe(201);
    expect(submitReportResponse.parse(res2.body).report.verification.chat).toMatchObject([
      { verdict: 'does_not_verify', detail: expect.stringMatching(/another participant/) },
    ]);
    sender.close();
    receiver.close();
  });
});
