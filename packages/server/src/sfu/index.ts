export { Sfu } from './sfu.js';
export { MEDIA_PORTS_PER_PARTICIPANT, MediaCapacityError } from './port-pool.js';
export type { MediaPoolStatus, PortPoolSnapshot } from './port-pool.js';
export type { RoutedOp, SfuEvents, SfuOptions, SfuWorkerStats } from './sfu.js';
export type { ArgsOf, MediaKind, MediaStatus, PcKind, ResultOf, TapRecord } from './ipc.js';
