import type { LocalMedia } from '../media/local-media.js';
import type { Person, RemoteStream, SessionSnapshot } from '../meeting/snapshot.js';
import { mediaStatusText } from '../meeting/media-status-text.js';
import { VideoView } from './media.js';

function initials(name: string): string {
  // Words only: "Carol (you)" is "C", not "C(".
  const parts = name
    .trim()
    .split(/\s+/)
    .filter((w) => /^[\p{L}\p{N}]/u.test(w))
    .slice(0, 2);
  return parts.map((p) => p[0]?.toUpperCase() ?? '').join('') || '?';
}

interface TileProps {
  name: string;
  track: MediaStreamTrack | undefined;
  muted: boolean | undefined;
  speaking: boolean;
  mirror?: boolean;
  screen?: boolean;
  /** E2EE: the name comes from the MLS sender of the frames shown (the key that decrypts them). */
  fromGroup?: boolean;
  /** E2EE: the server labelled what this tile shows as someone else (see `mismatchNote`). */
  mismatch?: string;
  /** E2EE: what this page receives from them, when it is not simply their media (see mediaStatusText). */
  status?: { code: string; text: string };
  /** Someone else's tile: opens the Report a User dialog for them. */
  onReport?: () => void;
}

function Tile({
  name,
  track,
  muted,
  speaking,
  mirror,
  screen,
  fromGroup,
  mismatch,
  status,
  onReport,
}: TileProps) {
  const cls = ['tile', speaking ? 'speaking' : '', screen ? 'screen' : '', mismatch ? 'mismatch' : '']
    .filter(Boolean)
    .join(' ');
  return (
    <li
      className={cls}
      data-speaking={speaking || undefined}
      data-tile-name={name}
      data-sender={fromGroup ? 'mls' : undefined}
      data-mismatch={mismatch ? 'true' : undefined}
      data-media={status?.code}
    >
      <figure>
        {track ? (
          <VideoView track={track} mirror={mirror} label={screen ? name : `${name}: video`} />
        ) : (
          <div className="avatar" aria-hidden="true">
            {initials(name)}
          </div>
        )}
        <figcaption>
          <span className="tile-name">{name}</span>
          {mismatch && (
            <span className="tile-mismatch">
              <WarningIcon /> {mismatch}
            </span>
          )}
          {status && <span className="tile-status">{status.text}</span>}
          {muted === true && <span className="mic-muted">Muted</span>}
          {speaking && <span className="visually-hidden">, speaking</span>}
        </figcaption>
      </figure>
      {onReport && (
        <button type="button" className="tile-report" onClick={onReport}>
          Report… <span className="visually-hidden">{name}</span>
        </button>
      )}
    </li>
  );
}

function WarningIcon() {
  return (
    <svg className="icon" viewBox="0 0 16 16" width="14" height="14" aria-hidden="true" focusable="false">
      <path d="M8 1.5 15 14H1z" fill="currentColor" />
      <path d="M8 6v4M8 11.5v1.2" stroke="#1a1d23" strokeWidth="1.6" />
    </svg>
  );
}

/**
 * The MLS sender of a stream's frames is not the participant the server said it is: what the
 * tile says (in words, not colour alone).
 */
function mismatchNote(streams: (RemoteStream | undefined)[]): string | undefined {
  const notes = streams.flatMap((r) => {
    if (!r?.mismatch) return [];
    const what = r.kind === 'audio' ? 'Audio' : r.source === 'screen' ? 'Screen' : 'Video';
    const from = r.sender?.displayName ?? 'someone outside the encryption group';
    return [`${what} is from ${from}; the server says ${r.claimedName ?? 'someone else'}`];
  });
  return notes.length > 0 ? notes.join('. ') : undefined;
}

/** The name of whoever sends a stream: its MLS sender (E2EE, once a frame decrypted), else `fallback`. */
function senderName(r: RemoteStream | undefined, fallback: string): string {
  return r?.sender ? (r.sender.displayName ?? 'Unknown sender (not in the group)') : fallback;
}

function streamOf(
  remote: RemoteStream[],
  participantId: string | undefined,
  source: RemoteStream['source'],
): RemoteStream | undefined {
  return remote.find((r) => r.participantId === participantId && r.source === source);
}

/**
 * The video grid: screen shares first (they take two columns), then this participant, then
 * everyone else in the roster. A camera tile shows video only while its frames arrive.
 */
export function VideoGrid({
  snapshot,
  local,
  onReport,
}: {
  snapshot: SessionSnapshot;
  local: LocalMedia;
  /** Opens the Report a User dialog for someone else. */
  onReport?: (p: Person) => void;
}) {
  const others = snapshot.people.filter((p) => !p.isSelf);
  const self = snapshot.people.find((p) => p.isSelf);
  const screens = snapshot.remote.filter((r) => r.source === 'screen' && r.flowing);
  const nameOf = (pid: string) =>
    snapshot.people.find((p) => p.participantId === pid)?.displayName ?? 'Someone';
  // E2EE: a tile showing video is labelled with the MLS member whose key decrypts it; the
  // server's mapping (participant id → stream) only decides where it goes, and a tile says
  // so when the two disagree.
  const tileFor = (p: Person) => {
    const cam = streamOf(snapshot.remote, p.participantId, 'camera');
    const mic = streamOf(snapshot.remote, p.participantId, 'audio');
    const showing = cam?.flowing ? cam : undefined;
    const statusText = mediaStatusText(p.media);
    return (
      <Tile
        key={p.key}
        name={senderName(showing, p.displayName)}
        fromGroup={showing?.sender !== undefined}
        mismatch={mismatchNote([showing, mic])}
        track={showing?.track}
        muted={!p.audio}
        status={statusText && p.media ? { code: p.media, text: statusText } : undefined}
        speaking={snapshot.activeSpeaker !== undefined && snapshot.activeSpeaker === p.participantId}
        onReport={onReport ? () => onReport(p) : undefined}
      />
    );
  };
  const count = (local.screen ? 1 : 0) + screens.length + 1 + others.length;
  return (
    <ul className="grid" aria-label="Videos" data-count={count}>
      {local.screen && (
        <Tile
          key="own-screen"
          name="Your screen (shared)"
          track={local.screen}
          muted={undefined}
          speaking={false}
          screen
        />
      )}
      {screens.map((s) => (
        <Tile
          key={`screen-${s.track.id}`}
          name={`${senderName(s, nameOf(s.participantId))}: screen`}
          fromGroup={s.sender !== undefined}
          mismatch={mismatchNote([s])}
          track={s.track}
          muted={undefined}
          speaking={false}
          screen
        />
      ))}
      <Tile
        key="self"
        name={`${self?.displayName ?? 'You'} (you)`}
        track={local.cameraOn ? local.camera : undefined}
        muted={!(local.micOn && local.mic)}
        speaking={snapshot.activeSpeaker === 'self'}
        mirror
      />
      {others.map(tileFor)}
    </ul>
  );
}
