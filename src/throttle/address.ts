// The client address a throttle counts by (issue 8 points 1-2; checklist C3): one IPv4 address, or one IPv6 /64.
import { isIPv4, isIPv6 } from 'node:net';

/** IPv6 groups of an address, with `::` expanded and an embedded IPv4 tail as its two groups. */
function ipv6Groups(ip: string): string[] {
  const [head = '', tail] = ip.split('::');
  const split = (part: string) => {
    if (part === '') return [];
    const groups = part.split(':');
    const last = groups[groups.length - 1] ?? '';
    // ::ffff:1.2.3.4 style: the dotted quad fills the last 32 bits.
    if (isIPv4(last)) groups.splice(-1, 1, 'v4', 'v4');
    return groups;
  };
  const before = split(head);
  const after = tail === undefined ? [] : split(tail);
  const zeros = Array<string>(Math.max(0, 8 - before.length - after.length)).fill('0');
  return [...before, ...zeros, ...after];
}

/**
 * The part of `request.ip` (Fastify, after `server.trustProxy`) a throttle keys on. One host on IPv6 usually holds a
 * whole /64, so counting single IPv6 addresses would give an attacker 2^64 fresh counters; an IPv4-mapped address
 * counts as its IPv4 address.
 */
export function addressKey(ip: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped?.[1] !== undefined && isIPv4(mapped[1])) return mapped[1];
  if (isIPv4(ip)) return ip;
  const bare = ip.split('%')[0] ?? '';
  if (isIPv6(bare)) {
    const prefix = ipv6Groups(bare.toLowerCase())
      .slice(0, 4)
      .map((g) => g.replace(/^0+(?=.)/, ''));
    return `${prefix.join(':')}::/64`;
  }
  // Not an IP (a Unix socket, a proxy header trusted but odd): bounded, so it can still key a counter.
  return ip.slice(0, 64);
}
