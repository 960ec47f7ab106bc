export { NodeMediaPeer } from './node-peer.js';
export type {
  BotSource,
  NodeMediaPeerOptions,
  PcKind,
  ReceivedFrame,
  SendFrameOptions,
} from './node-peer.js';
export { botPeerConfig } from './peer-config.js';
export { FrameAssembler } from './depacketizer.js';
export type { AssembledFrame } from './depacketizer.js';
export { RtpFramer, VP8_MAX_SLICE } from './packetizer.js';
export { syntheticOpusFrame, syntheticVp8Frame } from './synthetic.js';
