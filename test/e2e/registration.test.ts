// Dynamic client registration (RFC 7591, RFC 7592, OIDC Registration 1.0) at /registration: open and with an initial
// access token, metadata refusals with their error codes (checklist A4, A5, C4, G1, G2), registered clients in the
// code flow (openid-client), management with the registration access token, restart and a second process.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair } from 'jose';
import * as oidc from 'openid-client';
import { resolvesToPrivateAddress } from '../../src/registration/fetch-targets.js';
import { call, type Reply } from '../helpers/http.js';
import {
  alice,
  databaseText,
  demoClient,
  queryTestDatabase,
  startTestServer,
  type TestServer,
} from '../helpers/server.js';
import { authorizeUrl, basic, pkcePair, postForm, signIn, UserAgent } from '../helpers/user-agent.js';

const INITIAL_ACCESS_TOKEN = 'initial-access-token-0123456789abcdef';

/** Open registration, private-network fetches allowed (for the local sector documents). */
let open: TestServer;
/** A second process on open's database file. */
let second: TestServer | undefined;
/** Its log lines, kept after it stops. */
let secondLogs: string[] = [];
/** Registration with an initial access token, an https public URL, and the SSRF guard on. */
let guarded: TestServer;
/** No registration at all. */
let off: TestServer;

/** Serves sector_identifier_uri documents to `open`. */
let docs: Server;
let docsBase: string;
/** Counts every request: nothing may reach it (checklist G2). */
let canary: Server;
let canaryPort: number;
let canaryHits = 0;

/** Every client secret and registration access token issued: none may reach a log or the database. */
const issued: string[] = [];
/** One browser, signed in once, for every code flow (each login costs an argon2 hash). */
const browser = new UserAgent();

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

// Dozens of registrations from one address in seconds, on purpose; the per-address rate has its own tests.
const unthrottled = { requests: { registration: { perSecond: 1_000_000, burst: 1_000_000 } } };

before(async () => {
  docs = createServer((req, res) => {
    const lists: Record<string, string[]> = {
      '/sector-good': ['https://pairwise-a.example/cb', 'https://pairwise-b.example/cb'],
      '/sector-bad': ['https://example.com/op'],
    };
    const doc = lists[req.url ?? ''];
    if (!doc) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
  });
  docsBase = `http://127.0.0.1:${await listen(docs)}`;
  canary = createServer((_req, res) => {
    canaryHits++;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}');
  });
  canaryPort = await listen(canary);

  open = await startTestServer({
    server: { allowPrivateNetworkFetch: true },
    providers: [
      { name: 'default', clients: [demoClient], users: [alice], registration: {}, throttle: unthrottled },
    ],
  });
  guarded = await startTestServer({
    server: { publicUrl: 'https://op.example' },
    providers: [
      {
        name: 'default',
        clients: [],
        users: [],
        registration: { initialAccessToken: INITIAL_ACCESS_TOKEN },
        throttle: unthrottled,
      },
    ],
  });
  off = await startTestServer({ providers: [{ name: 'default', clients: [], users: [] }] });
});

after(async () => {
  await second?.close();
  await Promise.all([open?.close(), guarded?.close(), off?.close()]);
  await Promise.all([
    new Promise((resolve) => docs.close(resolve)),
    new Promise((resolve) => canary.close(resolve)),
  ]);
});

/** A provider URL as this process reaches it (the public URL may be another host). */
function local(t: TestServer, url: string): string {
  return `${t.baseUrl}${new URL(url).pathname}`;
}

function register(t: TestServer, body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return call(local(t, `${t.issuer}/registration`), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** Registers on `t` and expects 201; remembers what was issued. */
async function registered(t: TestServer, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const res = await register(t, body);
  assert.equal(res.status, 201, res.text);
  for (const key of ['client_secret', 'registration_access_token'] as const)
    if (typeof res.json[key] === 'string') issued.push(res.json[key] as string);
  return res.json;
}

function manage(
  t: TestServer,
  info: Record<string, unknown>,
  method: 'GET' | 'PUT' | 'DELETE',
  token: string | undefined,
  body?: unknown,
): Promise<Reply> {
  return call(local(t, info.registration_client_uri as string), {
    method,
    headers: {
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** Whether `t` knows the client: its secret authenticates at the token endpoint (a bogus code is then invalid_grant). */
async function authenticates(t: TestServer, clientId: string, secret: string): Promise<boolean> {
  const res = await postForm(
    local(t, `${t.issuer}/token`),
    { grant_type: 'authorization_code', code: 'bogus', redirect_uri: 'https://rp.example/cb' },
    { authorization: basic(clientId, secret) },
  );
  if (res.status === 400 && res.json.error === 'invalid_grant') return true;
  assert.equal(res.json.error, 'invalid_client', JSON.stringify(res.json));
  return false;
}

function assertNoStore(res: Reply): void {
  assert.equal(res.headers.get('cache-control'), 'no-store');
  assert.equal(res.headers.get('pragma'), 'no-cache');
}

function assertError(res: Reply, status: number, error: string): void {
  assert.equal(res.status, status, res.text);
  assert.equal(res.json.error, error, res.text);
  assert.equal(typeof res.json.error_description, 'string');
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  assertNoStore(res);
}

const web = { redirect_uris: ['https://rp-reg.example/cb'], client_name: 'Registered RP' };

describe('registration switched off', () => {
  test('without `registration` there is no /registration and discovery names no registration_endpoint', async () => {
    const res = await register(off, web);
    assert.equal(res.status, 404);
    const discovery = await call(`${off.issuer}/.well-known/openid-configuration`);
    assert.equal(discovery.json.registration_endpoint, undefined);
  });
});

describe('open registration (oidcc-server registration checks)', () => {
  test('discovery names the registration endpoint', async () => {
    const res = await call(`${open.issuer}/.well-known/openid-configuration`);
    assert.equal(res.json.registration_endpoint, `${open.issuer}/registration`);
  });

  test('201 with client_id, a 43-character secret, client_secret_expires_at, and the management pair', async () => {
    const { publicKey } = await generateKeyPair('RS256', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'rp-key-1', use: 'sig', alg: 'RS256' };
    // What the conformance suite sends, plus a client_id of its choosing (checklist G1: ignored).
    const res = await register(open, {
      client_id: 'web',
      client_secret: 'chosen-by-the-client',
      client_name: 'Conformance RP',
      grant_types: ['authorization_code'],
      jwks: { keys: [jwk] },
      token_endpoint_auth_method: 'client_secret_basic',
      response_types: ['code'],
      redirect_uris: ['https://rp-reg.example/cb'],
      contacts: ['ops@rp-reg.example'],
    });
    assert.equal(res.status, 201, res.text);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assertNoStore(res);
    const j = res.json;
    issued.push(j.client_secret as string, j.registration_access_token as string);
    assert.equal(j.error, undefined);
    assert.equal(typeof j.client_id, 'string');
    assert.notEqual(j.client_id, 'web', 'the server assigns client_id (RFC 7591 §3.2.1)');
    assert.notEqual(j.client_secret, 'chosen-by-the-client');
    assert.ok((j.client_secret as string).length >= 43, 'checklist C4: at least 32 random bytes');
    assert.equal(j.client_secret_expires_at, 0);
    assert.equal(typeof j.client_id_issued_at, 'number');
    assert.ok((j.registration_access_token as string).length >= 43);
    assert.equal(j.registration_client_uri, `${open.issuer}/registration/${j.client_id}`);
    assert.equal(j.client_name, 'Conformance RP');
    assert.deepEqual(j.contacts, ['ops@rp-reg.example']);
    assert.deepEqual(j.redirect_uris, ['https://rp-reg.example/cb']);
    assert.deepEqual(j.response_types, ['code']);
    assert.deepEqual(j.grant_types, ['authorization_code']);
    assert.equal(j.token_endpoint_auth_method, 'client_secret_basic');
    assert.deepEqual(j.jwks, { keys: [jwk] });
    assert.ok(await authenticates(open, j.client_id as string, j.client_secret as string));
  });

  test('an omitted token_endpoint_auth_method is client_secret_basic (RFC 7591 §2); a public client gets no secret', async () => {
    const j = await registered(open, web);
    assert.equal(j.token_endpoint_auth_method, 'client_secret_basic');
    const pub = await registered(open, { ...web, token_endpoint_auth_method: 'none' });
    assert.equal(pub.client_secret, undefined);
    assert.equal(pub.client_secret_expires_at, undefined);
    assert.equal(pub.token_endpoint_auth_method, 'none');
  });

  test("names that are not the registrant's to set are ignored, not echoed", async () => {
    const j = await registered(open, {
      ...web,
      introspect_any_token: true,
      access_token_lifetime: 315360000,
      allowed_resources: ['https://api.example'],
      software_statement: 'eyJ...',
      'client_name#ja-Jpan-JP': 'クライアント名',
    });
    for (const key of [
      'introspect_any_token',
      'access_token_lifetime',
      'allowed_resources',
      'software_statement',
    ])
      assert.equal(j[key], undefined, key);
  });
});

describe('initial access token (RFC 7591 §3, checklist G1)', () => {
  test('no token → 401 invalid_token with a Bearer challenge', async () => {
    const res = await register(guarded, web);
    assertError(res, 401, 'invalid_token');
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer /);
  });

  test('a wrong token → 401 invalid_token, error in the challenge', async () => {
    const res = await register(guarded, web, { authorization: 'Bearer not-the-initial-access-token' });
    assertError(res, 401, 'invalid_token');
    assert.match(res.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    const basicTried = await register(guarded, web, { authorization: basic('a', INITIAL_ACCESS_TOKEN) });
    assertError(basicTried, 401, 'invalid_token');
  });

  test('the right token → 201; with an https issuer the registration_client_uri is https', async () => {
    const res = await register(guarded, web, { authorization: `Bearer ${INITIAL_ACCESS_TOKEN}` });
    assert.equal(res.status, 201, res.text);
    issued.push(res.json.client_secret as string, res.json.registration_access_token as string);
    const uri = new URL(res.json.registration_client_uri as string);
    assert.equal(uri.protocol, 'https:');
    assert.equal(uri.href, `https://op.example/oidc/endpoint/default/registration/${res.json.client_id}`);
    const discovery = await call(local(guarded, `${guarded.issuer}/.well-known/openid-configuration`));
    assert.equal(
      discovery.json.registration_endpoint,
      'https://op.example/oidc/endpoint/default/registration',
    );
  });
});

describe('refused metadata (checklist A4, G1, G2; RFC 7591 §3.2.2)', () => {
  for (const [name, uri] of [
    ['javascript: scheme', 'javascript:alert(1)'],
    ['data: scheme', 'data:text/html,<script>alert(1)</script>'],
    ['a fragment (oidcc-redirect-uri-regfrag)', 'https://rp.example/cb#f'],
    ['http on a non-loopback host', 'http://rp.example/cb'],
    ['a wildcard', 'https://*.rp.example/cb'],
    ['user information before the host', 'https://rp.example@evil.example/cb'],
    ['a relative URI', '/cb'],
    ['a trailing NUL (the URL parser would strip it)', 'https://rp.example/cb\u0000'],
    ['a tab inside', 'https://rp.example/c\tb'],
  ] as const) {
    test(`redirect URI with ${name} → 400 invalid_redirect_uri`, async () => {
      assertError(await register(open, { redirect_uris: [uri] }), 400, 'invalid_redirect_uri');
    });
  }

  test('a JSON body declared in a charset other than UTF-8 → 400 invalid_request; charset=utf-8 is fine', async () => {
    const body = { redirect_uris: ['https://rp.example/cb'] };
    assertError(
      await register(open, body, { 'content-type': 'application/json; charset=iso-8859-1' }),
      400,
      'invalid_request',
    );
    assert.equal(
      (await register(open, body, { 'content-type': 'application/json; charset=UTF-8' })).status,
      201,
    );
  });

  test('a control character in any other metadata value → 400 invalid_client_metadata', async () => {
    const redirect_uris = ['https://rp.example/cb'];
    assertError(
      await register(open, { redirect_uris, client_name: 'x\u0000y' }),
      400,
      'invalid_client_metadata',
    );
    assertError(
      await register(open, { redirect_uris, contacts: ['a@b.example\u0007'] }),
      400,
      'invalid_client_metadata',
    );
  });

  test('no redirect_uris for the code flow → 400 invalid_redirect_uri; a loopback http one is fine', async () => {
    assertError(await register(open, { client_name: 'x' }), 400, 'invalid_redirect_uri');
    await registered(open, { redirect_uris: ['http://127.0.0.1:9000/cb'] });
  });

  const refusals: [string, Record<string, unknown>][] = [
    ['id_token_signed_response_alg none (checklist G1)', { id_token_signed_response_alg: 'none' }],
    ['userinfo_signed_response_alg none', { userinfo_signed_response_alg: 'none' }],
    [
      'jwks together with jwks_uri (checklist G1)',
      { jwks: { keys: [{ kty: 'EC' }] }, jwks_uri: 'https://rp.example/jwks' },
    ],
    ['a private key in jwks', { jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } }],
    ['a jwks key that is no key (RFC 7517)', { jwks: { keys: [{ kty: 'RSA', n: 1 }] } }],
    [
      'two jwks keys with one kid',
      {
        jwks: {
          keys: [
            { kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo', kid: 'a' },
            { kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo', kid: 'a' },
          ],
        },
      },
    ],
    ['encrypted ID tokens', { id_token_encrypted_response_alg: 'RSA-OAEP' }],
    ['an http logo_uri', { logo_uri: 'http://rp.example/logo.png' }],
    ['a javascript: policy_uri', { policy_uri: 'javascript:alert(1)' }],
    ['the client_credentials grant', { grant_types: ['authorization_code', 'client_credentials'] }],
    ['an API scope', { scope: 'openid api:admin' }],
    ['private_key_jwt without keys', { token_endpoint_auth_method: 'private_key_jwt' }],
    ['an unknown auth method', { token_endpoint_auth_method: 'tls_client_auth' }],
    ['a response type without its grant', { response_types: ['code id_token'] }],
    ['a wrong type', { client_name: 42 }],
  ];
  for (const [name, extra] of refusals) {
    test(`${name} → 400 invalid_client_metadata`, async () => {
      assertError(await register(open, { ...web, ...extra }), 400, 'invalid_client_metadata');
    });
  }

  test('malformed bodies → 4xx, never 5xx', async () => {
    assertError(await register(open, '{"redirect_uris": ['), 400, 'invalid_request');
    assertError(await register(open, '[1,2]'), 400, 'invalid_client_metadata');
    assertError(await register(open, 'null'), 400, 'invalid_client_metadata');
    const form = await call(`${open.issuer}/registration`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'redirect_uris=https%3A%2F%2Frp.example%2Fcb',
    });
    assertError(form, 400, 'invalid_request');
    const bad = await call(`${open.issuer}/registration`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Buffer.from([0x7b, 0xff, 0x7d]),
    });
    assertError(bad, 400, 'invalid_request');
    const huge = await register(open, { ...web, client_name: 'x'.repeat(100_000) });
    assert.equal(huge.status, 413);
    assertError(await call(`${open.issuer}/registration`, { method: 'GET' }), 405, 'method_not_allowed');
  });

  test('URLs the provider fetches may not point inside the network, and nothing reaches them (checklist G2)', async () => {
    const auth = { authorization: `Bearer ${INITIAL_ACCESS_TOKEN}` };
    const pkj = { ...web, token_endpoint_auth_method: 'private_key_jwt' };
    for (const jwksUri of [
      'https://169.254.169.254/latest/meta-data/jwks',
      'https://127.0.0.1:6379/',
      `https://127.0.0.1:${canaryPort}/jwks`,
      `https://localhost:${canaryPort}/jwks`,
      'https://[::1]/jwks',
      'https://2852039166/jwks',
      'http://rp.example/jwks',
    ])
      assertError(
        await register(guarded, { ...pkj, jwks_uri: jwksUri }, auth),
        400,
        'invalid_client_metadata',
      );
    for (const sector of [`https://127.0.0.1:${canaryPort}/sector`, `https://localhost:${canaryPort}/sector`])
      assertError(
        await register(guarded, { ...web, subject_type: 'pairwise', sector_identifier_uri: sector }, auth),
        400,
        'invalid_client_metadata',
      );
    assertError(
      await register(guarded, { ...web, request_uris: [`https://127.0.0.1:${canaryPort}/ro`] }, auth),
      400,
      'invalid_client_metadata',
    );
    assert.equal(canaryHits, 0, 'no request reached the canary');
    // A host name that resolves to a private address is refused too, before any fetch.
    assert.equal(await resolvesToPrivateAddress('https://localhost/jwks'), true);
    assert.equal(await resolvesToPrivateAddress('https://does-not-resolve.invalid/jwks'), false);
  });

  test('oidcc-registration-sector-uri: a pairwise client whose sector document lists its redirect URIs → 201', async () => {
    const j = await registered(open, {
      redirect_uris: ['https://pairwise-a.example/cb', 'https://pairwise-b.example/cb'],
      subject_type: 'pairwise',
      sector_identifier_uri: `${docsBase}/sector-good`,
    });
    assert.equal(j.subject_type, 'pairwise');
  });

  test('oidcc-registration-sector-bad: a sector document without the redirect URI → 400 invalid_client_metadata', async () => {
    const res = await register(open, {
      ...web,
      subject_type: 'pairwise',
      sector_identifier_uri: `${docsBase}/sector-bad`,
    });
    assertError(res, 400, 'invalid_client_metadata');
  });
});

/** The code flow with openid-client as the registered relying party; the shared browser logs in once. */
async function codeFlow(config: oidc.Configuration, redirectUri: string, scope = 'openid email') {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope,
    state,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  const callback = await signIn(browser, url.href);
  return oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
}

describe('registered clients in the code flow (openid-client)', () => {
  test('a client asking for an algorithm not in use yet finds its key published when registration answers', async () => {
    const jwk = async () =>
      ((await (await fetch(local(open, `${open.issuer}/jwk`))).json()) as { keys: { alg: string }[] }).keys;
    assert.equal(
      (await jwk()).some((k) => k.alg === 'ES512'),
      false,
    );
    await registered(open, {
      redirect_uris: ['https://rp-es512.example/cb'],
      id_token_signed_response_alg: 'ES512',
    });
    assert.equal(
      (await jwk()).some((k) => k.alg === 'ES512'),
      true,
    );
  });

  test('oidcc-server: registered with client_secret_basic, then code, tokens and UserInfo', async () => {
    const config = await oidc.dynamicClientRegistration(
      new URL(open.issuer),
      { redirect_uris: ['https://rp-basic.example/cb'], token_endpoint_auth_method: 'client_secret_basic' },
      undefined,
      { execute: [oidc.allowInsecureRequests] },
    );
    const metadata = config.clientMetadata();
    issued.push(metadata.client_secret as string, metadata.registration_access_token as string);
    // Authenticate exactly as registered.
    const rp = new oidc.Configuration(
      config.serverMetadata(),
      metadata.client_id,
      metadata,
      oidc.ClientSecretBasic(metadata.client_secret as string),
    );
    oidc.allowInsecureRequests(rp);
    const tokens = await codeFlow(rp, 'https://rp-basic.example/cb');
    assert.equal(tokens.claims()?.aud, metadata.client_id);
    const info = await oidc.fetchUserInfo(rp, tokens.access_token, tokens.claims()?.sub as string);
    assert.equal(info.email, alice.claims.email);
  });

  test("registered without naming a method, openid-client's default (client_secret_post) works too", async () => {
    const config = await oidc.dynamicClientRegistration(
      new URL(open.issuer),
      { redirect_uris: ['https://rp-default.example/cb'] },
      undefined,
      { execute: [oidc.allowInsecureRequests] },
    );
    const metadata = config.clientMetadata();
    issued.push(metadata.client_secret as string, metadata.registration_access_token as string);
    const tokens = await codeFlow(config, 'https://rp-default.example/cb');
    assert.ok(tokens.id_token);
  });

  test('oidcc-server with private_key_jwt and inline jwks', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'reg-pkj-1', use: 'sig' };
    const config = await oidc.dynamicClientRegistration(
      new URL(open.issuer),
      {
        redirect_uris: ['https://rp-pkj.example/cb'],
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [jwk] },
      },
      oidc.PrivateKeyJwt({ key: privateKey, kid: 'reg-pkj-1' }),
      { execute: [oidc.allowInsecureRequests] },
    );
    assert.equal(config.clientMetadata().client_secret, undefined);
    issued.push(config.clientMetadata().registration_access_token as string);
    const tokens = await codeFlow(config, 'https://rp-pkj.example/cb');
    assert.equal(tokens.claims()?.aud, config.clientMetadata().client_id);
  });
});

describe('untrusted redirect URIs (checklist A5, RFC 9700 §4.11.2)', () => {
  test('a registered client with a bad request and no signed-in user gets the error page, not a redirect', async () => {
    const j = await registered(open, { redirect_uris: ['https://rp-a5.example/cb'] });
    const { challenge } = pkcePair();
    const params = {
      response_type: 'code',
      client_id: j.client_id as string,
      redirect_uri: 'https://rp-a5.example/cb',
      state: 'S',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    };
    const page = await new UserAgent().get(authorizeUrl(open.issuer, { ...params, scope: 'bogus' }));
    assert.equal(page.status, 400);
    assert.equal(page.headers.get('location'), null);
    // A configured client's redirect URI is the operator's: its errors are redirected as before.
    const configured = await new UserAgent().get(
      authorizeUrl(open.issuer, {
        ...params,
        client_id: 'web',
        redirect_uri: 'https://rp.example/cb',
        scope: 'bogus',
      }),
    );
    assert.equal(configured.status, 303);
    // A valid request of the registered client goes to the login page, and prompt=none still answers by redirect.
    const valid = await new UserAgent().get(authorizeUrl(open.issuer, { ...params, scope: 'openid' }));
    assert.equal(valid.status, 303);
    assert.ok(valid.headers.get('location')?.startsWith(`${open.issuer}/interaction/`));
    const none = await new UserAgent().get(
      authorizeUrl(open.issuer, { ...params, scope: 'openid', prompt: 'none' }),
    );
    assert.equal(new URL(none.headers.get('location') as string).searchParams.get('error'), 'login_required');
    // Once the user has signed in, errors go back to the client.
    const signedIn = await browser.get(authorizeUrl(open.issuer, { ...params, scope: 'bogus' }));
    assert.equal(signedIn.status, 303);
    assert.equal(
      new URL(signedIn.headers.get('location') as string).searchParams.get('error'),
      'invalid_scope',
    );
  });
});

describe('client configuration endpoint (RFC 7592)', () => {
  test('GET reads the registration with its token; a wrong, missing or foreign token → 401 invalid_token', async () => {
    const j = await registered(open, { ...web, client_name: 'Readable' });
    const other = await registered(open, web);
    const res = await manage(open, j, 'GET', j.registration_access_token as string);
    assert.equal(res.status, 200, res.text);
    assertNoStore(res);
    assert.equal(res.json.client_id, j.client_id);
    assert.equal(res.json.client_name, 'Readable');
    assert.equal(res.json.client_secret, undefined, 'the secret is shown once (checklist C4)');
    assert.equal(res.json.client_secret_expires_at, 0);
    assert.equal(res.json.client_id_issued_at, j.client_id_issued_at);
    assert.equal(res.json.registration_client_uri, j.registration_client_uri);
    assertError(await manage(open, j, 'GET', 'wrong-token'), 401, 'invalid_token');
    assertError(await manage(open, j, 'GET', undefined), 401, 'invalid_token');
    assertError(
      await manage(open, j, 'GET', other.registration_access_token as string),
      401,
      'invalid_token',
    );
    assertError(await manage(open, j, 'DELETE', 'wrong-token'), 401, 'invalid_token');
    assertError(
      await manage(open, j, 'PUT', 'wrong-token', { ...web, client_id: j.client_id }),
      401,
      'invalid_token',
    );
  });

  test('PUT replaces the metadata; client_id must match, a client_secret must be the current one', async () => {
    const j = await registered(open, { ...web, client_name: 'Before' });
    const token = j.registration_access_token as string;
    const secret = j.client_secret as string;
    const changed = {
      client_id: j.client_id,
      client_secret: secret,
      client_name: 'After',
      redirect_uris: ['https://rp-reg.example/cb', 'https://rp-reg.example/cb2'],
      // Sent back as read; the server ignores these (RFC 7592 §2.2).
      registration_access_token: token,
      client_secret_expires_at: 0,
    };
    const res = await manage(open, j, 'PUT', token, changed);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.client_name, 'After');
    assert.deepEqual(res.json.redirect_uris, changed.redirect_uris);
    assert.equal(res.json.client_secret, undefined, 'the secret is kept, not reissued');
    assert.ok(await authenticates(open, j.client_id as string, secret));
    assert.equal((await manage(open, j, 'GET', token)).json.client_name, 'After');

    assertError(
      await manage(open, j, 'PUT', token, { ...changed, client_id: undefined }),
      400,
      'invalid_request',
    );
    assertError(
      await manage(open, j, 'PUT', token, { ...changed, client_id: 'web' }),
      400,
      'invalid_request',
    );
    assertError(
      await manage(open, j, 'PUT', token, { ...changed, client_secret: 'my-own-secret' }),
      400,
      'invalid_request',
    );
    assertError(
      await manage(open, j, 'PUT', token, { ...changed, redirect_uris: ['https://rp.example/cb#x'] }),
      400,
      'invalid_redirect_uri',
    );
    assert.equal(
      (await manage(open, j, 'GET', token)).json.client_name,
      'After',
      'a refused PUT changes nothing',
    );
  });

  test('PUT to a public client drops the secret; back to client_secret_basic issues a new one, shown once', async () => {
    const j = await registered(open, web);
    const token = j.registration_access_token as string;
    const toPublic = await manage(open, j, 'PUT', token, {
      ...web,
      client_id: j.client_id,
      token_endpoint_auth_method: 'none',
    });
    assert.equal(toPublic.status, 200, toPublic.text);
    assert.equal(toPublic.json.client_secret_expires_at, undefined);
    assert.equal(await authenticates(open, j.client_id as string, j.client_secret as string), false);
    const back = await manage(open, j, 'PUT', token, {
      ...web,
      client_id: j.client_id,
      token_endpoint_auth_method: 'client_secret_basic',
    });
    assert.equal(back.status, 200, back.text);
    const fresh = back.json.client_secret as string;
    issued.push(fresh);
    assert.ok(fresh.length >= 43);
    assert.notEqual(fresh, j.client_secret);
    assert.ok(await authenticates(open, j.client_id as string, fresh));
  });

  test('DELETE unregisters (204): the client, its registration access token and its tokens stop working', async () => {
    const j = await registered(open, {
      redirect_uris: ['https://rp-gone.example/cb'],
      grant_types: ['authorization_code', 'refresh_token'],
    });
    const clientId = j.client_id as string;
    const secret = j.client_secret as string;
    const { verifier, challenge } = pkcePair();
    const callback = await signIn(
      browser,
      authorizeUrl(open.issuer, {
        response_type: 'code',
        client_id: clientId,
        redirect_uri: 'https://rp-gone.example/cb',
        scope: 'openid offline_access',
        state: 's',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      }),
    );
    const tokens = await postForm(
      `${open.issuer}/token`,
      {
        grant_type: 'authorization_code',
        code: callback.searchParams.get('code') as string,
        redirect_uri: 'https://rp-gone.example/cb',
        code_verifier: verifier,
      },
      { authorization: basic(clientId, secret) },
    );
    assert.equal(tokens.status, 200, JSON.stringify(tokens.json));
    assert.ok(tokens.json.refresh_token);
    const bearer = { authorization: `Bearer ${tokens.json.access_token}` };
    assert.equal((await call(`${open.issuer}/userinfo`, { headers: bearer })).status, 200);

    const res = await manage(open, j, 'DELETE', j.registration_access_token as string);
    assert.equal(res.status, 204);
    assertNoStore(res);
    assertError(await manage(open, j, 'GET', j.registration_access_token as string), 401, 'invalid_token');
    assert.equal((await call(`${open.issuer}/userinfo`, { headers: bearer })).status, 401);
    const refreshed = await postForm(
      `${open.issuer}/token`,
      { grant_type: 'refresh_token', refresh_token: tokens.json.refresh_token as string },
      { authorization: basic(clientId, secret) },
    );
    assert.equal(refreshed.json.error, 'invalid_client');
    const page = await new UserAgent().get(
      authorizeUrl(open.issuer, {
        response_type: 'code',
        client_id: clientId,
        redirect_uri: 'https://rp-gone.example/cb',
        scope: 'openid',
      }),
    );
    assert.equal(page.status, 400);
    assert.equal(page.headers.get('location'), null);
  });

  test('a configured client cannot be read, changed or deleted through registration', async () => {
    const configured = { registration_client_uri: `${open.issuer}/registration/web` };
    const anyToken = issued[0] as string;
    for (const method of ['GET', 'PUT', 'DELETE'] as const)
      assertError(
        await manage(
          open,
          configured,
          method,
          anyToken,
          method === 'PUT' ? { ...web, client_id: 'web' } : undefined,
        ),
        401,
        'invalid_token',
      );
    assert.ok(await authenticates(open, 'web', demoClient.client_secret));
  });
});

describe('registered clients live in the store', () => {
  test('a second process on the same database sees a new client at once and a deletion within seconds', async () => {
    second = await startTestServer({
      dir: open.dir,
      server: { allowPrivateNetworkFetch: true },
      providers: [
        { name: 'default', clients: [demoClient], users: [alice], registration: {}, throttle: unthrottled },
      ],
    });
    secondLogs = second.logs;
    const origin = 'https://spa-shared.example';
    const j = await registered(second, { redirect_uris: [`${origin}/cb`] });
    const clientId = j.client_id as string;
    const secret = j.client_secret as string;
    // Registered through the other process: usable here at once.
    assert.ok(await authenticates(open, clientId, secret));
    const preflight = () =>
      call(`${open.issuer}/token`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST' },
      });
    assert.ok((await preflight()).headers.get('access-control-allow-methods'), 'its origin is in CORS now');
    // Deleted through this process: the other sees it at its next check, at most seconds later.
    assert.equal((await manage(open, j, 'DELETE', j.registration_access_token as string)).status, 204);
    assert.equal(await authenticates(open, clientId, secret), false);
    second.clock.advance(3);
    assert.equal(await authenticates(second, clientId, secret), false);
    assert.equal((await preflight()).headers.get('access-control-allow-methods'), null);
  });

  test('a registered client and its registration access token survive a restart', async () => {
    const j = await registered(open, { ...web, client_name: 'Durable' });
    await second?.close();
    second = undefined;
    await open.restart();
    assert.ok(await authenticates(open, j.client_id as string, j.client_secret as string));
    const res = await manage(open, j, 'GET', j.registration_access_token as string);
    assert.equal(res.status, 200);
    assert.equal(res.json.client_name, 'Durable');
  });
});

describe('secrets at rest and in logs (checklist C4)', () => {
  test('the database holds only hashes of registration access tokens, and no secret in the clear', async () => {
    const j = await registered(open, { ...web, token_endpoint_auth_method: 'client_secret_jwt' });
    const token = j.registration_access_token as string;
    const [row] = await queryTestDatabase(
      open.config.storage,
      'SELECT registration_token_hash, secret_hash, secret_encrypted FROM clients WHERE client_id = ?',
      [j.client_id],
    );
    assert.ok(row, 'the client is stored');
    assert.equal(row.registration_token_hash, createHash('sha256').update(token).digest('base64url'));
    assert.notEqual(row.secret_hash, j.client_secret);
    assert.ok(row.secret_encrypted, 'client_secret_jwt keeps its secret encrypted');
    const bytes = await databaseText(open.config.storage);
    assert.ok(bytes.includes(j.client_id as string), 'the scan reads what is stored');
    assert.ok(issued.length >= 10);
    for (const value of issued)
      assert.ok(!bytes.includes(value), 'an issued secret or token is in the database');
  });

  test('no registration access token or client secret reaches the log', () => {
    const logs = [...open.logs, ...secondLogs, ...guarded.logs].join('\n');
    assert.ok(logs.includes('/registration'));
    for (const value of issued) assert.ok(!logs.includes(value), 'an issued secret or token is in the log');
  });
});
