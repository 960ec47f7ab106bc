import type { IceCandidate, StreamInfo } from '@conclave/protocol';

/** The media side of a participant: two peer connections with the SFU (browser or werift). */
export interface MediaTransport {
  createPublishOffer(): Promise<string>;
  applyPublishAnswer(sdp: string): Promise<void>;
  handleSubscribeOffer(sdp: string, streams: StreamInfo[]): Promise<string>;
  addIce(pc: 'publish' | 'subscribe', candidate: IceCandidate): Promise<void>;
  onIce(cb: (pc: 'publish' | 'subscribe', candidate: IceCandidate) => void): void;
  /**
   * The peer connection's state (RTCPeerConnectionState). A transport with it gets the SDK's
   * watchdog: a connection not `connected` `mediaConnectTimeoutMs` after its answer is reported
   * to the server (`media_failed`), which makes the media session anew.
   */
  connectionState?(pc: 'publish' | 'subscribe'): string;
  close(): void;
}
