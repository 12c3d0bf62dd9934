// Client authentication at the token-side endpoints: client_secret_basic, client_secret_post, client_secret_jwt,
// private_key_jwt (inline jwks and jwks_uri) and none, and every way an assertion can be wrong
// (RFC 6749 §2.3, §3.2.1, §5.2; RFC 7523 §2.2, §3; OIDC Core §9; RFC 7515 §4.1.11; RFC 8725 §3.1, §3.10, §3.11;
// draft-ietf-oauth-rfc7523bis §4; security checklist C1, C5-C9, T8).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { CompactSign, exportJWK, exportSPKI, generateKeyPair, type JWK } from 'jose';
import * as oidc from 'openid-client';
import { alice, bob, demoClient, publicClient, startTestServer, type TestServer } from '../helpers/server.js';
import {
  authorizeUrl,
  basic,
  obtainCode,
  pkcePair,
  postForm,
  signIn,
  UserAgent,
} from '../helpers/user-agent.js';

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;
type SigningKey = Parameters<CompactSign['sign']>[0];
type Reply = Awaited<ReturnType<typeof postForm>>;

const assertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

const basicClient = {
  client_id: 'basic-svc',
  client_secret: 'basic-svc-secret-0123456789abcdefghijklmnop',
  token_endpoint_auth_method: 'client_secret_basic' as const,
  grant_types: ['client_credentials' as const],
  scope: 'api:read',
};
/** No token_endpoint_auth_method: basic or post, whichever the client sends (interface.md). */
const eitherSvc = {
  client_id: 'either-svc',
  client_secret: 'either-svc-secret-0123456789abcdefghijklmn',
  grant_types: ['client_credentials' as const],
  scope: 'api:read',
};
const postSvc = {
  client_id: 'post-svc',
  client_secret: 'post-svc-secret-0123456789abcdefghijklmnopq',
  token_endpoint_auth_method: 'client_secret_post' as const,
  grant_types: ['client_credentials' as const],
  scope: 'api:read',
};
const csj = {
  client_id: 'csj',
  client_secret: 'csj-secret-0123456789abcdefghijklmnopqrstuvwxyz',
  token_endpoint_auth_method: 'client_secret_jwt' as const,
  grant_types: ['client_credentials' as const],
  scope: 'api:read',
};
const csj512 = {
  client_id: 'csj-512',
  client_secret: 'csj-512-secret-0123456789abcdefghijklmnopqrstuvwxyz',
  token_endpoint_auth_method: 'client_secret_jwt' as const,
  token_endpoint_auth_signing_alg: 'HS512' as const,
  grant_types: ['client_credentials' as const],
  scope: 'api:read',
};

let t: TestServer;
let jwksServer: Server;
let jwksBase: string;
/** Documents the little key server answers, by path. */
const served = new Map<string, unknown>();

let ecKey: KeyPair; // pkj and pkj-es, kid pkj-ec
let rsaKey: KeyPair; // pkj and pkj-es, kid pkj-rsa
let uriKey: KeyPair; // pkj-uri (served from jwks_uri), kid uri-1
let attackerKey: KeyPair; // registered nowhere, kid evil-1
let ecPublicJwk: JWK;
let rsaPublicJwk: JWK;
let uriPublicJwk: JWK;
let attackerPublicJwk: JWK;

before(async () => {
  ecKey = await generateKeyPair('ES256', { extractable: true });
  rsaKey = await generateKeyPair('RS256', { extractable: true });
  uriKey = await generateKeyPair('ES256', { extractable: true });
  attackerKey = await generateKeyPair('ES256', { extractable: true });
  ecPublicJwk = { ...(await exportJWK(ecKey.publicKey)), kid: 'pkj-ec', use: 'sig' };
  rsaPublicJwk = { ...(await exportJWK(rsaKey.publicKey)), kid: 'pkj-rsa', use: 'sig' };
  uriPublicJwk = { ...(await exportJWK(uriKey.publicKey)), kid: 'uri-1', use: 'sig' };
  attackerPublicJwk = { ...(await exportJWK(attackerKey.publicKey)), kid: 'evil-1', use: 'sig' };
  served.set('/client-jwks', { keys: [uriPublicJwk] });
  served.set('/evil-jwks', { keys: [attackerPublicJwk] });

  jwksServer = createServer((req, res) => {
    const doc = served.get(req.url ?? '');
    if (doc === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  jwksBase = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}`;

  // A port nothing listens on: a jwks_uri that cannot be fetched.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const deadPort = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));

  t = await startTestServer({
    server: { allowPrivateNetworkFetch: true },
    providers: [
      {
        name: 'default',
        // This file sends dozens of failed authentications per client on purpose; throttling has its own tests.
        throttle: { clientAuth: { perClientAndAddress: 10_000, perAddress: 100_000 } },
        users: [alice, bob],
        clients: [
          demoClient,
          publicClient,
          basicClient,
          postSvc,
          eitherSvc,
          csj,
          csj512,
          {
            client_id: 'pkj',
            token_endpoint_auth_method: 'private_key_jwt',
            jwks: { keys: [ecPublicJwk, rsaPublicJwk] as Record<string, unknown>[] },
            redirect_uris: ['https://pkj.example/cb'],
            grant_types: ['authorization_code', 'client_credentials'],
            scope: 'openid email api:read',
          },
          {
            client_id: 'pkj-es',
            token_endpoint_auth_method: 'private_key_jwt',
            token_endpoint_auth_signing_alg: 'ES256',
            jwks: { keys: [ecPublicJwk, rsaPublicJwk] as Record<string, unknown>[] },
            grant_types: ['client_credentials'],
            scope: 'api:read',
          },
          {
            client_id: 'pkj-uri',
            token_endpoint_auth_method: 'private_key_jwt',
            jwks_uri: `${jwksBase}/client-jwks`,
            grant_types: ['client_credentials'],
            scope: 'api:read',
          },
          {
            client_id: 'pkj-dead',
            token_endpoint_auth_method: 'private_key_jwt',
            jwks_uri: `http://127.0.0.1:${deadPort}/jwks`,
            grant_types: ['client_credentials'],
            scope: 'api:read',
          },
        ],
      },
    ],
  });
});

after(async () => {
  await t?.close();
  await new Promise<void>((resolve) => (jwksServer ? jwksServer.close(() => resolve()) : resolve()));
});

const b64 = (s: string) => Buffer.from(s).toString('base64url');

interface AssertionOptions {
  /** Merged over the default claims; a key set to undefined removes the claim. */
  claims?: Record<string, unknown>;
  /** Merged over `{ alg, kid }`. */
  header?: Record<string, unknown>;
  /** Header parameters jose should treat as understood while signing (to build a `crit` header). */
  crit?: Record<string, boolean>;
}

/** A client assertion (RFC 7523 §3) signed exactly as told, with the server's clock. */
async function signAssertion(
  clientId: string,
  key: SigningKey,
  alg: string,
  kid: string | undefined,
  options: AssertionOptions = {},
): Promise<string> {
  const now = t.clock.now();
  const payload: Record<string, unknown> = {
    iss: clientId,
    sub: clientId,
    aud: t.issuer,
    iat: now,
    exp: now + 60,
    jti: randomUUID(),
    ...options.claims,
  };
  for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
  const header = { alg, ...(kid !== undefined ? { kid } : {}), ...options.header };
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader(header)
    .sign(key, options.crit ? { crit: options.crit } : undefined);
}

/** An unsigned JWT (`alg: none`). */
function unsignedAssertion(clientId: string): string {
  const now = t.clock.now();
  const payload = { iss: clientId, sub: clientId, aud: t.issuer, iat: now, exp: now + 60, jti: randomUUID() };
  return `${b64(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${b64(JSON.stringify(payload))}.`;
}

const pkjAssertion = (options?: AssertionOptions) =>
  signAssertion('pkj', ecKey.privateKey, 'ES256', 'pkj-ec', options);
const csjAssertion = (options?: AssertionOptions) =>
  signAssertion(csj.client_id, new TextEncoder().encode(csj.client_secret), 'HS256', undefined, options);

function tokenRequest(form: Record<string, string>, headers: Record<string, string> = {}): Promise<Reply> {
  return postForm(`${t.issuer}/token`, form, headers);
}

/** client_credentials with a client assertion (and nothing else identifying the client unless `extra` adds it). */
function withAssertion(jwt: string, extra: Record<string, string> = {}): Promise<Reply> {
  return tokenRequest({
    grant_type: 'client_credentials',
    client_assertion_type: assertionType,
    client_assertion: jwt,
    ...extra,
  });
}

function assertInvalidClient(res: Reply, basicTried = false): void {
  assert.equal(res.status, 401, `expected 401 invalid_client, got ${res.status} ${JSON.stringify(res.json)}`);
  assert.equal(res.json.error, 'invalid_client');
  assert.equal(res.json.access_token, undefined);
  if (basicTried)
    assert.match(
      res.headers.get('www-authenticate') ?? '',
      /^Basic\b/i,
      'WWW-Authenticate: Basic after Basic',
    );
}

function assertTokens(res: Reply): void {
  assert.equal(res.status, 200, `expected 200, got ${res.status} ${JSON.stringify(res.json)}`);
  assert.equal(typeof res.json.access_token, 'string');
}

async function rp(clientId: string, auth: oidc.ClientAuth, metadata?: Partial<oidc.ClientMetadata>) {
  return oidc.discovery(new URL(t.issuer), clientId, metadata, auth, {
    execute: [oidc.allowInsecureRequests],
  });
}

/** An authorization code for `clientId` (login and consent as alice in a fresh browser). */
async function codeFor(clientId: string, redirectUri: string, challenge?: string): Promise<string> {
  return obtainCode(t.issuer, {
    clientId,
    redirectUri,
    scope: 'openid email',
    ...(challenge ? { challenge } : {}),
  });
}

describe('each registered method succeeds at the token endpoint', () => {
  test('client_secret_basic (openid-client)', async () => {
    const config = await rp(basicClient.client_id, oidc.ClientSecretBasic(basicClient.client_secret));
    const tokens = await oidc.clientCredentialsGrant(config);
    assert.ok(tokens.access_token);
    assert.equal(tokens.scope, 'api:read');
  });

  test('client_secret_post (openid-client)', async () => {
    const config = await rp(postSvc.client_id, oidc.ClientSecretPost(postSvc.client_secret));
    const tokens = await oidc.clientCredentialsGrant(config);
    assert.ok(tokens.access_token);
  });

  test('client_secret_jwt (openid-client, HS256)', async () => {
    const config = await rp(csj.client_id, oidc.ClientSecretJwt(csj.client_secret));
    const tokens = await oidc.clientCredentialsGrant(config);
    assert.ok(tokens.access_token);
  });

  test('client_secret_jwt with its registered HS512', async () => {
    const jwt = await signAssertion(
      csj512.client_id,
      new TextEncoder().encode(csj512.client_secret),
      'HS512',
      undefined,
    );
    assertTokens(await withAssertion(jwt));
  });

  test('private_key_jwt with inline jwks (openid-client, ES256 with kid)', async () => {
    const config = await rp('pkj', oidc.PrivateKeyJwt({ key: ecKey.privateKey, kid: 'pkj-ec' }));
    const tokens = await oidc.clientCredentialsGrant(config);
    assert.ok(tokens.access_token);
  });

  test('private_key_jwt with inline jwks, RS256 key of the same set, no kid', async () => {
    const config = await rp('pkj', oidc.PrivateKeyJwt(rsaKey.privateKey));
    const tokens = await oidc.clientCredentialsGrant(config);
    assert.ok(tokens.access_token);
  });

  test('private_key_jwt with jwks_uri (openid-client)', async () => {
    const config = await rp('pkj-uri', oidc.PrivateKeyJwt({ key: uriKey.privateKey, kid: 'uri-1' }));
    const tokens = await oidc.clientCredentialsGrant(config);
    assert.ok(tokens.access_token);
    // A second assertion (new jti) from the cached key set works too.
    const again = await oidc.clientCredentialsGrant(config);
    assert.notEqual(again.access_token, tokens.access_token);
  });

  test('private_key_jwt, raw: aud is the issuer as a single string, client_id in the body matches → 200', async () => {
    assertTokens(await withAssertion(await pkjAssertion(), { client_id: 'pkj' }));
    assertTokens(await withAssertion(await pkjAssertion()));
  });

  test('private_key_jwt in the authorization code flow (openid-client)', async () => {
    const config = await rp('pkj', oidc.PrivateKeyJwt({ key: ecKey.privateKey, kid: 'pkj-ec' }));
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: 'https://pkj.example/cb',
      scope: 'openid email',
      state: 'pkj-state',
    });
    const cb = await signIn(new UserAgent(), url.href);
    const tokens = await oidc.authorizationCodeGrant(config, cb, { expectedState: 'pkj-state' });
    assert.ok(tokens.id_token);
    assert.equal(tokens.claims()?.aud, 'pkj');
  });

  test('private_key_jwt at introspection and revocation (openid-client)', async () => {
    const config = await rp('pkj', oidc.PrivateKeyJwt({ key: ecKey.privateKey, kid: 'pkj-ec' }));
    const tokens = await oidc.clientCredentialsGrant(config);
    const info = await oidc.tokenIntrospection(config, tokens.access_token);
    assert.equal(info.active, true);
    assert.equal(info.client_id, 'pkj');
    await oidc.tokenRevocation(config, tokens.access_token);
    const after = await oidc.tokenIntrospection(config, tokens.access_token);
    assert.equal(after.active, false);
  });

  test('none: a public client with PKCE S256 (openid-client)', async () => {
    const config = await rp(publicClient.client_id, oidc.None());
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: publicClient.redirect_uris[0] as string,
      scope: 'openid email',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: 'spa-state',
    });
    const cb = await signIn(new UserAgent(), url.href);
    const tokens = await oidc.authorizationCodeGrant(config, cb, {
      pkceCodeVerifier: verifier,
      expectedState: 'spa-state',
    });
    assert.ok(tokens.access_token);
    assert.ok(tokens.id_token);
  });

  test('none: a public client must use PKCE S256 (no challenge → error redirect invalid_request)', async () => {
    const url = authorizeUrl(t.issuer, {
      response_type: 'code',
      client_id: publicClient.client_id,
      redirect_uri: publicClient.redirect_uris[0] as string,
      scope: 'openid',
      state: 'no-pkce',
    });
    const page = await new UserAgent().get(url);
    assert.ok(page.status === 302 || page.status === 303, `status ${page.status}`);
    const location = new URL(page.headers.get('location') as string);
    assert.equal(location.origin + location.pathname, publicClient.redirect_uris[0]);
    assert.equal(location.searchParams.get('error'), 'invalid_request');
    assert.equal(location.searchParams.get('code'), null);
  });

  test('none: a public client with the right code but no code_verifier → invalid_grant', async () => {
    const { challenge } = pkcePair();
    const code = await codeFor(publicClient.client_id, publicClient.redirect_uris[0] as string, challenge);
    const res = await tokenRequest({
      grant_type: 'authorization_code',
      code,
      client_id: publicClient.client_id,
      redirect_uri: publicClient.redirect_uris[0] as string,
    });
    assert.equal(res.status, 400);
    assert.equal(res.json.error, 'invalid_grant');
  });
});

describe('a client uses only the method it is registered for (OIDC Core §9, checklist C1)', () => {
  test('private_key_jwt client sending a client secret in the body → 401 invalid_client', async () => {
    const res = await tokenRequest({
      grant_type: 'client_credentials',
      client_id: 'pkj',
      client_secret: 'anything-at-all-0123456789abcdef',
    });
    assertInvalidClient(res);
  });

  test('private_key_jwt client sending HTTP Basic → 401 invalid_client with WWW-Authenticate: Basic', async () => {
    const res = await tokenRequest(
      { grant_type: 'client_credentials' },
      { authorization: basic('pkj', 'anything-at-all-0123456789abcdef') },
    );
    assertInvalidClient(res, true);
  });

  test('private_key_jwt client with client_id alone (no assertion) → 401 invalid_client', async () => {
    assertInvalidClient(await tokenRequest({ grant_type: 'client_credentials', client_id: 'pkj' }));
  });

  test('client_secret_jwt client sending its correct secret with Basic → 401 with WWW-Authenticate', async () => {
    const res = await tokenRequest(
      { grant_type: 'client_credentials' },
      { authorization: basic(csj.client_id, csj.client_secret) },
    );
    assertInvalidClient(res, true);
  });

  test('client_secret_jwt client sending its correct secret in the body → 401 invalid_client', async () => {
    const res = await tokenRequest({
      grant_type: 'client_credentials',
      client_id: csj.client_id,
      client_secret: csj.client_secret,
    });
    assertInvalidClient(res);
  });

  test('client_secret_basic client sending an HS256 assertion signed with its secret → 401', async () => {
    const jwt = await signAssertion(
      basicClient.client_id,
      new TextEncoder().encode(basicClient.client_secret),
      'HS256',
      undefined,
    );
    assertInvalidClient(await withAssertion(jwt));
  });

  test('client_secret_basic client sending its secret in the body → 401 invalid_client', async () => {
    const res = await tokenRequest({
      grant_type: 'client_credentials',
      client_id: basicClient.client_id,
      client_secret: basicClient.client_secret,
    });
    assertInvalidClient(res);
  });

  test('client_secret_post client using HTTP Basic with its correct secret → 401 with WWW-Authenticate', async () => {
    const res = await tokenRequest(
      { grant_type: 'client_credentials' },
      { authorization: basic(postSvc.client_id, postSvc.client_secret) },
    );
    assertInvalidClient(res, true);
  });

  test('a public client sending a client_secret → 401 invalid_client', async () => {
    const { verifier, challenge } = pkcePair();
    const code = await codeFor(publicClient.client_id, publicClient.redirect_uris[0] as string, challenge);
    const res = await tokenRequest({
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: publicClient.redirect_uris[0] as string,
      client_id: publicClient.client_id,
      client_secret: 'made-up-secret-0123456789abcdef',
    });
    assertInvalidClient(res);
  });

  test('a public client sending a client assertion → 401 invalid_client', async () => {
    const jwt = await signAssertion(publicClient.client_id, attackerKey.privateKey, 'ES256', 'evil-1');
    assertInvalidClient(await withAssertion(jwt));
  });

  test('a confidential client with client_id alone → 401 invalid_client', async () => {
    assertInvalidClient(
      await tokenRequest({ grant_type: 'client_credentials', client_id: basicClient.client_id }),
    );
  });

  test('wrong secret with Basic → 401 invalid_client with WWW-Authenticate: Basic', async () => {
    const res = await tokenRequest(
      { grant_type: 'client_credentials' },
      { authorization: basic(basicClient.client_id, `${basicClient.client_secret}x`) },
    );
    assertInvalidClient(res, true);
  });

  test('an unknown client with Basic → 401 invalid_client with WWW-Authenticate: Basic', async () => {
    const res = await tokenRequest(
      { grant_type: 'client_credentials' },
      { authorization: basic('no-such-client', 'whatever-secret-0123456789') },
    );
    assertInvalidClient(res, true);
  });

  test('the same rules hold at the introspection endpoint', async () => {
    const issued = await withAssertion(await pkjAssertion());
    assertTokens(issued);
    const token = issued.json.access_token as string;
    const secretTried = await postForm(`${t.issuer}/introspect`, {
      token,
      client_id: 'pkj',
      client_secret: 'anything-at-all-0123456789abcdef',
    });
    assertInvalidClient(secretTried);
    const basicTried = await postForm(
      `${t.issuer}/introspect`,
      { token },
      { authorization: basic(csj.client_id, csj.client_secret) },
    );
    assertInvalidClient(basicTried, true);
    const ok = await postForm(`${t.issuer}/introspect`, {
      token,
      client_assertion_type: assertionType,
      client_assertion: await pkjAssertion(),
    });
    assert.equal(ok.status, 200);
    assert.equal(ok.json.active, true);
  });
});

describe('a client with a secret and no token_endpoint_auth_method (issue 6 point 8)', () => {
  test('authenticates with client_secret_basic (openid-client)', async () => {
    const config = await rp(eitherSvc.client_id, oidc.ClientSecretBasic(eitherSvc.client_secret));
    const tokens = await oidc.clientCredentialsGrant(config, { scope: 'api:read' });
    assert.ok(tokens.access_token);
  });

  test('authenticates with client_secret_post (openid-client default)', async () => {
    const config = await rp(eitherSvc.client_id, oidc.ClientSecretPost(eitherSvc.client_secret));
    const tokens = await oidc.clientCredentialsGrant(config, { scope: 'api:read' });
    assert.ok(tokens.access_token);
  });

  test('a wrong secret is still refused, by either carrier', async () => {
    assertInvalidClient(
      await tokenRequest(
        { grant_type: 'client_credentials' },
        { authorization: basic(eitherSvc.client_id, 'nope') },
      ),
      true,
    );
    const res = await tokenRequest({
      grant_type: 'client_credentials',
      client_id: eitherSvc.client_id,
      client_secret: 'nope',
    });
    assertInvalidClient(res);
    // A wrong secret says nothing more than that.
    assert.equal(res.json.error_description, 'Client authentication failed');
  });

  test('a client that named its method is told which one when it used another', async () => {
    const res = await tokenRequest({
      grant_type: 'client_credentials',
      client_id: basicClient.client_id,
      client_secret: basicClient.client_secret,
    });
    assertInvalidClient(res);
    assert.match(String(res.json.error_description), /must authenticate with client_secret_basic/);
  });
});

describe('client_secret_jwt assertions that must be refused → 401 invalid_client', () => {
  const cases: [string, () => Promise<string>][] = [
    [
      'signed with a wrong secret',
      () =>
        signAssertion(
          csj.client_id,
          new TextEncoder().encode(`${csj.client_secret}-wrong`),
          'HS256',
          undefined,
        ),
    ],
    ['alg none', async () => unsignedAssertion(csj.client_id)],
    [
      'signed with an asymmetric key (RS256), not the secret',
      () => signAssertion(csj.client_id, rsaKey.privateKey, 'RS256', 'pkj-rsa'),
    ],
    [
      'HS256 when the client registered HS512 (algorithm allow-list)',
      () =>
        signAssertion(csj512.client_id, new TextEncoder().encode(csj512.client_secret), 'HS256', undefined),
    ],
    ['aud = the token endpoint URL', () => csjAssertion({ claims: { aud: `${t.issuer}/token` } })],
    ['aud = [issuer]', () => csjAssertion({ claims: { aud: [t.issuer] } })],
    ['no exp', () => csjAssertion({ claims: { exp: undefined } })],
    ['no jti', () => csjAssertion({ claims: { jti: undefined } })],
    ['iss ≠ sub', () => csjAssertion({ claims: { iss: 'someone-else' } })],
    [
      'unknown crit extension with a valid signature',
      () => csjAssertion({ header: { crit: ['x'], x: 1 }, crit: { x: true } }),
    ],
  ];
  for (const [name, build] of cases) {
    test(name, async () => {
      assertInvalidClient(await withAssertion(await build()));
    });
  }

  test('a replayed client_secret_jwt assertion', async () => {
    const jwt = await csjAssertion();
    assertTokens(await withAssertion(jwt));
    assertInvalidClient(await withAssertion(jwt));
  });
});

describe('private_key_jwt assertions that must be refused → 401 invalid_client (checklist C5-C9)', () => {
  const now = () => t.clock.now();
  const cases: [string, () => Promise<string>][] = [
    ['alg none', async () => unsignedAssertion('pkj')],
    [
      'HS256 keyed with the client’s EC public key as PEM (SPKI)',
      async () =>
        signAssertion('pkj', new TextEncoder().encode(await exportSPKI(ecKey.publicKey)), 'HS256', 'pkj-ec'),
    ],
    [
      'HS256 keyed with the client’s RSA public key as PEM (SPKI)',
      async () =>
        signAssertion(
          'pkj',
          new TextEncoder().encode(await exportSPKI(rsaKey.publicKey)),
          'HS256',
          'pkj-rsa',
        ),
    ],
    [
      'HS256 keyed with the client’s public JWK (JSON bytes)',
      () => signAssertion('pkj', new TextEncoder().encode(JSON.stringify(ecPublicJwk)), 'HS256', 'pkj-ec'),
    ],
    [
      'unknown crit extension with a valid signature',
      () => pkjAssertion({ header: { crit: ['x'], x: 1 }, crit: { x: true } }),
    ],
    [
      'jku header pointing at an attacker key set, signed with the attacker key',
      () =>
        signAssertion('pkj', attackerKey.privateKey, 'ES256', 'evil-1', {
          header: { jku: `${jwksBase}/evil-jwks` },
        }),
    ],
    [
      'jku header pointing elsewhere, attacker key, no kid',
      () =>
        signAssertion('pkj', attackerKey.privateKey, 'ES256', undefined, {
          header: { jku: `${jwksBase}/evil-jwks` },
        }),
    ],
    [
      'x5u header pointing elsewhere, signed with the attacker key',
      () =>
        signAssertion('pkj', attackerKey.privateKey, 'ES256', 'evil-1', {
          header: { x5u: `${jwksBase}/evil-cert.pem` },
        }),
    ],
    [
      'embedded jwk header with the attacker’s public key',
      () =>
        signAssertion('pkj', attackerKey.privateKey, 'ES256', undefined, {
          header: {
            jwk: {
              kty: attackerPublicJwk.kty,
              crv: attackerPublicJwk.crv,
              x: attackerPublicJwk.x,
              y: attackerPublicJwk.y,
            },
          },
        }),
    ],
    [
      'kid "../../x" (a kid only selects among the client’s own keys)',
      () => signAssertion('pkj', ecKey.privateKey, 'ES256', '../../x'),
    ],
    ['aud = the token endpoint URL', () => pkjAssertion({ claims: { aud: `${t.issuer}/token` } })],
    [
      'aud = [issuer] (an array, even with only the issuer)',
      () => pkjAssertion({ claims: { aud: [t.issuer] } }),
    ],
    [
      'aud = [issuer, token endpoint]',
      () => pkjAssertion({ claims: { aud: [t.issuer, `${t.issuer}/token`] } }),
    ],
    ['aud = another provider', () => pkjAssertion({ claims: { aud: t.issuerOf('other') } })],
    ['no aud', () => pkjAssertion({ claims: { aud: undefined } })],
    ['no jti', () => pkjAssertion({ claims: { jti: undefined } })],
    ['empty jti', () => pkjAssertion({ claims: { jti: '' } })],
    ['no exp', () => pkjAssertion({ claims: { exp: undefined } })],
    ['iat = now + 120', () => pkjAssertion({ claims: { iat: now() + 120 } })],
    ['nbf = now + 120', () => pkjAssertion({ claims: { nbf: now() + 120 } })],
    [
      'exp far in the future (now + 3600, beyond maxAssertionLifetime 300 s)',
      () => pkjAssertion({ claims: { exp: now() + 3600 } }),
    ],
    ['exp = now + 301', () => pkjAssertion({ claims: { exp: now() + 301 } })],
    ['expired (exp an hour ago)', () => pkjAssertion({ claims: { iat: now() - 3700, exp: now() - 3600 } })],
    ['iss ≠ sub', () => pkjAssertion({ claims: { iss: 'pkj-es' } })],
    ['iss missing', () => pkjAssertion({ claims: { iss: undefined } })],
    [
      'RS256 from a client whose allow-list is ES256 (pkj-es)',
      () => signAssertion('pkj-es', rsaKey.privateKey, 'RS256', 'pkj-rsa'),
    ],
    [
      'signed with a key not registered for the client',
      () => signAssertion('pkj', attackerKey.privateKey, 'ES256', 'pkj-ec'),
    ],
    [
      'jwks_uri client: HS256 keyed with its public key PEM',
      async () =>
        signAssertion(
          'pkj-uri',
          new TextEncoder().encode(await exportSPKI(uriKey.publicKey)),
          'HS256',
          'uri-1',
        ),
    ],
    [
      'jwks_uri client: jku to an attacker key set',
      () =>
        signAssertion('pkj-uri', attackerKey.privateKey, 'ES256', 'evil-1', {
          header: { jku: `${jwksBase}/evil-jwks` },
        }),
    ],
    ['jwks_uri client: alg none', async () => unsignedAssertion('pkj-uri')],
    [
      'jwks_uri that cannot be fetched (not a 5xx)',
      () => signAssertion('pkj-dead', ecKey.privateKey, 'ES256', 'pkj-ec'),
    ],
  ];
  for (const [name, build] of cases) {
    test(name, async () => {
      assertInvalidClient(await withAssertion(await build()));
    });
  }

  test('client_assertion_type missing or wrong', async () => {
    const jwt = await pkjAssertion();
    assertInvalidClient(await tokenRequest({ grant_type: 'client_credentials', client_assertion: jwt }));
    assertInvalidClient(
      await tokenRequest({
        grant_type: 'client_credentials',
        client_assertion: jwt,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer',
      }),
    );
  });

  test('a client_assertion that is not a JWT', async () => {
    assertInvalidClient(await withAssertion('not.a.jwt'));
    assertInvalidClient(await withAssertion('garbage'));
  });

  test('a replayed assertion (same jti) → 401; a fresh jti works', async () => {
    const jwt = await pkjAssertion();
    assertTokens(await withAssertion(jwt));
    assertInvalidClient(await withAssertion(jwt));
    assertTokens(await withAssertion(await pkjAssertion()));
  });

  test('10 concurrent requests with one assertion: exactly one 200', async () => {
    const jwt = await pkjAssertion();
    const results = await Promise.all(Array.from({ length: 10 }, () => withAssertion(jwt)));
    const ok = results.filter((r) => r.status === 200);
    assert.equal(ok.length, 1, `statuses: ${results.map((r) => r.status).join(',')}`);
    for (const r of results.filter((x) => x.status !== 200)) assertInvalidClient(r);
  });

  test('a replayed jti in a newly signed assertion → 401', async () => {
    const jti = randomUUID();
    assertTokens(await withAssertion(await pkjAssertion({ claims: { jti } })));
    assertInvalidClient(await withAssertion(await pkjAssertion({ claims: { jti, iat: now() + 1 } })));
  });

  test('an assertion used at the token endpoint cannot be replayed at introspection', async () => {
    const jwt = await pkjAssertion();
    const issued = await withAssertion(jwt);
    assertTokens(issued);
    const replay = await postForm(`${t.issuer}/introspect`, {
      token: issued.json.access_token as string,
      client_assertion_type: assertionType,
      client_assertion: jwt,
    });
    assertInvalidClient(replay);
  });

  test('an assertion accepted once is never accepted again, even just past its exp (clock skew window)', async () => {
    // exp 30 s ago: inside the skew the server may tolerate. Whatever the first answer, the second is a replay.
    const jwt = await pkjAssertion({ claims: { iat: now() - 60, exp: now() - 30 } });
    const first = await withAssertion(jwt);
    assert.ok(first.status === 200 || first.status === 401, `first: ${first.status}`);
    assertInvalidClient(await withAssertion(jwt));
  });

  test('an ID token issued by Gatehouse used as client_assertion → 401 (checklist C9)', async () => {
    const code = await codeFor(demoClient.client_id, demoClient.redirect_uris[0] as string);
    const issued = await tokenRequest(
      { grant_type: 'authorization_code', code, redirect_uri: demoClient.redirect_uris[0] as string },
      { authorization: basic(demoClient.client_id, demoClient.client_secret) },
    );
    assertTokens(issued);
    const idToken = issued.json.id_token as string;
    assert.ok(idToken);
    assertInvalidClient(await withAssertion(idToken));
    // Not at introspection either.
    assertInvalidClient(
      await postForm(`${t.issuer}/introspect`, {
        token: issued.json.access_token as string,
        client_assertion_type: assertionType,
        client_assertion: idToken,
      }),
    );
  });

  test('a JWT access token of Gatehouse is not a client assertion either', async () => {
    // Signed by the provider's key, never by the client's: refused whatever its claims.
    const issued = await withAssertion(await pkjAssertion());
    assertTokens(issued);
    assertInvalidClient(await withAssertion(issued.json.access_token as string));
  });

  test('assertion plus HTTP Basic → 400 invalid_request (one method per request, RFC 6749 §2.3)', async () => {
    const res = await tokenRequest(
      {
        grant_type: 'client_credentials',
        client_assertion_type: assertionType,
        client_assertion: await pkjAssertion(),
      },
      { authorization: basic(basicClient.client_id, basicClient.client_secret) },
    );
    assert.ok(res.status === 400 || res.status === 401, `status ${res.status}`);
    assert.ok(res.json.error === 'invalid_request' || res.json.error === 'invalid_client');
    assert.equal(res.json.access_token, undefined);
  });
});

describe('assertions past their lifetime (moves the server clock; keep last)', () => {
  test('an assertion replayed after its exp but within the tolerated skew → 401', async () => {
    const jwt = await pkjAssertion({ claims: { exp: t.clock.now() + 5 } });
    assertTokens(await withAssertion(jwt));
    t.clock.advance(10);
    // exp is 5 s ago now: if the server still accepts this exp, it must still remember the jti.
    assertInvalidClient(await withAssertion(jwt));
  });

  test('an assertion past exp beyond any skew → 401', async () => {
    const jwt = await pkjAssertion({ claims: { exp: t.clock.now() + 5 } });
    t.clock.advance(120);
    assertInvalidClient(await withAssertion(jwt));
  });
});
