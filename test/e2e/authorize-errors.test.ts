// Authorization endpoint errors (RFC 6749 §4.1.2.1, RFC 9207, RFC 9700 §2.1, §4.1.3; OIDC Core §3.1.2.6), and the
// login and consent pages' defences (interface.md "Login and consent pages"; checklist A1-A3, A5-A7, A10, A11, L1-L5).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  alice,
  bob,
  defaultProvider,
  demoClient,
  publicClient,
  startTestServer,
  type TestServer,
} from '../helpers/server.js';
import { type Page, pkcePair, signIn, UserAgent } from '../helpers/user-agent.js';

/** Every response body and header value any test in this file received, for the password check at the end. */
const seen: string[] = [];

class RecordingAgent extends UserAgent {
  override async request(url: string, init: RequestInit = {}): Promise<Page> {
    const page = await super.request(url, init);
    seen.push(page.body);
    for (const [name, value] of page.headers) seen.push(`${name}: ${value}`);
    return page;
  }
}

const nativeClient = {
  client_id: 'native',
  application_type: 'native' as const,
  token_endpoint_auth_method: 'none' as const,
  redirect_uris: ['http://127.0.0.1/cb'],
  scope: 'openid',
};

/** A web client (not native) with a loopback redirect: its port may not vary (RFC 8252 §7.3 is for native apps). */
const loopbackWebClient = {
  client_id: 'loopweb',
  client_secret: 'loopweb-secret-0123456789abcdef',
  redirect_uris: ['http://127.0.0.1/cb'],
  scope: 'openid',
};

const webRedirect = demoClient.redirect_uris[0] as string;
const spaRedirect = publicClient.redirect_uris[0] as string;
/** A state with characters that must survive the round trip unchanged. */
const state = 'S t&=/?é+%';
const wrongPassword = 'Wr0ng-passw0rd-9f3c1d';
const strangerPassword = 'str4nger-passw0rd-77ab2e';

let t: TestServer;
let origin: string;
/** Names of the cookies a successful login sets (learned from one login, so tests do not hard-code them). */
let sessionCookieNames: string[];

function authorizeQuery(params: Record<string, string>): string {
  return `${t.issuer}/authorize?${new URLSearchParams(params).toString()}`;
}

function webParams(extra: Record<string, string> = {}): Record<string, string> {
  return {
    response_type: 'code',
    client_id: demoClient.client_id,
    redirect_uri: webRedirect,
    scope: 'openid',
    state,
    nonce: 'N',
    ...extra,
  };
}

function spaParams(extra: Record<string, string> = {}): Record<string, string> {
  return {
    response_type: 'code',
    client_id: publicClient.client_id,
    redirect_uri: spaRedirect,
    scope: 'openid',
    state,
    nonce: 'N',
    code_challenge: pkcePair().challenge,
    code_challenge_method: 'S256',
    ...extra,
  };
}

function setCookieNames(headers: Headers): string[] {
  return headers.getSetCookie().map((line) => line.slice(0, line.indexOf('=')).trim());
}

function setCookieValue(headers: Headers, name: string): string | undefined {
  for (const line of headers.getSetCookie()) {
    const pair = line.split(';')[0] ?? '';
    const eq = pair.indexOf('=');
    if (pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
  }
  return undefined;
}

/** The headers every login, consent, authorize and error page carries (interface.md; checklist L2). */
function assertPageHeaders(page: Page): void {
  assert.match(page.headers.get('cache-control') ?? '', /no-store/, 'Cache-Control: no-store');
  assert.match(
    page.headers.get('content-security-policy') ?? '',
    /frame-ancestors 'none'/,
    "CSP frame-ancestors 'none'",
  );
  assert.equal(page.headers.get('x-frame-options'), 'DENY');
  assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
}

/** ⛔ of the checklist: a 400 page of our own, never a redirect. */
function assertErrorPage(page: Page): void {
  assert.equal(page.status, 400, `expected a 400 page, got ${page.status} ${page.body.slice(0, 200)}`);
  assert.equal(page.headers.get('location'), null, 'no Location header');
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
  assertPageHeaders(page);
}

/** cb:X of the checklist: 303 to the registered redirect URI with error, unchanged state and iss (RFC 9207). */
function assertErrorRedirect(page: Page, redirectUri: string, error: string, expectedState = state): URL {
  assert.equal(page.status, 303, `expected a 303 redirect, got ${page.status} ${page.body.slice(0, 200)}`);
  const location = new URL(page.headers.get('location') ?? '');
  assert.equal(`${location.origin}${location.pathname}`, redirectUri);
  assert.equal(location.searchParams.get('error'), error);
  assert.equal(location.searchParams.get('state'), expectedState);
  assert.equal(location.searchParams.get('iss'), t.issuer);
  assert.equal(location.searchParams.get('code'), null);
  assert.equal(location.hash, '');
  return location;
}

/** A 303 that continues at the provider (to login or consent), not back to the client. */
function assertContinuesAtProvider(page: Page): void {
  assert.equal(page.status, 303, `expected 303, got ${page.status} ${page.body.slice(0, 200)}`);
  const location = new URL(page.headers.get('location') ?? '', page.url);
  assert.equal(location.origin, origin);
  assert.ok(location.pathname.startsWith(new URL(t.issuer).pathname), location.href);
  assert.equal(location.searchParams.get('error'), null);
}

/** Opens the login page of a fresh authorization request in `ua`. */
async function loginPage(ua: UserAgent, params: Record<string, string> = webParams()): Promise<Page> {
  const page = await ua.follow(authorizeQuery(params), origin);
  assert.equal(page.status, 200, page.body.slice(0, 200));
  assert.match(page.body, /name="password"/);
  return page;
}

before(async () => {
  const base = defaultProvider();
  t = await startTestServer({
    providers: [{ ...base, clients: [...(base.clients ?? []), nativeClient, loopbackWebClient] }],
  });
  origin = new URL(t.issuer).origin;
  const ua = new RecordingAgent();
  const page = await loginPage(ua);
  const res = await ua.submit(page, { username: alice.username, password: alice.password });
  assert.equal(res.status, 303);
  sessionCookieNames = setCookieNames(res.headers);
  assert.ok(sessionCookieNames.length > 0, 'a login sets a session cookie');
});
after(() => t.close());

describe('authorization requests that must never redirect (⛔)', () => {
  const ua = new RecordingAgent();

  test('unknown client_id with an attacker redirect_uri → 400 page', async () => {
    assertErrorPage(
      await ua.get(authorizeQuery(webParams({ client_id: 'nope', redirect_uri: 'https://evil.example' }))),
    );
  });

  test('missing client_id → 400 page', async () => {
    const { client_id: _omit, ...params } = webParams();
    assertErrorPage(await ua.get(authorizeQuery(params)));
  });

  test('empty client_id → 400 page', async () => {
    assertErrorPage(await ua.get(authorizeQuery(webParams({ client_id: '' }))));
  });

  test('missing redirect_uri → 400 page (OIDC Core §3.1.2.1: REQUIRED)', async () => {
    const { redirect_uri: _omit, ...params } = webParams();
    assertErrorPage(await ua.get(authorizeQuery(params)));
  });

  // Checklist A1: exact string comparison, nothing normalised.
  const variants = [
    'https://rp.example/cb/',
    'https://rp.example/CB',
    'HTTPS://RP.EXAMPLE/cb',
    'https://rp.example/cb?x=1',
    'https://rp.example/cb#frag',
    'https://rp.example/cb/../x',
    'https://rp.example/cb/..',
    'https://rp.example/cb%2F..',
    'https://rp.example/cb%2F',
    'https://rp.example:443/cb',
    'http://rp.example/cb',
    'https://rp.example.evil.example/cb',
    'https://rp.example@evil.example/cb',
    'https://evil.example/cb',
    'https://evil.example/?https://rp.example/cb',
    ' https://rp.example/cb',
    'https://rp.example/cb ',
    'http://127.0.0.1/cb',
  ];
  for (const redirectUri of variants) {
    test(`unregistered redirect_uri ${JSON.stringify(redirectUri)} → 400 page`, async () => {
      assertErrorPage(await ua.get(authorizeQuery(webParams({ redirect_uri: redirectUri }))));
    });
  }

  test('a redirect_uri registered for another client → 400 page', async () => {
    assertErrorPage(await ua.get(authorizeQuery(webParams({ redirect_uri: spaRedirect }))));
  });

  test('repeated client_id (same value twice) → 400 page', async () => {
    const q = `${new URLSearchParams(webParams()).toString()}&client_id=${demoClient.client_id}`;
    assertErrorPage(await ua.get(`${t.issuer}/authorize?${q}`));
  });

  test('repeated client_id (two clients) → 400 page', async () => {
    const q = `${new URLSearchParams(webParams()).toString()}&client_id=${publicClient.client_id}`;
    assertErrorPage(await ua.get(`${t.issuer}/authorize?${q}`));
  });

  test('repeated redirect_uri → 400 page (checklist A3)', async () => {
    const q = `${new URLSearchParams(webParams()).toString()}&redirect_uri=${encodeURIComponent('https://evil.example/cb')}`;
    assertErrorPage(await ua.get(`${t.issuer}/authorize?${q}`));
    const same = `${new URLSearchParams(webParams()).toString()}&redirect_uri=${encodeURIComponent(webRedirect)}`;
    assertErrorPage(await ua.get(`${t.issuer}/authorize?${same}`));
  });

  test('the error page carries the anti-framing headers and no-store (checklist L2)', async () => {
    const page = await ua.get(authorizeQuery(webParams({ client_id: 'nope' })));
    assertErrorPage(page);
    assert.ok(!page.body.includes('https://rp.example/cb'), 'the error page links to no redirect URI');
  });

  test('a loopback redirect of a web (not native) client may not vary the port (checklist A2)', async () => {
    assertErrorPage(
      await ua.get(
        authorizeQuery(
          webParams({ client_id: loopbackWebClient.client_id, redirect_uri: 'http://127.0.0.1:5123/cb' }),
        ),
      ),
    );
    // The registered value itself is fine.
    assertContinuesAtProvider(
      await ua.get(
        authorizeQuery(
          webParams({ client_id: loopbackWebClient.client_id, redirect_uri: 'http://127.0.0.1/cb' }),
        ),
      ),
    );
  });
});

describe('authorization errors returned to the client (cb:X with state and iss)', () => {
  const ua = new RecordingAgent();

  test('a repeated parameter other than client_id/redirect_uri → invalid_request', async () => {
    for (const name of ['scope', 'response_type', 'nonce', 'code_challenge', 'prompt']) {
      const q = `${new URLSearchParams(spaParams({ prompt: 'login' })).toString()}&${name}=x`;
      assertErrorRedirect(await ua.get(`${t.issuer}/authorize?${q}`), spaRedirect, 'invalid_request');
    }
  });

  test('response_type=token → unsupported_response_type (checklist A10)', async () => {
    assertErrorRedirect(
      await ua.get(authorizeQuery(webParams({ response_type: 'token' }))),
      webRedirect,
      'unsupported_response_type',
    );
  });

  test('response_type=bogus → unsupported_response_type with iss (checklist A6)', async () => {
    assertErrorRedirect(
      await ua.get(authorizeQuery(webParams({ response_type: 'bogus' }))),
      webRedirect,
      'unsupported_response_type',
    );
  });

  test('response_type=code id_token (hybrid) → unsupported_response_type', async () => {
    assertErrorRedirect(
      await ua.get(authorizeQuery(webParams({ response_type: 'code id_token' }))),
      webRedirect,
      'unsupported_response_type',
    );
  });

  test('missing response_type → invalid_request', async () => {
    const { response_type: _omit, ...params } = webParams();
    assertErrorRedirect(await ua.get(authorizeQuery(params)), webRedirect, 'invalid_request');
  });

  test('an error redirect without state carries no state but still iss', async () => {
    const { state: _omit, ...params } = webParams({ response_type: 'token' });
    const page = await ua.get(authorizeQuery(params));
    assert.equal(page.status, 303);
    const location = new URL(page.headers.get('location') ?? '');
    assert.equal(location.searchParams.get('error'), 'unsupported_response_type');
    assert.equal(location.searchParams.has('state'), false);
    assert.equal(location.searchParams.get('iss'), t.issuer);
  });

  test('public client without code_challenge → invalid_request (checklist A7)', async () => {
    const { code_challenge: _c, code_challenge_method: _m, ...params } = spaParams();
    assertErrorRedirect(await ua.get(authorizeQuery(params)), spaRedirect, 'invalid_request');
  });

  test('code_challenge_method=plain → invalid_request (checklist A7)', async () => {
    const { verifier } = pkcePair();
    assertErrorRedirect(
      await ua.get(authorizeQuery(spaParams({ code_challenge: verifier, code_challenge_method: 'plain' }))),
      spaRedirect,
      'invalid_request',
    );
  });

  test('code_challenge without code_challenge_method (defaults to plain) → invalid_request', async () => {
    const { code_challenge_method: _m, ...params } = spaParams();
    assertErrorRedirect(await ua.get(authorizeQuery(params)), spaRedirect, 'invalid_request');
  });

  for (const [label, challenge] of [
    ['too short', 'abc'],
    ['42 characters', 'A'.repeat(42)],
    ['44 characters', 'A'.repeat(44)],
    ['base64 (not base64url) alphabet', `${'A'.repeat(41)}+/`],
    ['with padding', `${'A'.repeat(42)}=`],
    ['129 characters', 'A'.repeat(129)],
  ] as const) {
    test(`malformed S256 code_challenge (${label}) → invalid_request`, async () => {
      assertErrorRedirect(
        await ua.get(authorizeQuery(spaParams({ code_challenge: challenge }))),
        spaRedirect,
        'invalid_request',
      );
    });
  }

  test('prompt=none without a session → login_required (checklist A11)', async () => {
    assertErrorRedirect(
      await new RecordingAgent().get(authorizeQuery(spaParams({ prompt: 'none' }))),
      spaRedirect,
      'login_required',
    );
  });

  test('a scope of which nothing is allowed → invalid_scope', async () => {
    assertErrorRedirect(
      await ua.get(authorizeQuery(webParams({ scope: 'bogus' }))),
      webRedirect,
      'invalid_scope',
    );
  });

  // Request objects are supported (test/e2e/request-object.test.ts); one about another client, and a request_uri
  // from a client that registered none, are refused.
  test('request= naming another client_id → invalid_request_object', async () => {
    const payload = Buffer.from(JSON.stringify({ client_id: 'spa' })).toString('base64url');
    assertErrorRedirect(
      await ua.get(authorizeQuery(webParams({ request: `eyJhbGciOiJub25lIn0.${payload}.` }))),
      webRedirect,
      'invalid_request_object',
    );
  });

  test('request_uri= from a client without registered request_uris → request_uri_not_supported', async () => {
    assertErrorRedirect(
      await ua.get(authorizeQuery(webParams({ request_uri: 'urn:ietf:params:oauth:request_uri:abc' }))),
      webRedirect,
      'request_uri_not_supported',
    );
  });

  test('POST /authorize with a form body gives the same error redirect as GET', async () => {
    const page = await ua.post(`${t.issuer}/authorize`, webParams({ response_type: 'token' }));
    assertErrorRedirect(page, webRedirect, 'unsupported_response_type');
  });

  test('POST /authorize with a bad client is a 400 page too', async () => {
    assertErrorPage(
      await ua.post(`${t.issuer}/authorize`, webParams({ redirect_uri: 'https://evil.example/cb' })),
    );
  });
});

describe('native client loopback redirect (RFC 8252 §7.3, checklist A2)', () => {
  const params = (redirectUri: string) => {
    const { verifier, challenge } = pkcePair();
    return {
      verifier,
      query: {
        response_type: 'code',
        client_id: nativeClient.client_id,
        redirect_uri: redirectUri,
        scope: 'openid',
        state,
        code_challenge: challenge,
        code_challenge_method: 'S256',
      },
    };
  };

  test('the registered URI with any port is accepted, and the code is redeemed with that URI', async () => {
    const ua = new RecordingAgent();
    const redirectUri = 'http://127.0.0.1:5123/cb';
    const { verifier, query } = params(redirectUri);
    assertContinuesAtProvider(await ua.get(authorizeQuery(query)));
    const callback = await signIn(ua, authorizeQuery(query));
    assert.equal(`${callback.origin}${callback.pathname}`, redirectUri);
    assert.equal(callback.searchParams.get('state'), state);
    assert.equal(callback.searchParams.get('iss'), t.issuer);
    const code = callback.searchParams.get('code');
    assert.ok(code);
    const res = await fetch(`${t.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: redirectUri,
        code_verifier: verifier,
        client_id: nativeClient.client_id,
      }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    seen.push(await res.text());
  });

  test('the registered URI without a port is accepted', async () => {
    assertContinuesAtProvider(
      await new RecordingAgent().get(authorizeQuery(params('http://127.0.0.1/cb').query)),
    );
  });

  for (const redirectUri of [
    'http://127.0.0.1:5123/cb?x=1',
    'http://127.0.0.1:5123/cb/',
    'http://127.0.0.1:5123/other',
    'http://127.0.0.1:5123/cb#f',
    'http://localhost:5123/cb',
    'http://[::1]:5123/cb',
    'https://127.0.0.1:5123/cb',
    'http://127.0.0.2:5123/cb',
    'http://127.0.0.1.evil.example:5123/cb',
    'http://127.0.0.1:5123@evil.example/cb',
    'http://evil.example:5123/cb',
    // Not a port at all: nothing may be redirected there (and building the URL must not fail).
    'http://127.0.0.1:65536/cb',
    'http://127.0.0.1:99999/cb',
  ]) {
    test(`native client: ${redirectUri} → 400 page`, async () => {
      assertErrorPage(await new RecordingAgent().get(authorizeQuery(params(redirectUri).query)));
    });
  }

  test('native client: an out-of-range port with an otherwise bad request → 400 page, never a 5xx', async () => {
    for (const redirectUri of ['http://127.0.0.1:65536/cb', 'http://127.0.0.1:99999/cb']) {
      const query = { ...params(redirectUri).query, response_type: 'bogus' };
      assertErrorPage(await new RecordingAgent().get(authorizeQuery(query)));
    }
  });
});

describe('POST /authorize and other methods', () => {
  test('POST with a form body starts the same sign-in as GET and ends with a code', async () => {
    const ua = new RecordingAgent();
    const page = await ua.post(`${t.issuer}/authorize`, webParams());
    assertContinuesAtProvider(page);
    const login = await ua.follow(new URL(page.headers.get('location') ?? '', page.url).href, origin);
    assert.equal(login.status, 200);
    assert.match(login.body, /name="password"/);
    let next = await ua.submit(login, { username: alice.username, password: alice.password });
    assert.equal(next.status, 303);
    const consent = await ua.follow(new URL(next.headers.get('location') ?? '', next.url).href, origin);
    if (consent.status === 200) {
      next = await ua.submit(consent, { decision: 'allow' });
    } else {
      next = consent;
    }
    assert.equal(next.status, 303);
    const callback = new URL(next.headers.get('location') ?? '');
    assert.equal(`${callback.origin}${callback.pathname}`, webRedirect);
    assert.ok(callback.searchParams.get('code'));
    assert.equal(callback.searchParams.get('state'), state);
    assert.equal(callback.searchParams.get('iss'), t.issuer);
  });

  test('POST /authorize with a non-form body is refused, not redirected', async () => {
    const ua = new RecordingAgent();
    const page = await ua.request(`${t.issuer}/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(webParams()),
    });
    assert.ok(page.status >= 400 && page.status < 500, `got ${page.status}`);
    assert.equal(page.headers.get('location'), null);
  });

  for (const method of ['PUT', 'DELETE', 'PATCH']) {
    test(`${method} /authorize → 405 with Allow`, async () => {
      const page = await new RecordingAgent().request(authorizeQuery(webParams()), { method });
      assert.equal(page.status, 405);
      assert.equal(page.headers.get('location'), null);
      const allow = (page.headers.get('allow') ?? '').split(',').map((s) => s.trim());
      assert.ok(allow.includes('GET') && allow.includes('POST'), `Allow: ${allow.join(', ')}`);
    });
  }
});

describe('login and consent pages', () => {
  test('the login page: headers, a POST form with username and password', async () => {
    const page = await loginPage(new RecordingAgent());
    assertPageHeaders(page);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(page.body, /<form[^>]*method="post"/i);
    assert.match(page.body, /<input[^>]*name="username"/);
    assert.match(
      page.body,
      /<input[^>]*type="password"[^>]*name="password"|<input[^>]*name="password"[^>]*type="password"/,
    );
  });

  test('the consent page: headers and buttons decision=allow and decision=deny', async () => {
    const ua = new RecordingAgent();
    const page = await loginPage(ua, webParams({ prompt: 'consent' }));
    const res = await ua.submit(page, { username: alice.username, password: alice.password });
    assert.equal(res.status, 303);
    const consent = await ua.follow(new URL(res.headers.get('location') ?? '', res.url).href, origin);
    assert.equal(consent.status, 200);
    assertPageHeaders(consent);
    assert.match(consent.body, /<form[^>]*method="post"/i);
    assert.match(consent.body, /<button[^>]*name="decision"[^>]*value="allow"/);
    assert.match(consent.body, /<button[^>]*name="decision"[^>]*value="deny"/);
  });

  test('login POST without the CSRF token → 403, no session cookie, nothing changed (checklist L1)', async () => {
    const ua = new RecordingAgent();
    const page = await loginPage(ua);
    const res = await ua.post(page.url, { username: alice.username, password: alice.password });
    assert.equal(res.status, 403);
    assert.equal(res.headers.get('location'), null);
    for (const name of sessionCookieNames) assert.equal(setCookieValue(res.headers, name), undefined, name);
    // Still not logged in: the same interaction shows the login form again.
    const again = await ua.get(page.url);
    assert.equal(again.status, 200);
    assert.match(again.body, /name="password"/);
  });

  test('login POST with a wrong CSRF token → 403, no session cookie', async () => {
    const ua = new RecordingAgent();
    const page = await loginPage(ua);
    const res = await ua.post(page.url, {
      csrf: 'not-the-token',
      username: alice.username,
      password: alice.password,
    });
    assert.equal(res.status, 403);
    for (const name of sessionCookieNames) assert.equal(setCookieValue(res.headers, name), undefined, name);
  });

  test('login POST with Origin: https://evil.example → 403 even with a valid token (checklist L1)', async () => {
    const ua = new RecordingAgent();
    const page = await loginPage(ua);
    const res = await ua.submit(
      page,
      { username: alice.username, password: alice.password },
      { origin: 'https://evil.example' },
    );
    assert.equal(res.status, 403);
    assert.equal(res.headers.get('location'), null);
    for (const name of sessionCookieNames) assert.equal(setCookieValue(res.headers, name), undefined, name);
    const again = await ua.get(page.url);
    assert.match(again.body, /name="password"/, 'still not logged in');
  });

  test('login POST with Origin: null and a valid token is accepted', async () => {
    const ua = new RecordingAgent();
    const page = await loginPage(ua);
    const res = await ua.submit(
      page,
      { username: alice.username, password: alice.password },
      { origin: 'null' },
    );
    assert.equal(res.status, 303);
  });

  test('login POST with our own Origin and a valid token is accepted', async () => {
    const ua = new RecordingAgent();
    const page = await loginPage(ua);
    const res = await ua.submit(page, { username: alice.username, password: alice.password }, { origin });
    assert.equal(res.status, 303);
  });

  test('wrong password and unknown user get the same answer (checklist L5)', async () => {
    const ua = new RecordingAgent();
    const page = await loginPage(ua);
    const wrong = await ua.submit(page, { username: alice.username, password: wrongPassword });
    const unknown = await ua.submit(page, { username: 'mallory', password: strangerPassword });
    // A failed login is no redirect: the form comes back (whatever its status), identical for both.
    assert.ok(wrong.status < 300 || (wrong.status >= 400 && wrong.status < 500), `got ${wrong.status}`);
    assert.equal(unknown.status, wrong.status);
    assert.equal(wrong.headers.get('location'), null);
    assert.equal(unknown.headers.get('location'), null);
    assert.equal(
      unknown.body.replaceAll('mallory', '{username}'),
      wrong.body.replaceAll(alice.username, '{username}'),
    );
    for (const res of [wrong, unknown])
      for (const name of sessionCookieNames) assert.equal(setCookieValue(res.headers, name), undefined, name);
    // The form is shown again, still without a session: a correct login afterwards works.
    assert.match(wrong.body, /name="password"/);
    const ok = await ua.submit(page, { username: alice.username, password: alice.password });
    assert.equal(ok.status, 303);
  });

  test('a successful login answers 303 and sets a new session cookie, never the planted one (checklist L3, L4)', async () => {
    const planted = 'ATTACKER-planted-session-value';
    const ua = new RecordingAgent();
    const page = await loginPage(ua);
    for (const name of sessionCookieNames) ua.cookies.set(name, planted);
    const res = await ua.submit(page, { username: alice.username, password: alice.password });
    assert.equal(res.status, 303);
    for (const name of sessionCookieNames) {
      const value = setCookieValue(res.headers, name);
      assert.ok(value, `login sets ${name}`);
      assert.notEqual(value, planted);
    }
    for (const line of res.headers.getSetCookie()) {
      if (!sessionCookieNames.some((n) => line.startsWith(`${n}=`))) continue;
      assert.match(line, /;\s*HttpOnly/i);
      assert.match(line, /;\s*SameSite=Lax/i);
    }
    // The planted value authenticates nobody.
    const attacker = new RecordingAgent();
    for (const name of sessionCookieNames) attacker.cookies.set(name, planted);
    assertErrorRedirect(
      await attacker.get(authorizeQuery(webParams({ prompt: 'none' }))),
      webRedirect,
      'login_required',
    );
  });

  test('logging in again (as another user) replaces a valid session cookie with a new one', async () => {
    const ua = new RecordingAgent();
    const first = await ua.submit(await loginPage(ua), {
      username: alice.username,
      password: alice.password,
    });
    assert.equal(first.status, 303);
    const before = sessionCookieNames.map((n) => ua.cookies.get(n));
    const page = await loginPage(ua, webParams({ prompt: 'login' }));
    const second = await ua.submit(page, { username: bob.username, password: bob.password });
    assert.equal(second.status, 303);
    sessionCookieNames.forEach((name, i) => {
      const value = setCookieValue(second.headers, name);
      assert.ok(value, `re-login sets ${name}`);
      assert.notEqual(value, before[i]);
    });
  });

  test('consent POST without the CSRF token → 403 and no code', async () => {
    const ua = new RecordingAgent();
    const page = await loginPage(ua, webParams({ prompt: 'consent' }));
    const res = await ua.submit(page, { username: alice.username, password: alice.password });
    const consent = await ua.follow(new URL(res.headers.get('location') ?? '', res.url).href, origin);
    assert.match(consent.body, /name="decision"/);
    const refused = await ua.post(consent.url, { decision: 'allow' });
    assert.equal(refused.status, 403);
    assert.equal(refused.headers.get('location'), null);
    const evil = await ua.submit(consent, { decision: 'allow' }, { origin: 'https://evil.example' });
    assert.equal(evil.status, 403);
    assert.equal(evil.headers.get('location'), null);
  });

  test('deny → 303 to the client with error=access_denied, state and iss', async () => {
    const ua = new RecordingAgent();
    const page = await loginPage(ua, webParams({ prompt: 'consent' }));
    const res = await ua.submit(page, { username: alice.username, password: alice.password });
    const consent = await ua.follow(new URL(res.headers.get('location') ?? '', res.url).href, origin);
    assert.match(consent.body, /name="decision"/);
    const denied = await ua.submit(consent, { decision: 'deny' });
    assertErrorRedirect(denied, webRedirect, 'access_denied');
  });

  test('allow → 303 to the client with code, state and iss', async () => {
    const ua = new RecordingAgent();
    const page = await loginPage(ua, webParams({ prompt: 'consent' }));
    const res = await ua.submit(page, { username: alice.username, password: alice.password });
    const consent = await ua.follow(new URL(res.headers.get('location') ?? '', res.url).href, origin);
    const allowed = await ua.submit(consent, { decision: 'allow' });
    assert.equal(allowed.status, 303);
    const location = new URL(allowed.headers.get('location') ?? '');
    assert.equal(`${location.origin}${location.pathname}`, webRedirect);
    assert.ok(location.searchParams.get('code'));
    assert.equal(location.searchParams.get('state'), state);
    assert.equal(location.searchParams.get('iss'), t.issuer);
  });

  test('no password ever appears in a response (body or header)', () => {
    assert.ok(seen.length > 50, 'responses were recorded');
    for (const password of [alice.password, bob.password, wrongPassword, strangerPassword]) {
      const hit = seen.find((s) => s.includes(password));
      assert.equal(hit, undefined, `password ${password} echoed in: ${hit?.slice(0, 200)}`);
    }
  });

  test('no password appears in the server log', () => {
    for (const password of [alice.password, bob.password, wrongPassword, strangerPassword]) {
      assert.equal(
        t.logs.find((l) => l.includes(password)),
        undefined,
      );
    }
    assert.equal(
      t.logs.find((l) => l.includes('password=')),
      undefined,
    );
  });
});
