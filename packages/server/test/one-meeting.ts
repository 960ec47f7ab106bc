import type { MeetingInfo } from '@conclave/protocol';
import type { MeetingDirectory } from '../src/meeting/index.js';

/**
 * A directory that knows one E2EE meeting without a passcode, for hub tests that need no
 * database: the meeting, its host secret, and the directory the hub reads them from.
 */
export function oneMeeting(
  id: string,
  settings: Partial<MeetingInfo['settings']> = {},
): { meeting: MeetingInfo; hostSecret: string; directory: MeetingDirectory } {
  const meeting: MeetingInfo = {
    id,
    title: '',
    mode: 'e2ee',
    ended: false,
    settings: {
      passcodeRequired: false,
      waitingRoom: false,
      muteOnEntry: false,
      maxParticipants: 10,
      locked: false,
      allowScreenShare: true,
      ...settings,
    },
  };
  const hostSecret = `${id}-host-secret`;
  const directory: MeetingDirectory = {
    get: async (m) => (m === id ? meeting : undefined),
    checkHostSecret: async (_id, secret) => secret === hostSecret,
    checkPasscode: async () => 'not_required',
    passcodeLockout: async () => undefined,
    update: async () => meeting,
    end: async () => undefined,
  };
  return { meeting, hostSecret, directory };
}
