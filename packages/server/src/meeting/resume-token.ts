import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Role } from '@conclave/protocol';

/**
 * Resume tokens let a participant whose connection dropped — or whose server restarted —
 * come back to the same meeting with the same participant id and role, without passing the
 * passcode or the waiting room again. They are stateless (HMAC under a server secret that
 * survives restarts), so a restarted server honours tokens it issued before.
 */
export class ResumeTokens {
  constructor(private readonly secret: Uint8Array) {}

  issue(meetingId: string, participantId: string, role: Role): string {
    const payload = `${meetingId}.${participantId}.${role}`;
    return `${Buffer.from(payload).toString('base64url')}.${this.mac(payload)}`;
  }

  /** Returns the role the token was issued for, or undefined when it is not valid for this meeting and participant. */
  verify(meetingId: string, participantId: string, token: string): Role | undefined {
    const [payloadB64, mac] = token.split('.');
    if (!payloadB64 || !mac) return undefined;
    const payload = Buffer.from(payloadB64, 'base64url').toString();
    const expected = Buffer.from(this.mac(payload));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
    const [m, p, role] = payload.split('.');
    if (m !== meetingId || p !== participantId) return undefined;
    return role === 'host' || role === 'cohost' || role === 'participant' ? role : undefined;
  }

  private mac(payload: string): string {
    return createHmac('sha256', this.secret).update(payload).digest('base64url');
  }
}
