// CORS for browser clients (Fetch standard; RFC 9700 §2.6; security checklist U2): exact allowed origins on the
// token, UserInfo, revocation, introspection, JWK Set and discovery endpoints; never on authorize or the login pages.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, type Reply } from '../helpers/http.js';
import {
  alice,
  bob,
  demoClient,
  postClient,
  publicClient,
  startTestServer,
  type TestServer,
} from '../helpers/server.js';
import { authorizeUrl, basic, obtainCode, pkcePair, UserAgent } from '../helpers/user-agent.js';

const SPA_ORIGIN = 'https://spa.example';
/** A public client whose explicit allowed_cors_origins replace its redirect URI's origin. */
const appClient = {
  client_id: 'app',
  token_endpoint_auth_method: 'none' as const,
  redirect_uris: ['https://app-login.example/cb'],
  grant_types: ['authorization_code', 'refresh_token'] as ('authorization_code' | 'refresh_token')[],
  scope: 'openid email offline_access',
  allowed_cors_origins: ['https://app.example', 'http://localhost:3000'],
};
const APP_ORIGINS = appClient.allowed_cors_origins;
/** app's redirect origin: not allowed, since its explicit list replaces the default. */
const APP_REDIRECT_ORIGIN = 'https://app-login.example';
const WEB_ORIGIN = new URL(demoClient.redirect_uris[0] as string).origin;
const EVIL = 'https://evil.example';

/** Endpoints with CORS, and the method a browser would use on each. */
const corsEndpoints: { path: string; method: string }[] = [
  { path: '/token', method: 'POST' },
  { path: '/userinfo', method: 'GET' },
  { path: '/revoke', method: 'POST' },
  { path: '/introspect', method: 'POST' },
  { path: '/jwk', method: 'GET' },
  { path: '/.well-known/openid-configuration', method: 'GET' },
];

let t: TestServer;

before(async () => {
  t = await startTestServer({
    providers: [
      { name: 'default', clients: [demoClient, publicClient, postClient, appClient], users: [alice, bob] },
    ],
  });
});
after(() => t?.close());

function preflight(
  path: string,
  origin: string,
  method: string,
  requestHeaders = 'authorization, content-type',
) {
  return call(`${t.issuer}${path}`, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': method,
      'access-control-request-headers': requestHeaders,
    },
  });
}

function post(path: string, form: Record<string, string>, headers: Record<string, string> = {}) {
  return call(`${t.issuer}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
}

function acao(res: Reply): string | null {
  return res.headers.get('access-control-allow-origin');
}

function commaList(value: string | null): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
}

/** An allowed cross-origin answer: the exact origin, never `*`, never credentials, and Vary: Origin. */
function assertAllowed(res: Reply, origin: string, what: string): void {
  assert.equal(acao(res), origin, `${what}: exact Access-Control-Allow-Origin`);
  assert.equal(res.headers.get('access-control-allow-credentials'), null, `${what}: no credentials`);
  assert.ok(commaList(res.headers.get('vary')).includes('origin'), `${what}: Vary: Origin`);
}

function assertRefused(res: Reply, what: string): void {
  assert.equal(acao(res), null, `${what}: no Access-Control-Allow-Origin (got ${acao(res)})`);
  assert.equal(res.headers.get('access-control-allow-credentials'), null, `${what}: no credentials`);
}

/** A code for `client` through the login and consent pages, with PKCE. */
async function codeFor(
  client: { client_id: string; redirect_uris: string[] },
  scope = 'openid email offline_access',
): Promise<{ code: string; verifier: string; redirectUri: string }> {
  const pkce = pkcePair();
  const redirectUri = client.redirect_uris[0] as string;
  const code = await obtainCode(t.issuer, {
    clientId: client.client_id,
    redirectUri,
    scope,
    challenge: pkce.challenge,
  });
  return { code, verifier: pkce.verifier, redirectUri };
}

async function spaTokens(origin = SPA_ORIGIN): Promise<{ res: Reply; access: string; refresh: string }> {
  const issued = await codeFor(publicClient);
  const res = await post(
    '/token',
    {
      grant_type: 'authorization_code',
      client_id: 'spa',
      code: issued.code,
      redirect_uri: issued.redirectUri,
      code_verifier: issued.verifier,
    },
    { origin },
  );
  assert.equal(res.status, 200, res.text);
  return { res, access: res.json.access_token as string, refresh: res.json.refresh_token as string };
}

describe('CORS preflights', () => {
  test('from an allowed origin: 204, exact origin, methods, Authorization and Content-Type, no credentials', async () => {
    for (const origin of [SPA_ORIGIN, WEB_ORIGIN, ...APP_ORIGINS]) {
      for (const { path, method } of corsEndpoints) {
        const what = `OPTIONS ${path} from ${origin}`;
        const res = await preflight(path, origin, method);
        assert.equal(res.status, 204, `${what}: ${res.status} ${res.text}`);
        assertAllowed(res, origin, what);
        assert.ok(
          commaList(res.headers.get('access-control-allow-methods')).includes(method.toLowerCase()),
          `${what}: Access-Control-Allow-Methods ${res.headers.get('access-control-allow-methods')}`,
        );
        const allowHeaders = commaList(res.headers.get('access-control-allow-headers'));
        assert.ok(allowHeaders.includes('authorization'), `${what}: Authorization allowed`);
        assert.ok(allowHeaders.includes('content-type'), `${what}: Content-Type allowed`);
        assert.equal(res.text, '', `${what}: empty body`);
      }
    }
  });

  test('UserInfo allows GET and POST; the token-side endpoints allow POST', async () => {
    const ui = commaList(
      (await preflight('/userinfo', SPA_ORIGIN, 'POST')).headers.get('access-control-allow-methods'),
    );
    assert.ok(ui.includes('get') && ui.includes('post'), ui.join());
    for (const path of ['/token', '/revoke', '/introspect']) {
      const methods = commaList(
        (await preflight(path, SPA_ORIGIN, 'POST')).headers.get('access-control-allow-methods'),
      );
      assert.ok(methods.includes('post'), `${path}: ${methods.join()}`);
      assert.ok(!methods.includes('*'), `${path}: no wildcard methods`);
    }
  });

  test('from an unknown origin, a `null` origin or a lookalike: no Access-Control-Allow-Origin', async () => {
    const refused = [
      EVIL,
      'null',
      APP_REDIRECT_ORIGIN,
      'http://spa.example',
      'https://spa.example:8443',
      'https://spa.example.evil.example',
      'https://SPA.example.evil',
      `${SPA_ORIGIN}/`,
      '*',
    ];
    for (const origin of refused) {
      for (const { path, method } of corsEndpoints) {
        const what = `OPTIONS ${path} from ${origin}`;
        const res = await preflight(path, origin, method);
        assert.ok(res.status < 500, `${what}: ${res.status}`);
        assertRefused(res, what);
        assert.equal(res.headers.get('access-control-allow-methods'), null, `${what}: no allowed methods`);
        assert.equal(res.headers.get('access-control-allow-headers'), null, `${what}: no allowed headers`);
      }
    }
  });

  test('preflights are answered without touching the store', async () => {
    // A spy, not a stand-in: every store method still runs; the test only records which were called.
    const store = t.server.store as unknown as Record<string, unknown>;
    const names = new Set<string>();
    for (
      let proto = Object.getPrototypeOf(store);
      proto && proto !== Object.prototype;
      proto = Object.getPrototypeOf(proto)
    )
      for (const name of Object.getOwnPropertyNames(proto))
        if (name !== 'constructor' && !Object.hasOwn(store, name) && typeof store[name] === 'function')
          names.add(name);
    assert.ok(names.size > 0, 'store methods found');
    const calls: string[] = [];
    for (const name of names) {
      const original = store[name] as (...args: unknown[]) => unknown;
      store[name] = function (this: unknown, ...args: unknown[]) {
        calls.push(name);
        return original.apply(this, args);
      };
    }
    try {
      for (const origin of [SPA_ORIGIN, EVIL, 'null'])
        for (const { path, method } of corsEndpoints) await preflight(path, origin, method);
      assert.deepEqual(calls, [], `preflights called the store: ${calls.join(', ')}`);
      // The spy works: a real request is seen.
      await post('/token', { grant_type: 'refresh_token', client_id: 'spa', refresh_token: 'nope' });
      assert.ok(calls.length > 0, 'the spy records store calls');
    } finally {
      for (const name of names) delete store[name];
    }
  });
});

describe('CORS is never offered by the authorization endpoint or the login pages', () => {
  test('OPTIONS and GET /authorize with an Origin: no Access-Control-Allow-Origin', async () => {
    const pkce = pkcePair();
    const url = authorizeUrl(t.issuer, {
      response_type: 'code',
      client_id: 'spa',
      redirect_uri: publicClient.redirect_uris[0] as string,
      scope: 'openid',
      state: 'st',
      code_challenge: pkce.challenge,
      code_challenge_method: 'S256',
    });
    for (const origin of [SPA_ORIGIN, ...APP_ORIGINS, EVIL, 'null']) {
      const options = await call(url, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'GET' },
      });
      assertRefused(options, `OPTIONS /authorize from ${origin}`);
      assert.equal(options.headers.get('access-control-allow-methods'), null);
      const get = await call(url, { headers: { origin } });
      assert.equal(get.status, 303, get.text);
      assertRefused(get, `GET /authorize from ${origin}`);
      const postRes = await call(`${t.issuer}/authorize`, {
        method: 'POST',
        headers: { origin, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URL(url).searchParams.toString(),
      });
      assertRefused(postRes, `POST /authorize from ${origin}`);
    }
  });

  test('the login and consent pages: no Access-Control-Allow-Origin', async () => {
    const pkce = pkcePair();
    const ua = new UserAgent();
    const start = await ua.get(
      authorizeUrl(t.issuer, {
        response_type: 'code',
        client_id: 'spa',
        redirect_uri: publicClient.redirect_uris[0] as string,
        scope: 'openid email',
        state: 'st',
        code_challenge: pkce.challenge,
        code_challenge_method: 'S256',
        prompt: 'consent',
      }),
    );
    const location = start.headers.get('location');
    assert.ok(location, 'the authorization endpoint sends the browser to the login page');
    const loginUrl = new URL(location, t.issuer).href;
    for (const origin of [SPA_ORIGIN, EVIL, 'null']) {
      const page = await ua.request(loginUrl, { headers: { origin } });
      assert.equal(page.status, 200);
      assert.match(page.body, /name="password"/);
      assert.equal(page.headers.get('access-control-allow-origin'), null, `GET login page from ${origin}`);
      const options = await ua.request(loginUrl, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST' },
      });
      assert.equal(
        options.headers.get('access-control-allow-origin'),
        null,
        `OPTIONS login page from ${origin}`,
      );
      assert.equal(options.headers.get('access-control-allow-methods'), null);
    }
    // A cross-origin login POST is refused, and carries no CORS header either.
    const page = await ua.get(loginUrl);
    const refused = await ua.submit(
      page,
      { username: 'alice', password: alice.password },
      { origin: SPA_ORIGIN },
    );
    assert.equal(refused.status, 403);
    assert.equal(refused.headers.get('access-control-allow-origin'), null);
    // The consent page, reached by a same-origin login.
    const page2 = await ua.get(loginUrl);
    const loggedIn = await ua.submit(page2, { username: 'alice', password: alice.password });
    assert.equal(loggedIn.status, 303);
    const consentUrl = new URL(loggedIn.headers.get('location') as string, loginUrl).href;
    const consent = await ua.request(consentUrl, { headers: { origin: SPA_ORIGIN } });
    assert.match(consent.body, /name="decision"/);
    assert.equal(consent.headers.get('access-control-allow-origin'), null, 'consent page');
  });
});

describe('CORS on actual requests', () => {
  test('the SPA redeems its code from its own origin: ACAO is that origin, never `*`', async () => {
    const { res } = await spaTokens(SPA_ORIGIN);
    assertAllowed(res, SPA_ORIGIN, 'POST /token');
    assert.equal(typeof res.json.id_token, 'string');
  });

  test('a refresh from the SPA origin carries ACAO', async () => {
    const { refresh } = await spaTokens();
    const res = await post(
      '/token',
      { grant_type: 'refresh_token', client_id: 'spa', refresh_token: refresh },
      { origin: SPA_ORIGIN },
    );
    assert.equal(res.status, 200, res.text);
    assertAllowed(res, SPA_ORIGIN, 'refresh');
  });

  test('error responses to an allowed origin carry ACAO too', async () => {
    const cases: [string, Record<string, string>, string][] = [
      [
        'invalid_grant',
        {
          grant_type: 'authorization_code',
          client_id: 'spa',
          code: 'bogus',
          code_verifier: 'x'.repeat(43),
          redirect_uri: 'https://spa.example/cb',
        },
        'invalid_grant',
      ],
      [
        'bad refresh token',
        { grant_type: 'refresh_token', client_id: 'spa', refresh_token: 'bogus' },
        'invalid_grant',
      ],
      [
        'unsupported grant',
        { grant_type: 'password', client_id: 'spa', username: 'a', password: 'b' },
        'unsupported_grant_type',
      ],
      ['missing grant_type', { client_id: 'spa' }, 'invalid_request'],
      ['grant not registered', { grant_type: 'client_credentials', client_id: 'spa' }, 'unauthorized_client'],
    ];
    for (const [what, form, error] of cases) {
      const res = await post('/token', form, { origin: SPA_ORIGIN });
      assert.equal(res.json.error, error, `${what}: ${res.text}`);
      assertAllowed(res, SPA_ORIGIN, `${what} error`);
    }
    // The same errors from a foreign origin: no ACAO.
    for (const [what, form] of cases) {
      const res = await post('/token', form, { origin: EVIL });
      assertRefused(res, `${what} from ${EVIL}`);
    }
  });

  test('UserInfo, revocation, JWK Set and discovery from an allowed origin; not from others', async () => {
    const { access, refresh } = await spaTokens();
    const ui = await call(`${t.issuer}/userinfo`, {
      headers: { origin: SPA_ORIGIN, authorization: `Bearer ${access}` },
    });
    assert.equal(ui.status, 200, ui.text);
    assertAllowed(ui, SPA_ORIGIN, 'GET /userinfo');
    assert.equal(ui.json.email, alice.claims.email);
    const uiPost = await call(`${t.issuer}/userinfo`, {
      method: 'POST',
      headers: { origin: SPA_ORIGIN, authorization: `Bearer ${access}` },
    });
    assert.equal(uiPost.status, 200, uiPost.text);
    assertAllowed(uiPost, SPA_ORIGIN, 'POST /userinfo');
    for (const origin of [EVIL, 'null']) {
      assertRefused(
        await call(`${t.issuer}/userinfo`, { headers: { origin, authorization: `Bearer ${access}` } }),
        `GET /userinfo from ${origin}`,
      );
    }
    // A 401 from UserInfo can be read by the SPA, challenge included.
    const bad = await call(`${t.issuer}/userinfo`, {
      headers: { origin: SPA_ORIGIN, authorization: 'Bearer nope' },
    });
    assert.equal(bad.status, 401);
    assertAllowed(bad, SPA_ORIGIN, 'UserInfo 401');
    const exposed = commaList(bad.headers.get('access-control-expose-headers'));
    assert.ok(exposed.includes('www-authenticate'), `WWW-Authenticate exposed: ${exposed.join()}`);

    for (const path of ['/jwk', '/.well-known/openid-configuration']) {
      const ok = await call(`${t.issuer}${path}`, { headers: { origin: SPA_ORIGIN } });
      assert.equal(ok.status, 200);
      assertAllowed(ok, SPA_ORIGIN, `GET ${path}`);
      const other = await call(`${t.issuer}${path}`, { headers: { origin: APP_ORIGINS[0] as string } });
      assertAllowed(other, APP_ORIGINS[0] as string, `GET ${path} from app`);
      for (const origin of [EVIL, 'null', APP_REDIRECT_ORIGIN])
        assertRefused(
          await call(`${t.issuer}${path}`, { headers: { origin } }),
          `GET ${path} from ${origin}`,
        );
      const none = await call(`${t.issuer}${path}`);
      assert.notEqual(acao(none), '*', `GET ${path} without Origin: never *`);
    }

    const rev = await post('/revoke', { client_id: 'spa', token: refresh }, { origin: SPA_ORIGIN });
    assert.equal(rev.status, 200, rev.text);
    assertAllowed(rev, SPA_ORIGIN, 'POST /revoke');
    const revErr = await post('/revoke', { client_id: 'spa' }, { origin: SPA_ORIGIN });
    assert.equal(revErr.json.error, 'invalid_request');
    assertAllowed(revErr, SPA_ORIGIN, 'POST /revoke error');
    assertRefused(
      await post('/revoke', { client_id: 'spa', token: 'x' }, { origin: EVIL }),
      'POST /revoke from evil',
    );
  });

  test('introspection from the confidential client origin', async () => {
    const res = await post(
      '/introspect',
      { token: 'unknown' },
      { origin: WEB_ORIGIN, authorization: basic('web', demoClient.client_secret) },
    );
    assert.equal(res.status, 200, res.text);
    assertAllowed(res, WEB_ORIGIN, 'POST /introspect');
    const refused = await post(
      '/introspect',
      { token: 'unknown' },
      { origin: EVIL, authorization: basic('web', demoClient.client_secret) },
    );
    assertRefused(refused, 'POST /introspect from evil');
  });

  test("once the client is known, only its own origins count: client A from client B's origin gets no ACAO", async () => {
    // web (origin https://rp.example) redeems a code from the SPA's origin: a success, but not for that page.
    const issued = await codeFor(demoClient);
    const res = await post(
      '/token',
      {
        grant_type: 'authorization_code',
        code: issued.code,
        redirect_uri: issued.redirectUri,
        code_verifier: issued.verifier,
      },
      { origin: SPA_ORIGIN, authorization: basic('web', demoClient.client_secret) },
    );
    assert.equal(res.status, 200, res.text);
    assertRefused(res, 'web from the SPA origin');
    // An error after authentication, likewise.
    const err = await post(
      '/token',
      { grant_type: 'refresh_token', refresh_token: 'bogus' },
      { origin: APP_ORIGINS[0] as string, authorization: basic('web', demoClient.client_secret) },
    );
    assert.equal(err.json.error, 'invalid_grant');
    assertRefused(err, "web from app's origin");

    // The SPA from the origin only app allows.
    const spaIssued = await codeFor(publicClient);
    const spaRes = await post(
      '/token',
      {
        grant_type: 'authorization_code',
        client_id: 'spa',
        code: spaIssued.code,
        redirect_uri: spaIssued.redirectUri,
        code_verifier: spaIssued.verifier,
      },
      { origin: APP_ORIGINS[0] as string },
    );
    assert.equal(spaRes.status, 200, spaRes.text);
    assertRefused(spaRes, "spa from app's origin");

    // Revocation and introspection follow the same rule.
    assertRefused(
      await post('/revoke', { client_id: 'spa', token: 'x' }, { origin: APP_ORIGINS[0] as string }),
      "revoke as spa from app's origin",
    );
    assertRefused(
      await post(
        '/introspect',
        { token: 'x' },
        { origin: SPA_ORIGIN, authorization: basic('web', demoClient.client_secret) },
      ),
      'introspect as web from the SPA origin',
    );
  });

  test('explicit allowed_cors_origins replace the redirect URI origins', async () => {
    const issued = await codeFor(appClient);
    const form = {
      grant_type: 'authorization_code',
      client_id: 'app',
      code: issued.code,
      redirect_uri: issued.redirectUri,
      code_verifier: issued.verifier,
    };
    // Its redirect origin is not among its CORS origins.
    const fromRedirectOrigin = await post(
      '/token',
      { ...form, code: 'bogus' },
      { origin: APP_REDIRECT_ORIGIN },
    );
    assert.equal(fromRedirectOrigin.json.error, 'invalid_grant');
    assertRefused(fromRedirectOrigin, 'app from its redirect origin');
    for (const origin of APP_ORIGINS) {
      const e = await post('/token', { ...form, code: 'bogus' }, { origin });
      assertAllowed(e, origin, `app error from ${origin}`);
    }
    const res = await post('/token', form, { origin: APP_ORIGINS[1] as string });
    assert.equal(res.status, 200, res.text);
    assertAllowed(res, APP_ORIGINS[1] as string, 'app from localhost:3000');
    const ui = await call(`${t.issuer}/userinfo`, {
      headers: {
        origin: APP_ORIGINS[0] as string,
        authorization: `Bearer ${res.json.access_token as string}`,
      },
    });
    assert.equal(ui.status, 200, ui.text);
    assertAllowed(ui, APP_ORIGINS[0] as string, 'UserInfo from app.example');
  });

  test('a `null` origin is never allowed on actual requests', async () => {
    const res = await post(
      '/token',
      { grant_type: 'refresh_token', client_id: 'spa', refresh_token: 'bogus' },
      { origin: 'null' },
    );
    assert.equal(res.json.error, 'invalid_grant');
    assertRefused(res, 'POST /token from null');
    assertRefused(await call(`${t.issuer}/jwk`, { headers: { origin: 'null' } }), 'GET /jwk from null');
  });
});
