import { networkKeyForIp } from '../meeting-store/client-key.js';

/**
 * The network a client address belongs to, as the risk engine counts it: IPv4 /24
 * (`203.0.113.0/24`, IPv4-mapped IPv6 included) and IPv6 /64 (`2001:db8:1:2::/64`). One home or
 * office usually keeps its /24 or /64 while single addresses change, and an attacker with a
 * whole /64 is one network, not 2^64 of them. The same network as every other per-network
 * limit (passcodes, signaling sockets and joins): `networkKeyForIp`.
 */
export const ipPrefix: (ip: string) => string = networkKeyForIp;
