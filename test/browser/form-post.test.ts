// response_mode=form_post in a real browser (OAuth 2.0 Form Post Response Mode §2): Chromium submits the page's form
// to the client under the page's own CSP, by script, or by the user's click where scripts are off.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { chromiumSkip, withChromium } from '../helpers/browser.js';
import { alice, demoClient, startTestServer, type TestServer } from '../helpers/server.js';
import { authorizeUrl, basic, postForm } from '../helpers/user-agent.js';

const REDIRECT_URI = demoClient.redirect_uris[0] as string;
const CLIENT_ORIGIN = new URL(REDIRECT_URI).origin;

interface Posted {
  method: string;
  contentType: string | undefined;
  url: string;
  body: URLSearchParams;
}

describe('form_post response mode in Chromium', { skip: chromiumSkip }, () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t?.close());

  async function flow(javaScriptEnabled: boolean): Promise<{ posted: Posted; violations: string[] }> {
    return withChromium({ javaScriptEnabled }, async (context) => {
      let posted: Posted | undefined;
      await context.route(`${CLIENT_ORIGIN}/**`, (route) => {
        const req = route.request();
        posted = {
          method: req.method(),
          contentType: req.headers()['content-type'],
          url: req.url(),
          body: new URLSearchParams(req.postData() ?? ''),
        };
        return route.fulfill({ status: 200, contentType: 'text/plain', body: 'callback' });
      });
      const page: Page = context.pages()[0] ?? (await context.newPage());
      const violations: string[] = [];
      page.on('console', (m) => {
        if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
      });
      await page.goto(
        authorizeUrl(t.issuer, {
          client_id: demoClient.client_id,
          redirect_uri: REDIRECT_URI,
          response_type: 'code',
          response_mode: 'form_post',
          scope: 'openid email',
          state: `fp-${javaScriptEnabled}`,
          // Consent is remembered from the other run; ask again so both runs see the same pages.
          prompt: 'consent',
        }),
      );
      await page.locator('input[name="username"]').fill(alice.username);
      await page.locator('input[name="password"]').fill(alice.password);
      await page.locator('form[method="post"] [type="submit"]').first().click();
      await page.locator('button[name="decision"][value="allow"]').click();
      if (!javaScriptEnabled) {
        // Without scripts the page waits for the user: one button.
        await page.locator('form[method="post"] button[type="submit"]').click();
      }
      await page.waitForURL(`${CLIENT_ORIGIN}/**`);
      if (!posted) throw new Error('the client never received the form post');
      return { posted, violations };
    });
  }

  for (const js of [true, false]) {
    test(`the authorization response arrives as a POST to the redirect URI (JavaScript ${js ? 'on' : 'off'})`, async () => {
      const { posted, violations } = await flow(js);
      assert.equal(posted.method, 'POST');
      assert.equal(posted.url, REDIRECT_URI);
      assert.match(posted.contentType ?? '', /^application\/x-www-form-urlencoded/);
      assert.equal(posted.body.get('state'), `fp-${js}`);
      assert.equal(posted.body.get('iss'), t.issuer);
      assert.deepEqual(violations, []);
      const code = posted.body.get('code') as string;
      const res = await postForm(
        `${t.issuer}/token`,
        { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI },
        { authorization: basic(demoClient.client_id, demoClient.client_secret) },
      );
      assert.equal(res.status, 200, JSON.stringify(res.json));
    });
  }
});
