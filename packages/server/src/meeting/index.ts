export * from './hub.js';
export * from './deps.js';
export { Room, type RoomTimings } from './room.js';
export { DeliveryService } from './delivery-service.js';
export { ResumeTokens } from './resume-token.js';
