export * from './hub.js';
export * from './deps.js';
export { Room } from './room.js';
export {
  GroupCoordinator,
  type GroupPorts,
  type GroupParticipant,
  type GroupTimings,
} from './group-coordinator.js';
export * from './admission-store.js';
export { ConnectionLimits, type ConnectionLimitSettings } from './connection-limits.js';
