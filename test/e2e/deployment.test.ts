// Deployment shapes: behind a TLS-terminating proxy (publicUrl https) and serving HTTPS itself (server.tls).
import assert from 'node:assert/strict';
import https from 'node:https';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeCertificate } from '../helpers/certificate.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { authorizeUrl, signIn, UserAgent } from '../helpers/user-agent.js';

describe('behind a proxy: publicUrl https://op.example.com', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ server: { publicUrl: 'https://op.example.com' } });
  });
  after(() => t.close());

  const local = (path: string) => `${t.baseUrl}/oidc/endpoint/default${path}`;

  test('issuer and endpoints come from publicUrl, never from Host or X-Forwarded-Host', async () => {
    const variants: Record<string, string>[] = [
      {},
      { host: 'evil.example' },
      { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'http' },
    ];
    for (const headers of variants) {
      const doc = (await (
        await fetch(local('/.well-known/openid-configuration'), { headers })
      ).json()) as Record<string, string>;
      assert.equal(doc.issuer, 'https://op.example.com/oidc/endpoint/default');
      assert.equal(doc.token_endpoint, 'https://op.example.com/oidc/endpoint/default/token');
    }
  });

  test('cookies are __Host- prefixed and Secure; HSTS is sent; redirects use the public URL', async () => {
    const ua = new UserAgent();
    const res = await ua.get(
      authorizeUrl(`${t.baseUrl}/oidc/endpoint/default`, {
        response_type: 'code',
        client_id: 'web',
        redirect_uri: 'https://rp.example/cb',
        scope: 'openid',
        state: 's',
      }),
    );
    assert.equal(res.status, 303);
    assert.match(
      res.headers.get('location') ?? '',
      /^https:\/\/op\.example\.com\/oidc\/endpoint\/default\/interaction\//,
    );
    assert.match(res.headers.get('strict-transport-security') ?? '', /max-age=\d+/);
    const cookies = res.headers.getSetCookie();
    assert.ok(cookies.length > 0);
    for (const c of cookies) {
      assert.match(c, /^__Host-/);
      assert.match(c, /; Secure/i);
      assert.match(c, /; HttpOnly/i);
      assert.match(c, /; Path=\//i);
      assert.doesNotMatch(c, /; Domain=/i);
    }
  });

  test('the flow completes through the proxy-facing URLs, with iss = the public issuer', async () => {
    // The user agent talks to the local listener; rewrite the public origin as a proxy would.
    const ua = new UserAgent();
    const publicOrigin = 'https://op.example.com';
    const originalRequest = ua.request.bind(ua);
    ua.request = (url: string, init?: RequestInit) =>
      originalRequest(url.replace(publicOrigin, t.baseUrl), init);
    const cb = await signIn(
      ua,
      authorizeUrl(`${publicOrigin}/oidc/endpoint/default`, {
        response_type: 'code',
        client_id: 'web',
        redirect_uri: 'https://rp.example/cb',
        scope: 'openid',
        state: 's',
      }),
    );
    assert.equal(cb.searchParams.get('iss'), 'https://op.example.com/oidc/endpoint/default');
    assert.ok(cb.searchParams.get('code'));
  });
});

describe('serving HTTPS itself: server.tls', () => {
  let t: TestServer;
  let ca: Buffer;
  before(async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-tls-'));
    const made = makeCertificate(dir);
    const { cert, key } = made;
    ca = made.ca;
    t = await startTestServer({ server: { tls: { cert, key } } });
  });
  after(() => t.close());

  function get(url: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      https
        .get(url, { ca }, (res) => {
          let body = '';
          res.on('data', (d) => {
            body += d;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        })
        .on('error', reject);
    });
  }

  test('listens on https and publishes an https issuer', async () => {
    assert.match(t.baseUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
    const health = await get(`${t.baseUrl}/healthz`);
    assert.equal(health.status, 200);
    const doc = JSON.parse((await get(`${t.issuer}/.well-known/openid-configuration`)).body) as {
      issuer: string;
    };
    assert.equal(doc.issuer, t.issuer);
    assert.match(doc.issuer, /^https:\/\//);
  });
});
