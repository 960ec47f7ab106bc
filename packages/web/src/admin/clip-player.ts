import type { ClipVerification } from '@conclave/crypto';

type Decrypted = ClipVerification['decrypted'][number];

export interface PlaybackProgress {
  /** Video frames drawn on the canvas so far. */
  shown: number;
  /** Video frames in the clip. */
  total: number;
  /** Audio frames decoded and played. */
  audio: number;
  done: boolean;
  error?: string;
}

/** WebCodecs is there (current Chromium, Firefox and Safari). */
export function canPlayClips(): boolean {
  return typeof VideoDecoder === 'function' && typeof EncodedVideoChunk === 'function';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Plays a decrypted clip: its VP8 frames through a WebCodecs VideoDecoder onto `canvas`, at the
 * times their sender signed for them (verifyClip's `at`), and its Opus frames through an AudioDecoder
 * into an AudioContext when the browser has both (started by the Play click, which browsers
 * require for sound). Decoding starts at the first key frame; frames before it cannot be shown.
 * `onProgress` is called after every drawn frame and once at the end. `signal` stops it.
 */
export async function playClip(
  frames: readonly Decrypted[],
  canvas: HTMLCanvasElement,
  onProgress: (p: PlaybackProgress) => void,
  signal: AbortSignal,
): Promise<PlaybackProgress> {
  const video = frames.filter((f) => f.codec === 'vp8');
  const audio = frames.filter((f) => f.codec === 'opus');
  const progress: PlaybackProgress = { shown: 0, total: video.length, audio: 0, done: false };
  const report = () => onProgress({ ...progress });
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('this browser cannot draw a canvas');
  const decoder = new VideoDecoder({
    output: (frame) => {
      if (canvas.width !== frame.displayWidth || canvas.height !== frame.displayHeight) {
        canvas.width = frame.displayWidth;
        canvas.height = frame.displayHeight;
      }
      ctx.drawImage(frame, 0, 0);
      frame.close();
      progress.shown++;
      report();
    },
    error: (e) => {
      progress.error = `the video does not decode: ${e.message}`;
    },
  });
  decoder.configure({ codec: 'vp8' });
  const first = video.findIndex((f) => f.keyFrame);
  const t0 = (video[first] ?? frames[0])?.at ?? 0;
  const sound = startAudio(
    audio.filter((f) => f.at >= t0),
    t0,
    () => progress.audio++,
  );
  const started = performance.now();
  try {
    for (const f of first < 0 ? [] : video.slice(first)) {
      if (signal.aborted || progress.error) break;
      const wait = f.at - t0 - (performance.now() - started);
      if (wait > 0) await sleep(Math.min(wait, 1000));
      decoder.decode(
        new EncodedVideoChunk({
          type: f.keyFrame ? 'key' : 'delta',
          timestamp: (f.at - t0) * 1000,
          data: f.frame,
        }),
      );
    }
    if (!progress.error && !signal.aborted) await decoder.flush();
    if (first < 0 && video.length > 0) progress.error = 'the clip has no key frame to start from';
  } catch (e) {
    progress.error ??= `the video does not decode: ${(e as Error).message}`;
  } finally {
    if (decoder.state !== 'closed') decoder.close();
    await sound.finish(signal);
  }
  progress.done = true;
  report();
  return progress;
}

/**
 * Decodes the Opus frames and schedules them in an AudioContext at their signed times. A
 * browser without AudioDecoder plays the clip silent (the counts say so).
 */
function startAudio(
  frames: readonly Decrypted[],
  t0: number,
  onFrame: () => void,
): { finish: (signal: AbortSignal) => Promise<void> } {
  if (frames.length === 0 || typeof AudioDecoder !== 'function' || typeof AudioContext !== 'function')
    return { finish: async () => undefined };
  const audioCtx = new AudioContext();
  void audioCtx.resume().catch(() => undefined);
  const start = audioCtx.currentTime + 0.2;
  const decoder = new AudioDecoder({
    output: (data) => {
      const buffer = audioCtx.createBuffer(data.numberOfChannels, data.numberOfFrames, data.sampleRate);
      for (let c = 0; c < data.numberOfChannels; c++) {
        const plane = new Float32Array(data.numberOfFrames);
        data.copyTo(plane, { planeIndex: c, format: 'f32-planar' });
        buffer.copyToChannel(plane, c);
      }
      const node = audioCtx.createBufferSource();
      node.buffer = buffer;
      node.connect(audioCtx.destination);
      node.start(Math.max(audioCtx.currentTime, start + data.timestamp / 1e6));
      data.close();
      onFrame();
    },
    error: () => undefined,
  });
  try {
    decoder.configure({ codec: 'opus', sampleRate: 48_000, numberOfChannels: 2 });
    for (const f of frames) {
      decoder.decode(
        new EncodedAudioChunk({ type: 'key', timestamp: Math.max(0, f.at - t0) * 1000, data: f.frame }),
      );
    }
  } catch {
    // Not decodable here: silent.
  }
  return {
    finish: async (signal) => {
      try {
        if (decoder.state === 'configured') await decoder.flush();
      } catch {
        // Already reported as silence.
      }
      if (decoder.state !== 'closed') decoder.close();
      // Until the last sound played; not at all when the context never ran (no audio output).
      const end = start + ((frames[frames.length - 1]?.at ?? t0) - t0) / 1000 + 0.1;
      const deadline = performance.now() + (end - audioCtx.currentTime) * 1000 + 500;
      while (
        !signal.aborted &&
        audioCtx.state === 'running' &&
        audioCtx.currentTime < end &&
        performance.now() < deadline
      )
        await sleep(100);
      await audioCtx.close();
    },
  };
}
