import { useEffect, useState } from 'react';
import type { ClientState } from '@conclave/client';
import { ChatPanel } from '../components/ChatPanel.js';
import { useFocusOnMount } from '../components/common.js';
import { InviteLink } from '../components/InviteLink.js';
import { RemoteAudio, useLocalMedia } from '../components/media.js';
import { ParticipantsPanel } from '../components/ParticipantsPanel.js';
import { E2eeIndicator, HEALTH_ALERT, SecurityPanel } from '../components/SecurityPanel.js';
import { VideoStage } from '../components/Tiles.js';
import type { HumanError } from '../errors.js';
import type { MeetingSession } from '../meeting/session.js';
import type { PasscodeLockout, Person, SessionSnapshot } from '../meeting/snapshot.js';
import { ReportDialog, type LiveReporting } from '../report/ReportDialog.js';

type Panel = 'participants' | 'chat' | 'security';

const PANEL_TITLE: Record<Panel, string> = {
  participants: 'Participants',
  chat: 'Chat',
  security: 'Security',
};

function ConnectionStatus({
  state,
  refusal,
  onRejoin,
}: {
  state: ClientState;
  /** The server refused the reconnect: its reason instead of "check your network". */
  refusal: HumanError | undefined;
  onRejoin: () => void;
}) {
  const text: Partial<Record<ClientState, string>> = {
    connecting: 'Connecting…',
    reconnecting: 'Connection interrupted. Reconnecting…',
    lost: refusal ? `${refusal.title} ${refusal.next}` : 'Connection lost. Check your network, then rejoin.',
  };
  const t = text[state];
  return (
    <div
      role="status"
      className={t ? `connection connection-${state}` : 'visually-hidden'}
      data-state={state}
      data-code={state === 'lost' ? refusal?.code : undefined}
    >
      {t ?? 'Connected'}
      {state === 'lost' && (
        <button type="button" className="primary" onClick={onRejoin}>
          Rejoin
        </button>
      )}
    </div>
  );
}

function Controls({
  session,
  snapshot,
  panel,
  togglePanel,
}: {
  session: MeetingSession;
  snapshot: SessionSnapshot;
  panel: Panel | undefined;
  togglePanel: (p: Panel) => void;
}) {
  const local = session.local;
  const micOn = local.micOn && local.mic !== undefined;
  const camOn = local.cameraOn && local.camera !== undefined;
  const sharing = local.screen !== undefined;
  const canShare =
    snapshot.meeting.settings.allowScreenShare &&
    typeof navigator.mediaDevices?.getDisplayMedia === 'function';
  const panelButton = (p: Panel, extra = '') => (
    <button
      type="button"
      aria-expanded={panel === p}
      aria-controls="side-panel"
      onClick={() => togglePanel(p)}
    >
      {PANEL_TITLE[p]}
      {extra}
    </button>
  );
  return (
    <nav className="controls" aria-label="Meeting controls">
      <button type="button" className={micOn ? '' : 'off'} onClick={() => local.setMicOn(!local.micOn)}>
        {micOn ? 'Mute' : 'Unmute'}
      </button>
      <button type="button" className={camOn ? '' : 'off'} onClick={() => void local.setCameraOn(!camOn)}>
        {camOn ? 'Stop camera' : 'Start camera'}
      </button>
      {canShare && (
        <button
          type="button"
          className={sharing ? 'on' : ''}
          onClick={() => void (sharing ? local.stopScreen() : local.startScreen())}
        >
          {sharing ? 'Stop sharing' : 'Share screen'}
        </button>
      )}
      <button
        type="button"
        aria-pressed={snapshot.stage.layout === 'speaker'}
        onClick={() => session.setLayout(snapshot.stage.layout === 'speaker' ? 'grid' : 'speaker')}
      >
        Speaker view
      </button>
      {panelButton('participants', ` (${snapshot.people.length})`)}
      {panelButton('chat')}
      {panelButton('security')}
      <button type="button" className="danger" onClick={() => void session.leave()}>
        Leave
      </button>
    </nav>
  );
}

/** "HH:MM", local time. */
function clockTime(ms: number): string {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/** Hosts and co-hosts: wrong passcodes paused passcode entry (the server's passcode_lockout notice). */
function PasscodeLockoutBanner({ lockout }: { lockout: PasscodeLockout }) {
  const n = lockout.failures;
  return (
    <p className="notice notice-warn" data-testid="passcode-lockout">
      {n === 1 ? '1 wrong passcode was tried' : `${n} wrong passcodes were tried`}; joining with the passcode
      is paused until {clockTime(lockout.until)}. Changing the passcode ends the pause.
    </p>
  );
}

/** Focus moves into a panel when it opens, so keyboard and screen-reader users land in it. */
function PanelHeading({ title }: { title: string }) {
  const ref = useFocusOnMount<HTMLHeadingElement>();
  return (
    <h2 id="side-panel-h" tabIndex={-1} ref={ref}>
      {title}
    </h2>
  );
}

/** What the report dialog can add while the meeting runs: a clip, a screenshot, the host's removal. */
function liveReporting(session: MeetingSession, snapshot: SessionSnapshot, p: Person): LiveReporting {
  const pid = p.participantId;
  const camera = snapshot.remote.find(
    (r) => r.participantId === pid && r.source === 'camera' && r.kind === 'video' && r.flowing,
  );
  const canRemove =
    (snapshot.role === 'host' || snapshot.role === 'cohost') && pid !== undefined && p.role !== 'host';
  return {
    clip: (leafIndex, seconds) => session.clip(leafIndex, seconds),
    videoTrack: camera?.track,
    remove: canRemove ? () => session.client.remove(pid) : undefined,
  };
}

/** The meeting room: video grid, one side panel at a time, controls. */
export function Room({
  session,
  snapshot,
  onRejoin,
}: {
  session: MeetingSession;
  snapshot: SessionSnapshot;
  onRejoin: () => void;
}) {
  useLocalMedia(session.local);
  const [panel, setPanel] = useState<Panel | undefined>();
  const togglePanel = (p: Panel) => setPanel((cur) => (cur === p ? undefined : p));
  const [reporting, setReporting] = useState<
    { target: NonNullable<ReturnType<MeetingSession['reportTarget']>>; of: Person } | undefined
  >();
  const report = (p: Person) => {
    const target = session.reportTarget(p);
    if (target) setReporting({ target, of: p });
  };

  // Escape closes the side panel.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') setPanel(undefined);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const local = session.local;
  const audio = snapshot.remote.filter((r) => r.kind === 'audio');
  return (
    <div className="room">
      <header className="room-header">
        <h1>{snapshot.meeting.title || 'Meeting'}</h1>
        <E2eeIndicator
          snapshot={snapshot}
          expanded={panel === 'security'}
          onClick={() => togglePanel('security')}
        />
        <InviteLink meetingId={snapshot.meeting.id} />
        <ConnectionStatus state={snapshot.state} refusal={snapshot.refusal} onRejoin={onRejoin} />
      </header>
      <div className="room-notices">
        {/* Loud, and outside the polite region: the group is not one this page can vouch for. */}
        {snapshot.meeting.mode === 'e2ee' && snapshot.e2ee.health !== 'ok' && (
          <p role="alert" className="group-alert" data-health={snapshot.e2ee.health}>
            <strong>Warning:</strong> {HEALTH_ALERT[snapshot.e2ee.health]}
          </p>
        )}
        <div className="notices" aria-live="polite">
          {snapshot.notice && <p className="notice">{snapshot.notice}</p>}
          {snapshot.groupToasts.map((n) => (
            <p key={n.id} className="notice group-toast" data-testid="group-toast">
              {n.text}
            </p>
          ))}
          {snapshot.passcodeLockout && (snapshot.role === 'host' || snapshot.role === 'cohost') && (
            <PasscodeLockoutBanner lockout={snapshot.passcodeLockout} />
          )}
          {snapshot.meeting.mode === 'e2ee' &&
            snapshot.state === 'joined' &&
            !snapshot.e2ee.active &&
            snapshot.e2ee.health === 'ok' && (
              <p className="notice">
                Waiting to be added to the meeting&apos;s encryption group. Until then you cannot see or hear
                anyone, and nothing you send leaves this device.
              </p>
            )}
          {snapshot.mediaError && (
            <p className="notice notice-error" data-code={snapshot.mediaError.code}>
              {snapshot.mediaError.title} {snapshot.mediaError.next}
            </p>
          )}
          {local.screenError && <p className="notice">{local.screenError}</p>}
        </div>
      </div>
      <div className={panel ? 'room-main with-panel' : 'room-main'}>
        {/* Focusable: it scrolls when there are many tiles, and keyboard users must be able to scroll it. */}
        <main className="stage" aria-label="Videos" tabIndex={0}>
          <VideoStage
            snapshot={snapshot}
            local={local}
            actions={{
              onReport: report,
              onPin: (id) => session.togglePin(id),
              onTileHeight: (id, source, h) => session.tileResized(id, source, h),
              onFilmstripSlots: (n) => session.setFilmstripSlots(n),
            }}
          />
        </main>
        {panel && (
          <aside id="side-panel" className="side-panel" aria-labelledby="side-panel-h">
            <div className="panel-head">
              <PanelHeading key={panel} title={PANEL_TITLE[panel]} />
              <button type="button" onClick={() => setPanel(undefined)}>
                Close <span className="visually-hidden">{PANEL_TITLE[panel]} panel</span>
              </button>
            </div>
            {panel === 'participants' && (
              <ParticipantsPanel session={session} snapshot={snapshot} onReport={report} />
            )}
            {panel === 'chat' && <ChatPanel session={session} snapshot={snapshot} />}
            {panel === 'security' && <SecurityPanel snapshot={snapshot} />}
          </aside>
        )}
      </div>
      <Controls session={session} snapshot={snapshot} panel={panel} togglePanel={togglePanel} />
      {audio.map((a) => (
        <RemoteAudio key={a.track.id} track={a.track} />
      ))}
      {reporting && (
        <ReportDialog
          snapshot={reporting.target.snapshot}
          person={reporting.target.person}
          live={liveReporting(session, snapshot, reporting.of)}
          onClose={() => setReporting(undefined)}
        />
      )}
    </div>
  );
}
