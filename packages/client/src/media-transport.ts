import type { IceCandidate, StreamInfo } from '@conclave/protocol';

/** The media side of a participant: two peer connections with the SFU (browser or werift). */
export interface MediaTransport {
  createPublishOffer(): Promise<string>;
  applyPublishAnswer(sdp: string): Promise<void>;
  handleSubscribeOffer(sdp: string, streams: StreamInfo[]): Promise<string>;
  addIce(pc: 'publish' | 'subscribe', candidate: IceCandidate): Promise<void>;
  onIce(cb: (pc: 'publish' | 'subscribe', candidate: IceCandidate) => void): void;
  close(): void;
}
