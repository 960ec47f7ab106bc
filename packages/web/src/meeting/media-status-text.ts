import type { MediaStatus } from '@conclave/client';

/** What a person's media status says in the participants list and on their tile; undefined when all is well. */
export function mediaStatusText(status: MediaStatus | undefined): string | undefined {
  switch (status) {
    case 'connecting':
      return 'Connecting media…';
    case 'no_media':
      return 'No media for 5 s';
    case 'cannot_decrypt':
      return 'Cannot decrypt their media';
    case 'not_forwarded':
      return 'Paused: not a recent speaker';
    case 'unattested':
      return 'Warning: media sent as them that they did not sign';
    default:
      return undefined;
  }
}
