// The login and consent pages show who asks: client_name, logo_uri, policy_uri, tos_uri and client_uri
// (OIDC Registration §2; conformance oidcc-registration-logo-uri, -policy-uri, -tos-uri).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { alice, startTestServer, type TestServer } from '../helpers/server.js';
import { authorizeUrl, UserAgent } from '../helpers/user-agent.js';

const branded = {
  client_id: 'branded',
  client_secret: 'branded-secret-0123456789abcdefghijkl',
  client_name: 'Branded <App>',
  redirect_uris: ['https://branded.example/cb'],
  logo_uri: 'https://branded.example/logo.png',
  policy_uri: 'https://branded.example/privacy',
  tos_uri: 'https://branded.example/terms',
  client_uri: 'https://branded.example/',
};

let t: TestServer;
before(async () => {
  t = await startTestServer({
    providers: [
      {
        name: 'default',
        clients: [
          branded,
          {
            client_id: 'plain',
            client_secret: 'plain-secret-0123456789abcdefghijklm',
            redirect_uris: ['https://plain.example/cb'],
          },
        ],
        users: [alice],
      },
    ],
  });
});
after(() => t.close());

async function loginPage(clientId: string, redirectUri: string) {
  const ua = new UserAgent();
  const url = authorizeUrl(t.issuer, {
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    scope: 'openid',
    state: 's',
  });
  return { ua, page: await ua.follow(url, new URL(t.issuer).origin) };
}

describe('client branding on the login and consent pages', () => {
  test('oidcc-registration-logo-uri / -policy-uri / -tos-uri: logo, policy and terms are shown, name escaped', async () => {
    const { ua, page } = await loginPage(branded.client_id, branded.redirect_uris[0] as string);
    assert.equal(page.status, 200);
    assert.match(page.body, /<img class="logo" src="https:\/\/branded\.example\/logo\.png"/);
    assert.match(page.body, /href="https:\/\/branded\.example\/privacy"/);
    assert.match(page.body, /href="https:\/\/branded\.example\/terms"/);
    assert.match(page.body, /href="https:\/\/branded\.example\/"/);
    assert.ok(page.body.includes('Branded &#60;App&#62;'));
    // The CSP lets exactly that logo load, and still nothing else.
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /img-src https:\/\/branded\.example\/logo\.png$/);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /frame-ancestors 'none'/);
    // The consent page after login shows them too.
    const consent = await ua.submit(page, { username: alice.username, password: alice.password });
    const next = await ua.follow(new URL(consent.headers.get('location') ?? '', page.url).href, t.baseUrl);
    assert.match(next.body, /name="decision"/);
    assert.match(next.body, /<img class="logo"/);
    assert.match(
      next.headers.get('content-security-policy') ?? '',
      /img-src https:\/\/branded\.example\/logo\.png/,
    );
  });

  test('a client without branding gets the plain page CSP (no image source at all)', async () => {
    const { page } = await loginPage('plain', 'https://plain.example/cb');
    assert.equal(page.status, 200);
    assert.equal(page.body.includes('<img'), false);
    assert.doesNotMatch(page.headers.get('content-security-policy') ?? '', /img-src/);
  });
});
