// The outbound fetch guard (RFC 9700 §4.15, checklist G2): private addresses, non-https, redirects, size and time caps.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { fetchJson, isPrivateAddress } from '../../src/net/fetch-json.js';

describe('isPrivateAddress', () => {
  test('blocks loopback, private, link-local, mapped and tunnelled forms', () => {
    for (const a of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      '::',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::127.0.0.1',
      'fc00::1',
      'fd12::1',
      'fe80::1',
      'fec0::1',
      '64:ff9b::7f00:1',
      '2002:7f00:1::1',
      'not-an-ip',
    ]) {
      assert.equal(isPrivateAddress(a), true, a);
    }
  });
  test('lets public addresses through', () => {
    for (const a of ['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111'])
      assert.equal(isPrivateAddress(a), false, a);
  });
});

describe('fetchJson against a local server', () => {
  let server: Server;
  let base: string;
  before(async () => {
    server = createServer((req, res) => {
      if (req.url === '/jwks') return res.end(JSON.stringify({ keys: [] }));
      if (req.url === '/redirect') {
        res.writeHead(302, { location: '/jwks' });
        return res.end();
      }
      if (req.url === '/big') return res.end(`"${'x'.repeat(200_000)}"`);
      if (req.url === '/trickle') {
        // One byte every 200 ms: never idle long enough for a socket timeout.
        const timer = setInterval(() => res.write(' '), 200);
        res.on('close', () => clearInterval(timer));
        return undefined;
      }
      res.writeHead(404);
      return res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const open = { allowPrivateNetworks: true, timeoutMs: 1000, maxBytes: 64 * 1024 };
  const guarded = { ...open, allowPrivateNetworks: false };

  test('fetches JSON when private networks are allowed', async () => {
    assert.deepEqual(await fetchJson(`${base}/jwks`, open), { keys: [] });
  });
  test('refuses http and loopback when they are not', async () => {
    await assert.rejects(fetchJson(`${base}/jwks`, guarded), /only https/);
    await assert.rejects(fetchJson('https://127.0.0.1:1/jwks', guarded), /private address/);
    await assert.rejects(fetchJson('https://[::ffff:127.0.0.1]:1/jwks', guarded), /private address/);
  });
  test('does not follow redirects', async () => {
    await assert.rejects(fetchJson(`${base}/redirect`, open), /status 302/);
  });
  test('caps the size', async () => {
    await assert.rejects(fetchJson(`${base}/big`, open), /too large/);
  });
  test('caps the total time, even when bytes keep trickling', async () => {
    await assert.rejects(fetchJson(`${base}/trickle`, { ...open, timeoutMs: 700 }), /timed out/);
  });
});
