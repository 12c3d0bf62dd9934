// Token and UserInfo endpoint errors (RFC 6749 §2.3, §3.2, §4.1.3, §5, §6, §10.5; RFC 7636 §4.6; RFC 6750 §2-3;
// RFC 9700 §2.2.2, §4.8.2, §4.14.2; OIDC Core §3.1.3, §5.3; checklist A8-A10, T1-T2, T4-T8, R1-R2, C1, U1, C9, O2).

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
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

import { authorizeUrl, basic, obtainCode, pkcePair, signIn, UserAgent } from '../helpers/user-agent.js';

type ClientName = 'web' | 'spa' | 'poster';

interface IssuedCode {
  code: string;
  verifier: string | undefined;
  redirectUri: string;
}

const clients = { web: demoClient, spa: publicClient, poster: postClient } as const;

/** Every code, token and secret used in this file, for the log check at the end (checklist O2). */
const used = new Set<string>([
  demoClient.client_secret,
  postClient.client_secret,
  alice.password,
  bob.password,
]);
const base64url43 = /^[A-Za-z0-9_-]{43,}$/;

function remember(...values: (string | undefined)[]): void {
  for (const v of values) if (v) used.add(v);
}

/** Checks the headers every token-side response has (RFC 6749 §5.1, checklist T7). */
function assertTokenHeaders(res: Reply): void {
  assert.match(res.headers.get('cache-control') ?? '', /no-store/, `Cache-Control on ${res.status}`);
  assert.match(res.headers.get('pragma') ?? '', /no-cache/, `Pragma on ${res.status}`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/, `Content-Type on ${res.status}`);
}

function assertError(res: Reply, status: number, error: string): void {
  assert.equal(res.status, status, `expected ${status} ${error}, got ${res.status} ${res.text}`);
  assert.equal(res.json.error, error, res.text);
  assert.equal(typeof res.json.error_description, 'string');
}

let t: TestServer;
/** One browser per user, so consent and the session carry over between sign-ins. */
const browsers = new Map<string, UserAgent>();

/** POST /token with a raw form body; checks the headers every token response must have. */
async function tokenRaw(body: string, headers: Record<string, string> = {}, query = ''): Promise<Reply> {
  const res = await call(`${t.issuer}/token${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body,
  });
  assertTokenHeaders(res);
  remember(
    res.json.access_token as string | undefined,
    res.json.refresh_token as string | undefined,
    res.json.id_token as string | undefined,
  );
  return res;
}

function token(
  form: Record<string, string>,
  headers: Record<string, string> = {},
  query = '',
): Promise<Reply> {
  return tokenRaw(new URLSearchParams(form).toString(), headers, query);
}

/** The client's registered authentication: Basic for web, body secret for poster, client_id for spa. */
function authAs(client: ClientName): { form: Record<string, string>; headers: Record<string, string> } {
  if (client === 'web')
    return { form: {}, headers: { authorization: basic('web', demoClient.client_secret) } };
  if (client === 'poster')
    return { form: { client_id: 'poster', client_secret: postClient.client_secret }, headers: {} };
  return { form: { client_id: 'spa' }, headers: {} };
}

/** Runs the browser part and returns a fresh code. PKCE is used unless `pkce: false`. */
async function getCode(
  client: ClientName,
  options: { scope?: string; pkce?: boolean; verifier?: string; user?: 'alice' | 'bob' } = {},
): Promise<IssuedCode> {
  const redirectUri = clients[client].redirect_uris[0] as string;
  const user = options.user ?? 'alice';
  const key = `${user}:${client}`;
  let ua = browsers.get(key);
  if (!ua) {
    ua = new UserAgent();
    browsers.set(key, ua);
  }
  let verifier: string | undefined;
  let challenge: string | undefined;
  if (options.pkce !== false) {
    const pair = pkcePair();
    verifier = options.verifier ?? pair.verifier;
    challenge = options.verifier
      ? createHash('sha256').update(options.verifier).digest('base64url')
      : pair.challenge;
  }
  const account = user === 'alice' ? alice : bob;
  const code = await obtainCode(t.issuer, {
    clientId: client,
    redirectUri,
    scope: options.scope ?? 'openid email offline_access',
    nonce: 'n',
    ...(challenge ? { challenge } : {}),
    ua,
    signIn: { username: account.username, password: account.password },
  });
  remember(code);
  return { code, verifier, redirectUri };
}

/** Redeems a code as `as` (default: the client it was issued to). */
function redeem(
  as: ClientName,
  issued: IssuedCode,
  override: Record<string, string | undefined> = {},
): Promise<Reply> {
  const auth = authAs(as);
  const form: Record<string, string | undefined> = {
    grant_type: 'authorization_code',
    code: issued.code,
    redirect_uri: issued.redirectUri,
    code_verifier: issued.verifier,
    ...auth.form,
    ...override,
  };
  const clean = Object.fromEntries(Object.entries(form).filter(([, v]) => v !== undefined)) as Record<
    string,
    string
  >;
  return token(clean, auth.headers);
}

function refresh(as: ClientName, refreshToken: string, extra: Record<string, string> = {}): Promise<Reply> {
  const auth = authAs(as);
  return token(
    { grant_type: 'refresh_token', refresh_token: refreshToken, ...auth.form, ...extra },
    auth.headers,
  );
}

async function userinfo(
  accessToken: string | undefined,
  init: { query?: string; method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...init.headers };
  if (accessToken !== undefined) headers.authorization = `Bearer ${accessToken}`;
  const res = await call(`${t.issuer}/userinfo${init.query ?? ''}`, {
    method: init.method ?? 'GET',
    headers,
    ...(init.body === undefined ? {} : { body: init.body }),
  });
  assert.match(res.headers.get('cache-control') ?? '', /no-store/, `UserInfo Cache-Control on ${res.status}`);
  assert.match(res.headers.get('pragma') ?? '', /no-cache/, `UserInfo Pragma on ${res.status}`);
  return res;
}

/** A full code flow: returns the token response of a fresh code. */
async function tokensFor(client: ClientName, scope = 'openid email offline_access'): Promise<Reply> {
  const issued = await getCode(client, { scope });
  const res = await redeem(client, issued);
  assert.equal(res.status, 200, res.text);
  return res;
}

before(async () => {
  t = await startTestServer();
});
after(() => t.close());

describe('token endpoint: method, parameters and client authentication', () => {
  test('GET /token → 405 JSON error with no-store', async () => {
    const res = await call(`${t.issuer}/token`, { method: 'GET' });
    assertTokenHeaders(res);
    assert.equal(res.status, 405, res.text);
    assert.equal(typeof res.json.error, 'string');
    assert.equal(typeof res.json.error_description, 'string');
    assert.match(res.headers.get('allow') ?? '', /POST/);
  });

  test('a successful token response has every field and the no-store headers (RFC 6749 §5.1)', async () => {
    const res = await tokensFor('web');
    assertTokenHeaders(res);
    assert.equal(typeof res.json.access_token, 'string');
    assert.equal(res.json.token_type, 'Bearer');
    assert.ok(Number.isInteger(res.json.expires_in) && (res.json.expires_in as number) > 0);
    assert.equal(typeof res.json.refresh_token, 'string', 'refresh_token with offline_access');
    assert.equal(typeof res.json.id_token, 'string');
    assert.equal((res.json.id_token as string).split('.').length, 3);
  });

  test('wrong secret with Basic → 401 invalid_client with WWW-Authenticate: Basic', async () => {
    const issued = await getCode('web');
    const res = await token(
      {
        grant_type: 'authorization_code',
        code: issued.code,
        redirect_uri: issued.redirectUri,
        code_verifier: issued.verifier ?? '',
      },
      { authorization: basic('web', 'wrong-secret') },
    );
    assertError(res, 401, 'invalid_client');
    assert.match(res.headers.get('www-authenticate') ?? '', /^Basic/);
  });

  test('unknown client with Basic → 401 invalid_client with WWW-Authenticate: Basic', async () => {
    const res = await token(
      { grant_type: 'authorization_code', code: 'x' },
      { authorization: basic('nope', 'x') },
    );
    assertError(res, 401, 'invalid_client');
    assert.match(res.headers.get('www-authenticate') ?? '', /^Basic/);
  });

  for (const [label, header] of [
    ['no credentials', 'Basic'],
    ['not base64', 'Basic !!!'],
    ['no colon', `Basic ${Buffer.from('nocolon').toString('base64')}`],
    ['empty client_id', `Basic ${Buffer.from(':secret').toString('base64')}`],
    ['bad percent-encoding', `Basic ${Buffer.from('web:%E2%8').toString('base64')}`],
  ] as const) {
    test(`malformed Basic header (${label}) → 401 invalid_client`, async () => {
      const res = await token(
        { grant_type: 'authorization_code', code: 'x', redirect_uri: 'https://rp.example/cb' },
        {
          authorization: header,
        },
      );
      assertError(res, 401, 'invalid_client');
      assert.match(res.headers.get('www-authenticate') ?? '', /^Basic/);
    });
  }

  test('Basic plus client_secret in the body → 400 invalid_request (RFC 6749 §2.3)', async () => {
    const issued = await getCode('web');
    const res = await redeem('web', issued, { client_id: 'web', client_secret: demoClient.client_secret });
    assertError(res, 400, 'invalid_request');
    assert.equal(res.json.access_token, undefined);
  });

  test('a client_secret_basic client sending its secret in the body → 401 invalid_client', async () => {
    const issued = await getCode('web');
    const res = await token({
      grant_type: 'authorization_code',
      code: issued.code,
      redirect_uri: issued.redirectUri,
      code_verifier: issued.verifier ?? '',
      client_id: 'web',
      client_secret: demoClient.client_secret,
    });
    assertError(res, 401, 'invalid_client');
  });

  test('a client_secret_post client using Basic → 401 invalid_client', async () => {
    const issued = await getCode('poster', { pkce: false, scope: 'openid email' });
    const res = await token(
      { grant_type: 'authorization_code', code: issued.code, redirect_uri: issued.redirectUri },
      { authorization: basic('poster', postClient.client_secret) },
    );
    assertError(res, 401, 'invalid_client');
    assert.match(res.headers.get('www-authenticate') ?? '', /^Basic/);
  });

  test('a client_secret_post client with a wrong secret → 401 invalid_client', async () => {
    const issued = await getCode('poster', { pkce: false, scope: 'openid email' });
    const res = await redeem('poster', issued, { client_secret: 'wrong-secret' });
    assertError(res, 401, 'invalid_client');
  });

  test('a confidential client with no credentials (client_id only) → 401 invalid_client (checklist C1)', async () => {
    const issued = await getCode('web');
    const res = await token({
      grant_type: 'authorization_code',
      code: issued.code,
      redirect_uri: issued.redirectUri,
      code_verifier: issued.verifier ?? '',
      client_id: 'web',
    });
    assertError(res, 401, 'invalid_client');
  });

  test('no client identification at all → 401 invalid_client', async () => {
    const res = await token({
      grant_type: 'authorization_code',
      code: 'x',
      redirect_uri: 'https://rp.example/cb',
    });
    assertError(res, 401, 'invalid_client');
  });

  test('grant_type=password → 400 unsupported_grant_type (checklist A10)', async () => {
    const res = await token(
      { grant_type: 'password', username: 'alice', password: 'alice-password' },
      authAs('web').headers,
    );
    assertError(res, 400, 'unsupported_grant_type');
    assert.equal(res.json.access_token, undefined);
  });

  test('grant_type=bogus → 400 unsupported_grant_type', async () => {
    const res = await token({ grant_type: 'bogus' }, authAs('web').headers);
    assertError(res, 400, 'unsupported_grant_type');
  });

  test('missing grant_type → 400 invalid_request', async () => {
    const issued = await getCode('web');
    const res = await redeem('web', issued, { grant_type: undefined });
    assertError(res, 400, 'invalid_request');
  });

  test('client_secret in the URL query → 400 (RFC 6749 §2.3.1)', async () => {
    const issued = await getCode('poster', { pkce: false, scope: 'openid email' });
    const res = await token(
      {
        grant_type: 'authorization_code',
        code: issued.code,
        redirect_uri: issued.redirectUri,
        client_id: 'poster',
      },
      {},
      `?client_secret=${encodeURIComponent(postClient.client_secret)}`,
    );
    assert.equal(res.status, 400, res.text);
    assert.equal(typeof res.json.error, 'string');
    assert.equal(res.json.access_token, undefined);
  });

  test('a repeated parameter → 400 invalid_request', async () => {
    const issued = await getCode('web');
    const body = `${new URLSearchParams({ grant_type: 'authorization_code', code: issued.code, redirect_uri: issued.redirectUri, code_verifier: issued.verifier ?? '' }).toString()}&code=${issued.code}`;
    const res = await tokenRaw(body, authAs('web').headers);
    assertError(res, 400, 'invalid_request');
  });
});

describe('authorization_code grant', () => {
  test('a code redeemed twice: 200, then invalid_grant, and the first tokens are revoked (checklist T1, T2)', async () => {
    const issued = await getCode('web');
    const first = await redeem('web', issued);
    assert.equal(first.status, 200, first.text);
    const accessToken = first.json.access_token as string;
    const refreshToken = first.json.refresh_token as string;
    assert.equal((await userinfo(accessToken)).status, 200, 'the access token works before the replay');

    const second = await redeem('web', issued);
    assertError(second, 400, 'invalid_grant');
    assert.equal(second.json.access_token, undefined);

    const info = await userinfo(accessToken);
    assert.equal(info.status, 401, `access token after the replay: ${info.status} ${info.text}`);
    assertError(await refresh('web', refreshToken), 400, 'invalid_grant');
  });

  test('a code after its lifetime (60 s) + 1 s → invalid_grant (checklist T4)', async () => {
    const issued = await getCode('web');
    t.clock.advance(61);
    assertError(await redeem('web', issued), 400, 'invalid_grant');
  });

  test('a code redeemed by another client with valid credentials → invalid_grant (checklist T5)', async () => {
    const issued = await getCode('web');
    assertError(await redeem('poster', issued), 400, 'invalid_grant');
    assertError(await redeem('spa', issued), 400, 'invalid_grant');
  });

  test('a changed redirect_uri → invalid_grant (checklist T5)', async () => {
    const issued = await getCode('web');
    assertError(
      await redeem('web', issued, { redirect_uri: 'https://rp.example/cb/' }),
      400,
      'invalid_grant',
    );
  });

  test('a missing redirect_uri → invalid_grant (checklist T5)', async () => {
    const issued = await getCode('web');
    assertError(await redeem('web', issued, { redirect_uri: undefined }), 400, 'invalid_grant');
  });

  test('a wrong PKCE verifier → invalid_grant (checklist A9)', async () => {
    const issued = await getCode('web');
    assertError(await redeem('web', issued, { code_verifier: pkcePair().verifier }), 400, 'invalid_grant');
  });

  test('a missing PKCE verifier → invalid_grant (checklist A9)', async () => {
    const issued = await getCode('web');
    assertError(await redeem('web', issued, { code_verifier: undefined }), 400, 'invalid_grant');
  });

  test('a 42-character verifier is refused even when its hash matches the challenge (RFC 7636 §4.1)', async () => {
    const short = 'a'.repeat(42);
    const issued = await getCode('spa', { verifier: short });
    const res = await redeem('spa', issued);
    assert.equal(res.status, 400, res.text);
    // Checklist A9 allows invalid_grant or invalid_request here.
    assert.ok(['invalid_grant', 'invalid_request'].includes(res.json.error as string), res.text);
    assert.equal(res.json.access_token, undefined);
  });

  test('a 129-character verifier is refused even when its hash matches the challenge', async () => {
    const long = 'a'.repeat(129);
    const issued = await getCode('spa', { verifier: long });
    const res = await redeem('spa', issued);
    assert.equal(res.status, 400, res.text);
    assert.ok(['invalid_grant', 'invalid_request'].includes(res.json.error as string), res.text);
  });

  test('a verifier sent for a code issued without a challenge → invalid_grant (PKCE downgrade, checklist A8)', async () => {
    const issued = await getCode('web', { pkce: false });
    assertError(await redeem('web', issued, { code_verifier: pkcePair().verifier }), 400, 'invalid_grant');
  });

  test('public client (client_id only) with a wrong verifier → invalid_grant', async () => {
    const issued = await getCode('spa');
    assertError(await redeem('spa', issued, { code_verifier: pkcePair().verifier }), 400, 'invalid_grant');
    assertError(await redeem('spa', issued, { code_verifier: undefined }), 400, 'invalid_grant');
  });

  test('an unknown code → invalid_grant', async () => {
    assertError(
      await redeem('web', {
        code: 'x'.repeat(43),
        verifier: undefined,
        redirectUri: 'https://rp.example/cb',
      }),
      400,
      'invalid_grant',
    );
  });

  test('a refresh token sent as a code → invalid_grant', async () => {
    const tokens = await tokensFor('web');
    const res = await redeem('web', {
      code: tokens.json.refresh_token as string,
      verifier: undefined,
      redirectUri: 'https://rp.example/cb',
    });
    assertError(res, 400, 'invalid_grant');
  });

  test('codes and access tokens are ≥ 43 base64url characters and distinct across 20 issuances (checklist T6)', async () => {
    const codes = new Set<string>();
    const accessTokens = new Set<string>();
    const refreshTokens = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const issued = await getCode('web');
      assert.match(issued.code, base64url43);
      codes.add(issued.code);
      const res = await redeem('web', issued);
      assert.equal(res.status, 200, res.text);
      assert.match(res.json.access_token as string, base64url43);
      assert.match(res.json.refresh_token as string, base64url43);
      accessTokens.add(res.json.access_token as string);
      refreshTokens.add(res.json.refresh_token as string);
    }
    assert.equal(codes.size, 20);
    assert.equal(accessTokens.size, 20);
    assert.equal(refreshTokens.size, 20);
    const all = new Set([...codes, ...accessTokens, ...refreshTokens]);
    assert.equal(all.size, 60, 'no value is reused across kinds');
  });
});

describe('refresh_token grant', () => {
  test('a refresh token used by another client → invalid_grant (checklist R1)', async () => {
    const web = await tokensFor('web');
    assertError(await refresh('spa', web.json.refresh_token as string), 400, 'invalid_grant');
    const spa = await tokensFor('spa');
    assertError(await refresh('web', spa.json.refresh_token as string), 400, 'invalid_grant');
  });

  test('refresh with a wider scope → invalid_scope (checklist R1)', async () => {
    const web = await tokensFor('web', 'openid email offline_access');
    const res = await refresh('web', web.json.refresh_token as string, {
      scope: 'openid email profile offline_access',
    });
    assertError(res, 400, 'invalid_scope');
  });

  test('refresh with a narrower scope → 200 and the access token has only that scope', async () => {
    const web = await tokensFor('web', 'openid email offline_access');
    const res = await refresh('web', web.json.refresh_token as string, { scope: 'openid' });
    assert.equal(res.status, 200, res.text);
    // RFC 6749 §5.1: scope may be omitted when it is exactly what was asked for.
    if (res.json.scope !== undefined) assert.equal(res.json.scope, 'openid');
    const info = await userinfo(res.json.access_token as string);
    assert.equal(info.status, 200, info.text);
    assert.equal(info.json.email, undefined, 'email is not released to the narrowed token');
  });

  test('public client: reusing a rotated refresh token revokes the family (checklist R2)', async () => {
    const first = await tokensFor('spa');
    const rt1 = first.json.refresh_token as string;
    const second = await refresh('spa', rt1);
    assert.equal(second.status, 200, second.text);
    const rt2 = second.json.refresh_token as string;
    assert.ok(rt2 && rt2 !== rt1, 'rotated');
    assert.equal((await userinfo(second.json.access_token as string)).status, 200);

    assertError(await refresh('spa', rt1), 400, 'invalid_grant');
    assertError(await refresh('spa', rt2), 400, 'invalid_grant');
    assert.equal(
      (await userinfo(first.json.access_token as string)).status,
      401,
      'first access token revoked',
    );
    assert.equal(
      (await userinfo(second.json.access_token as string)).status,
      401,
      'second access token revoked',
    );
  });

  test('missing refresh_token → invalid_request; unknown refresh token → invalid_grant', async () => {
    assertError(await token({ grant_type: 'refresh_token' }, authAs('web').headers), 400, 'invalid_request');
    assertError(await refresh('web', 'y'.repeat(43)), 400, 'invalid_grant');
  });

  test('an access token sent as a refresh token → invalid_grant', async () => {
    const web = await tokensFor('web');
    assertError(await refresh('web', web.json.access_token as string), 400, 'invalid_grant');
  });

  test('a client without the refresh_token grant → unauthorized_client', async () => {
    const web = await tokensFor('web');
    const res = await refresh('poster', web.json.refresh_token as string);
    assert.equal(res.status, 400, res.text);
    assert.ok(['unauthorized_client', 'invalid_grant'].includes(res.json.error as string), res.text);
  });
});

describe('UserInfo endpoint errors (RFC 6750 §3, OIDC Core §5.3.3)', () => {
  test('no token → 401 with WWW-Authenticate: Bearer', async () => {
    const res = await userinfo(undefined);
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
  });

  test('a bad token → 401 with error="invalid_token"', async () => {
    const res = await userinfo('not-a-real-token');
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
    assert.match(res.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
  });

  test('?access_token= in the query → 400, even with a valid token (RFC 9700 §2.4)', async () => {
    const tokens = await tokensFor('web');
    const res = await userinfo(undefined, {
      query: `?access_token=${encodeURIComponent(tokens.json.access_token as string)}`,
    });
    assert.equal(res.status, 400, res.text);
    assert.equal(res.json.sub, undefined);
  });

  test('the ID token presented as the bearer → 401 (checklist C9)', async () => {
    const tokens = await tokensFor('web');
    const res = await userinfo(tokens.json.id_token as string);
    assert.equal(res.status, 401, res.text);
    assert.match(res.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
  });

  test('the refresh token presented as the bearer → 401', async () => {
    const tokens = await tokensFor('web');
    const res = await userinfo(tokens.json.refresh_token as string);
    assert.equal(res.status, 401, res.text);
    assert.match(res.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
  });

  test('an access token without the openid scope → 403 insufficient_scope', async () => {
    // web may ask for `email` alone: a plain OAuth request, no ID token.
    const issued = await getCode('web', { scope: 'email' });
    const res = await redeem('web', issued);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.id_token, undefined, 'no ID token without openid');
    const info = await userinfo(res.json.access_token as string);
    assert.equal(info.status, 403, info.text);
    assert.match(info.headers.get('www-authenticate') ?? '', /error="insufficient_scope"/);
    assert.equal(info.json.email, undefined);
  });

  test('a valid token answers 200 with no-store', async () => {
    const tokens = await tokensFor('web');
    const info = await userinfo(tokens.json.access_token as string);
    assert.equal(info.status, 200, info.text);
    assert.equal(typeof info.json.sub, 'string');
  });

  test('a non-Bearer scheme → 401 with WWW-Authenticate: Bearer', async () => {
    const res = await userinfo(undefined, {
      headers: { authorization: basic('web', demoClient.client_secret) },
    });
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
  });
});

describe('expiry of access tokens (a server of its own: the clock moves an hour)', () => {
  let t2: TestServer;
  before(async () => {
    t2 = await startTestServer();
  });
  after(() => t2.close());

  test('an expired access token → 401 error="invalid_token" (checklist U1)', async () => {
    const verifier = pkcePair();
    const callback = await signIn(
      new UserAgent(),
      authorizeUrl(t2.issuer, {
        response_type: 'code',
        client_id: 'spa',
        redirect_uri: publicClient.redirect_uris[0] as string,
        scope: 'openid',
        code_challenge: verifier.challenge,
        code_challenge_method: 'S256',
      }),
    );
    const res = await call(`${t2.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: callback.searchParams.get('code') ?? '',
        redirect_uri: publicClient.redirect_uris[0] as string,
        code_verifier: verifier.verifier,
        client_id: 'spa',
      }).toString(),
    });
    assert.equal(res.status, 200, res.text);
    const accessToken = res.json.access_token as string;
    remember(accessToken, callback.searchParams.get('code') ?? undefined);
    const expiresIn = res.json.expires_in as number;
    const ok = await call(`${t2.issuer}/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } });
    assert.equal(ok.status, 200);
    t2.clock.advance(expiresIn + 1);
    const expired = await call(`${t2.issuer}/userinfo`, {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    assert.equal(expired.status, 401);
    assert.match(expired.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
  });

  test('no code, token or secret of this file is in either server log (checklist O2)', () => {
    assert.ok(used.size > 50, `values collected: ${used.size}`);
    for (const line of [...t.logs, ...t2.logs]) {
      for (const value of used)
        assert.ok(!line.includes(value), `log line holds a secret value: ${line.slice(0, 300)}`);
      assert.ok(!line.includes('client_secret='), line);
      assert.ok(!line.includes('password='), line);
    }
  });
});
