export { NodeMediaPeer } from './node-peer.js';
export { NativeMediaPeer, stopNativeMedia } from './native-peer.js';
export type {
  BotMediaPeer,
  BotSource,
  NodeMediaPeerOptions,
  PcKind,
  ReceivedFrame,
  SendFrameOptions,
} from './peer-common.js';
export { botPeerConfig } from './peer-config.js';
export { FrameAssembler } from './depacketizer.js';
export type { AssembledFrame } from './depacketizer.js';
export { RtpFramer, VP8_MAX_SLICE } from './packetizer.js';
export { syntheticOpusFrame, syntheticVp8Frame } from './synthetic.js';
