// The login and consent pages of interface.md in a real browser: Debian's headless Chromium driven by playwright-core.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { BrowserContext, Page } from 'playwright-core';
import { CHROMIUM, chromiumSkip, withChromium } from '../helpers/browser.js';
import { alice, demoClient, startTestServer, type TestServer } from '../helpers/server.js';
import { authorizeUrl, basic, pkcePair, postForm } from '../helpers/user-agent.js';

const REDIRECT_URI = demoClient.redirect_uris[0] as string;
const CLIENT_ORIGIN = new URL(REDIRECT_URI).origin;

const skip = chromiumSkip;

interface Browser {
  context: BrowserContext;
  page: Page;
  /** Every URL the browser asked of the client (the relying party), in order. */
  clientRequests: string[];
}

/** A phone-sized Chromium with a fresh profile; the client's redirect URI is answered locally. */
async function withBrowser(fn: (b: Browser) => Promise<void>): Promise<void> {
  const phone = {
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 1,
    isMobile: true,
    hasTouch: true,
  };
  await withChromium(phone, async (context) => {
    const clientRequests: string[] = [];
    // rp.example does not exist: the browser's request to it is the authorization response we want to see.
    await context.route(`${CLIENT_ORIGIN}/**`, (route) => {
      clientRequests.push(route.request().url());
      return route.fulfill({ status: 200, contentType: 'text/plain', body: 'callback' });
    });
    const page = context.pages()[0] ?? (await context.newPage());
    await fn({ context, page, clientRequests });
  });
}

describe('login and consent pages in Chromium', { skip }, () => {
  let t: TestServer;
  let providerOrigin: string;

  before(async () => {
    t = await startTestServer();
    providerOrigin = new URL(t.issuer).origin;
  });
  after(() => t?.close());

  test(`Chromium is installed at ${CHROMIUM}`, () => {
    assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: with CI=true .ci/run must install it`);
  });

  function startUrl(state: string, extra: Record<string, string> = {}): string {
    return authorizeUrl(t.issuer, {
      client_id: demoClient.client_id,
      redirect_uri: REDIRECT_URI,
      response_type: 'code',
      scope: 'openid profile email',
      state,
      ...extra,
    });
  }

  async function logIn(page: Page, password: string): Promise<void> {
    await page.locator('input[name="username"]').fill(alice.username);
    await page.locator('input[name="password"]').fill(password);
    await page.locator('form[method="post"] [type="submit"]').first().click();
  }

  test('sign in, allow, land on the client with a code that redeems for an ID token', async () => {
    await withBrowser(async ({ context, page, clientRequests }) => {
      const state = 'browser-state-allow';
      const nonce = 'browser-nonce-allow';
      const pkce = pkcePair();
      await page.goto(
        startUrl(state, { nonce, code_challenge: pkce.challenge, code_challenge_method: 'S256' }),
      );
      assert.equal(new URL(page.url()).origin, providerOrigin, 'the login page is on the provider');
      await page.locator('input[name="password"]').waitFor();
      await page.screenshot({ path: '/tmp/gatehouse-login.png', fullPage: true });
      const before = await context.cookies(providerOrigin);

      await logIn(page, alice.password);
      const allow = page.locator('button[name="decision"][value="allow"]');
      await allow.waitFor();
      assert.equal(new URL(page.url()).origin, providerOrigin, 'the consent page is on the provider');
      await page.screenshot({ path: '/tmp/gatehouse-consent.png', fullPage: true });

      // Logging in issues a new session cookie, HttpOnly and SameSite=Lax.
      const after = await context.cookies(providerOrigin);
      const issued = after.filter((c) => !before.some((b) => b.name === c.name && b.value === c.value));
      assert.ok(issued.length > 0, 'a new cookie is set when logging in');
      for (const c of after) {
        assert.equal(c.httpOnly, true, `cookie ${c.name} is HttpOnly`);
        assert.equal(c.sameSite, 'Lax', `cookie ${c.name} is SameSite=Lax`);
      }

      await allow.click();
      await page.waitForURL((u) => u.origin === CLIENT_ORIGIN);
      const callback = new URL(page.url());
      assert.equal(callback.origin + callback.pathname, REDIRECT_URI);
      assert.equal(callback.searchParams.get('state'), state);
      assert.equal(callback.searchParams.get('iss'), t.issuer);
      assert.equal(callback.searchParams.get('error'), null);
      const code = callback.searchParams.get('code');
      assert.ok(code, 'the redirect carries a code');
      assert.deepEqual(clientRequests, [callback.href], 'exactly one request reached the client');

      const res = await postForm(
        `${t.issuer}/token`,
        { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: pkce.verifier },
        { authorization: basic(demoClient.client_id, demoClient.client_secret) },
      );
      assert.equal(res.status, 200, JSON.stringify(res.json));
      assert.equal(typeof res.json.id_token, 'string');
      const { payload } = await jwtVerify(
        res.json.id_token as string,
        createRemoteJWKSet(new URL(`${t.issuer}/jwk`)),
        { issuer: t.issuer, audience: demoClient.client_id },
      );
      assert.equal(payload.nonce, nonce);
    });
  });

  test('a wrong password shows an error, stays on the provider and never echoes the password', async () => {
    await withBrowser(async ({ page, clientRequests }) => {
      const wrong = 'not-alices-password-7d1f';
      await page.goto(startUrl('browser-state-wrong'));
      await page.locator('input[name="password"]').waitFor();
      const answer = page.waitForResponse((r) => r.request().method() === 'POST');
      await logIn(page, wrong);
      const response = await answer;
      const raw = await response.text();
      await page.waitForLoadState();

      assert.equal(new URL(page.url()).origin, providerOrigin, 'still on the provider');
      assert.deepEqual(clientRequests, [], 'no redirect to the client');
      assert.ok(response.status() < 300 || response.status() >= 400, 'the login POST is not a redirect');
      const error = page.getByText(/invalid|incorrect|wrong|failed|not recogni[sz]ed/i).first();
      assert.ok(await error.isVisible(), 'an error is shown');
      // The login form is shown again, empty, and the password appears nowhere in the HTML.
      assert.equal(await page.locator('input[name="password"]').inputValue(), '');
      assert.ok(!raw.includes(wrong), 'the password is not in the response HTML');
      assert.ok(!(await page.content()).includes(wrong), 'the password is not in the page');
    });
  });

  test('deny on the consent page lands on the client with access_denied, state and iss', async () => {
    await withBrowser(async ({ page, clientRequests }) => {
      const state = 'browser-state-deny';
      // alice's consent from the first test is remembered; prompt=consent asks again.
      await page.goto(startUrl(state, { prompt: 'consent' }));
      await page.locator('input[name="password"]').waitFor();
      await logIn(page, alice.password);
      const deny = page.locator('button[name="decision"][value="deny"]');
      await deny.waitFor();
      await deny.click();
      await page.waitForURL((u) => u.origin === CLIENT_ORIGIN);

      const callback = new URL(page.url());
      assert.equal(callback.origin + callback.pathname, REDIRECT_URI);
      assert.equal(callback.searchParams.get('error'), 'access_denied');
      assert.equal(callback.searchParams.get('state'), state);
      assert.equal(callback.searchParams.get('iss'), t.issuer);
      assert.equal(callback.searchParams.get('code'), null);
      assert.deepEqual(clientRequests, [callback.href]);
    });
  });
});
