import { describe, expect, it } from 'vitest';
import { MAX_APP_MESSAGE_CHARS } from '@conclave/protocol';
import { toBase64 } from '@conclave/crypto';
import { attackServer, honest, hostMeeting, ModifiedClient, participants, sleep, until } from './harness.js';

// Finding 4: per-socket send buffers were unbounded: 80 chat-sized application messages of
// 1.3 MB to three members that stopped reading took the server from 189 to 556 MB RSS.

const SEND_BUFFER = 256 * 1024;
const server = attackServer(['--max-send-buffer-bytes', String(SEND_BUFFER)]);
const { track } = participants();

async function member(meetingId: string, name: string): Promise<ModifiedClient> {
  const m = await ModifiedClient.create(server.ts, {
    identity: { kind: 'guest', deviceId: `dev-${name}`, displayName: name },
  });
  track(m);
  expect((await m.join(meetingId)).type).toBe('joined');
  await until(() => m.session !== undefined, `${name} in the MLS group`);
  return m;
}

describe('members that stop reading cannot make the server hold their mail', () => {
  it('application messages are capped far below the frame limit', async () => {
    const { meetingId, hostSecret } = await hostMeeting(server.ts, {});
    const host = honest(server.ts, meetingId, 'Host', { hostSecret });
    track(host);
    await host.connect();
    const flooder = await member(meetingId, 'Flooder');
    const before = flooder.got.length;
    flooder.send({
      type: 'app',
      epoch: String(flooder.session!.epoch),
      data: 'A'.repeat(MAX_APP_MESSAGE_CHARS + 4),
    });
    const refusal = await flooder.next(
      (m) => m.type === 'error' && m.code === 'bad_request',
      'the oversized message refused',
      before,
    );
    expect(refusal.type === 'error' && refusal.message).toMatch(/at most 65536 characters/);
    expect(MAX_APP_MESSAGE_CHARS).toBeLessThanOrEqual(64 * 1024);
  });

  it('a slow consumer is dropped at the send-buffer cap, the readers get everything, and the dropped member resumes', async () => {
    const { meetingId, hostSecret } = await hostMeeting(server.ts, {});
    const host = honest(server.ts, meetingId, 'Host', { hostSecret });
    track(host);
    await host.connect();
    const left: string[] = [];
    const reader = await member(meetingId, 'Reader');
    const slow = [await member(meetingId, 'Slow1'), await member(meetingId, 'Slow2')];
    const flooder = await member(meetingId, 'Flooder');
    await until(() => host.roster().length === 5, 'five in the group');
    const slowIds = slow.map((s) => s.resume!.participantId);
    const watch = setInterval(() => {
      for (const id of slowIds)
        if (!host.participants().some((p) => p.id === id) && !left.includes(id)) left.push(id);
    }, 10);
    for (const s of slow) s.stopReading();

    // The biggest application messages the server takes, as fast as the rate limit allows.
    const payload = new Uint8Array(47_000).fill(7);
    const readerBefore = reader.got.filter((m) => m.type === 'app').length;
    let sent = 0;
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const t0 = Date.now();
    while (left.length < slowIds.length && Date.now() - t0 < 30_000) {
      for (let i = 0; i < 20; i++) {
        // MLS sends nothing while a Remove proposal (a dropped member) waits for its commit:
        // the flooder pauses until the next round, as the SDK does.
        const epoch = String(flooder.session!.epoch);
        const sealed = await flooder.session!.encryptApplication(payload).catch((e: unknown) => {
          if ((e as { code?: unknown }).code === 'proposals_pending') return undefined;
          throw e;
        });
        if (!sealed) break;
        const data = toBase64(sealed);
        expect(data.length).toBeLessThanOrEqual(MAX_APP_MESSAGE_CHARS);
        flooder.send({ type: 'app', epoch, data });
        sent++;
      }
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
      await sleep(450); // under 50 messages a second
    }
    clearInterval(watch);
    console.log(
      `slow consumers dropped after ${sent} messages of ${payload.length} B (${Date.now() - t0} ms); ` +
        `test process RSS ${Math.round(rssBefore / 2 ** 20)} → peak ${Math.round(rssPeak / 2 ** 20)} MB`,
    );
    expect(left.sort()).toEqual([...slowIds].sort());
    expect(flooder.got.some((m) => m.type === 'error' && m.code === 'rate_limited')).toBe(false);
    // The reader got every message the flooder sent.
    await until(
      () => reader.got.filter((m) => m.type === 'app').length - readerBefore === sent,
      'the reader got everything',
      10_000,
    );
    // A dropped member is a dropped connection: it resumes with its token.
    const back = await ModifiedClient.create(server.ts, { device: slow[0]!.device });
    track(back);
    expect(await back.join(meetingId, { resume: slow[0]!.resume })).toMatchObject({
      type: 'joined',
      participantId: slowIds[0],
    });
  });
});
