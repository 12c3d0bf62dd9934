// Grants and tokens: authorization_code (replay, PKCE downgrade), refresh_token (binding, scope, rotation, reuse,
// grace period), client_credentials, the JWT bearer grant, RFC 9068 JWT access tokens, resource indicators and
// per-provider / per-client lifetimes (RFC 6749 §4.1.2, §4.4, §6, §10.4; RFC 7523 §2.1, §3; RFC 7636; RFC 8707;
// RFC 9068; RFC 9700 §4.8.2, §4.14.2; security checklist A8, T1, T2, T9, R1-R3, O3, O4).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  CompactSign,
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  jwtVerify,
} from 'jose';
import * as oidc from 'openid-client';
import type { ConfigInput } from '../../src/config/schema.js';
import { bob, publicClient, startTestServer, type TestServer } from '../helpers/server.js';
import {
  authorizeUrl,
  basic,
  obtainCode,
  pkcePair,
  postForm,
  signIn,
  UserAgent,
} from '../helpers/user-agent.js';

type ProviderInput = ConfigInput['providers'][number];
type ClientInput = NonNullable<ProviderInput['clients']>[number];
type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;
type SigningKey = Parameters<CompactSign['sign']>[0];
type Reply = Awaited<ReturnType<typeof postForm>>;

const jwtBearer = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const API = 'https://api.example/';
const OTHER = 'https://other.example/';
const REDIRECT = 'https://rp.example/cb';
const SPA_REDIRECT = publicClient.redirect_uris[0] as string;
const FULL_SCOPE = 'openid profile email offline_access';
const IDP = 'https://idp.example';
const IDP2 = 'https://idp2.example';

const alice = {
  username: 'alice',
  password: 'alice-password',
  sub: 'alice-sub',
  claims: { name: 'Alice Example', email: 'alice@example.com', email_verified: true },
};

const secretOf = (id: string) => `${id}-secret-0123456789abcdefghijklmnop`;

/** A confidential client_secret_basic client of the code flow with refresh tokens. */
function codeClient(id: string, extra: Partial<ClientInput> = {}): ClientInput {
  return {
    client_id: id,
    client_secret: secretOf(id),
    redirect_uris: [REDIRECT],
    grant_types: ['authorization_code', 'refresh_token'],
    scope: 'openid profile email phone offline_access',
    allowed_resources: [API, OTHER],
    ...extra,
  };
}

const introspector: ClientInput = {
  client_id: 'rs',
  client_secret: secretOf('rs'),
  grant_types: ['client_credentials'],
  scope: 'api:read',
  introspect_any_token: true,
};

let idpKey: KeyPair; // IDP, inline jwks, ES256
let idp2Key: KeyPair; // IDP2, jwks_uri, RS256
let strangerKey: KeyPair; // trusted by nobody
let idpPublicJwk: JWK;
let keyServer: Server;

/** The server whose clock never moves (openid-client checks times with the real clock). */
let t: TestServer;
/** The server whose clock the lifetime tests move forward. */
let tt: TestServer;

function bearerIssuers(jwksUri: string): NonNullable<ProviderInput['jwtBearer']> {
  return {
    issuers: [
      { issuer: IDP, jwks: { keys: [idpPublicJwk as Record<string, unknown>] }, algorithms: ['ES256'] },
      { issuer: IDP2, jwks_uri: jwksUri, algorithms: ['RS256'] },
    ],
  };
}

const bearerClient: ClientInput = {
  client_id: 'bearer',
  client_secret: secretOf('bearer'),
  grant_types: [jwtBearer],
  scope: 'openid email api:read offline_access',
};

before(async () => {
  idpKey = await generateKeyPair('ES256', { extractable: true });
  idp2Key = await generateKeyPair('RS256', { extractable: true });
  strangerKey = await generateKeyPair('ES256', { extractable: true });
  idpPublicJwk = { ...(await exportJWK(idpKey.publicKey)), kid: 'idp-1', use: 'sig' };
  const idp2Jwks = { keys: [{ ...(await exportJWK(idp2Key.publicKey)), kid: 'idp2-1', use: 'sig' }] };
  keyServer = createServer((req, res) => {
    if (req.url !== '/idp2/jwks') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(idp2Jwks));
  });
  await new Promise<void>((resolve) => keyServer.listen(0, '127.0.0.1', resolve));
  const jwksUri = `http://127.0.0.1:${(keyServer.address() as AddressInfo).port}/idp2/jwks`;

  t = await startTestServer({
    server: { allowPrivateNetworkFetch: true },
    providers: [
      {
        name: 'default',
        users: [alice, bob],
        jwtBearer: bearerIssuers(jwksUri),
        clients: [
          codeClient('web'),
          codeClient('web2'),
          publicClient,
          codeClient('norot', { refresh_token_rotation: false }),
          codeClient('webjwt', {
            access_token_format: 'jwt',
            access_token_lifetime: 600,
            id_token_lifetime: 300,
            refresh_token_lifetime: 3000,
            refresh_token_idle_lifetime: 1000,
          }),
          {
            client_id: 'svc',
            client_secret: secretOf('svc'),
            grant_types: ['client_credentials'],
            scope: 'api:read api:write',
            allowed_resources: [API],
          },
          {
            client_id: 'svc-jwt',
            client_secret: secretOf('svc-jwt'),
            grant_types: ['client_credentials'],
            scope: 'api:read api:write',
            allowed_resources: [API, OTHER],
            access_token_format: 'jwt',
            access_token_lifetime: 600,
          },
          introspector,
          bearerClient,
        ],
      },
      {
        name: 'grace',
        refreshTokenGracePeriod: 5,
        users: [alice],
        clients: [codeClient('web'), publicClient, introspector],
      },
      {
        name: 'jwtp',
        accessTokenFormat: 'jwt',
        lifetimes: { accessToken: 900, idToken: 600 },
        users: [alice],
        clients: [
          codeClient('web'),
          {
            client_id: 'svc',
            client_secret: secretOf('svc'),
            grant_types: ['client_credentials'],
            scope: 'api:read',
          },
          {
            client_id: 'svc-opaque',
            client_secret: secretOf('svc-opaque'),
            grant_types: ['client_credentials'],
            scope: 'api:read',
            access_token_format: 'opaque',
          },
        ],
      },
      {
        name: 'norot',
        refreshTokenRotation: false,
        users: [alice],
        clients: [codeClient('web'), codeClient('web-rot', { refresh_token_rotation: true }), publicClient],
      },
    ],
  });

  tt = await startTestServer({
    server: { allowPrivateNetworkFetch: true },
    providers: [
      {
        name: 'default',
        users: [alice],
        jwtBearer: bearerIssuers(jwksUri),
        clients: [
          codeClient('web'),
          codeClient('life', {
            access_token_format: 'jwt',
            access_token_lifetime: 600,
            refresh_token_lifetime: 3000,
            refresh_token_idle_lifetime: 1000,
          }),
          codeClient('life-norot', {
            refresh_token_rotation: false,
            refresh_token_lifetime: 3000,
            refresh_token_idle_lifetime: 1000,
          }),
          bearerClient,
          introspector,
        ],
      },
      {
        name: 'grace',
        refreshTokenGracePeriod: 5,
        users: [alice],
        clients: [codeClient('web'), publicClient, introspector],
      },
    ],
  });
});

after(async () => {
  await t?.close();
  await tt?.close();
  await new Promise<void>((resolve) => (keyServer ? keyServer.close(() => resolve()) : resolve()));
});

// ---------------------------------------------------------------------------------------------------------------
// Helpers

interface CodeOptions {
  scope?: string;
  challenge?: string;
  resource?: string[];
}

/** Signs alice in (fresh browser, login and consent) and returns the authorization code. */
async function codeFor(issuer: string, clientId: string, options: CodeOptions = {}): Promise<string> {
  return obtainCode(issuer, {
    clientId,
    redirectUri: clientId === 'spa' ? SPA_REDIRECT : REDIRECT,
    scope: options.scope ?? FULL_SCOPE,
    nonce: 'n',
    ...(options.challenge ? { challenge: options.challenge } : {}),
    ...(options.resource ? { resource: options.resource } : {}),
  });
}

/** POST /token as `clientId`: Basic for confidential clients, client_id in the body for the public one. */
function tokenAs(issuer: string, clientId: string, form: Record<string, string>): Promise<Reply> {
  if (clientId === 'spa') return postForm(`${issuer}/token`, { ...form, client_id: 'spa' });
  return postForm(`${issuer}/token`, form, { authorization: basic(clientId, secretOf(clientId)) });
}

/** Same, with repeated parameters (resource). */
function tokenAsRaw(issuer: string, clientId: string, body: URLSearchParams): Promise<Reply> {
  return postForm(`${issuer}/token`, body, { authorization: basic(clientId, secretOf(clientId)) });
}

/** Code flow through the token endpoint: the first token response. */
async function signInTokens(issuer: string, clientId: string, options: CodeOptions = {}): Promise<Reply> {
  const { verifier, challenge } = pkcePair();
  const pkce = clientId === 'spa' || options.challenge !== undefined;
  const code = await codeFor(issuer, clientId, { ...options, ...(pkce ? { challenge } : {}) });
  const res = await tokenAs(issuer, clientId, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: clientId === 'spa' ? SPA_REDIRECT : REDIRECT,
    ...(pkce ? { code_verifier: verifier } : {}),
  });
  assertOk(res);
  return res;
}

function refresh(issuer: string, clientId: string, rt: string, extra: Record<string, string> = {}) {
  return tokenAs(issuer, clientId, { grant_type: 'refresh_token', refresh_token: rt, ...extra });
}

function assertOk(res: Reply): void {
  assert.equal(res.status, 200, `expected 200, got ${res.status} ${JSON.stringify(res.json)}`);
  assert.equal(typeof res.json.access_token, 'string');
}

function assertError(res: Reply, status: number, error: string): void {
  assert.equal(
    res.status,
    status,
    `expected ${status} ${error}, got ${res.status} ${JSON.stringify(res.json)}`,
  );
  assert.equal(res.json.error, error);
  assert.equal(res.json.access_token, undefined);
}

const assertInvalidGrant = (res: Reply) => assertError(res, 400, 'invalid_grant');

async function userinfo(
  issuer: string,
  accessToken: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${issuer}/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = {};
  }
  return { status: res.status, json };
}

async function introspect(issuer: string, token: string): Promise<Record<string, unknown>> {
  const res = await postForm(
    `${issuer}/introspect`,
    { token },
    { authorization: basic('rs', secretOf('rs')) },
  );
  assert.equal(res.status, 200, JSON.stringify(res.json));
  return res.json;
}

async function assertRevoked(
  issuer: string,
  at: string | undefined,
  rt: string | undefined,
  clientId: string,
) {
  if (at !== undefined) {
    assert.equal((await userinfo(issuer, at)).status, 401, 'access token still works at userinfo');
    assert.equal((await introspect(issuer, at)).active, false, 'access token still active');
  }
  if (rt !== undefined) {
    assert.equal((await introspect(issuer, rt)).active, false, 'refresh token still active');
    assertInvalidGrant(await refresh(issuer, clientId, rt));
  }
}

const jwksCache = new Map<string, ReturnType<typeof createRemoteJWKSet>>();
function providerKeys(issuer: string) {
  let jwks = jwksCache.get(issuer);
  if (!jwks) {
    jwks = createRemoteJWKSet(new URL(`${issuer}/jwk`));
    jwksCache.set(issuer, jwks);
  }
  return jwks;
}

/** Verifies an RFC 9068 access token: signature from the provider's JWK Set, typ at+jwt, issuer. */
async function verifyAccessToken(issuer: string, jwt: string, currentDate?: Date) {
  const { payload, protectedHeader } = await jwtVerify(jwt, providerKeys(issuer), {
    issuer,
    typ: 'at+jwt',
    ...(currentDate ? { currentDate } : {}),
  });
  assert.equal(protectedHeader.typ, 'at+jwt');
  for (const claim of ['iss', 'sub', 'aud', 'client_id', 'jti', 'exp', 'iat'])
    assert.notEqual(payload[claim], undefined, `claim ${claim} is required (RFC 9068 §2.2)`);
  assert.equal(typeof payload.jti, 'string');
  return payload;
}

async function rp(issuer: string, clientId: string, auth: oidc.ClientAuth) {
  return oidc.discovery(new URL(issuer), clientId, undefined, auth, {
    execute: [oidc.allowInsecureRequests],
  });
}

interface BearerOptions {
  iss?: string;
  key?: SigningKey;
  alg?: string;
  kid?: string;
  /** Merged over the defaults; undefined removes a claim. */
  claims?: Record<string, unknown>;
}

/** A JWT bearer assertion (RFC 7523 §3) about alice from IDP, for `server`'s default provider. */
async function bearerAssertion(server: TestServer, options: BearerOptions = {}): Promise<string> {
  const now = server.clock.now();
  const payload: Record<string, unknown> = {
    iss: options.iss ?? IDP,
    sub: 'alice',
    aud: server.issuer,
    iat: now,
    exp: now + 60,
    jti: randomUUID(),
    ...options.claims,
  };
  for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
  const alg = options.alg ?? 'ES256';
  const kid = options.kid ?? (options.key === undefined ? 'idp-1' : undefined);
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg, ...(kid !== undefined ? { kid } : {}) })
    .sign(options.key ?? idpKey.privateKey);
}

function bearerGrant(server: TestServer, assertion: string, extra: Record<string, string> = {}) {
  return tokenAs(server.issuer, 'bearer', { grant_type: jwtBearer, assertion, ...extra });
}

// ---------------------------------------------------------------------------------------------------------------

describe('discovery', () => {
  test('a provider that trusts JWT issuers offers the JWT bearer grant', async () => {
    const d = (await (await fetch(`${t.issuer}/.well-known/openid-configuration`)).json()) as {
      grant_types_supported: string[];
    };
    assert.ok(d.grant_types_supported.includes(jwtBearer));
  });
});

describe('authorization_code', () => {
  test('a replayed code → invalid_grant and every token issued from it is revoked, refreshed ones too (T1, T2)', async () => {
    const code = await codeFor(t.issuer, 'web');
    const form = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT };
    const first = await tokenAs(t.issuer, 'web', form);
    assertOk(first);
    const at1 = first.json.access_token as string;
    const rt1 = first.json.refresh_token as string;
    assert.ok(rt1);
    assert.equal((await userinfo(t.issuer, at1)).status, 200);
    const refreshed = await refresh(t.issuer, 'web', rt1);
    assertOk(refreshed);
    const at2 = refreshed.json.access_token as string;
    const rt2 = refreshed.json.refresh_token as string;
    assert.ok(rt2);

    assertInvalidGrant(await tokenAs(t.issuer, 'web', form));
    await assertRevoked(t.issuer, at1, undefined, 'web');
    await assertRevoked(t.issuer, at2, rt2, 'web');
  });

  test('a replayed code with openid-client: the first tokens stop working', async () => {
    const config = await rp(t.issuer, 'web', oidc.ClientSecretBasic(secretOf('web')));
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid email offline_access',
      state: 'oc',
    });
    const cb = await signIn(new UserAgent(), url.href);
    const tokens = await oidc.authorizationCodeGrant(config, cb, { expectedState: 'oc' });
    await assert.rejects(oidc.authorizationCodeGrant(config, cb, { expectedState: 'oc' }), (err: unknown) => {
      assert.equal((err as { error?: string }).error, 'invalid_grant');
      return true;
    });
    await assertRevoked(t.issuer, tokens.access_token, tokens.refresh_token, 'web');
  });

  test('PKCE downgrade: a code_verifier for a code issued without a challenge → invalid_grant (A8)', async () => {
    const code = await codeFor(t.issuer, 'web', { scope: 'openid' });
    const res = await tokenAs(t.issuer, 'web', {
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT,
      code_verifier: pkcePair().verifier,
    });
    assertInvalidGrant(res);
  });

  test('a refresh token sent as the code → invalid_grant (O4)', async () => {
    const tokens = await signInTokens(t.issuer, 'web');
    const res = await tokenAs(t.issuer, 'web', {
      grant_type: 'authorization_code',
      code: tokens.json.refresh_token as string,
      redirect_uri: REDIRECT,
    });
    assertInvalidGrant(res);
  });

  test('an access token sent as the code → invalid_grant', async () => {
    const tokens = await signInTokens(t.issuer, 'web');
    const res = await tokenAs(t.issuer, 'web', {
      grant_type: 'authorization_code',
      code: tokens.json.access_token as string,
      redirect_uri: REDIRECT,
    });
    assertInvalidGrant(res);
  });

  test('a code sent as the refresh token → invalid_grant', async () => {
    const code = await codeFor(t.issuer, 'web');
    assertInvalidGrant(await refresh(t.issuer, 'web', code));
  });

  test('an access token or ID token sent as the refresh token → invalid_grant', async () => {
    const tokens = await signInTokens(t.issuer, 'web');
    assertInvalidGrant(await refresh(t.issuer, 'web', tokens.json.access_token as string));
    assertInvalidGrant(await refresh(t.issuer, 'web', tokens.json.id_token as string));
  });
});

describe('refresh_token', () => {
  test('narrowing the scope is allowed; omitting it later gives back the scope originally granted (RFC 6749 §6)', async () => {
    const tokens = await signInTokens(t.issuer, 'web');
    assert.equal(tokens.json.scope, FULL_SCOPE);
    const narrow = await refresh(t.issuer, 'web', tokens.json.refresh_token as string, {
      scope: 'openid email',
    });
    assertOk(narrow);
    assert.equal(narrow.json.scope, 'openid email');
    const info = await userinfo(t.issuer, narrow.json.access_token as string);
    assert.equal(info.status, 200);
    assert.equal(info.json.email, alice.claims.email);
    assert.equal(info.json.name, undefined, 'profile was narrowed away');

    const full = await refresh(t.issuer, 'web', narrow.json.refresh_token as string);
    assertOk(full);
    assert.deepEqual(String(full.json.scope).split(' ').sort(), FULL_SCOPE.split(' ').sort());
  });

  test('widening the scope → invalid_scope, and the refresh token still works (R1)', async () => {
    const tokens = await signInTokens(t.issuer, 'web', { scope: 'openid email offline_access' });
    const rt = tokens.json.refresh_token as string;
    // phone is a scope the client may ask for, but it was not granted.
    assertError(await refresh(t.issuer, 'web', rt, { scope: 'openid email phone' }), 400, 'invalid_scope');
    assertError(await refresh(t.issuer, 'web', rt, { scope: 'openid admin' }), 400, 'invalid_scope');
    assertOk(await refresh(t.issuer, 'web', rt, { scope: 'openid' }));
  });

  test("another client's refresh token → invalid_grant (R1)", async () => {
    const tokens = await signInTokens(t.issuer, 'web');
    const rt = tokens.json.refresh_token as string;
    assertInvalidGrant(await refresh(t.issuer, 'web2', rt));
    assertInvalidGrant(await refresh(t.issuer, 'spa', rt));
  });

  test('a refresh token of another provider → invalid_grant', async () => {
    const tokens = await signInTokens(t.issuer, 'web');
    // 'web' exists with the same secret in the 'grace' provider.
    assertInvalidGrant(await refresh(t.issuerOf('grace'), 'web', tokens.json.refresh_token as string));
  });

  test('public client: rotation, and reuse of a rotated token revokes the whole grant (R2)', async () => {
    const tokens = await signInTokens(t.issuer, 'spa');
    const at1 = tokens.json.access_token as string;
    const rt1 = tokens.json.refresh_token as string;
    const config = await rp(t.issuer, 'spa', oidc.None());
    const rotated = await oidc.refreshTokenGrant(config, rt1);
    const at2 = rotated.access_token;
    const rt2 = rotated.refresh_token as string;
    assert.ok(rt2);
    assert.notEqual(rt2, rt1);
    assert.equal((await userinfo(t.issuer, at2)).status, 200);

    assertInvalidGrant(await refresh(t.issuer, 'spa', rt1));
    await assertRevoked(t.issuer, at1, undefined, 'spa');
    await assertRevoked(t.issuer, at2, rt2, 'spa');
  });

  test('confidential client with rotation (provider default): reuse revokes the family', async () => {
    const tokens = await signInTokens(t.issuer, 'web');
    const rt1 = tokens.json.refresh_token as string;
    const r2 = await refresh(t.issuer, 'web', rt1);
    assertOk(r2);
    const rt2 = r2.json.refresh_token as string;
    assert.ok(rt2 && rt2 !== rt1);
    const r3 = await refresh(t.issuer, 'web', rt2);
    assertOk(r3);
    const rt3 = r3.json.refresh_token as string;

    // Reusing the first token (two generations back) revokes everything of the grant.
    assertInvalidGrant(await refresh(t.issuer, 'web', rt1));
    await assertRevoked(t.issuer, tokens.json.access_token as string, undefined, 'web');
    await assertRevoked(t.issuer, r2.json.access_token as string, undefined, 'web');
    await assertRevoked(t.issuer, r3.json.access_token as string, rt3, 'web');
  });

  test('without a grace period, an immediate retry of a rotated token is reuse', async () => {
    const tokens = await signInTokens(t.issuer, 'web');
    const rt1 = tokens.json.refresh_token as string;
    const r2 = await refresh(t.issuer, 'web', rt1);
    assertOk(r2);
    assertInvalidGrant(await refresh(t.issuer, 'web', rt1));
    await assertRevoked(t.issuer, r2.json.access_token as string, r2.json.refresh_token as string, 'web');
  });

  test('rotation off for a confidential client (refresh_token_rotation: false): same token keeps working', async () => {
    const tokens = await signInTokens(t.issuer, 'norot');
    const rt = tokens.json.refresh_token as string;
    const config = await rp(t.issuer, 'norot', oidc.ClientSecretBasic(secretOf('norot')));
    const r1 = await oidc.refreshTokenGrant(config, rt);
    assert.equal(r1.refresh_token, undefined, 'no new refresh token without rotation');
    assert.ok(r1.access_token);
    for (let i = 0; i < 2; i++) {
      const again = await refresh(t.issuer, 'norot', rt);
      assertOk(again);
      assert.equal(again.json.refresh_token, undefined);
    }
    assert.equal((await introspect(t.issuer, rt)).active, true);
    assert.equal((await userinfo(t.issuer, r1.access_token)).status, 200);
  });

  test('provider refreshTokenRotation: false: confidential clients keep their token, a client override and public clients rotate', async () => {
    const issuer = t.issuerOf('norot');
    const web = await signInTokens(issuer, 'web');
    const webRt = web.json.refresh_token as string;
    for (let i = 0; i < 2; i++) {
      const r = await refresh(issuer, 'web', webRt);
      assertOk(r);
      assert.equal(r.json.refresh_token, undefined);
    }

    const rot = await signInTokens(issuer, 'web-rot');
    const rotRt = rot.json.refresh_token as string;
    const rotated = await refresh(issuer, 'web-rot', rotRt);
    assertOk(rotated);
    assert.ok(rotated.json.refresh_token && rotated.json.refresh_token !== rotRt);
    assertInvalidGrant(await refresh(issuer, 'web-rot', rotRt));
    assertInvalidGrant(await refresh(issuer, 'web-rot', rotated.json.refresh_token as string));

    const spa = await signInTokens(issuer, 'spa');
    const spaRt = spa.json.refresh_token as string;
    const spaRotated = await refresh(issuer, 'spa', spaRt);
    assertOk(spaRotated);
    assert.ok(spaRotated.json.refresh_token && spaRotated.json.refresh_token !== spaRt);
    assertInvalidGrant(await refresh(issuer, 'spa', spaRt));
  });

  test('10 concurrent refreshes of one rotating confidential token: at most one 200 (R3)', async () => {
    const tokens = await signInTokens(t.issuer, 'web');
    const rt = tokens.json.refresh_token as string;
    const results = await Promise.all(Array.from({ length: 10 }, () => refresh(t.issuer, 'web', rt)));
    const ok = results.filter((r) => r.status === 200);
    assert.ok(ok.length <= 1, `successes: ${ok.length}`);
    for (const r of results.filter((x) => x.status !== 200)) assertInvalidGrant(r);
    let live = 0;
    for (const r of ok) {
      if ((await refresh(t.issuer, 'web', r.json.refresh_token as string)).status === 200) live++;
    }
    assert.ok(live <= 1);
  });
});

describe('refresh token grace period (refreshTokenGracePeriod: 5)', () => {
  test('a retry within the grace period gets 200, and exactly one refresh token of the grant stays live', async () => {
    const issuer = t.issuerOf('grace');
    const tokens = await signInTokens(issuer, 'spa');
    const rt1 = tokens.json.refresh_token as string;
    const lost = await refresh(issuer, 'spa', rt1);
    assertOk(lost);
    const rt2 = lost.json.refresh_token as string;
    // The client never saw that response and retries with the token it has.
    const retry = await refresh(issuer, 'spa', rt1);
    assertOk(retry);
    const rt3 = retry.json.refresh_token as string;
    assert.ok(rt3);
    assert.notEqual(rt3, rt2);
    assert.notEqual(rt3, rt1);

    const active = [];
    for (const rt of [rt1, rt2, rt3]) if ((await introspect(issuer, rt)).active === true) active.push(rt);
    assert.deepEqual(active, [rt3], 'only the newest refresh token is live');
    assert.equal((await userinfo(issuer, retry.json.access_token as string)).status, 200);
    const next = await refresh(issuer, 'spa', rt3);
    assertOk(next);
  });

  test('a confidential client retrying within the grace period is not logged out either', async () => {
    const issuer = t.issuerOf('grace');
    const tokens = await signInTokens(issuer, 'web');
    const rt1 = tokens.json.refresh_token as string;
    assertOk(await refresh(issuer, 'web', rt1));
    const retry = await refresh(issuer, 'web', rt1);
    assertOk(retry);
    assertOk(await refresh(issuer, 'web', retry.json.refresh_token as string));
  });

  test('10 concurrent refreshes within the grace period: exactly one refresh token of the grant stays live', async () => {
    const issuer = t.issuerOf('grace');
    const tokens = await signInTokens(issuer, 'web');
    const rt1 = tokens.json.refresh_token as string;
    const results = await Promise.all(Array.from({ length: 10 }, () => refresh(issuer, 'web', rt1)));
    for (const r of results.filter((x) => x.status !== 200)) assertInvalidGrant(r);
    const issued = results.filter((r) => r.status === 200).map((r) => r.json.refresh_token as string);
    assert.ok(issued.length >= 1, 'at least the first refresh succeeds');
    const live = [];
    for (const rt of [rt1, ...issued]) if ((await introspect(issuer, rt)).active === true) live.push(rt);
    assert.equal(live.length, 1, `live refresh tokens: ${live.length} of ${issued.length} issued`);
    assertOk(await refresh(issuer, 'web', live[0] as string));
  });

  test('within the grace period, once the successor was used, the old token is reuse: grant revoked', async () => {
    const issuer = t.issuerOf('grace');
    const tokens = await signInTokens(issuer, 'spa');
    const rt1 = tokens.json.refresh_token as string;
    const r2 = await refresh(issuer, 'spa', rt1);
    assertOk(r2);
    const r3 = await refresh(issuer, 'spa', r2.json.refresh_token as string);
    assertOk(r3);
    assertInvalidGrant(await refresh(issuer, 'spa', rt1));
    await assertRevoked(issuer, r3.json.access_token as string, r3.json.refresh_token as string, 'spa');
  });
});

describe('client_credentials (T9)', () => {
  test('200 with every allowed scope by default, no refresh token, no ID token (openid-client)', async () => {
    const config = await rp(t.issuer, 'svc', oidc.ClientSecretBasic(secretOf('svc')));
    const tokens = await oidc.clientCredentialsGrant(config);
    assert.ok(tokens.access_token);
    assert.equal(tokens.token_type.toLowerCase(), 'bearer');
    assert.equal(tokens.expires_in, 3600);
    assert.deepEqual(String(tokens.scope).split(' ').sort(), ['api:read', 'api:write']);
    assert.equal(tokens.refresh_token, undefined);
    assert.equal(tokens.id_token, undefined);
    const info = await introspect(t.issuer, tokens.access_token);
    assert.equal(info.active, true);
    assert.equal(info.client_id, 'svc');
    assert.equal(info.username, undefined);
  });

  test('a narrower scope is granted as asked', async () => {
    const res = await tokenAs(t.issuer, 'svc', { grant_type: 'client_credentials', scope: 'api:read' });
    assertOk(res);
    assert.equal(res.json.scope, 'api:read');
    assert.equal(res.json.refresh_token, undefined);
    assert.equal(res.json.id_token, undefined);
  });

  for (const scope of ['openid', 'api:read openid', 'offline_access', 'api:admin', 'profile']) {
    test(`scope "${scope}" → invalid_scope`, async () => {
      assertError(
        await tokenAs(t.issuer, 'svc', { grant_type: 'client_credentials', scope }),
        400,
        'invalid_scope',
      );
    });
  }

  test('a public client → unauthorized_client or invalid_client', async () => {
    const res = await postForm(`${t.issuer}/token`, { grant_type: 'client_credentials', client_id: 'spa' });
    assert.ok(
      (res.status === 400 && res.json.error === 'unauthorized_client') ||
        (res.status === 401 && res.json.error === 'invalid_client'),
      `${res.status} ${JSON.stringify(res.json)}`,
    );
    assert.equal(res.json.access_token, undefined);
  });

  test('a confidential client not registered for the grant → unauthorized_client', async () => {
    assertError(
      await tokenAs(t.issuer, 'web', { grant_type: 'client_credentials' }),
      400,
      'unauthorized_client',
    );
  });

  test('its access token has no user: UserInfo refuses it', async () => {
    const res = await tokenAs(t.issuer, 'svc', { grant_type: 'client_credentials' });
    assertOk(res);
    const info = await userinfo(t.issuer, res.json.access_token as string);
    assert.ok(info.status === 401 || info.status === 403, `status ${info.status}`);
  });
});

describe('JWT bearer grant (RFC 7523 §2.1)', () => {
  test('a valid assertion from a trusted issuer → access token usable at UserInfo (openid-client)', async () => {
    const config = await rp(t.issuer, 'bearer', oidc.ClientSecretBasic(secretOf('bearer')));
    const tokens = await oidc.genericGrantRequest(config, jwtBearer, {
      assertion: await bearerAssertion(t),
      scope: 'openid email',
    });
    assert.ok(tokens.access_token);
    assert.equal(tokens.scope, 'openid email');
    assert.equal(tokens.refresh_token, undefined);
    assert.equal(tokens.id_token, undefined);
    const info = await oidc.fetchUserInfo(config, tokens.access_token, alice.sub);
    assert.equal(info.sub, alice.sub);
    assert.equal(info.email, alice.claims.email);
  });

  test('an issuer whose keys come from a jwks_uri (RS256)', async () => {
    const assertion = await bearerAssertion(t, {
      iss: IDP2,
      key: idp2Key.privateKey,
      alg: 'RS256',
      kid: 'idp2-1',
    });
    const res = await bearerGrant(t, assertion, { scope: 'openid' });
    assertOk(res);
    assert.equal((await userinfo(t.issuer, res.json.access_token as string)).json.sub, alice.sub);
  });

  test('the subject is the username: bob gets bob’s token', async () => {
    const res = await bearerGrant(t, await bearerAssertion(t, { claims: { sub: 'bob' } }), {
      scope: 'openid',
    });
    assertOk(res);
    const info = await userinfo(t.issuer, res.json.access_token as string);
    assert.equal(info.status, 200);
    assert.notEqual(info.json.sub, alice.sub);
  });

  test('a replayed jti → invalid_grant', async () => {
    const assertion = await bearerAssertion(t);
    assertOk(await bearerGrant(t, assertion));
    assertInvalidGrant(await bearerGrant(t, assertion));
    const jti = randomUUID();
    assertOk(await bearerGrant(t, await bearerAssertion(t, { claims: { jti } })));
    assertInvalidGrant(
      await bearerGrant(t, await bearerAssertion(t, { claims: { jti, iat: t.clock.now() + 1 } })),
    );
  });

  test('an assertion accepted once is never accepted again, even just past its exp', async () => {
    const now = t.clock.now();
    const assertion = await bearerAssertion(t, { claims: { iat: now - 60, exp: now - 30 } });
    const first = await bearerGrant(t, assertion);
    assert.ok(first.status === 200 || first.status === 400, `first: ${first.status}`);
    assertInvalidGrant(await bearerGrant(t, assertion));
  });

  const refused: [string, () => Promise<string>][] = [
    [
      'an untrusted issuer',
      () => bearerAssertion(t, { iss: 'https://evil.example', key: strangerKey.privateKey }),
    ],
    [
      'a trusted issuer, signed with another key',
      () => bearerAssertion(t, { key: strangerKey.privateKey, kid: 'idp-1' }),
    ],
    ['an unknown user', () => bearerAssertion(t, { claims: { sub: 'mallory' } })],
    ['no sub', () => bearerAssertion(t, { claims: { sub: undefined } })],
    [
      'expired',
      () => bearerAssertion(t, { claims: { iat: t.clock.now() - 3700, exp: t.clock.now() - 3600 } }),
    ],
    [
      'exp far in the future (beyond maxAssertionLifetime)',
      () => bearerAssertion(t, { claims: { exp: t.clock.now() + 3600 } }),
    ],
    ['no exp', () => bearerAssertion(t, { claims: { exp: undefined } })],
    ['no jti', () => bearerAssertion(t, { claims: { jti: undefined } })],
    ['iat in the future (now + 120)', () => bearerAssertion(t, { claims: { iat: t.clock.now() + 120 } })],
    ['aud of another provider', () => bearerAssertion(t, { claims: { aud: t.issuerOf('grace') } })],
    ['no aud', () => bearerAssertion(t, { claims: { aud: undefined } })],
    [
      'an algorithm outside the issuer’s list (PS256 with its own RSA key)',
      async () =>
        bearerAssertion(t, {
          iss: IDP2,
          key: await importJWK(await exportJWK(idp2Key.privateKey), 'PS256'),
          alg: 'PS256',
          kid: 'idp2-1',
        }),
    ],
    [
      'alg none',
      async () => {
        const now = t.clock.now();
        const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
        return `${b64({ alg: 'none' })}.${b64({ iss: IDP, sub: 'alice', aud: t.issuer, iat: now, exp: now + 60, jti: randomUUID() })}.`;
      },
    ],
    ['not a JWT', async () => 'not-a-jwt'],
  ];
  for (const [name, build] of refused) {
    test(`${name} → invalid_grant`, async () => {
      assertInvalidGrant(await bearerGrant(t, await build()));
    });
  }

  test('an ID token of Gatehouse as the assertion → invalid_grant', async () => {
    const tokens = await signInTokens(t.issuer, 'web');
    assertInvalidGrant(await bearerGrant(t, tokens.json.id_token as string));
  });

  test('a client not registered for the grant → unauthorized_client', async () => {
    const res = await tokenAs(t.issuer, 'svc', {
      grant_type: jwtBearer,
      assertion: await bearerAssertion(t),
    });
    assertError(res, 400, 'unauthorized_client');
  });

  test('no refresh token and no ID token, even with offline_access asked for', async () => {
    const res = await bearerGrant(t, await bearerAssertion(t), { scope: 'openid offline_access' });
    if (res.status === 200) {
      assert.equal(res.json.refresh_token, undefined);
      assert.equal(res.json.id_token, undefined);
    } else assertError(res, 400, 'invalid_scope');
  });
});

describe('JWT access tokens (RFC 9068)', () => {
  test('client_credentials: typ at+jwt, iss, sub = client_id, aud, client_id, scope, jti, exp - iat = lifetime', async () => {
    const res = await tokenAs(t.issuer, 'svc-jwt', { grant_type: 'client_credentials', scope: 'api:read' });
    assertOk(res);
    assert.equal(res.json.expires_in, 600);
    const jwt = res.json.access_token as string;
    assert.equal(decodeProtectedHeader(jwt).typ, 'at+jwt');
    const claims = await verifyAccessToken(t.issuer, jwt);
    assert.equal(claims.iss, t.issuer);
    assert.equal(claims.sub, 'svc-jwt');
    assert.equal(claims.client_id, 'svc-jwt');
    assert.equal(claims.scope, 'api:read');
    assert.equal((claims.exp as number) - (claims.iat as number), 600);
    assert.ok(Math.abs((claims.iat as number) - t.clock.now()) <= 5);

    const second = await tokenAs(t.issuer, 'svc-jwt', { grant_type: 'client_credentials' });
    assertOk(second);
    assert.notEqual(decodeJwt(second.json.access_token as string).jti, claims.jti);
  });

  test('code flow: sub is the user, per-client lifetimes in expires_in and exp, ID token lifetime, works at UserInfo', async () => {
    const tokens = await signInTokens(t.issuer, 'webjwt');
    assert.equal(tokens.json.expires_in, 600);
    const claims = await verifyAccessToken(t.issuer, tokens.json.access_token as string);
    assert.equal(claims.sub, alice.sub);
    assert.equal(claims.client_id, 'webjwt');
    assert.equal(claims.iss, t.issuer);
    assert.deepEqual(String(claims.scope).split(' ').sort(), FULL_SCOPE.split(' ').sort());
    assert.equal((claims.exp as number) - (claims.iat as number), 600);

    const id = await jwtVerify(tokens.json.id_token as string, providerKeys(t.issuer), {
      issuer: t.issuer,
      audience: 'webjwt',
    });
    assert.equal((id.payload.exp as number) - (id.payload.iat as number), 300);

    const info = await userinfo(t.issuer, tokens.json.access_token as string);
    assert.equal(info.status, 200);
    assert.equal(info.json.sub, alice.sub);

    const refreshed = await refresh(t.issuer, 'webjwt', tokens.json.refresh_token as string);
    assertOk(refreshed);
    const again = await verifyAccessToken(t.issuer, refreshed.json.access_token as string);
    assert.equal(again.sub, alice.sub);
    assert.equal((again.exp as number) - (again.iat as number), 600);
    assert.equal((await userinfo(t.issuer, refreshed.json.access_token as string)).status, 200);
  });

  test('a revoked JWT access token stops working at UserInfo (replay revokes it)', async () => {
    const code = await codeFor(t.issuer, 'webjwt', { scope: 'openid' });
    const form = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT };
    const first = await tokenAs(t.issuer, 'webjwt', form);
    assertOk(first);
    assertInvalidGrant(await tokenAs(t.issuer, 'webjwt', form));
    assert.equal((await userinfo(t.issuer, first.json.access_token as string)).status, 401);
  });

  test('provider accessTokenFormat jwt and lifetimes, with a per-client opaque override', async () => {
    const issuer = t.issuerOf('jwtp');
    const jwt = await tokenAs(issuer, 'svc', { grant_type: 'client_credentials' });
    assertOk(jwt);
    assert.equal(jwt.json.expires_in, 900);
    const claims = await verifyAccessToken(issuer, jwt.json.access_token as string);
    assert.equal(claims.iss, issuer);
    assert.equal((claims.exp as number) - (claims.iat as number), 900);

    const opaque = await tokenAs(issuer, 'svc-opaque', { grant_type: 'client_credentials' });
    assertOk(opaque);
    assert.equal(opaque.json.expires_in, 900);
    assert.throws(() => decodeJwt(opaque.json.access_token as string));

    const tokens = await signInTokens(issuer, 'web');
    assert.equal(tokens.json.expires_in, 900);
    const id = await jwtVerify(tokens.json.id_token as string, providerKeys(issuer), {
      issuer,
      audience: 'web',
    });
    assert.equal((id.payload.exp as number) - (id.payload.iat as number), 600);
    const at = await verifyAccessToken(issuer, tokens.json.access_token as string);
    assert.equal((at.exp as number) - (at.iat as number), 900);
    assert.equal((await userinfo(issuer, tokens.json.access_token as string)).status, 200);
  });

  test('provider default lifetimes: opaque token with expires_in 3600, ID token 3600 s', async () => {
    const tokens = await signInTokens(t.issuer, 'web');
    assert.equal(tokens.json.expires_in, 3600);
    assert.throws(() => decodeJwt(tokens.json.access_token as string));
    const id = await jwtVerify(tokens.json.id_token as string, providerKeys(t.issuer), {
      issuer: t.issuer,
      audience: 'web',
    });
    assert.equal((id.payload.exp as number) - (id.payload.iat as number), 3600);
  });
});

describe('resource indicators (RFC 8707)', () => {
  test('client_credentials with one resource: aud is that resource', async () => {
    const res = await tokenAs(t.issuer, 'svc-jwt', { grant_type: 'client_credentials', resource: API });
    assertOk(res);
    const claims = await verifyAccessToken(t.issuer, res.json.access_token as string);
    assert.equal(claims.aud, API);
  });

  test('client_credentials with two resources: aud holds both', async () => {
    const body = new URLSearchParams({ grant_type: 'client_credentials' });
    body.append('resource', API);
    body.append('resource', OTHER);
    const res = await tokenAsRaw(t.issuer, 'svc-jwt', body);
    assertOk(res);
    const claims = await verifyAccessToken(t.issuer, res.json.access_token as string);
    assert.deepEqual([claims.aud].flat().sort(), [API, OTHER].sort());
  });

  test('a resource the client may not ask for → 400 invalid_target', async () => {
    assertError(
      await tokenAs(t.issuer, 'svc-jwt', {
        grant_type: 'client_credentials',
        resource: 'https://evil.example/',
      }),
      400,
      'invalid_target',
    );
    // svc may ask for API only.
    assertError(
      await tokenAs(t.issuer, 'svc', { grant_type: 'client_credentials', resource: OTHER }),
      400,
      'invalid_target',
    );
  });

  test('a resource that is not an absolute URI, or has a fragment → 400', async () => {
    for (const resource of ['api', `${API}#frag`]) {
      const res = await tokenAs(t.issuer, 'svc-jwt', { grant_type: 'client_credentials', resource });
      assert.equal(res.status, 400, `${resource}: ${res.status}`);
      assert.ok(res.json.error === 'invalid_target' || res.json.error === 'invalid_request');
    }
  });

  test('opaque token with a resource: introspection reports it as aud', async () => {
    const res = await tokenAs(t.issuer, 'svc', { grant_type: 'client_credentials', resource: API });
    assertOk(res);
    const info = await introspect(t.issuer, res.json.access_token as string);
    assert.equal(info.active, true);
    assert.deepEqual([info.aud].flat(), [API]);
  });

  test('code flow: the resource of the authorization request is the audience; refresh stays within it', async () => {
    const tokens = await signInTokens(t.issuer, 'webjwt', { resource: [API] });
    const claims = await verifyAccessToken(t.issuer, tokens.json.access_token as string);
    assert.equal(claims.aud, API);
    const rt = tokens.json.refresh_token as string;
    assertError(await refresh(t.issuer, 'webjwt', rt, { resource: OTHER }), 400, 'invalid_target');
    const narrowed = await refresh(t.issuer, 'webjwt', rt, { resource: API });
    assertOk(narrowed);
    assert.equal((await verifyAccessToken(t.issuer, narrowed.json.access_token as string)).aud, API);
  });

  test('authorization request with an unlisted resource → error redirect invalid_target', async () => {
    const url = new URL(
      authorizeUrl(t.issuer, {
        response_type: 'code',
        client_id: 'web',
        redirect_uri: REDIRECT,
        scope: 'openid',
        state: 'rs',
      }),
    );
    url.searchParams.append('resource', 'https://evil.example/');
    const page = await new UserAgent().get(url.href);
    assert.ok(page.status === 302 || page.status === 303, `status ${page.status}`);
    const location = new URL(page.headers.get('location') as string);
    assert.equal(location.searchParams.get('error'), 'invalid_target');
    assert.equal(location.searchParams.get('code'), null);
  });
});

describe('lifetimes and grace period over time (moves the clock of a second server)', () => {
  test('after the grace period, reusing a rotated token revokes the grant', async () => {
    const issuer = tt.issuerOf('grace');
    const tokens = await signInTokens(issuer, 'spa');
    const rt1 = tokens.json.refresh_token as string;
    const r2 = await refresh(issuer, 'spa', rt1);
    assertOk(r2);
    tt.clock.advance(7);
    assertInvalidGrant(await refresh(issuer, 'spa', rt1));
    await assertRevoked(issuer, r2.json.access_token as string, r2.json.refresh_token as string, 'spa');
  });

  test('a confidential client after the grace period: reuse revokes too', async () => {
    const issuer = tt.issuerOf('grace');
    const tokens = await signInTokens(issuer, 'web');
    const rt1 = tokens.json.refresh_token as string;
    const r2 = await refresh(issuer, 'web', rt1);
    assertOk(r2);
    tt.clock.advance(6);
    assertInvalidGrant(await refresh(issuer, 'web', rt1));
    await assertRevoked(issuer, r2.json.access_token as string, r2.json.refresh_token as string, 'web');
  });

  test('per-client access token lifetime (600 s): works before, 401 after', async () => {
    const tokens = await signInTokens(tt.issuer, 'life');
    assert.equal(tokens.json.expires_in, 600);
    const at = tokens.json.access_token as string;
    tt.clock.advance(590);
    assert.equal((await userinfo(tt.issuer, at)).status, 200);
    tt.clock.advance(11);
    assert.equal((await userinfo(tt.issuer, at)).status, 401);
  });

  test('refresh token idle lifetime (1000 s): unused for longer → invalid_grant', async () => {
    const tokens = await signInTokens(tt.issuer, 'life');
    const rt = tokens.json.refresh_token as string;
    tt.clock.advance(1001);
    assertInvalidGrant(await refresh(tt.issuer, 'life', rt));
  });

  test('refresh token absolute lifetime (3000 s) holds even when it is used within the idle limit', async () => {
    const tokens = await signInTokens(tt.issuer, 'life');
    let rt = tokens.json.refresh_token as string;
    for (let i = 0; i < 3; i++) {
      tt.clock.advance(900);
      const r = await refresh(tt.issuer, 'life', rt);
      assertOk(r);
      rt = r.json.refresh_token as string;
    }
    // 2,700 s since sign-in; the family ends at 3,000 s whatever the idle limit says.
    tt.clock.advance(301);
    assertInvalidGrant(await refresh(tt.issuer, 'life', rt));
  });

  test('without rotation, each use extends the idle limit, but not past the absolute lifetime', async () => {
    const tokens = await signInTokens(tt.issuer, 'life-norot');
    const rt = tokens.json.refresh_token as string;
    for (let i = 0; i < 3; i++) {
      tt.clock.advance(900);
      const r = await refresh(tt.issuer, 'life-norot', rt);
      assertOk(r);
      assert.equal(r.json.refresh_token, undefined);
    }
    tt.clock.advance(301);
    assertInvalidGrant(await refresh(tt.issuer, 'life-norot', rt));
  });

  test('without rotation, the idle limit still applies', async () => {
    const tokens = await signInTokens(tt.issuer, 'life-norot');
    const rt = tokens.json.refresh_token as string;
    tt.clock.advance(500);
    assertOk(await refresh(tt.issuer, 'life-norot', rt));
    tt.clock.advance(1001);
    assertInvalidGrant(await refresh(tt.issuer, 'life-norot', rt));
  });

  test('provider default refresh idle lifetime still allows a refresh after an hour', async () => {
    const tokens = await signInTokens(tt.issuer, 'web');
    tt.clock.advance(3600);
    assertOk(await refresh(tt.issuer, 'web', tokens.json.refresh_token as string));
  });

  test('JWT bearer: an assertion replayed after its exp, within the tolerated skew → invalid_grant', async () => {
    const assertion = await bearerAssertion(tt, { claims: { exp: tt.clock.now() + 5 } });
    assertOk(await bearerGrant(tt, assertion));
    tt.clock.advance(10);
    assertInvalidGrant(await bearerGrant(tt, assertion));
  });
});
