import type { LocalMedia } from '../media/local-media.js';
import type { Person, RemoteStream, SessionSnapshot } from '../meeting/session.js';
import { VideoView } from './media.js';

function initials(name: string): string {
  const parts = name.trim().split(/\s+/).slice(0, 2);
  return parts.map((p) => p[0]?.toUpperCase() ?? '').join('') || '?';
}

interface TileProps {
  name: string;
  track: MediaStreamTrack | undefined;
  muted: boolean | undefined;
  speaking: boolean;
  mirror?: boolean;
  screen?: boolean;
}

function Tile({ name, track, muted, speaking, mirror, screen }: TileProps) {
  const cls = ['tile', speaking ? 'speaking' : '', screen ? 'screen' : ''].filter(Boolean).join(' ');
  return (
    <li className={cls} data-speaking={speaking || undefined}>
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
          {muted === true && <span className="mic-muted">Muted</span>}
          {speaking && <span className="visually-hidden">, speaking</span>}
        </figcaption>
      </figure>
    </li>
  );
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
export function VideoGrid({ snapshot, local }: { snapshot: SessionSnapshot; local: LocalMedia }) {
  const others = snapshot.people.filter((p) => !p.isSelf);
  const self = snapshot.people.find((p) => p.isSelf);
  const screens = snapshot.remote.filter((r) => r.source === 'screen' && r.flowing);
  const nameOf = (pid: string) =>
    snapshot.people.find((p) => p.participantId === pid)?.displayName ?? 'Someone';
  const tileFor = (p: Person) => {
    const cam = streamOf(snapshot.remote, p.participantId, 'camera');
    return (
      <Tile
        key={p.key}
        name={p.displayName}
        track={cam?.flowing ? cam.track : undefined}
        muted={!p.audio}
        speaking={snapshot.activeSpeaker !== undefined && snapshot.activeSpeaker === p.participantId}
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
          name={`${nameOf(s.participantId)}: screen`}
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
