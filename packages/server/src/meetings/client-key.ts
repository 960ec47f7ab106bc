import { isIP } from 'node:net';

/**
 * The key a per-client limit counts under, from the client's IP address:
 * - IPv4 (and IPv4-mapped IPv6 such as `::ffff:192.0.2.1`): the address itself;
 * - IPv6: its /64 prefix, e.g. `2001:db8:1:2::/64`. One subscriber usually gets a whole /64,
 *   so counting single IPv6 addresses would give an attacker 2^64 fresh limits.
 * Anything else (a test's label, an empty string) is returned unchanged.
 */
export function clientKeyForIp(ip: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped?.[1] && isIP(mapped[1]) === 4) return mapped[1];
  if (isIP(ip) !== 6) return ip;
  const groups = expandIpv6(ip);
  return `${groups.slice(0, 4).join(':')}::/64`;
}

/** Eight lower-case hextets without leading zeros; the input is known to be a valid IPv6 address. */
function expandIpv6(ip: string): string[] {
  let address = ip.split('%')[0] ?? ip; // zone id
  // A trailing dotted IPv4 part counts as two hextets.
  const v4 = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    address = `${address.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...fill, ...right].map((h) => parseInt(h, 16).toString(16));
}
