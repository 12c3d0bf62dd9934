// Fetches a small JSON document from a URL the provider was given (jwks_uri), with the SSRF guards of RFC 9700 §4.15:
// https only, no private or loopback addresses after DNS resolution, no redirects, time and size caps.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';

export interface FetchPolicy {
  /** Allow http and loopback/private addresses (tests, closed networks). */
  allowPrivateNetworks: boolean;
  timeoutMs: number;
  maxBytes: number;
}

export class FetchError extends Error {
  override name = 'FetchError';
}

const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blocked.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 96], // unspecified, loopback and the deprecated IPv4-compatible form
  ['64:ff9b::', 96], // NAT64
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard
  ['2002::', 16], // 6to4 embeds any IPv4 address
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link local
  ['fec0::', 10], // site local (deprecated)
  ['ff00::', 8], // multicast
] as const) {
  blocked.addSubnet(net, prefix, 'ipv6');
}

export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family !== 6) return true;
  // IPv4-mapped IPv6 (::ffff:a.b.c.d or ::ffff:hhhh:hhhh) is the IPv4 address in disguise.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return blocked.check(mapped[1] as string, 'ipv4');
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (hex) {
    const hi = Number.parseInt(hex[1] as string, 16);
    const lo = Number.parseInt(hex[2] as string, 16);
    return blocked.check(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`, 'ipv4');
  }
  return blocked.check(address, 'ipv6');
}

/** DNS lookup that refuses private answers, so the check holds for the address actually connected to. */
export const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '', 4);
    const list = addresses as LookupAddress[];
    const bad = list.find((a) => isPrivateAddress(a.address));
    if (bad || list.length === 0)
      return callback(new FetchError(`${hostname} resolves to a private address`), '', 4);
    if ((options as { all?: boolean }).all)
      return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
    const first = list[0] as LookupAddress;
    return callback(null, first.address, first.family);
  });
};

/**
 * The URL the provider may send a request to: https, and not a private address literal (host names are checked
 * after resolution, by guardedLookup). Throws FetchError. Also used by outbound POSTs (src/net/post-form.ts).
 */
export function guardedTarget(url: string, policy: FetchPolicy): URL {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new FetchError('not a URL');
  }
  if (target.protocol !== 'https:' && !(policy.allowPrivateNetworks && target.protocol === 'http:'))
    throw new FetchError('only https URLs are fetched');
  const host = target.hostname.replace(/^\[|\]$/g, '');
  if (!policy.allowPrivateNetworks && isIP(host) !== 0 && isPrivateAddress(host))
    throw new FetchError('private address');
  return target;
}

/** Fetches a JSON document (a JWK Set, a sector identifier document) under the guards above. */
export async function fetchJson(url: string, policy: FetchPolicy): Promise<unknown> {
  const text = await fetchText(url, policy, 'application/json, application/jwk-set+json');
  try {
    return JSON.parse(text);
  } catch {
    throw new FetchError('response is not JSON');
  }
}

/** Fetches a small text document (a request object by reference, RFC 9101 §5.2) under the same guards. */
export function fetchText(url: string, policy: FetchPolicy, accept: string): Promise<string> {
  let target: URL;
  try {
    target = guardedTarget(url, policy);
  } catch (err) {
    return Promise.reject(err);
  }

  const client = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.get(
      target,
      {
        headers: { accept },
        timeout: policy.timeoutMs,
        ...(policy.allowPrivateNetworks ? {} : { lookup: guardedLookup }),
      },
      (res) => {
        // No redirects: a 3xx could point anywhere, including inside the network.
        if (res.statusCode !== 200) {
          res.resume();
          reject(new FetchError(`status ${res.statusCode}`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > policy.maxBytes) {
            req.destroy(new FetchError('response too large'));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => {
          try {
            resolve(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks)));
          } catch {
            reject(new FetchError('response is not UTF-8'));
          }
        });
        res.on('error', reject);
      },
    );
    // `timeout` above only catches an idle socket; this caps the whole exchange, however slowly it trickles.
    const deadline = setTimeout(() => req.destroy(new FetchError('timed out')), policy.timeoutMs);
    req.on('timeout', () => req.destroy(new FetchError('timed out')));
    req.on('error', reject);
    req.on('close', () => clearTimeout(deadline));
  });
}
