import { MAX_SCREENSHOT_CHARS } from '@conclave/protocol';

/** A still of someone's video as this page shows it: nothing can check it (marked "unverified"). */
export interface Screenshot {
  mime: 'image/png' | 'image/jpeg';
  /** Base64 (no data: prefix). */
  data: string;
  capturedAt: number;
  width: number;
  height: number;
}

const MAX_WIDTH = 1280;

/**
 * Draws the current frame of `track` (a decrypted remote video track) on a canvas and encodes
 * it: PNG, or JPEG when the PNG would be over the protocol's limit. The track is played in a
 * detached, muted video element (no ImageCapture: Firefox has none).
 */
export async function captureTrack(track: MediaStreamTrack): Promise<Screenshot> {
  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;
  video.srcObject = new MediaStream([track]);
  try {
    await video.play();
    if (video.videoWidth === 0) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no video frame arrived')), 3000);
        video.addEventListener(
          'resize',
          () => {
            clearTimeout(timer);
            resolve();
          },
          { once: true },
        );
      });
    }
    const scale = Math.min(1, MAX_WIDTH / video.videoWidth);
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('this browser cannot draw a canvas');
    ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
    const capturedAt = Date.now();
    for (const [mime, quality] of [
      ['image/png', undefined],
      ['image/jpeg', 0.85],
      ['image/jpeg', 0.6],
    ] as const) {
      const data = canvas.toDataURL(mime, quality).replace(/^data:[^,]*,/, '');
      if (data.length <= MAX_SCREENSHOT_CHARS) {
        return { mime, data, capturedAt, width: canvas.width, height: canvas.height };
      }
    }
    throw new Error('the picture is too large to attach');
  } finally {
    video.pause();
    video.srcObject = null;
  }
}
