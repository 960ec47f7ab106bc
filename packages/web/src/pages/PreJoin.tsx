import { useEffect, useId, useState, type FormEvent } from 'react';
import type { MeetingInfo, MeResponse } from '@conclave/protocol';
import { accountName } from '../account/store.js';
import { AppLink, ErrorBox, ModeBadge } from '../components/common.js';
import { useLocalMedia, VideoView } from '../components/media.js';
import type { HumanError } from '../errors.js';
import { e2eeUnsupportedReason } from '@conclave/client/browser';
import type { DeviceLists, LocalMedia } from '../media/local-media.js';
import { currentLocation } from '../router.js';

export interface JoinRequest {
  displayName: string;
  passcode: string | undefined;
}

const NAME_KEY = 'conclave.displayName';

function savedName(): string {
  try {
    return localStorage.getItem(NAME_KEY) ?? '';
  } catch {
    return '';
  }
}

function DeviceSelect({
  label,
  devices,
  value,
  none,
  onChange,
}: {
  label: string;
  /** Undefined while the browser is still being asked. */
  devices: MediaDeviceInfo[] | undefined;
  value: string | undefined;
  none: string;
  onChange: (id: string) => void;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select
        id={id}
        value={value ?? ''}
        onChange={(e) => onChange(e.target.value)}
        disabled={!devices?.length}
      >
        {!devices && <option value="">Looking for devices…</option>}
        {devices?.length === 0 && <option value="">{none}</option>}
        {devices?.map((d, i) => (
          <option key={d.deviceId || i} value={d.deviceId}>
            {d.label || `${label} ${i + 1}`}
          </option>
        ))}
      </select>
    </div>
  );
}

/** Camera and microphone preview, device choice, name, passcode, and what kind of meeting this is. */
export function PreJoin({
  meeting,
  local,
  isHost,
  account,
  onJoin,
}: {
  meeting: MeetingInfo;
  local: LocalMedia;
  isHost: boolean;
  /** The signed-in account (the page joins as it), or undefined (as a guest). */
  account: MeResponse | undefined;
  onJoin: (req: JoinRequest) => Promise<HumanError | undefined>;
}) {
  useLocalMedia(local);
  const ids = useId();
  const [name, setName] = useState(() => savedName() || account?.account.displayName || '');
  const [passcode, setPasscode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<HumanError | undefined>();
  const [devices, setDevices] = useState<DeviceLists>({ microphones: [], cameras: [] });
  const unsupported = meeting.mode === 'e2ee' ? e2eeUnsupportedReason() : undefined;
  const needsPasscode = meeting.settings.passcodeRequired && !isHost;

  useEffect(() => {
    let live = true;
    void local.start().then(async () => {
      const d = await local.devices();
      if (live) setDevices(d);
    });
    return () => {
      live = false;
    };
  }, [local]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const displayName = name.trim();
    if (!displayName) {
      setError({
        code: 'name_required',
        title: 'Please enter your name.',
        next: 'The others see it next to your video.',
      });
      return;
    }
    try {
      localStorage.setItem(NAME_KEY, displayName);
    } catch {
      // Private browsing: not remembering the name is fine.
    }
    setBusy(true);
    setError(undefined);
    const err = await onJoin({ displayName, passcode: needsPasscode ? passcode : undefined });
    setBusy(false);
    if (err) setError(err);
  };

  return (
    <main className="page prejoin">
      <h1>{meeting.title ? `Join “${meeting.title}”` : 'Join the meeting'}</h1>
      <div className="prejoin-mode">
        <ModeBadge mode={meeting.mode} long />
        {isHost && <p className="host-note">You are joining as the host (from the host link).</p>}
        {meeting.settings.waitingRoom && !isHost && <p>The host lets each person in from a waiting room.</p>}
        {account ? (
          <p className="join-as" data-testid="join-as">
            You join with your account ({accountName(account)}).
            {meeting.mode === 'e2ee' && ' The others see you as a verified account.'}
          </p>
        ) : (
          <p className="join-as" data-testid="join-as">
            You join as a guest.{' '}
            <AppLink to="/signin" returnTo={currentLocation}>
              Sign in
            </AppLink>{' '}
            to join with your account.
          </p>
        )}
      </div>
      {meeting.ended && (
        <ErrorBox
          error={{
            code: 'meeting_ended',
            title: 'This meeting has ended.',
            next: 'Ask the host to start a new meeting and send you its link.',
          }}
        />
      )}
      {unsupported && (
        <ErrorBox
          error={{
            code: 'e2ee_unsupported',
            title: 'You cannot join this end-to-end encrypted meeting from this browser.',
            next: unsupported,
          }}
        />
      )}
      <div className="prejoin-grid">
        <section className="preview" aria-label="Camera and microphone">
          <div className="preview-video">
            {local.camera && local.cameraOn ? (
              <VideoView track={local.camera} mirror label="Your camera preview" />
            ) : (
              <p className="preview-off">
                {local.cameraOn ? (local.cameraError ?? 'Starting the camera…') : 'Camera is off'}
              </p>
            )}
          </div>
          <div className="preview-toggles">
            <button type="button" onClick={() => local.setMicOn(!local.micOn)}>
              {local.micOn ? 'Mute microphone' : 'Unmute microphone'}
            </button>
            <button type="button" onClick={() => void local.setCameraOn(!local.cameraOn)}>
              {local.cameraOn ? 'Turn camera off' : 'Turn camera on'}
            </button>
          </div>
          {local.micError && <p className="field-error">{local.micError}</p>}
          <DeviceSelect
            label="Microphone"
            devices={devices.microphones}
            value={local.micDeviceId}
            none="No microphone found"
            onChange={(id) => void local.selectMic(id)}
          />
          <DeviceSelect
            label="Camera"
            devices={devices.cameras}
            value={local.cameraDeviceId}
            none="No camera found"
            onChange={(id) => void local.selectCamera(id)}
          />
        </section>
        <form className="card join-form" onSubmit={(e) => void submit(e)} aria-labelledby={`${ids}-h`}>
          <h2 id={`${ids}-h`}>Your details</h2>
          <div className="field">
            <label htmlFor={`${ids}-name`}>Your name</label>
            <input
              id={`${ids}-name`}
              value={name}
              maxLength={64}
              required
              autoComplete="name"
              onChange={(e) => setName(e.target.value)}
            />
          </div>
          {needsPasscode && (
            <div className="field">
              <label htmlFor={`${ids}-pass`}>Meeting passcode</label>
              <input
                id={`${ids}-pass`}
                value={passcode}
                required
                autoComplete="off"
                onChange={(e) => setPasscode(e.target.value)}
              />
            </div>
          )}
          {error && <ErrorBox error={error} />}
          <button
            type="submit"
            className="primary"
            disabled={busy || unsupported !== undefined || meeting.ended}
          >
            {busy ? 'Joining…' : 'Join meeting'}
          </button>
        </form>
      </div>
    </main>
  );
}
