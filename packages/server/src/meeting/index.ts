export * from './hub.js';
export * from './deps.js';
export { Room, type RoomLimits, type RoomTimings } from './room.js';
export { DeliveryService } from './delivery-service.js';
export * from './admission-store.js';
export { ConnectionLimits, type ConnectionLimitSettings } from './connection-limits.js';
