// Logout end to end: RP-Initiated Logout 1.0 at /end_session (the oidcc-rp-initiated-logout-* modules), the session and
// its tokens ending, and Back-Channel Logout 1.0 tokens delivered to a receiver on loopback.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  generateKeyPair,
  jwtVerify,
  SignJWT,
} from 'jose';
import * as oidc from 'openid-client';
import { buildConfig, ConfigError } from '../../src/config/load.js';
import { FetchError } from '../../src/net/fetch-json.js';
import { postForm as guardedPost } from '../../src/net/post-form.js';
import { alice, bob, demoClient, publicClient, startTestServer, type TestServer } from '../helpers/server.js';
import {
  authorizeUrl,
  basic,
  hiddenInputs,
  type Page,
  pkcePair,
  postForm,
  signIn,
  UserAgent,
} from '../helpers/user-agent.js';

const postLogout = 'https://rp.example/post_logout_redirect';
/** Two pairwise clients on different sectors (a.example, b.example), each with a back-channel receiver. */
const pairwiseSecret = 'pairwise-secret-0123456789abcdef';
const redirectOf = (clientId: string) => `https://${clientId.slice(-1)}.example/cb`;

/** A back-channel receiver: records every POST; `/hold/...` requests are left open until released. */
interface Received {
  path: string;
  form: URLSearchParams;
}
let receiver: Server;
let receiverUrl: string;
const received: Received[] = [];
const held: { path: string; res: ServerResponse }[] = [];

function receive(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const path = req.url ?? '';
    received.push({ path, form: new URLSearchParams(Buffer.concat(chunks).toString('utf8')) });
    if (path.startsWith('/hold/')) held.push({ path, res });
    else res.writeHead(200).end();
  });
}

async function waitFor<T>(what: string, probe: () => T | undefined): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const v = probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

let t: TestServer;
let web: oidc.Configuration;
let origin: string;

before(async () => {
  receiver = createServer(receive);
  receiver.listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  t = await startTestServer({
    server: { allowPrivateNetworkFetch: true },
    providers: [
      {
        name: 'default',
        clients: [
          {
            ...demoClient,
            post_logout_redirect_uris: [postLogout, 'https://rp.example/bye?from=op'],
            backchannel_logout_uri: `${receiverUrl}/bc/web`,
          },
          {
            client_id: 'slow',
            client_secret: 'slow-secret-0123456789abcdef',
            redirect_uris: ['https://slow.example/cb'],
            scope: 'openid',
            backchannel_logout_uri: `${receiverUrl}/hold/slow`,
            backchannel_logout_session_required: true,
          },
          publicClient,
          {
            client_id: 'pw-a',
            client_secret: pairwiseSecret,
            redirect_uris: [redirectOf('pw-a')],
            scope: 'openid email',
            subject_type: 'pairwise',
            userinfo_signed_response_alg: 'RS256',
            backchannel_logout_uri: `${receiverUrl}/bc/pw-a`,
          },
          {
            client_id: 'pw-b',
            client_secret: pairwiseSecret,
            redirect_uris: [redirectOf('pw-b')],
            scope: 'openid email',
            subject_type: 'pairwise',
            backchannel_logout_uri: `${receiverUrl}/bc/pw-b`,
          },
        ],
        users: [alice, bob],
        // Open registration: anyone may register a client and its post_logout_redirect_uris.
        registration: {},
      },
    ],
  });
  origin = new URL(t.issuer).origin;
  web = await oidc.discovery(
    new URL(t.issuer),
    demoClient.client_id,
    demoClient.client_secret,
    oidc.ClientSecretBasic(demoClient.client_secret),
    { execute: [oidc.allowInsecureRequests] },
  );
});

after(async () => {
  for (const h of held) h.res.destroy();
  await t.close();
  receiver.closeAllConnections();
  receiver.close();
});

/** Logs `ua` in (as alice unless told) through the `web` client and returns its tokens. */
async function login(ua: UserAgent, scope = 'openid offline_access', username = 'alice') {
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(web, { redirect_uri: 'https://rp.example/cb', scope, state });
  const cb = await signIn(ua, url.href, { username, password: `${username}-password` });
  return oidc.authorizationCodeGrant(web, cb, { expectedState: state });
}

/** prompt=none for `web` (or another client) in this browser: the redirect's error, or 'code' when silent. */
async function promptNone(
  ua: UserAgent,
  clientId = 'web',
  redirectUri = 'https://rp.example/cb',
  extra: Record<string, string> = {},
): Promise<string> {
  const res = await ua.get(
    authorizeUrl(t.issuer, {
      response_type: 'code',
      client_id: clientId,
      redirect_uri: redirectUri,
      scope: 'openid',
      state: 'pn',
      prompt: 'none',
      ...extra,
    }),
  );
  assert.equal(res.status, 303);
  const location = new URL(res.headers.get('location') as string);
  return location.searchParams.get('error') ?? (location.searchParams.get('code') ? 'code' : 'nothing');
}

/** A code flow with PKCE for a client with a secret, in `ua` (login and consent as needed): the token response. */
async function codeFlow(
  ua: UserAgent,
  clientId: string,
  secret: string,
  redirectUri: string,
  scope = 'openid',
): Promise<{ id_token: string; access_token: string }> {
  const { verifier, challenge } = pkcePair();
  const cb = await signIn(
    ua,
    authorizeUrl(t.issuer, {
      response_type: 'code',
      client_id: clientId,
      redirect_uri: redirectUri,
      scope,
      state: 'cf',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }),
  );
  const res = await postForm(
    `${t.issuer}/token`,
    {
      grant_type: 'authorization_code',
      code: cb.searchParams.get('code') as string,
      redirect_uri: redirectUri,
      code_verifier: verifier,
    },
    { authorization: basic(clientId, secret) },
  );
  assert.equal(res.status, 200, JSON.stringify(res.json));
  return res.json as { id_token: string; access_token: string };
}

function endSession(params: Record<string, string>): string {
  const url = new URL(`${t.issuer}/end_session`);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.href;
}

/** A page that must be an error page: 400, HTML, no redirect, the page headers of interface.md. */
function assertErrorPage(page: Page, why: string): void {
  assert.equal(page.status, 400, why);
  assert.equal(page.headers.get('location'), null, why);
  assert.match(page.headers.get('content-type') ?? '', /text\/html/);
  assertPageHeaders(page);
}

function assertPageHeaders(page: Page): void {
  assert.match(page.headers.get('cache-control') ?? '', /no-store/);
  assert.match(page.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
  assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
}

function assertSignedOutPage(page: Page): void {
  assert.equal(page.status, 200);
  assert.equal(page.headers.get('location'), null);
  assert.match(page.body, /You are signed out/);
  assertPageHeaders(page);
}

/** The cookie jar has no session cookie left. */
function assertNoSessionCookie(ua: UserAgent): void {
  assert.equal([...ua.cookies.keys()].filter((k) => k.includes('-sid-')).length, 0);
}

describe('RP-Initiated Logout 1.0 (oidcc-rp-initiated-logout-certification-test-plan)', () => {
  test('oidcc-rp-initiated-logout-discovery-endpoint-verification: end_session_endpoint and back-channel support', async () => {
    const doc = (await (await fetch(`${t.issuer}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    assert.equal(doc.end_session_endpoint, `${t.issuer}/end_session`);
    assert.equal(doc.backchannel_logout_supported, true);
    assert.equal(doc.backchannel_logout_session_supported, true);
    assert.equal(web.serverMetadata().end_session_endpoint, `${t.issuer}/end_session`);
  });

  test('oidcc-rp-initiated-logout: redirect with state; the session, its tokens and its codes end; back-channel logout token', async () => {
    const ua = new UserAgent();
    const tokens = await login(ua);
    const claims = tokens.claims();
    assert.ok(claims);
    assert.equal(typeof claims.sid, 'string', 'ID tokens carry the session id');
    assert.ok(tokens.refresh_token);
    // The same session, a second client: that code is never redeemed before the logout.
    const silent = await ua.get(
      authorizeUrl(t.issuer, {
        response_type: 'code',
        client_id: 'slow',
        redirect_uri: 'https://slow.example/cb',
        scope: 'openid',
        state: 's',
      }),
    );
    const pending = await ua.follow(silent.headers.get('location') as string, origin);
    const consented = await ua.submit(pending, { decision: 'allow' });
    const slowCode = new URL(consented.headers.get('location') as string).searchParams.get('code');
    assert.ok(slowCode);

    // A 128-character state, as the conformance suite sends, through openid-client's own URL builder.
    const state = 'S'.repeat(64) + oidc.randomState().slice(0, 64).padEnd(64, 'x');
    const url = oidc.buildEndSessionUrl(web, {
      id_token_hint: tokens.id_token as string,
      post_logout_redirect_uri: postLogout,
      state,
    });
    const res = await ua.get(url.href);
    assert.equal(res.status, 303);
    const location = new URL(res.headers.get('location') as string);
    assert.equal(location.origin + location.pathname, postLogout);
    assert.equal(location.searchParams.get('state'), state);
    assert.deepEqual([...location.searchParams.keys()], ['state'], 'no extra parameters');
    assertPageHeaders(res);
    assertNoSessionCookie(ua);

    // The provider session ended: prompt=none needs a login, and the next authorization asks for the password.
    assert.equal(await promptNone(ua), 'login_required');
    const next = await ua.follow(
      authorizeUrl(t.issuer, {
        response_type: 'code',
        client_id: 'web',
        redirect_uri: 'https://rp.example/cb',
        scope: 'openid',
        state: 'again',
      }),
      origin,
    );
    assert.match(next.body, /name="password"/);

    // Checklist O3: what was issued in the session is revoked, and its unredeemed code gives nothing.
    await assert.rejects(oidc.refreshTokenGrant(web, tokens.refresh_token as string), (err: unknown) => {
      assert.equal((err as { error?: string }).error, 'invalid_grant');
      return true;
    });
    const info = await fetch(`${t.issuer}/userinfo`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    assert.equal(info.status, 401);
    const redeem = await fetch(`${t.issuer}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from('slow:slow-secret-0123456789abcdef').toString('base64')}`,
      },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: slowCode,
        redirect_uri: 'https://slow.example/cb',
      }).toString(),
    });
    assert.equal(redeem.status, 400);
    assert.equal(((await redeem.json()) as { error: string }).error, 'invalid_grant');

    // Back-Channel Logout §2.4-2.5: the web client's receiver got a logout token for this session.
    const got = await waitFor('the back-channel logout token', () =>
      received.find((r) => r.path === '/bc/web' && r.form.has('logout_token')),
    );
    const token = got.form.get('logout_token') as string;
    assert.deepEqual([...got.form.keys()], ['logout_token']);
    assert.equal(decodeProtectedHeader(token).typ, 'logout+jwt');
    const jwks = createRemoteJWKSet(new URL(`${t.issuer}/jwk`));
    const { payload } = await jwtVerify(token, jwks, {
      issuer: t.issuer,
      audience: 'web',
      typ: 'logout+jwt',
      requiredClaims: ['iat', 'exp', 'jti', 'sub', 'sid', 'events'],
    });
    assert.equal(payload.sid, claims.sid);
    assert.equal(payload.sub, claims.sub);
    assert.deepEqual(payload.events, { 'http://schemas.openid.net/event/backchannel-logout': {} });
    assert.equal(payload.nonce, undefined, 'a logout token never has a nonce');
    assert.ok((payload.exp as number) - (payload.iat as number) <= 120);
    // The slow client had the session too (its code); its receiver was told as well.
    await waitFor('the slow receiver', () => held.find((h) => h.path === '/hold/slow'));
    for (const h of held.splice(0)) h.res.writeHead(200).end();
    // Nothing secret in the log: the logout token, the hint and the tokens stay out of it.
    const log = t.logs.join('\n');
    for (const secret of [token, tokens.id_token as string, tokens.refresh_token as string, state])
      assert.ok(!log.includes(secret));
  });

  test('oidcc-rp-initiated-logout-no-state, POSTed cross-site: goes on as a GET and redirects without state', async () => {
    const ua = new UserAgent();
    const tokens = await login(ua, 'openid');
    // An RP's page POSTs the form from its own origin: the SameSite=Lax session cookie is not sent along.
    const posted = await fetch(`${t.issuer}/end_session`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://rp.example' },
      body: new URLSearchParams({
        id_token_hint: tokens.id_token as string,
        post_logout_redirect_uri: postLogout,
      }).toString(),
    });
    assert.equal(posted.status, 303);
    const asGet = new URL(posted.headers.get('location') as string);
    assert.equal(asGet.origin + asGet.pathname, `${t.issuer}/end_session`);
    assert.equal(await promptNone(ua), 'code', 'nothing ended before the browser comes back with its cookie');
    const res = await ua.get(asGet.href);
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), postLogout);
    assert.equal(await promptNone(ua), 'login_required');
    // A bad request POSTed that way is an error page at once, never a redirect.
    const bad = await fetch(`${t.issuer}/end_session`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ post_logout_redirect_uri: postLogout }).toString(),
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.headers.get('location'), null);
  });

  test('must not redirect: bad, query-added, modified or foreign id_token_hint, no id_token_hint → error page, session kept', async () => {
    const ua = new UserAgent();
    const tokens = await login(ua, 'openid');
    const hint = tokens.id_token as string;
    const [header, payload] = hint.split('.') as [string, string];
    const noneHeader = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    // -bad-id-token-hint: signed by someone else, iss = client_id, aud = issuer.
    const { privateKey } = await generateKeyPair('RS256');
    const foreign = await new SignJWT({ sub: tokens.claims()?.sub })
      .setProtectedHeader({ alg: 'RS256', kid: decodeProtectedHeader(hint).kid as string })
      .setIssuer('web')
      .setAudience(t.issuer)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    const cases: [string, Record<string, string>][] = [
      [
        'oidcc-rp-initiated-logout-bad-post-logout-redirect-uri',
        { id_token_hint: hint, post_logout_redirect_uri: 'https://rp.example/elsewhere', state: 's' },
      ],
      [
        'oidcc-rp-initiated-logout-query-added-to-post-logout-redirect-uri',
        { id_token_hint: hint, post_logout_redirect_uri: `${postLogout}?foo=bar`, state: 's' },
      ],
      [
        'oidcc-rp-initiated-logout-modified-id-token-hint',
        { id_token_hint: `${noneHeader}.${payload}.`, post_logout_redirect_uri: postLogout, state: 's' },
      ],
      [
        'oidcc-rp-initiated-logout-bad-id-token-hint',
        { id_token_hint: foreign, post_logout_redirect_uri: postLogout, state: 's' },
      ],
      ['oidcc-rp-initiated-logout-no-id-token-hint', { post_logout_redirect_uri: postLogout, state: 's' }],
      ['client_id that is not the hint audience', { id_token_hint: hint, client_id: 'spa' }],
      ['unknown client_id', { client_id: 'nobody', post_logout_redirect_uri: postLogout }],
      ['a tampered payload', { id_token_hint: `${header}.${payload}x.${hint.split('.')[2]}` }],
      ['a hint that is not a JWT', { id_token_hint: 'not.a.jwt' }],
    ];
    for (const [name, params] of cases) {
      const page = await ua.get(endSession(params));
      assertErrorPage(page, name);
      assert.doesNotMatch(page.body, /name="logout"/, `${name}: no way on to a redirect`);
    }
    // A parameter sent twice is an error too.
    const twice = await ua.get(`${endSession({ id_token_hint: hint })}&id_token_hint=${hint}`);
    assertErrorPage(twice, 'repeated id_token_hint');
    assert.equal(await promptNone(ua), 'code', 'none of these ended the session');
  });

  test('oidcc-rp-initiated-logout-no-post-logout-redirect-uri: a hint of this session, expired too, logs out at once and shows the signed-out page', async () => {
    const ua = new UserAgent();
    const tokens = await login(ua, 'openid');
    // §2: an expired ID token of ours is still a good hint (the session lasts 8 h, the ID token 1 h).
    t.clock.advance(2 * 3600);
    const page = await ua.get(endSession({ id_token_hint: tokens.id_token as string, state: 'st' }));
    assertSignedOutPage(page);
    assertNoSessionCookie(ua);
    assert.equal(await promptNone(ua), 'login_required');
  });

  test('oidcc-rp-initiated-logout-no-params: confirmation page, CSRF and Origin enforced, then logged out', async () => {
    const ua = new UserAgent();
    await login(ua, 'openid');
    // RP-Initiated Logout §2: POST works as GET does (here same-site, so the session cookie comes along).
    const page = await ua.post(`${t.issuer}/end_session`, {});
    assert.equal(page.status, 200);
    assertPageHeaders(page);
    assert.match(page.body, /<form method="post"/);
    assert.match(page.body, /<button[^>]*name="logout" value="yes"/);
    const fields = hiddenInputs(page.body);
    assert.ok(fields.csrf);
    assert.equal(await promptNone(ua), 'code', 'showing the page ends nothing');

    // Interface rules: without the CSRF token, with a wrong one or from another origin: 403 and nothing changes.
    const noCsrf = await ua.post(page.url, { logout: 'yes' });
    assert.equal(noCsrf.status, 403);
    const wrong = await ua.post(page.url, { logout: 'yes', csrf: `${fields.csrf}x` });
    assert.equal(wrong.status, 403);
    const crossSite = await ua.submit(page, { logout: 'yes' }, { origin: 'https://evil.example' });
    assert.equal(crossSite.status, 403);
    assert.equal(await promptNone(ua), 'code');
    // Another browser cannot use this page's token.
    const other = new UserAgent();
    assert.equal((await other.post(page.url, { logout: 'yes', csrf: fields.csrf as string })).status, 403);

    // `null` Origin (no-referrer pages) with the token is accepted; 303 to the signed-out page.
    const done = await ua.submit(page, { logout: 'yes' }, { origin: 'null' });
    assert.equal(done.status, 303);
    assert.equal(done.headers.get('location'), `${t.issuer}/end_session`);
    assertNoSessionCookie(ua);
    assertSignedOutPage(await ua.get(done.headers.get('location') as string));
    assert.equal(await promptNone(ua), 'login_required');
    // Submitting again once signed out: the token's session is gone, so it is refused, redirecting nowhere.
    const again = await ua.submit(page, { logout: 'yes' });
    assert.equal(again.status, 403);
    assert.equal(again.headers.get('location'), null);
  });

  test('oidcc-rp-initiated-logout-only-state: confirmation, then the signed-out page, never a redirect', async () => {
    const ua = new UserAgent();
    await login(ua, 'openid');
    const page = await ua.get(endSession({ state: 'only' }));
    assert.equal(page.status, 200);
    assert.match(page.body, /name="logout" value="yes"/);
    assert.doesNotMatch(page.body, /only/, 'state is not carried without a redirect target');
    const done = await ua.submit(page, { logout: 'yes' });
    assert.equal(done.headers.get('location'), `${t.issuer}/end_session`);
    assert.equal(await promptNone(ua), 'login_required');
  });

  test('a hint of another session asks first, then returns with state; another user signing in ends the session', async () => {
    const first = new UserAgent();
    const old = await login(first, 'openid');
    const ua = new UserAgent();
    await login(ua, 'openid', 'bob');
    const page = await ua.get(
      endSession({
        id_token_hint: old.id_token as string,
        post_logout_redirect_uri: 'https://rp.example/bye?from=op',
        state: 'x&y',
      }),
    );
    assert.equal(page.status, 200, 'not the session the hint names: the user is asked');
    assert.match(page.body, /name="logout" value="yes"/);
    assert.match(page.body, /Signed in as bob/);
    const done = await ua.submit(page, { logout: 'yes' });
    assert.equal(done.status, 303);
    assert.equal(done.headers.get('location'), 'https://rp.example/bye?from=op&state=x%26y');
    assert.equal(await promptNone(ua), 'login_required');
    assert.equal(await promptNone(first), 'code', "alice's own session is another browser's and goes on");

    // Bob signs in in alice's browser: her session ends as a logout ends it (tokens revoked, RPs told).
    const before = received.length;
    const switched = oidc.buildAuthorizationUrl(web, {
      redirect_uri: 'https://rp.example/cb',
      scope: 'openid',
      state: 'sw',
      prompt: 'login',
    });
    const cb = await signIn(first, switched.href, { username: 'bob', password: 'bob-password' });
    const bobs = await oidc.authorizationCodeGrant(web, cb, { expectedState: 'sw' });
    assert.notEqual(bobs.claims()?.sid, old.claims()?.sid);
    const info = await fetch(`${t.issuer}/userinfo`, {
      headers: { authorization: `Bearer ${old.access_token}` },
    });
    assert.equal(info.status, 401);
    const notice = await waitFor("alice's logout token", () =>
      received.slice(before).find((r) => r.path === '/bc/web'),
    );
    const { payload } = await jwtVerify(
      notice.form.get('logout_token') as string,
      createRemoteJWKSet(new URL(`${t.issuer}/jwk`)),
      { issuer: t.issuer, audience: 'web' },
    );
    assert.equal(payload.sid, old.claims()?.sid);
  });

  test('without a session: client_id with a registered URI returns at once; nothing at all shows the signed-out page', async () => {
    const ua = new UserAgent();
    const res = await ua.get(
      endSession({ client_id: 'web', post_logout_redirect_uri: postLogout, state: 'n' }),
    );
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), `${postLogout}?state=n`);
    assertSignedOutPage(await ua.get(endSession({})));
    const head = await fetch(`${t.issuer}/end_session`, { method: 'HEAD' });
    assert.equal(head.status, 405);
  });

  test("RFC 9700 §4.11: a registered client's post_logout_redirect_uri needs its own id_token_hint; client_id alone never redirects", async () => {
    // Anyone can register a client with a phishing page as its post_logout_redirect_uri.
    const phish = 'https://evil.example/phish';
    const reg = await fetch(`${t.issuer}/registration`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        redirect_uris: ['https://evil.example/cb'],
        post_logout_redirect_uris: [phish],
      }),
    });
    assert.equal(reg.status, 201);
    const { client_id, client_secret } = (await reg.json()) as { client_id: string; client_secret: string };
    const lure = endSession({ client_id, post_logout_redirect_uri: phish, state: 'x' });

    // No session in this browser: the signed-out page, not a 303 to the registrant's page.
    const ua = new UserAgent();
    const fresh = await ua.get(lure);
    assertSignedOutPage(fresh);
    assert.doesNotMatch(fresh.body, /evil\.example/);
    // POSTed cross-site it goes on as a GET, with the same outcome.
    const posted = await fetch(`${t.issuer}/end_session`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
      body: new URLSearchParams({ client_id, post_logout_redirect_uri: phish }).toString(),
    });
    assert.equal(posted.status, 303);
    assertSignedOutPage(await ua.get(posted.headers.get('location') as string));

    // Signed in: the user is asked as before and signed out, then shown the signed-out page, never sent on.
    await login(ua, 'openid');
    const page = await ua.get(lure);
    assert.equal(page.status, 200);
    assert.match(page.body, /name="logout" value="yes"/);
    assert.doesNotMatch(page.body, /evil\.example/, 'nothing carried towards the registered URI');
    const done = await ua.submit(page, { logout: 'yes' });
    assert.equal(done.status, 303);
    assert.equal(done.headers.get('location'), `${t.issuer}/end_session`);
    assert.equal(await promptNone(ua), 'login_required');

    // The registered client's own ID token as the hint shows it is the RP asking: then it gets its redirect.
    const rp = new UserAgent();
    const tokens = await codeFlow(rp, client_id, client_secret, 'https://evil.example/cb');
    const out = await rp.get(
      endSession({ id_token_hint: tokens.id_token, post_logout_redirect_uri: phish, state: 'y' }),
    );
    assert.equal(out.status, 303);
    assert.equal(out.headers.get('location'), `${phish}?state=y`);
    assertNoSessionCookie(rp);
    // Its hint in another browser's session: asked first, the hint carried, checked again, then redirected.
    const other = new UserAgent();
    await login(other, 'openid');
    const asked = await other.get(
      endSession({ id_token_hint: tokens.id_token, post_logout_redirect_uri: phish, state: 'z' }),
    );
    assert.equal(asked.status, 200);
    assert.equal(hiddenInputs(asked.body).id_token_hint, tokens.id_token);
    const confirmed = await other.submit(asked, { logout: 'yes' });
    assert.equal(confirmed.status, 303);
    assert.equal(confirmed.headers.get('location'), `${phish}?state=z`);
    assert.equal(await promptNone(other), 'login_required');
  });

  test('RFC 8725 §3.11: a signed UserInfo response is no id_token_hint, here or at /authorize', async () => {
    const ua = new UserAgent();
    const tokens = await codeFlow(ua, 'pw-a', pairwiseSecret, redirectOf('pw-a'), 'openid email');
    const info = await fetch(`${t.issuer}/userinfo`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    assert.equal(info.status, 200);
    assert.match(info.headers.get('content-type') ?? '', /^application\/jwt/);
    const signed = await info.text();
    // Ours in every way a hint was checked before: our key, typ JWT, our iss, the client as aud, its sub.
    const { payload, protectedHeader } = await jwtVerify(
      signed,
      createRemoteJWKSet(new URL(`${t.issuer}/jwk`)),
      {
        issuer: t.issuer,
        audience: 'pw-a',
      },
    );
    assert.equal(protectedHeader.typ, 'JWT');
    assert.equal(payload.sub, decodeJwt(tokens.id_token).sub);

    const page = await ua.get(endSession({ id_token_hint: signed }));
    assertErrorPage(page, 'a UserInfo JWT as id_token_hint');
    assert.doesNotMatch(page.body, /name="logout"/);
    // The same check at /authorize (OIDC Core §3.1.2.1): invalid_request, not a silent answer.
    const pa = redirectOf('pw-a');
    assert.equal(await promptNone(ua, 'pw-a', pa, { id_token_hint: signed }), 'invalid_request');
    assert.equal(await promptNone(ua, 'pw-a', pa, { id_token_hint: tokens.id_token }), 'code');
    // The session is still there: the real ID token logs it out at once.
    assertSignedOutPage(await ua.get(endSession({ id_token_hint: tokens.id_token })));
    assert.equal(await promptNone(ua, 'pw-a', pa), 'login_required');
  });
});

describe('Back-Channel Logout 1.0', () => {
  test('a re-login keeps the sid; a receiver that does not answer holds up nothing, and its failure is logged', async () => {
    const ua = new UserAgent();
    const slow = await oidc.discovery(
      new URL(t.issuer),
      'slow',
      'slow-secret-0123456789abcdef',
      oidc.ClientSecretBasic('slow-secret-0123456789abcdef'),
      { execute: [oidc.allowInsecureRequests] },
    );
    const url = oidc.buildAuthorizationUrl(slow, {
      redirect_uri: 'https://slow.example/cb',
      scope: 'openid',
      state: 'a',
    });
    const first = await oidc.authorizationCodeGrant(slow, await signIn(ua, url.href), { expectedState: 'a' });
    const sid = first.claims()?.sid;
    assert.equal(typeof sid, 'string');
    // prompt=login: the same user again, in the same session as far as RPs are concerned.
    url.searchParams.set('prompt', 'login');
    url.searchParams.set('state', 'b');
    const second = await oidc.authorizationCodeGrant(slow, await signIn(ua, url.href), {
      expectedState: 'b',
    });
    assert.equal(second.claims()?.sid, sid);

    const before = received.length;
    const res = await ua.get(endSession({ id_token_hint: second.id_token as string }));
    // The browser has its answer while the receiver still holds the request open.
    assertSignedOutPage(res);
    const hold = await waitFor('the held back-channel request', () =>
      held.find((h) => h.path === '/hold/slow'),
    );
    assert.equal(hold.res.writableEnded, false, 'the receiver has not answered yet');
    const token = received
      .slice(before)
      .find((r) => r.path === '/hold/slow')
      ?.form.get('logout_token');
    assert.ok(token);
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(`${t.issuer}/jwk`)), {
      issuer: t.issuer,
      audience: 'slow',
    });
    assert.equal(payload.sid, sid, 'backchannel_logout_session_required: sid is there');
    // The receiver finally fails: logged with the client, never with the token.
    held.splice(held.indexOf(hold), 1);
    hold.res.writeHead(500).end();
    const line = await waitFor('the failure log line', () =>
      t.logs.find((l) => l.includes('back-channel logout failed') && l.includes('"slow"')),
    );
    assert.match(line, /status 500/);
    assert.ok(!t.logs.join('\n').includes(token));
  });

  test('OIDC Core §8: each client gets its own sid for one session; each hint still logs out at once, each logout token has its sid', async () => {
    const ua = new UserAgent();
    const a = await codeFlow(ua, 'pw-a', pairwiseSecret, redirectOf('pw-a'));
    const b = await codeFlow(ua, 'pw-b', pairwiseSecret, redirectOf('pw-b'));
    const [ca, cb] = [decodeJwt(a.id_token), decodeJwt(b.id_token)];
    assert.notEqual(ca.sub, cb.sub, 'pairwise: a subject per sector');
    assert.equal(typeof ca.sid, 'string');
    assert.equal(typeof cb.sid, 'string');
    assert.ok((ca.sid as string).length >= 22 && (cb.sid as string).length >= 22);
    assert.notEqual(ca.sid, cb.sid, 'and a sid per client: two RPs cannot link the user by it');
    // A client's sid stays the same for the whole session.
    assert.equal(
      decodeJwt((await codeFlow(ua, 'pw-a', pairwiseSecret, redirectOf('pw-a'))).id_token).sid,
      ca.sid,
    );

    // pw-a's hint names this session: no confirmation. Both receivers get their own sid and sub.
    const before = received.length;
    assertSignedOutPage(await ua.get(endSession({ id_token_hint: a.id_token })));
    assertNoSessionCookie(ua);
    const jwks = createRemoteJWKSet(new URL(`${t.issuer}/jwk`));
    for (const [clientId, claims] of [
      ['pw-a', ca],
      ['pw-b', cb],
    ] as const) {
      const notice = await waitFor(`the ${clientId} logout token`, () =>
        received.slice(before).find((r) => r.path === `/bc/${clientId}`),
      );
      const { payload } = await jwtVerify(notice.form.get('logout_token') as string, jwks, {
        issuer: t.issuer,
        audience: clientId,
        typ: 'logout+jwt',
      });
      assert.equal(payload.sid, claims.sid, `${clientId}: the sid of its ID token`);
      assert.equal(payload.sub, claims.sub, `${clientId}: the sub of its ID token`);
    }

    // pw-b's hint does the same in a session of its own; a hint of another client's sid does not.
    const second = new UserAgent();
    const b2 = await codeFlow(second, 'pw-b', pairwiseSecret, redirectOf('pw-b'));
    const a2 = await codeFlow(second, 'pw-a', pairwiseSecret, redirectOf('pw-a'));
    const asked = await second.get(endSession({ id_token_hint: b.id_token }));
    assert.equal(asked.status, 200, 'an ID token of the earlier session: the user is asked');
    assert.match(asked.body, /name="logout" value="yes"/);
    assert.notEqual(decodeJwt(b2.id_token).sid, decodeJwt(a2.id_token).sid);
    assertSignedOutPage(await second.get(endSession({ id_token_hint: b2.id_token })));
    assert.equal(await promptNone(second, 'pw-a', redirectOf('pw-a')), 'login_required');
  });

  test('the outbound POST keeps the SSRF guard: no http, no private address, unless the operator allows it', async () => {
    const before = received.length;
    const policy = { allowPrivateNetworks: false, timeoutMs: 1000, maxBytes: 1024 };
    await assert.rejects(guardedPost(`${receiverUrl}/bc/guard`, { logout_token: 'x' }, policy), FetchError);
    const https = receiverUrl.replace('http:', 'https:');
    await assert.rejects(guardedPost(`${https}/bc/guard`, { logout_token: 'x' }, policy), /private address/);
    await assert.rejects(guardedPost('https://[::1]/bc', { logout_token: 'x' }, policy), /private address/);
    assert.equal(received.length, before, 'nothing reached the listener');
    const allowed = { ...policy, allowPrivateNetworks: true };
    assert.equal(await guardedPost(`${receiverUrl}/bc/guard`, { logout_token: 'x' }, allowed), 200);
  });

  test('configuration: backchannel_logout_uri is an absolute https URL without a fragment (http only on loopback)', () => {
    const doc = (uri: string) => ({
      providers: [
        {
          name: 'p',
          clients: [{ ...demoClient, backchannel_logout_uri: uri }],
          users: [],
        },
      ],
    });
    for (const ok of ['https://rp.example/bc?x=1', 'http://127.0.0.1:9000/bc', 'http://localhost/bc'])
      assert.doesNotThrow(() => buildConfig(doc(ok)), ok);
    for (const bad of ['http://rp.example/bc', 'https://rp.example/bc#frag', '/bc', 'ftp://rp.example/bc']) {
      assert.throws(
        () => buildConfig(doc(bad)),
        (err: unknown) =>
          err instanceof ConfigError &&
          err.problems.some((p) => p.path === 'providers[0].clients[0].backchannel_logout_uri'),
        bad,
      );
    }
  });
});
