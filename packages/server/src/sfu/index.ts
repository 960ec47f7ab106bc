export { Sfu } from './sfu.js';
export type { SfuEvents, SfuLogger, SfuOptions, SfuWorkerStats } from './sfu.js';
export type { IceCandidateInit, MediaKind, PcKind, TapRecord } from './ipc.js';
