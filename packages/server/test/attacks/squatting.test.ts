import { describe, expect, it } from 'vitest';
import type { Participant } from '@conclave/protocol';
import { attackServer, honest, hostMeeting, ModifiedClient, participants, until } from './harness.js';

// Finding 2: 200 sockets from one address filled a meeting (99 waiting, 101 meeting_full):
// waiting-room entries counted toward maxParticipants and nothing limited sockets or joins per
// address; a real guest then got meeting_full.

const server = attackServer([
  '--max-sockets-per-address',
  '10',
  '--max-sockets-per-network',
  '25',
  '--max-waiting-per-network',
  '5',
  '--max-waiting',
  '12',
  '--joins-per-minute-per-address',
  '30',
]);
const { track } = participants();

async function squatter(forwardedFor: string): Promise<ModifiedClient> {
  const m = await ModifiedClient.create(server.ts, { forwardedFor });
  track(m);
  return m;
}

describe('one address or network cannot fill a meeting', () => {
  it('sockets per address and per network are capped with a clear error; a guest from elsewhere still gets in', async () => {
    const { meetingId, hostSecret } = await hostMeeting(server.ts, { waitingRoom: true, maxParticipants: 3 });
    const host = honest(server.ts, meetingId, 'Host', { hostSecret });
    track(host);
    let waiting: Participant[] = [];
    host.on('waitingRoom', (w) => (waiting = w));
    await host.connect();

    // 30 sockets from one address: 10 open, the rest are told why and closed.
    const answers: ModifiedClient[] = [];
    for (let i = 0; i < 30; i++) {
      const m = await squatter('203.0.113.5');
      await m.open();
      answers.push(m);
    }
    await until(() => answers.filter((m) => m.closeCode !== undefined).length === 20, 'refusals');
    const refused = answers.filter((m) => m.closeCode !== undefined);
    expect(refused.every((m) => m.closeCode === 4029)).toBe(true);
    expect(
      refused.every((m) => m.got.some((g) => g.type === 'error' && g.code === 'too_many_connections')),
    ).toBe(true);
    const open = answers.filter((m) => m.closeCode === undefined);
    expect(open).toHaveLength(10);

    // The open ones join: at most 5 wait from this network; the rest hear the waiting room is full.
    const joins = await Promise.all(open.map((m) => m.join(meetingId)));
    expect(joins.filter((j) => j.type === 'waiting')).toHaveLength(5);
    expect(joins.filter((j) => j.type === 'error').map((j) => (j.type === 'error' ? j.code : ''))).toEqual(
      Array(5).fill('waiting_room_full'),
    );

    // Other addresses of the same /24 share the network's socket cap (25 in all).
    const neighbours: ModifiedClient[] = [];
    for (let i = 0; i < 20; i++) {
      const m = await squatter(`203.0.113.${100 + i}`);
      await m.open();
      neighbours.push(m);
    }
    await until(() => neighbours.filter((m) => m.closeCode !== undefined).length === 5, 'network refusals');

    // A real guest on another network: waits, is admitted, and is in the MLS group.
    const guest = honest(server.ts, meetingId, 'Real guest', { forwardedFor: '198.51.100.23' });
    track(guest);
    expect(await guest.connect()).toBe('waiting');
    await until(() => waiting.some((p) => p.id === guest.participantId), 'guest waiting');
    host.admit(guest.participantId!);
    await until(
      () =>
        guest.state === 'joined' &&
        host.roster().length === 2 &&
        guest.e2ee.securityCode === host.e2ee.securityCode,
      'guest admitted',
    );
    // Capacity counts admitted participants only: five squatters wait, and there is room for one more.
    const third = honest(server.ts, meetingId, 'Third', { forwardedFor: '192.0.2.77' });
    track(third);
    expect(await third.connect()).toBe('waiting');
    host.admit(third.participantId!);
    await until(() => third.state === 'joined', 'third admitted');
    expect(waiting.filter((p) => p.displayName === 'Mallory')).toHaveLength(5);
    // The meeting's own cap (12): with the five, waiting joiners from other networks fill it up.
    const more: string[] = [];
    for (let i = 0; i < 8; i++) {
      const m = await squatter(`192.0.${10 + i}.1`);
      const answer = await m.join(meetingId);
      more.push(answer.type === 'error' ? answer.code : answer.type);
    }
    expect(more).toEqual([...Array(7).fill('waiting'), 'waiting_room_full']);
  });

  it('join attempts per address are limited per minute', async () => {
    const { meetingId } = await hostMeeting(server.ts, { passcode: 'letmein' });
    const m = await squatter('192.0.2.200');
    const codes: string[] = [];
    for (let i = 0; i < 32; i++) {
      const answer = await m.join(meetingId, { passcode: `guess-${i}` });
      codes.push(answer.type === 'error' ? answer.code : answer.type);
    }
    // 30 joins a minute from one address; wrong passcodes are also limited per network (5).
    expect(codes.slice(0, 5)).toEqual(Array(5).fill('wrong_passcode'));
    expect(codes.slice(5, 30).every((c) => c === 'rate_limited')).toBe(true);
    expect(codes.slice(30)).toEqual(['too_many_connections', 'too_many_connections']);
  });
});
