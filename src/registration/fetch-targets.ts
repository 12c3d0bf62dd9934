// Registration's look at the URLs the provider will fetch later (jwks_uri, request_uris): a host that resolves to a
// private or loopback address is refused at once (security checklist G2; RFC 9700 §4.15). The fetch itself checks
// again against the address it connects to (src/net/fetch-json.ts), so DNS changes after registration gain nothing.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { isPrivateAddress } from '../net/fetch-json.js';

/** Registration waits at most this long for DNS; a host that does not answer is left to the fetch-time guard. */
const lookupTimeoutMs = 2000;

/** True when `url`'s host name resolves to some private address. IP literals are the metadata rules' business. */
export async function resolvesToPrivateAddress(url: string): Promise<boolean> {
  let host: string;
  try {
    host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return false;
  }
  if (host === '' || isIP(host) !== 0) return false;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<[]>((resolve) => {
    timer = setTimeout(() => resolve([]), lookupTimeoutMs);
  });
  try {
    const addresses = await Promise.race([lookup(host, { all: true }), timeout]);
    return addresses.some((a) => isPrivateAddress(a.address));
  } catch {
    // Does not resolve now: nothing to refuse yet; a later fetch fails on its own.
    return false;
  } finally {
    clearTimeout(timer);
  }
}
