// Sends a small form POST to a URL a client registered (back-channel logout, OIDC Back-Channel Logout 1.0 §2.5), under
// the SSRF guards of fetch-json.ts (RFC 9700 §4.15): https only, no private addresses after DNS resolution, no
// redirects followed, a deadline for the whole exchange and a cap on what is read back.
import http from 'node:http';
import https from 'node:https';
import { FetchError, type FetchPolicy, guardedLookup, guardedTarget } from './fetch-json.js';

/** Posts `form` as application/x-www-form-urlencoded and resolves with the response status; rejects with FetchError. */
export function postForm(url: string, form: Record<string, string>, policy: FetchPolicy): Promise<number> {
  let target: URL;
  try {
    target = guardedTarget(url, policy);
  } catch (err) {
    return Promise.reject(err);
  }
  const body = Buffer.from(new URLSearchParams(form).toString(), 'utf8');
  const client = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(
      target,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': body.length,
          // The answer matters only by its status; nothing of it is kept.
          accept: 'application/json, text/plain, */*',
        },
        timeout: policy.timeoutMs,
        ...(policy.allowPrivateNetworks ? {} : { lookup: guardedLookup }),
      },
      (res) => {
        // A 3xx is not followed: it could point anywhere, including inside the network.
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > policy.maxBytes) req.destroy(new FetchError('response too large'));
        });
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    // `timeout` above only catches an idle socket; this caps the whole exchange, however slowly it trickles.
    const deadline = setTimeout(() => req.destroy(new FetchError('timed out')), policy.timeoutMs);
    req.on('timeout', () => req.destroy(new FetchError('timed out')));
    req.on('error', reject);
    req.on('close', () => clearTimeout(deadline));
    req.end(body);
  });
}
