import { useEffect, useId, useRef, useState } from 'react';
import { inviteLink } from '../meeting/host-secret.js';

const COPIED_MS = 3000;

/**
 * "Copy invite link" in the room header: the meeting's participant link (`/m/<id>`, what the
 * server's `joinUrl` is) — never the host secret, never the passcode. When the Clipboard API
 * is missing (plain-HTTP pages) or refused, the link is shown selected in a read-only field.
 * Rendered as a fragment: its parts are items of the header's flex row.
 */
export function InviteLink({ meetingId }: { meetingId: string }) {
  const link = inviteLink(meetingId);
  const [state, setState] = useState<'idle' | 'copied' | 'manual'>('idle');
  const field = useRef<HTMLInputElement>(null);
  const id = useId();

  useEffect(() => {
    if (state === 'copied') {
      const t = setTimeout(() => setState('idle'), COPIED_MS);
      return () => clearTimeout(t);
    }
    if (state === 'manual') {
      field.current?.focus();
      field.current?.select();
    }
    return undefined;
  }, [state]);

  const copy = async () => {
    try {
      // Not exposed at all outside secure contexts (a server on plain HTTP).
      if (!('clipboard' in navigator)) throw new Error('no Clipboard API');
      await navigator.clipboard.writeText(link);
      setState('copied');
    } catch {
      setState('manual');
    }
  };

  return (
    <>
      <button type="button" className="invite-button" onClick={() => void copy()}>
        Copy invite link
      </button>
      <span role="status" className="invite-status">
        {state === 'copied' ? 'Copied' : ''}
      </span>
      {state === 'manual' && (
        <div className="invite-fallback">
          <label htmlFor={id}>Invite link</label>
          <div className="copy-row">
            <input
              id={id}
              ref={field}
              readOnly
              value={link}
              aria-describedby={`${id}-d`}
              onFocus={(e) => e.currentTarget.select()}
            />
            <button type="button" onClick={() => setState('idle')}>
              Done <span className="visually-hidden">with the invite link</span>
            </button>
          </div>
          <p id={`${id}-d`} className="invite-hint">
            Copying was not allowed by this browser. The link is selected: copy it with Ctrl+C (⌘C on a Mac).
            It lets people join the meeting; it does not make them host.
          </p>
        </div>
      )}
    </>
  );
}
