import { useEffect, useRef, useSyncExternalStore } from 'react';
import type { LocalMedia } from '../media/local-media.js';

/** Re-renders when `local` changes (devices, on/off, errors). */
export function useLocalMedia(local: LocalMedia): number {
  return useSyncExternalStore(
    (cb) => local.on('change', cb),
    () => local.version,
  );
}

/** A <video> showing one track. Always muted: sound plays through <RemoteAudio>. */
export function VideoView({
  track,
  mirror = false,
  label,
}: {
  track: MediaStreamTrack | undefined;
  mirror?: boolean;
  label: string;
}) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.srcObject = track ? new MediaStream([track]) : null;
    if (track) void el.play().catch(() => undefined);
  }, [track]);
  return (
    <video
      ref={ref}
      className={mirror ? 'mirror' : undefined}
      autoPlay
      playsInline
      muted
      aria-label={label}
    />
  );
}

/** Plays one received audio track (invisible). */
export function RemoteAudio({ track }: { track: MediaStreamTrack }) {
  const ref = useRef<HTMLAudioElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.srcObject = new MediaStream([track]);
    void el.play().catch(() => undefined);
  }, [track]);
  return <audio ref={ref} autoPlay hidden />;
}
