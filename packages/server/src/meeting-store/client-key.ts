import { isIP } from 'node:net';

/**
 * The network a client address belongs to, for limits that must not be dodged by switching to a
 * neighbouring address:
 * - IPv4, and IPv4-mapped IPv6 in any spelling (`::ffff:192.0.2.1`, `::ffff:c000:201`,
 *   `0:0:0:0:0:ffff:192.0.2.1`): its /24, e.g. `192.0.2.0/24`;
 * - IPv6: its /64, e.g. `2001:db8:1:2::/64` (lower case, no leading zeros, zone id dropped).
 *   One subscriber usually gets a whole /64, so counting single IPv6 addresses would give an
 *   attacker 2^64 fresh limits.
 * Anything that is not an IP address (a test's label, an empty string, garbage) is returned
 * unchanged: it is then its own network. A pure function (no I/O), so every limit (passcodes,
 * sockets, joins) can share it.
 */
export function networkKeyForIp(ip: string): string {
  const v4 = ipv4Of(ip);
  if (v4 !== undefined) {
    const [a, b, c] = v4.split('.');
    return `${a}.${b}.${c}.0/24`;
  }
  if (isIP(ip) !== 6) return ip;
  return `${expandIpv6(ip).slice(0, 4).join(':')}::/64`;
}

/**
 * The key a per-address limit counts under:
 * - IPv4 (and IPv4-mapped IPv6 such as `::ffff:192.0.2.1`): the address itself;
 * - IPv6: its /64 prefix, e.g. `2001:db8:1:2::/64`.
 * Anything else (a test's label, an empty string) is returned unchanged. Limits per network
 * (IPv4 /24) use `networkKeyForIp`.
 */
export function clientKeyForIp(ip: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped?.[1] && isIP(mapped[1]) === 4) return mapped[1];
  if (isIP(ip) !== 6) return ip;
  const groups = expandIpv6(ip);
  return `${groups.slice(0, 4).join(':')}::/64`;
}

/** The dotted IPv4 address of an IPv4 or IPv4-mapped IPv6 address, else undefined. */
function ipv4Of(ip: string): string | undefined {
  const kind = isIP(ip);
  if (kind === 4) return ip;
  if (kind !== 6) return undefined;
  const groups = expandIpv6(ip);
  if (groups.slice(0, 5).some((h) => h !== '0') || groups[5] !== 'ffff') return undefined;
  const hi = parseInt(groups[6] ?? '0', 16);
  const lo = parseInt(groups[7] ?? '0', 16);
  return [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join('.');
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
