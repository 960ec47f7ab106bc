import { Emitter } from '@conclave/client';

export interface DeviceLists {
  microphones: MediaDeviceInfo[];
  cameras: MediaDeviceInfo[];
}

type LocalMediaEvents = { change: () => void };

/** A getUserMedia/getDisplayMedia failure as a sentence with a next step. */
function describeMediaError(e: unknown, what: string): string {
  const name = e instanceof DOMException ? e.name : '';
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return `The browser did not allow the ${what}. Allow it in the site settings (next to the address bar), or join without it.`;
    case 'NotFoundError':
    case 'OverconstrainedError':
      return `No ${what} was found. Plug one in and choose it below, or join without it.`;
    case 'NotReadableError':
    case 'AbortError':
      return `The ${what} is busy or failed to start. Close other apps that use it and try again.`;
    default:
      return `The ${what} could not be started${e instanceof Error && e.message ? ` (${e.message})` : ''}. Try another device, or join without it.`;
  }
}

/**
 * This participant's own microphone, camera and screen share. The pre-join preview and the
 * meeting share it, so device choice and on/off state carry over; the media transport listens
 * to 'change' and swaps tracks on its senders (no renegotiation).
 */
export class LocalMedia extends Emitter<LocalMediaEvents> {
  mic: MediaStreamTrack | undefined;
  camera: MediaStreamTrack | undefined;
  screen: MediaStreamTrack | undefined;
  micDeviceId: string | undefined;
  cameraDeviceId: string | undefined;
  /** The user's choice; a muted mic keeps its track (enabled = false) so unmuting is instant. */
  micOn = true;
  cameraOn = true;
  micError: string | undefined;
  cameraError: string | undefined;
  screenError: string | undefined;
  /** Bumped on every change (React's useSyncExternalStore reads it). */
  version = 0;
  private stopped = false;

  /** Starts the chosen microphone and camera (whichever are on); failures become micError/cameraError. */
  async start(): Promise<void> {
    await Promise.all([
      this.micOn ? this.openMic() : undefined,
      this.cameraOn ? this.openCamera() : undefined,
    ]);
  }

  async devices(): Promise<DeviceLists> {
    const all = await navigator.mediaDevices.enumerateDevices().catch(() => []);
    return {
      microphones: all.filter((d) => d.kind === 'audioinput'),
      cameras: all.filter((d) => d.kind === 'videoinput'),
    };
  }

  setMicOn(on: boolean): void {
    this.micOn = on;
    if (this.mic) this.mic.enabled = on;
    else if (on) void this.openMic();
    this.changed();
  }

  /** Off stops the camera (its light goes out); on opens it again. */
  async setCameraOn(on: boolean): Promise<void> {
    this.cameraOn = on;
    if (!on) {
      this.camera?.stop();
      this.camera = undefined;
      this.changed();
      return;
    }
    if (!this.camera) await this.openCamera();
    this.changed();
  }

  async selectMic(deviceId: string): Promise<void> {
    this.micDeviceId = deviceId;
    if (this.micOn || this.mic) await this.openMic();
  }

  async selectCamera(deviceId: string): Promise<void> {
    this.cameraDeviceId = deviceId;
    if (this.cameraOn) await this.openCamera();
  }

  async startScreen(): Promise<boolean> {
    this.screenError = undefined;
    try {
      const stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: 15 }, audio: false });
      const track = stream.getVideoTracks()[0];
      if (!track) return false;
      track.contentHint = 'detail';
      // The browser's own "Stop sharing" button ends the track.
      track.addEventListener('ended', () => {
        if (this.screen === track) this.stopScreen();
      });
      this.screen?.stop();
      this.screen = track;
      this.changed();
      return true;
    } catch (e) {
      // Cancelling the picker is a NotAllowedError too: say so gently.
      this.screenError =
        e instanceof DOMException && e.name === 'NotAllowedError'
          ? 'Screen sharing was cancelled or not allowed.'
          : describeMediaError(e, 'screen share');
      this.changed();
      return false;
    }
  }

  stopScreen(): void {
    this.screen?.stop();
    this.screen = undefined;
    this.changed();
  }

  /** Stops every track (leaving the meeting or the page). */
  stop(): void {
    this.stopped = true;
    for (const t of [this.mic, this.camera, this.screen]) t?.stop();
    this.mic = this.camera = this.screen = undefined;
    this.changed();
  }

  private async openMic(): Promise<void> {
    this.micError = undefined;
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        audio: {
          deviceId: this.micDeviceId ? { exact: this.micDeviceId } : undefined,
          echoCancellation: true,
          noiseSuppression: true,
          autoGainControl: true,
        },
      });
      const track = stream.getAudioTracks()[0];
      if (this.stopped) return track?.stop();
      this.mic?.stop();
      this.mic = track;
      if (track) {
        track.enabled = this.micOn;
        this.micDeviceId = track.getSettings().deviceId ?? this.micDeviceId;
      }
    } catch (e) {
      this.micError = describeMediaError(e, 'microphone');
    }
    this.changed();
  }

  private async openCamera(): Promise<void> {
    this.cameraError = undefined;
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        video: {
          deviceId: this.cameraDeviceId ? { exact: this.cameraDeviceId } : undefined,
          width: { ideal: 960 },
          height: { ideal: 540 },
          frameRate: { ideal: 24 },
        },
      });
      const track = stream.getVideoTracks()[0];
      if (this.stopped || !this.cameraOn) return track?.stop();
      this.camera?.stop();
      this.camera = track;
      if (track) this.cameraDeviceId = track.getSettings().deviceId ?? this.cameraDeviceId;
    } catch (e) {
      this.cameraError = describeMediaError(e, 'camera');
    }
    this.changed();
  }

  private changed(): void {
    this.version++;
    this.emit('change');
  }
}
