// Revocation (RFC 7009), introspection (RFC 7662), token-type confusion at UserInfo, discovery and the JWK Set
// (security checklist N1, V1, U1, C9, T7, D1, J1).

import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { call, type Reply } from '../helpers/http.js';
import {
  alice,
  defaultProvider,
  demoClient,
  postClient,
  publicClient,
  startTestServer,
  type TestServer,
} from '../helpers/server.js';
import { basic, obtainCode, pkcePair } from '../helpers/user-agent.js';

/** A resource server: confidential, client_credentials only, allowed to introspect every token of the provider. */
const resourceServer = {
  client_id: 'rs',
  client_secret: 'rs-secret-0123456789abcdef0123',
  grant_types: ['client_credentials'] as 'client_credentials'[],
  scope: 'api:read',
  introspect_any_token: true,
};

type ClientName = 'web' | 'spa' | 'poster' | 'rs';

interface Tokens {
  access_token: string;
  refresh_token?: string;
  id_token?: string;
  scope?: string;
}

const redirectUris: Record<Exclude<ClientName, 'rs'>, string> = {
  web: demoClient.redirect_uris[0] as string,
  spa: publicClient.redirect_uris[0] as string,
  poster: postClient.redirect_uris[0] as string,
};

let t: TestServer;

before(async () => {
  const provider = defaultProvider();
  t = await startTestServer({
    providers: [{ ...provider, clients: [...(provider.clients ?? []), resourceServer] }],
  });
});
after(() => t?.close());

/** Each client's registered authentication: Basic for web and rs, body secret for poster, client_id for spa. */
function authAs(client: ClientName): { form: Record<string, string>; headers: Record<string, string> } {
  switch (client) {
    case 'web':
      return { form: {}, headers: { authorization: basic('web', demoClient.client_secret) } };
    case 'rs':
      return { form: {}, headers: { authorization: basic('rs', resourceServer.client_secret) } };
    case 'poster':
      return { form: { client_id: 'poster', client_secret: postClient.client_secret }, headers: {} };
    case 'spa':
      return { form: { client_id: 'spa' }, headers: {} };
  }
}

/** RFC 6749 §5.1 / RFC 7662 §2.2 / checklist T7: never cached, errors included. */
function assertNoStore(res: Reply, what: string): void {
  assert.match(res.headers.get('cache-control') ?? '', /no-store/, `${what}: Cache-Control on ${res.status}`);
  assert.match(res.headers.get('pragma') ?? '', /no-cache/, `${what}: Pragma on ${res.status}`);
}

function assertError(res: Reply, status: number, error: string): void {
  assert.equal(res.status, status, `expected ${status} ${error}, got ${res.status} ${res.text}`);
  assert.equal(res.json.error, error, res.text);
}

async function post(
  path: string,
  form: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<Reply> {
  return call(`${t.issuer}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
}

async function revoke(as: ClientName | undefined, form: Record<string, string>): Promise<Reply> {
  const auth = as ? authAs(as) : { form: {}, headers: {} };
  const res = await post('/revoke', { ...form, ...auth.form }, auth.headers);
  assertNoStore(res, 'revocation');
  return res;
}

async function introspect(as: ClientName | undefined, form: Record<string, string>): Promise<Reply> {
  const auth = as ? authAs(as) : { form: {}, headers: {} };
  const res = await post('/introspect', { ...form, ...auth.form }, auth.headers);
  assertNoStore(res, 'introspection');
  if (res.status === 200)
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/, 'introspection Content-Type');
  return res;
}

/** Introspects as the token's own client (or `as`) and returns `active`. */
async function isActive(token: string, as: ClientName = 'web'): Promise<boolean> {
  const res = await introspect(as, { token });
  assert.equal(res.status, 200, res.text);
  assert.equal(typeof res.json.active, 'boolean', res.text);
  return res.json.active as boolean;
}

async function userinfo(token: string): Promise<Reply> {
  const res = await call(`${t.issuer}/userinfo`, { headers: { authorization: `Bearer ${token}` } });
  assertNoStore(res, 'UserInfo');
  return res;
}

function assertInvalidToken(res: Reply): void {
  assert.equal(res.status, 401, res.text);
  const challenge = res.headers.get('www-authenticate') ?? '';
  assert.match(challenge, /^Bearer /i, 'a Bearer challenge');
  assert.match(challenge, /error="invalid_token"/);
}

/** A full code flow with PKCE for one of the redirect-based clients; returns the token response. */
async function tokensFor(
  client: Exclude<ClientName, 'rs'>,
  scope = 'openid email offline_access',
): Promise<Tokens> {
  const pkce = pkcePair();
  const redirectUri = redirectUris[client];
  const code = await obtainCode(t.issuer, {
    clientId: client,
    redirectUri,
    scope,
    challenge: pkce.challenge,
  });
  const auth = authAs(client);
  const res = await post(
    '/token',
    {
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      code_verifier: pkce.verifier,
      ...auth.form,
    },
    auth.headers,
  );
  assert.equal(res.status, 200, res.text);
  return res.json as unknown as Tokens;
}

async function refresh(client: ClientName, refreshToken: string): Promise<Reply> {
  const auth = authAs(client);
  return post(
    '/token',
    { grant_type: 'refresh_token', refresh_token: refreshToken, ...auth.form },
    auth.headers,
  );
}

describe('revocation endpoint (RFC 7009)', () => {
  test('revoking its own access token: UserInfo 401 and introspection inactive afterwards', async () => {
    const tokens = await tokensFor('web');
    assert.equal((await userinfo(tokens.access_token)).status, 200);
    assert.equal(await isActive(tokens.access_token), true);

    const res = await revoke('web', { token: tokens.access_token, token_type_hint: 'access_token' });
    assert.equal(res.status, 200, res.text);

    assertInvalidToken(await userinfo(tokens.access_token));
    assert.equal(await isActive(tokens.access_token), false);
    // The resource server sees it revoked too.
    assert.equal(await isActive(tokens.access_token, 'rs'), false);
  });

  test('revoking a refresh token takes the access tokens of its grant with it', async () => {
    const first = await tokensFor('web');
    assert.ok(first.refresh_token, 'refresh token issued with offline_access');
    const refreshed = await refresh('web', first.refresh_token);
    assert.equal(refreshed.status, 200, refreshed.text);
    const second = refreshed.json as unknown as Tokens;
    const currentRefresh = second.refresh_token ?? first.refresh_token;
    assert.equal(await isActive(first.access_token), true);
    assert.equal(await isActive(second.access_token), true);
    assert.equal(await isActive(currentRefresh), true);

    const res = await revoke('web', { token: currentRefresh, token_type_hint: 'refresh_token' });
    assert.equal(res.status, 200, res.text);

    assert.equal(await isActive(currentRefresh), false, 'the refresh token is inactive');
    assert.equal(await isActive(first.access_token), false, 'the first access token went with it');
    assert.equal(await isActive(second.access_token), false, 'the refreshed access token went with it');
    assertInvalidToken(await userinfo(first.access_token));
    assertInvalidToken(await userinfo(second.access_token));
    assertError(await refresh('web', currentRefresh), 400, 'invalid_grant');
  });

  test('a public client revokes its own refresh token with its client_id', async () => {
    const tokens = await tokensFor('spa');
    assert.ok(tokens.refresh_token);
    const res = await revoke('spa', { token: tokens.refresh_token });
    assert.equal(res.status, 200, res.text);
    assert.equal(await isActive(tokens.access_token, 'rs'), false);
    assert.equal(await isActive(tokens.refresh_token, 'rs'), false);
    assertError(await refresh('spa', tokens.refresh_token), 400, 'invalid_grant');
  });

  test("another client's token: an error, and the token stays active", async () => {
    const tokens = await tokensFor('web');
    assert.ok(tokens.refresh_token);
    for (const as of ['poster', 'spa'] as const) {
      for (const token of [tokens.access_token, tokens.refresh_token]) {
        const res = await revoke(as, { token });
        assert.ok(
          res.status >= 400 && res.status < 500,
          `${as}: expected 4xx, got ${res.status} ${res.text}`,
        );
        assert.equal(typeof res.json.error, 'string', res.text);
      }
    }
    assert.equal(await isActive(tokens.access_token), true, 'the access token is still active');
    assert.equal(await isActive(tokens.refresh_token), true, 'the refresh token is still active');
    assert.equal((await userinfo(tokens.access_token)).status, 200);
    const again = await refresh('web', tokens.refresh_token);
    assert.equal(again.status, 200, again.text);
  });

  test('an unknown or malformed token answers 200', async () => {
    for (const token of ['not-a-token-we-issued', 'x', 'a'.repeat(2000), 'eyJhbGciOiJub25lIn0.e30.']) {
      const res = await revoke('web', { token });
      assert.equal(res.status, 200, `${token.slice(0, 20)}: ${res.text}`);
    }
    const hinted = await revoke('poster', { token: 'unknown', token_type_hint: 'refresh_token' });
    assert.equal(hinted.status, 200, hinted.text);
  });

  test('a wrong token_type_hint still finds the token', async () => {
    const a = await tokensFor('web');
    const res = await revoke('web', { token: a.access_token, token_type_hint: 'refresh_token' });
    assert.equal(res.status, 200, res.text);
    assert.equal(await isActive(a.access_token), false);

    const b = await tokensFor('web');
    assert.ok(b.refresh_token);
    const res2 = await revoke('web', { token: b.refresh_token, token_type_hint: 'access_token' });
    assert.equal(res2.status, 200, res2.text);
    assert.equal(await isActive(b.refresh_token), false);
    assert.equal(await isActive(b.access_token), false, 'the refresh token took its access token along');
    assertError(await refresh('web', b.refresh_token), 400, 'invalid_grant');
  });

  test('a missing token parameter is invalid_request', async () => {
    assertError(await revoke('web', {}), 400, 'invalid_request');
    assertError(await revoke('poster', { token_type_hint: 'access_token' }), 400, 'invalid_request');
  });

  test('no client authentication is 401 invalid_client, and nothing is revoked', async () => {
    const tokens = await tokensFor('web');
    const none = await revoke(undefined, { token: tokens.access_token });
    assertError(none, 401, 'invalid_client');
    const wrong = await post(
      '/revoke',
      { token: tokens.access_token },
      { authorization: basic('web', 'not-the-secret') },
    );
    assertNoStore(wrong, 'revocation');
    assertError(wrong, 401, 'invalid_client');
    assert.match(wrong.headers.get('www-authenticate') ?? '', /^Basic /i);
    assert.equal(await isActive(tokens.access_token), true);
  });

  test('GET /revoke is 405', async () => {
    const res = await call(`${t.issuer}/revoke?token=x`, {
      headers: { authorization: basic('web', demoClient.client_secret) },
    });
    assert.equal(res.status, 405, res.text);
    assert.match(res.headers.get('allow') ?? '', /POST/);
    assertNoStore(res, 'revocation');
  });
});

describe('introspection endpoint (RFC 7662)', () => {
  test('no client authentication is 401', async () => {
    const tokens = await tokensFor('web');
    const res = await introspect(undefined, { token: tokens.access_token });
    assertError(res, 401, 'invalid_client');
    assert.equal(res.json.active, undefined, 'no token information without authentication');
    const wrong = await post(
      '/introspect',
      { token: tokens.access_token },
      { authorization: basic('web', 'not-the-secret') },
    );
    assertNoStore(wrong, 'introspection');
    assertError(wrong, 401, 'invalid_client');
  });

  test('a public client (token_endpoint_auth_method none) cannot introspect, not even its own token', async () => {
    const tokens = await tokensFor('spa');
    const res = await introspect('spa', { token: tokens.access_token });
    assertError(res, 401, 'invalid_client');
    assert.equal(res.json.active, undefined);
  });

  test('an active access token of its own: active with scope, client_id, sub, exp, iat, iss, token_type', async () => {
    const tokens = await tokensFor('web', 'openid email offline_access');
    const info = await userinfo(tokens.access_token);
    assert.equal(info.status, 200, info.text);
    const res = await introspect('web', { token: tokens.access_token, token_type_hint: 'access_token' });
    assert.equal(res.status, 200, res.text);
    const j = res.json;
    assert.equal(j.active, true);
    assert.equal(typeof j.scope, 'string');
    assert.deepEqual(new Set((j.scope as string).split(' ')), new Set(['openid', 'email', 'offline_access']));
    assert.equal(j.client_id, 'web');
    assert.equal(j.sub, info.json.sub);
    assert.equal(j.iss, t.issuer);
    assert.equal(j.token_type, 'Bearer');
    assert.equal(typeof j.exp, 'number');
    assert.equal(typeof j.iat, 'number');
    const now = t.clock.now();
    assert.ok((j.iat as number) <= now + 5, 'iat is not in the future');
    assert.ok((j.exp as number) > now, 'exp is in the future');
    assert.ok((j.exp as number) > (j.iat as number));
    if (j.username !== undefined) assert.equal(j.username, alice.username);
  });

  test('an active refresh token of its own', async () => {
    const tokens = await tokensFor('web');
    assert.ok(tokens.refresh_token);
    const res = await introspect('web', { token: tokens.refresh_token, token_type_hint: 'refresh_token' });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.active, true);
    assert.equal(res.json.client_id, 'web');
    assert.equal(res.json.iss, t.issuer);
    assert.ok((res.json.scope as string).split(' ').includes('offline_access'));
    assert.equal(typeof res.json.exp, 'number');
    assert.notEqual(res.json.token_type, 'Bearer', 'a refresh token is not a Bearer access token');
    // Without a hint, or with the wrong one, it is still found.
    assert.equal(await isActive(tokens.refresh_token), true);
    assert.equal(
      (await introspect('web', { token: tokens.refresh_token, token_type_hint: 'access_token' })).json.active,
      true,
    );

    // Rotated out by a refresh: the old refresh token is no longer active, the new one is.
    const refreshed = await refresh('web', tokens.refresh_token);
    assert.equal(refreshed.status, 200, refreshed.text);
    const next = refreshed.json.refresh_token as string | undefined;
    if (next !== undefined && next !== tokens.refresh_token) {
      assert.equal(await isActive(tokens.refresh_token), false, 'a rotated-out refresh token is inactive');
      assert.equal(await isActive(next), true);
    }
  });

  test("another client's token is {active:false} unless the caller has introspect_any_token", async () => {
    const tokens = await tokensFor('web');
    assert.ok(tokens.refresh_token);
    for (const token of [tokens.access_token, tokens.refresh_token]) {
      const foreign = await introspect('poster', { token });
      assert.equal(foreign.status, 200, foreign.text);
      assert.deepEqual(foreign.json, { active: false }, 'nothing about a foreign token');
    }

    const rs = await introspect('rs', { token: tokens.access_token });
    assert.equal(rs.status, 200, rs.text);
    assert.equal(rs.json.active, true);
    assert.equal(rs.json.client_id, 'web');
    assert.equal(rs.json.token_type, 'Bearer');
    assert.equal(rs.json.iss, t.issuer);
    assert.equal((await introspect('rs', { token: tokens.refresh_token })).json.active, true);

    // The resource server's own client_credentials token is not visible to web.
    const cc = await post(
      '/token',
      { grant_type: 'client_credentials', scope: 'api:read' },
      authAs('rs').headers,
    );
    assert.equal(cc.status, 200, cc.text);
    const own = await introspect('rs', { token: cc.json.access_token as string });
    assert.equal(own.json.active, true, own.text);
    assert.equal(own.json.client_id, 'rs');
    assert.deepEqual((await introspect('web', { token: cc.json.access_token as string })).json, {
      active: false,
    });
  });

  test('a revoked token is {active:false}', async () => {
    const tokens = await tokensFor('poster', 'openid email');
    assert.equal(await isActive(tokens.access_token, 'poster'), true);
    assert.equal((await revoke('poster', { token: tokens.access_token })).status, 200);
    for (const as of ['poster', 'rs'] as const) {
      const res = await introspect(as, { token: tokens.access_token });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json, { active: false });
    }
  });

  test('a random string is {active:false}', async () => {
    for (const token of ['random-string-that-was-never-issued', 'x', 'eyJhbGciOiJub25lIn0.e30.']) {
      for (const as of ['web', 'rs'] as const) {
        const res = await introspect(as, { token });
        assert.equal(res.status, 200, res.text);
        assert.deepEqual(res.json, { active: false });
      }
    }
  });

  test('a missing token parameter is invalid_request', async () => {
    assertError(await introspect('web', {}), 400, 'invalid_request');
  });

  test('GET /introspect is 405', async () => {
    const res = await call(`${t.issuer}/introspect`, {
      headers: { authorization: basic('web', demoClient.client_secret) },
    });
    assert.equal(res.status, 405, res.text);
    assertNoStore(res, 'introspection');
  });
});

describe('UserInfo refuses tokens that are not access tokens', () => {
  test('an ID token as a Bearer token is 401', async () => {
    const tokens = await tokensFor('web');
    assert.ok(tokens.id_token);
    assertInvalidToken(await userinfo(tokens.id_token));
    assert.equal((await userinfo(tokens.access_token)).status, 200, 'the access token itself works');
  });

  test('a refresh token as a Bearer token is 401', async () => {
    const tokens = await tokensFor('web');
    assert.ok(tokens.refresh_token);
    assertInvalidToken(await userinfo(tokens.refresh_token));
    const body = await call(`${t.issuer}/userinfo`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ access_token: tokens.refresh_token }).toString(),
    });
    assert.equal(body.status, 401, body.text);
  });
});

/** GET over node:http, so the Host header can be set (fetch would not send ours). */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('discovery and the JWK Set', () => {
  async function discovery(): Promise<Record<string, unknown>> {
    const res = await call(`${t.issuer}/.well-known/openid-configuration`);
    assert.equal(res.status, 200, res.text);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    return res.json;
  }

  test('advertises exactly what works', async () => {
    const d = await discovery();
    assert.equal(d.issuer, t.issuer);
    assert.equal(d.revocation_endpoint, `${t.issuer}/revoke`);
    assert.equal(d.introspection_endpoint, `${t.issuer}/introspect`);
    assert.equal(d.token_endpoint, `${t.issuer}/token`);
    assert.equal(d.authorization_endpoint, `${t.issuer}/authorize`);
    assert.equal(d.userinfo_endpoint, `${t.issuer}/userinfo`);
    assert.equal(d.jwks_uri, `${t.issuer}/jwk`);
    // No issuer is trusted for the JWT bearer grant on this provider, so it is not offered (grants.test.ts checks
    // that a provider with trusted issuers does offer it).
    assert.deepEqual(
      [...(d.grant_types_supported as string[])].sort(),
      ['authorization_code', 'client_credentials', 'implicit', 'refresh_token'].sort(),
    );
    assert.equal(new Set(d.grant_types_supported as string[]).size, 4, 'no duplicates');
    assert.deepEqual(
      [...(d.token_endpoint_auth_methods_supported as string[])].sort(),
      ['client_secret_basic', 'client_secret_jwt', 'client_secret_post', 'none', 'private_key_jwt'].sort(),
    );
    assert.equal(new Set(d.token_endpoint_auth_methods_supported as string[]).size, 5, 'no duplicates');
    assert.deepEqual(d.code_challenge_methods_supported, ['S256']);
    assert.deepEqual(d.response_types_supported, [
      'code',
      'id_token',
      'id_token token',
      'code id_token',
      'code token',
      'code id_token token',
    ]);
    assert.equal(d.authorization_response_iss_parameter_supported, true);
    if (d.introspection_endpoint_auth_methods_supported !== undefined)
      assert.ok(
        !(d.introspection_endpoint_auth_methods_supported as string[]).includes('none'),
        'introspection needs real client authentication',
      );
    for (const key of Object.keys(d)) {
      // Unsigned request objects are allowed only for clients that registered request_object_signing_alg none.
      if (key.endsWith('_alg_values_supported') && key !== 'request_object_signing_alg_values_supported')
        assert.ok(!(d[key] as string[]).includes('none'), `${key} never lists none`);
    }
    // The ID token is signed with an advertised algorithm.
    const tokens = await tokensFor('web', 'openid');
    const header = JSON.parse(
      Buffer.from((tokens.id_token as string).split('.')[0] as string, 'base64url').toString(),
    ) as { alg: string };
    assert.ok((d.id_token_signing_alg_values_supported as string[]).includes(header.alg));
  });

  test('every advertised endpoint is served', async () => {
    const d = await discovery();
    for (const [key, value] of Object.entries(d)) {
      if (!(key.endsWith('_endpoint') || key === 'jwks_uri')) continue;
      assert.equal(typeof value, 'string', key);
      const url = value as string;
      assert.ok(url.startsWith(`${t.issuer}/`), `${key} is under the issuer`);
      const method =
        key === 'authorization_endpoint' || key === 'userinfo_endpoint' || key === 'jwks_uri'
          ? 'GET'
          : 'POST';
      const res = await call(url, {
        method,
        ...(method === 'POST'
          ? { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' }
          : {}),
      });
      assert.notEqual(res.status, 404, `${key} ${url} is served`);
      assert.ok(res.status < 500, `${key}: ${res.status}`);
    }
  });

  /** Discovery fetched with forged Host / X-Forwarded-* headers names the configured issuer only. */
  async function assertIssuerUnchanged(server: TestServer): Promise<void> {
    const url = `${server.issuer}/.well-known/openid-configuration`;
    const forged: Record<string, string>[] = [
      { host: 'evil.example' },
      { 'x-forwarded-host': 'evil.example' },
      { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' },
      { forwarded: 'host=evil.example;proto=https' },
    ];
    for (const headers of forged) {
      const res = await rawGet(url, headers);
      if (res.status === 400 || res.status === 421) continue;
      assert.equal(res.status, 200, `${JSON.stringify(headers)}: ${res.body}`);
      assert.ok(!res.body.includes('evil.example'), `${JSON.stringify(headers)}: ${res.body}`);
      const d = JSON.parse(res.body) as Record<string, unknown>;
      assert.equal(d.issuer, server.issuer);
      assert.equal(d.token_endpoint, `${server.issuer}/token`);
      assert.equal(d.authorization_endpoint, `${server.issuer}/authorize`);
    }
  }

  test('the issuer is not taken from Host or X-Forwarded-Host', async () => {
    await assertIssuerUnchanged(t);
  });

  test('nor behind a trusted proxy (trustProxy: true)', async () => {
    const proxied = await startTestServer({ server: { trustProxy: true } });
    try {
      await assertIssuerUnchanged(proxied);
    } finally {
      await proxied.close();
    }
  });

  test('/jwk holds public keys only, each with a kid', async () => {
    const res = await call(`${t.issuer}/jwk`);
    assert.equal(res.status, 200, res.text);
    const keys = res.json.keys as Record<string, unknown>[];
    assert.ok(Array.isArray(keys) && keys.length > 0, 'at least one key');
    const kids = new Set<string>();
    for (const key of keys) {
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'])
        assert.equal(key[member], undefined, `no private member ${member} in ${key.kid}`);
      assert.equal(typeof key.kid, 'string');
      assert.ok((key.kid as string).length > 0);
      assert.ok(!kids.has(key.kid as string), 'kids are unique');
      kids.add(key.kid as string);
      assert.notEqual(key.kty, 'oct', 'no symmetric keys');
    }
  });
});

describe('expiry', () => {
  // Runs last: it moves the server's clock forward.
  test('an expired access token is {active:false} and UserInfo answers 401', async () => {
    const tokens = await tokensFor('web');
    assert.ok(tokens.refresh_token);
    const before = await introspect('web', { token: tokens.access_token });
    assert.equal(before.json.active, true);
    const lifetime = (before.json.exp as number) - t.clock.now();
    t.clock.advance(lifetime + 1);

    for (const as of ['web', 'rs'] as const) {
      const res = await introspect(as, { token: tokens.access_token });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json, { active: false }, `${as} sees it expired`);
    }
    assertInvalidToken(await userinfo(tokens.access_token));
    // The refresh token outlives the access token.
    assert.equal(await isActive(tokens.refresh_token), true);
    // Revoking an expired token is still 200.
    assert.equal((await revoke('web', { token: tokens.access_token })).status, 200);
  });

  test('an expired refresh token is {active:false}', async () => {
    const tokens = await tokensFor('web');
    assert.ok(tokens.refresh_token);
    const res = await introspect('web', { token: tokens.refresh_token });
    assert.equal(res.json.active, true);
    t.clock.advance((res.json.exp as number) - t.clock.now() + 1);
    assert.deepEqual((await introspect('web', { token: tokens.refresh_token })).json, { active: false });
    assertError(await refresh('web', tokens.refresh_token), 400, 'invalid_grant');
  });
});
