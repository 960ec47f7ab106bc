import { useEffect, useState, useSyncExternalStore } from 'react';
import type { MeetingInfo } from '@conclave/protocol';
import { accountApi } from '../account/api.js';
import { accountDevice, unregisteredDevice } from '../account/device-keys.js';
import { accountStore, useAccount } from '../account/store.js';
import { ErrorBox } from '../components/common.js';
import { humanError, type HumanError } from '../errors.js';
import { LocalMedia } from '../media/local-media.js';
import { forgetHostSecret, hostSecretFor } from '../meeting/host-secret.js';
import { MeetingSession, type SessionAccount } from '../meeting/session.js';
import { ReportFromSaved } from '../report/ReportFromSaved.js';
import { navigate } from '../router.js';
import { testSwitches } from '../test-hooks.js';
import { EndScreen } from './EndScreen.js';
import { PreJoin, type JoinRequest } from './PreJoin.js';
import { Room } from './Room.js';
import { WaitingScreen } from './WaitingScreen.js';

/**
 * `/m/<id>`: pre-join, then the waiting room or the meeting room, then the end screen. Local
 * media (camera, microphone) is owned here so that the preview carries over into the meeting.
 */
export function MeetingPage({ meetingId }: { meetingId: string }) {
  // A host link's secret (`#host=…`) leaves the address bar here, on the first render, and is
  // kept in this tab's sessionStorage (see host-secret.ts). Idempotent, so StrictMode's second
  // call reads it back from storage.
  const [hostSecret, setHostSecret] = useState(() => hostSecretFor(meetingId));
  const [meeting, setMeeting] = useState<MeetingInfo | undefined>();
  const [loadError, setLoadError] = useState<HumanError | undefined>();
  const [local, setLocal] = useState<LocalMedia | undefined>();
  const [session, setSession] = useState<MeetingSession | undefined>();
  const [generation, setGeneration] = useState(0);
  const account = useAccount();

  useEffect(() => {
    let live = true;
    accountApi.getMeeting(meetingId).then(
      (m) => live && setMeeting(m),
      (e: unknown) => live && setLoadError(humanError(e)),
    );
    return () => {
      live = false;
    };
  }, [meetingId, generation]);

  // A fresh LocalMedia per attempt (rejoining after leaving starts the devices again).
  useEffect(() => {
    const media = new LocalMedia();
    setLocal(media);
    return () => media.stop();
  }, [generation]);

  // A host link pasted into the address bar of this page changes only the fragment (no reload).
  useEffect(() => {
    const onHash = () => {
      const s = hostSecretFor(meetingId);
      if (s) setHostSecret(s);
    };
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, [meetingId]);

  useEffect(() => {
    document.title = `${meeting?.title || 'Meeting'} — Conclave`;
  }, [meeting?.title]);

  useEffect(() => () => session?.dispose(), [session]);

  const join = async (req: JoinRequest): Promise<HumanError | undefined> => {
    if (!meeting || !local) return undefined;
    // Signed in: join as the account, with this browser's registered device key. Else as a guest.
    let sessionAccount: SessionAccount | undefined;
    const current = await accountStore.ensureLoaded();
    if (current.status === 'signed_in') {
      const userId = current.me.account.id;
      try {
        const { device, deviceId } = testSwitches().unregisteredDevice
          ? await unregisteredDevice(userId, req.displayName)
          : await accountDevice(accountApi, userId, req.displayName);
        sessionAccount = { userId, deviceId, device };
      } catch (e) {
        const err = humanError(e);
        if (err.code === 'unauthenticated') {
          // The session ended meanwhile: the pre-join page now offers joining as a guest.
          void accountStore.refresh();
          return {
            ...err,
            next: 'Join again to join as a guest, or sign in first to join with your account.',
          };
        }
        return {
          ...err,
          title: 'This browser’s device key could not be registered on your account.',
          next: `${err.title} ${err.next}`,
        };
      }
    }
    const s = new MeetingSession({ meetingId, meeting, local, hostSecret, account: sessionAccount, ...req });
    try {
      await s.join();
      setSession(s);
      return undefined;
    } catch (e) {
      s.dispose(false); // keep the camera preview for another try
      return e as HumanError;
    }
  };

  const restart = () => {
    setSession(undefined);
    setGeneration((g) => g + 1);
  };

  if (loadError) {
    return (
      <main className="page narrow">
        <h1>Cannot open this meeting</h1>
        <ErrorBox error={loadError}>
          <button type="button" onClick={() => navigate('/')}>
            Go to the home page
          </button>
        </ErrorBox>
        <ReportFromSaved meetingId={meetingId} />
      </main>
    );
  }
  if (!meeting || !local) {
    return (
      <main className="page narrow" aria-busy="true">
        <h1>Opening the meeting…</h1>
      </main>
    );
  }
  if (!session)
    return (
      <PreJoin
        meeting={meeting}
        local={local}
        isHost={hostSecret !== undefined}
        account={account.status === 'signed_in' ? account.me : undefined}
        onJoin={join}
      />
    );
  return <InMeeting session={session} meetingId={meetingId} onRejoin={restart} />;
}

function InMeeting({
  session,
  meetingId,
  onRejoin,
}: {
  session: MeetingSession;
  meetingId: string;
  onRejoin: () => void;
}) {
  const snap = useSyncExternalStore(session.subscribe, session.snapshot);
  // An ended meeting cannot be hosted again: this tab need not keep its host secret.
  useEffect(() => {
    if (snap.state === 'ended') forgetHostSecret(meetingId);
  }, [snap.state, meetingId]);
  switch (snap.state) {
    case 'waiting':
      return <WaitingScreen snapshot={snap} onLeave={() => void session.leave()} />;
    case 'denied':
    case 'removed':
    case 'ended':
    case 'left':
      return (
        <EndScreen state={snap.state} reason={snap.removedReason} meetingId={meetingId} onRejoin={onRejoin} />
      );
    default:
      return <Room session={session} snapshot={snap} onRejoin={onRejoin} />;
  }
}
