// A single-page app in real headless Chromium: a page on its own origin runs the PKCE code flow as a public client,
// calling discovery, the token endpoint and UserInfo with fetch (CORS), as RFC 9700 §2.1.1 and §2.6 describe.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { BrowserContext, Page } from 'playwright-core';
import { CHROMIUM, chromiumSkip, withChromium } from '../helpers/browser.js';
import { alice, startTestServer, type TestServer } from '../helpers/server.js';

const CLIENT_ID = 'browser-spa';

const skip = chromiumSkip;

/** Shared by both pages: the provider and client settings the SPA is built with. */
interface SpaSettings {
  issuer: string;
  clientId: string;
  redirectUri: string;
}

/** The start page: PKCE pair from crypto.subtle, kept in sessionStorage, then off to the authorization endpoint. */
function startPage(settings: SpaSettings): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>SPA</title></head>
<body><pre id="status">starting</pre>
<script>
const settings = ${JSON.stringify(settings)};
const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
  .replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
(async () => {
  const discovery = await (await fetch(settings.issuer + '/.well-known/openid-configuration')).json();
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  const state = b64url(crypto.getRandomValues(new Uint8Array(16)));
  const nonce = b64url(crypto.getRandomValues(new Uint8Array(16)));
  sessionStorage.setItem('pkce', JSON.stringify({ verifier, state, nonce }));
  const url = new URL(discovery.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: settings.clientId,
    redirect_uri: settings.redirectUri,
    scope: 'openid profile email',
    state,
    nonce,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  location.assign(url.href);
})().catch((e) => { document.getElementById('status').textContent = 'error: ' + e; });
</script></body></html>`;
}

/** The redirect URI's page: code from the URL, token endpoint and UserInfo by fetch, results into #result. */
function callbackPage(settings: SpaSettings): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>SPA callback</title></head>
<body><p>signing in</p>
<script>
const settings = ${JSON.stringify(settings)};
const show = (value) => {
  const pre = document.createElement('pre');
  pre.id = 'result';
  pre.textContent = JSON.stringify(value);
  document.body.appendChild(pre);
};
(async () => {
  const params = new URLSearchParams(location.search);
  const saved = JSON.parse(sessionStorage.getItem('pkce') || 'null');
  sessionStorage.removeItem('pkce');
  if (!saved) throw new Error('no PKCE verifier in sessionStorage');
  if (params.get('state') !== saved.state) throw new Error('state mismatch');
  const code = params.get('code');
  if (!code) throw new Error('no code: ' + location.search);
  const discovery = await (await fetch(settings.issuer + '/.well-known/openid-configuration')).json();
  const tokenResponse = await fetch(discovery.token_endpoint, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: settings.clientId,
      code,
      redirect_uri: settings.redirectUri,
      code_verifier: saved.verifier,
    }),
  });
  const token = await tokenResponse.json();
  const userinfoResponse = await fetch(discovery.userinfo_endpoint, {
    headers: { Authorization: 'Bearer ' + token.access_token },
  });
  const userinfo = await userinfoResponse.json();
  show({
    ok: true,
    iss: params.get('iss'),
    nonce: saved.nonce,
    tokenStatus: tokenResponse.status,
    token,
    userinfoStatus: userinfoResponse.status,
    userinfo,
  });
})().catch((e) => show({ ok: false, error: String(e) }));
</script></body></html>`;
}

/** A page on a foreign origin that tries to read the provider's answers: CORS must stop it. */
function probePage(settings: SpaSettings): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>probe</title></head>
<body>
<script>
const settings = ${JSON.stringify(settings)};
const attempt = async (url, init) => {
  try {
    const res = await fetch(url, init);
    return { readable: true, status: res.status, body: await res.text() };
  } catch (e) {
    return { readable: false, error: e.name };
  }
};
(async () => {
  const results = {
    discovery: await attempt(settings.issuer + '/.well-known/openid-configuration'),
    jwk: await attempt(settings.issuer + '/jwk'),
    token: await attempt(settings.issuer + '/token', {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'authorization_code', client_id: settings.clientId, code: 'x' }),
    }),
    userinfo: await attempt(settings.issuer + '/userinfo', { headers: { Authorization: 'Bearer x' } }),
  };
  const pre = document.createElement('pre');
  pre.id = 'result';
  pre.textContent = JSON.stringify(results);
  document.body.appendChild(pre);
})();
</script></body></html>`;
}

interface StaticSite {
  server: Server;
  origin: string;
  /** Paths (with query) the browser asked of this site, in order. */
  requests: string[];
  /** Set once the provider is up. */
  settings: SpaSettings | undefined;
}

/** A loopback static server for the SPA's pages; the page origin is http://127.0.0.1:PORT. */
async function startSite(pages: Record<string, (s: SpaSettings) => string>): Promise<StaticSite> {
  const site: StaticSite = { server: createServer(), origin: '', requests: [], settings: undefined };
  site.server.on('request', (req, res) => {
    site.requests.push(req.url ?? '');
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const render = pages[path];
    if (!render || !site.settings) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(render(site.settings));
  });
  await new Promise<void>((resolve) => site.server.listen(0, '127.0.0.1', resolve));
  site.origin = `http://127.0.0.1:${(site.server.address() as AddressInfo).port}`;
  return site;
}

function closeSite(site: StaticSite | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!site) return resolve();
    site.server.closeAllConnections();
    site.server.close(() => resolve());
  });
}

/** Chromium with a fresh profile, removed afterwards. */
function withBrowser(fn: (context: BrowserContext, page: Page) => Promise<void>): Promise<void> {
  return withChromium({}, async (context) => fn(context, context.pages()[0] ?? (await context.newPage())));
}

describe('a single-page app in Chromium: PKCE code flow with fetch and CORS', { skip }, () => {
  let t: TestServer;
  let spa: StaticSite;
  let foreign: StaticSite;
  let providerOrigin: string;
  let redirectUri: string;

  before(async () => {
    spa = await startSite({ '/': startPage, '/cb': callbackPage });
    // Another origin (another port) that no client allows.
    foreign = await startSite({ '/probe': probePage });
    redirectUri = `${spa.origin}/cb`;
    t = await startTestServer({
      providers: [
        {
          name: 'default',
          clients: [
            {
              client_id: CLIENT_ID,
              token_endpoint_auth_method: 'none',
              // Loopback http is allowed; its origin becomes the client's default CORS origin.
              redirect_uris: [redirectUri],
              grant_types: ['authorization_code'],
              scope: 'openid profile email',
            },
          ],
          users: [alice],
        },
      ],
    });
    providerOrigin = new URL(t.issuer).origin;
    spa.settings = { issuer: t.issuer, clientId: CLIENT_ID, redirectUri };
    foreign.settings = spa.settings;
  });
  after(async () => {
    await t?.close();
    await closeSite(spa);
    await closeSite(foreign);
  });

  test(`Chromium is installed at ${CHROMIUM}`, () => {
    assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: with CI=true .ci/run must install it`);
  });

  test('sign in, consent, then the page redeems the code with fetch and reads UserInfo', async () => {
    assert.notEqual(spa.origin, providerOrigin, 'the SPA and the provider are different origins');
    await withBrowser(async (_context, page) => {
      const authorizeRequests: URL[] = [];
      const corsResponses = new Map<string, string | undefined>();
      page.on('request', (r) => {
        const u = new URL(r.url());
        if (u.href.startsWith(`${t.issuer}/authorize`)) authorizeRequests.push(u);
      });
      page.on('response', (r) => {
        const u = new URL(r.url());
        if (u.origin !== providerOrigin || r.request().resourceType() !== 'fetch') return;
        const key = `${r.request().method()} ${u.pathname.slice(new URL(t.issuer).pathname.length)}`;
        corsResponses.set(key, r.headers()['access-control-allow-origin']);
      });

      await page.goto(`${spa.origin}/`);
      // The page fetched discovery (CORS) and sent the browser to the provider's login page.
      await page.locator('input[name="password"]').waitFor();
      assert.equal(new URL(page.url()).origin, providerOrigin, 'the login page is on the provider');
      const authz = authorizeRequests[0];
      assert.ok(authz, 'the browser went to the authorization endpoint');
      assert.equal(authz.searchParams.get('client_id'), CLIENT_ID);
      assert.equal(authz.searchParams.get('code_challenge_method'), 'S256');
      assert.match(authz.searchParams.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
      assert.equal(authz.searchParams.get('code_verifier'), null, 'the verifier never leaves the page');

      await page.locator('input[name="username"]').fill(alice.username);
      await page.locator('input[name="password"]').fill(alice.password);
      await page.locator('form[method="post"] [type="submit"]').first().click();
      const allow = page.locator('button[name="decision"][value="allow"]');
      await allow.waitFor();
      assert.equal(new URL(page.url()).origin, providerOrigin, 'the consent page is on the provider');
      await allow.click();

      await page.waitForURL((u) => u.origin === spa.origin && u.pathname === '/cb');
      const resultText = await page.locator('#result').textContent({ timeout: 15_000 });
      const result = JSON.parse(resultText ?? 'null') as {
        ok: boolean;
        error?: string;
        iss: string;
        nonce: string;
        tokenStatus: number;
        token: Record<string, unknown>;
        userinfoStatus: number;
        userinfo: Record<string, unknown>;
      };
      assert.equal(result.ok, true, `the page failed: ${result.error}`);
      assert.equal(result.iss, t.issuer);

      assert.equal(result.tokenStatus, 200, JSON.stringify(result.token));
      assert.equal(String(result.token.token_type).toLowerCase(), 'bearer');
      assert.equal(typeof result.token.access_token, 'string');
      assert.equal(typeof result.token.id_token, 'string', 'the token response has an id_token');
      assert.equal(result.token.refresh_token, undefined, 'no refresh_token grant for this client');

      assert.equal(result.userinfoStatus, 200, JSON.stringify(result.userinfo));
      assert.equal(result.userinfo.email, alice.claims.email);
      assert.equal(result.userinfo.name, alice.claims.name);
      assert.equal(typeof result.userinfo.sub, 'string');

      const { payload } = await jwtVerify(
        result.token.id_token as string,
        createRemoteJWKSet(new URL(`${t.issuer}/jwk`)),
        { issuer: t.issuer, audience: CLIENT_ID },
      );
      assert.equal(payload.sub, result.userinfo.sub, 'the ID token and UserInfo name the same user');
      assert.equal(payload.nonce, result.nonce);

      // Every fetch the page made got its own origin back, exactly.
      for (const key of ['GET /.well-known/openid-configuration', 'POST /token', 'GET /userinfo'])
        assert.equal(corsResponses.get(key), spa.origin, `${key}: Access-Control-Allow-Origin`);
      // The start page, then the callback once: nothing else reached the SPA's server.
      assert.deepEqual(
        spa.requests.map((r) => new URL(r, spa.origin).pathname).filter((p) => p !== '/favicon.ico'),
        ['/', '/cb'],
      );
    });
  });

  test('a page on an origin no client allows cannot read the provider’s answers', async () => {
    await withBrowser(async (_context, page) => {
      await page.goto(`${foreign.origin}/probe`);
      const text = await page.locator('#result').textContent({ timeout: 15_000 });
      const results = JSON.parse(text ?? 'null') as Record<string, { readable: boolean; error?: string }>;
      for (const [name, r] of Object.entries(results))
        assert.equal(r.readable, false, `${name} is readable from ${foreign.origin}`);
      assert.equal(results.token?.error, 'TypeError');
    });
  });
});
