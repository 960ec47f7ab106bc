import { describe, expect, it } from 'vitest';
import { healthResponse } from '@conclave/protocol';
import { attackServer, honest, hostMeeting, ModifiedClient, participants, until } from './harness.js';

// Finding 3: about 160 raw guests (join + one offer each) bound all 200 UDP ports of a
// --media-ports range; a new E2EE meeting then exchanged 0 frames and nobody was told why.
// Real WebRTC through a full pool is tested in sfu/media-capacity.browser.test.ts; this file
// shows what a participant and an admin see from the signaling side.

// 6 ports: 3 participants with media.
const server = attackServer(['--media-ports', '41100-41105']);
const { track } = participants();

async function health() {
  return healthResponse.parse(await (await fetch(`${server.ts.url}/healthz`)).json());
}

describe('a full media-port pool is said, not silent', () => {
  it('the participant past the pool is told media_capacity, stays in the meeting and its MLS group, and the pool shows in /healthz', async () => {
    expect((await health()).media).toMatchObject({ ports: { total: 6, free: 6 }, perParticipant: 2 });
    const { meetingId, hostSecret } = await hostMeeting(server.ts, {});
    const host = honest(server.ts, meetingId, 'Host', { hostSecret });
    track(host);
    await host.connect();
    const guests: ModifiedClient[] = [];
    for (const name of ['G1', 'G2', 'G3']) {
      const g = await ModifiedClient.create(server.ts, {
        identity: { kind: 'guest', deviceId: `dev-${name}`, displayName: name },
        forwardedFor: `198.51.100.${guests.length + 10}`,
      });
      track(g);
      expect((await g.join(meetingId)).type).toBe('joined');
      guests.push(g);
    }
    await until(() => guests.some((g) => g.has('error')), 'someone told');
    const told = guests.filter((g) => g.got.some((m) => m.type === 'error' && m.code === 'media_capacity'));
    // host + 2 guests hold the 6 ports; the third guest is told why it has no media
    expect(told).toHaveLength(1);
    const last = told[0]!;
    const message = last.got.find((m) => m.type === 'error' && m.code === 'media_capacity');
    expect(message?.type === 'error' && message.message).toMatch(/no free media ports/);
    expect((await health()).media).toMatchObject({ ports: { total: 6, used: 6, free: 0 } });
    // An offer from it is answered with the same code, not silence.
    const from = last.got.length;
    last.send({ type: 'media_offer', pc: 'publish', sdp: 'v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\n' });
    expect(
      await last.next((m) => m.type === 'error' && m.ref === 'media', 'the offer answered', from),
    ).toMatchObject({ code: 'media_capacity' });
    // It is still a member: in the MLS group, with the meeting's security code.
    await until(() => host.roster().length === 4, 'all four in the group');
    // When someone leaves, the next participant gets media again.
    guests[0]!.send({ type: 'leave' });
    for (let i = 0; i < 100 && (await health()).media!.ports.free < 2; i++)
      await new Promise((r) => setTimeout(r, 50));
    expect((await health()).media!.ports.free).toBe(2);
    await until(() => host.roster().length === 3, 'g1 gone');
    const next = await ModifiedClient.create(server.ts, { forwardedFor: '192.0.2.44' });
    track(next);
    expect((await next.join(meetingId)).type).toBe('joined');
    await until(() => host.roster().length === 4, 'next in the group');
    expect(next.got.some((m) => m.type === 'error' && m.code === 'media_capacity')).toBe(false);
  });
});
