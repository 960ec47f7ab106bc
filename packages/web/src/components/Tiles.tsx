import { useEffect, useRef, type ReactNode } from 'react';
import type { LocalMedia } from '../media/local-media.js';
import type { Person, RemoteStream, SessionSnapshot, StageScreen, StageTile } from '../meeting/snapshot.js';
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

/**
 * Calls `onHeight` with the element's laid-out height (CSS pixels) whenever it changes, and
 * with undefined when the element goes away. The room tells the SFU how tall each tile is.
 */
function useMeasuredHeight<T extends Element>(onHeight: ((height: number | undefined) => void) | undefined) {
  const ref = useRef<T>(null);
  const callback = useRef(onHeight);
  callback.current = onHeight;
  const measured = onHeight !== undefined;
  useEffect(() => {
    const el = ref.current;
    if (!el || !measured || typeof ResizeObserver !== 'function') return;
    const observer = new ResizeObserver((entries) => {
      const h = entries[entries.length - 1]?.contentRect.height;
      if (h !== undefined) callback.current?.(h);
    });
    observer.observe(el);
    return () => {
      observer.disconnect();
      callback.current?.(undefined);
    };
  }, [measured]);
  return ref;
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
  /** Someone else's tile: pin or unpin them (`pinned` says which). */
  onPin?: () => void;
  pinned?: boolean;
  /** No video: why ("Not a recent speaker", "Camera off"), shown on hover and read by screen readers. */
  why?: string;
  /** The SFU forwards this video at a simulcast layer: which, and what limits it ("low · bandwidth"). */
  quality?: string;
  /** What the SFU says of this video (test and style hooks). */
  forwarding?: { forwarded: boolean; reason: string; layer: number | null } | undefined;
  /** Reports the tile's height as laid out (someone else's tiles: the SFU picks a layer by it). */
  onHeight?: (height: number | undefined) => void;
  /** The speaker view's large tile. */
  main?: boolean;
  participantId?: string;
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
  onPin,
  pinned,
  why,
  quality,
  forwarding,
  onHeight,
  main,
  participantId,
}: TileProps) {
  const ref = useMeasuredHeight<HTMLLIElement>(onHeight);
  const cls = [
    'tile',
    speaking ? 'speaking' : '',
    screen ? 'screen' : '',
    mismatch ? 'mismatch' : '',
    main ? 'main' : '',
    pinned ? 'pinned' : '',
  ]
    .filter(Boolean)
    .join(' ');
  return (
    <li
      ref={ref}
      className={cls}
      data-speaking={speaking || undefined}
      data-tile-name={name}
      data-participant={participantId}
      data-sender={fromGroup ? 'mls' : undefined}
      data-mismatch={mismatch ? 'true' : undefined}
      data-media={status?.code}
      data-video={track ? 'shown' : 'avatar'}
      data-forwarded={forwarding ? String(forwarding.forwarded) : undefined}
      data-reason={forwarding?.reason}
      data-layer={forwarding?.layer ?? undefined}
      data-pinned={pinned || undefined}
    >
      <figure>
        {track ? (
          <VideoView track={track} mirror={mirror} label={screen ? name : `${name}: video`} />
        ) : (
          <div className="avatar-box" title={why}>
            <div className="avatar" aria-hidden="true">
              {initials(name)}
            </div>
            {why && <span className="tile-why">{why}</span>}
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
          {pinned && <span className="tile-pinned">Pinned</span>}
          {quality && (
            <span
              className="tile-quality"
              title="The video quality the server forwards to you, and what limits it"
            >
              <span className="visually-hidden">Video quality: </span>
              {quality}
            </span>
          )}
          {speaking && <span className="visually-hidden">, speaking</span>}
        </figcaption>
      </figure>
      {(onPin || onReport) && (
        <div className="tile-actions">
          {onPin && (
            <button type="button" className="tile-pin" onClick={onPin}>
              {pinned ? 'Unpin' : 'Pin'} <span className="visually-hidden">{name}</span>
            </button>
          )}
          {onReport && (
            <button type="button" className="tile-report" onClick={onReport}>
              Report… <span className="visually-hidden">{name}</span>
            </button>
          )}
        </div>
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

export interface StageActions {
  /** Opens the Report a User dialog for someone else. */
  onReport?: (p: Person) => void;
  onPin?: (participantId: string) => void;
  /** A tile of someone else was laid out this tall (CSS pixels; undefined: gone). */
  onTileHeight?: (participantId: string, source: 'camera' | 'screen', height: number | undefined) => void;
  /** Speaker view: how many tiles of others fit in the filmstrip. */
  onFilmstripSlots?: (slots: number) => void;
}

/**
 * The room's videos: the grid (screen shares first, taking two columns, then this participant,
 * then everyone else) or the speaker view (the active speaker or a screen share large, everyone
 * else in a filmstrip). Someone's tile shows their video only while the SFU forwards it and its
 * frames arrive; otherwise their initials, with why on hover.
 */
export function VideoStage({
  snapshot,
  local,
  actions = {},
}: {
  snapshot: SessionSnapshot;
  local: LocalMedia;
  actions?: StageActions;
}) {
  const { stage } = snapshot;
  const self = snapshot.people.find((p) => p.isSelf);
  const nameOf = (pid: string) =>
    snapshot.people.find((p) => p.participantId === pid)?.displayName ?? 'Someone';
  const measure = (pid: string, source: 'camera' | 'screen') =>
    actions.onTileHeight ? (h: number | undefined) => actions.onTileHeight?.(pid, source, h) : undefined;

  // E2EE: a tile showing video is labelled with the MLS member whose key decrypts it; the
  // server's mapping (participant id → stream) only decides where it goes, and a tile says
  // so when the two disagree.
  const personTile = (t: StageTile, main = false) => {
    const p = t.person;
    const mic = snapshot.remote.find((r) => r.participantId === t.participantId && r.source === 'audio');
    const showing = t.showVideo ? t.camera : undefined;
    // "Paused" is what `why` says on the tile itself.
    const statusText = p.media === 'not_forwarded' ? undefined : mediaStatusText(p.media);
    return (
      <Tile
        key={p.key}
        participantId={t.participantId}
        name={senderName(showing, p.displayName)}
        fromGroup={showing?.sender !== undefined}
        mismatch={mismatchNote([showing, mic])}
        track={showing?.track}
        muted={!p.audio}
        status={statusText && p.media ? { code: p.media, text: statusText } : undefined}
        speaking={snapshot.activeSpeaker !== undefined && snapshot.activeSpeaker === t.participantId}
        onReport={actions.onReport ? () => actions.onReport?.(p) : undefined}
        onPin={actions.onPin ? () => actions.onPin?.(t.participantId) : undefined}
        pinned={t.pinned}
        why={t.why}
        quality={t.quality}
        forwarding={t.forwarding}
        onHeight={measure(t.participantId, 'camera')}
        main={main}
      />
    );
  };
  const screenTile = (s: StageScreen, main = false) => (
    <Tile
      key={`screen-${s.stream.track.id}`}
      participantId={s.participantId}
      name={`${senderName(s.stream, nameOf(s.participantId))}: screen`}
      fromGroup={s.stream.sender !== undefined}
      mismatch={mismatchNote([s.stream])}
      track={s.stream.track}
      muted={undefined}
      speaking={false}
      screen
      main={main}
      onHeight={measure(s.participantId, 'screen')}
    />
  );
  const ownScreen = local.screen && (
    <Tile
      key="own-screen"
      name="Your screen (shared)"
      track={local.screen}
      muted={undefined}
      speaking={false}
      screen
    />
  );
  const selfTile = (
    <Tile
      key="self"
      name={`${self?.displayName ?? 'You'} (you)`}
      track={local.cameraOn ? local.camera : undefined}
      muted={!(local.micOn && local.mic)}
      speaking={snapshot.activeSpeaker === 'self'}
      mirror
    />
  );

  if (stage.layout === 'grid') {
    const count = (local.screen ? 1 : 0) + stage.screens.length + 1 + stage.tiles.length;
    return (
      <ul className="grid" aria-label="Videos" data-count={count} data-layout="grid">
        {ownScreen}
        {stage.screens.map((s) => screenTile(s))}
        {selfTile}
        {stage.tiles.map((t) => personTile(t))}
      </ul>
    );
  }
  return (
    <div className="speaker-view" data-layout="speaker">
      <ul className="speaker-main" aria-label="Active speaker">
        {stage.main?.kind === 'screen' && screenTile(stage.main.screen, true)}
        {stage.main?.kind === 'person' && personTile(stage.main.tile, true)}
        {!stage.main && <li className="speaker-empty">Nobody else is here yet.</li>}
      </ul>
      <Filmstrip onSlots={actions.onFilmstripSlots}>
        {ownScreen}
        {stage.screens.map((s) => screenTile(s))}
        {selfTile}
        {stage.tiles.map((t) => personTile(t))}
      </Filmstrip>
    </div>
  );
}

/**
 * The speaker view's strip of small tiles (scrolls sideways). It reports how many tiles of
 * others fit without scrolling — this participant's own tile takes the first place — so the
 * SFU forwards video for those only.
 */
function Filmstrip({ onSlots, children }: { onSlots?: (slots: number) => void; children: ReactNode }) {
  const ref = useRef<HTMLUListElement>(null);
  const callback = useRef(onSlots);
  callback.current = onSlots;
  useEffect(() => {
    const el = ref.current;
    if (!el || typeof ResizeObserver !== 'function') return;
    const measure = () => {
      const first = el.querySelector('li');
      const tileWidth = first?.getBoundingClientRect().width ?? 0;
      if (tileWidth <= 0) return;
      const gap = parseFloat(getComputedStyle(el).columnGap) || 0;
      const fit = Math.floor((el.clientWidth + gap) / (tileWidth + gap));
      callback.current?.(Math.max(1, fit - 1));
    };
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    measure();
    return () => observer.disconnect();
  }, []);
  return (
    <ul className="filmstrip" aria-label="Everyone else" ref={ref} tabIndex={0}>
      {children}
    </ul>
  );
}
