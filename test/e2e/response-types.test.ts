// Response types and modes (OIDC Core §3.2, §3.3; Multiple Response Types; Form Post Response Mode): the
// conformance suite's Implicit, Hybrid and Form Post plans, run through real HTTP and openid-client.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createRemoteJWKSet, decodeJwt, type JWTPayload, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { buildConfig, ConfigError } from '../../src/config/load.js';
import { alice, bob, demoClient, startTestServer, type TestServer } from '../helpers/server.js';
import { authorize, authorizeUrl, basic, postForm, UserAgent } from '../helpers/user-agent.js';

/** A confidential web client registered for every response type (the Hybrid and Implicit OP plans). */
const hybrid = {
  client_id: 'hybrid',
  client_secret: 'hybrid-secret-0123456789abcdefghijkl',
  redirect_uris: ['https://hybrid.example/cb', 'https://hybrid.example/cb?keep=1'],
  grant_types: ['authorization_code', 'implicit', 'refresh_token'] as (
    | 'authorization_code'
    | 'implicit'
    | 'refresh_token'
  )[],
  response_types: [
    'code',
    'id_token',
    'id_token token',
    'code id_token',
    'code token',
    'code id_token token',
  ] as ('code' | 'id_token' | 'id_token token' | 'code id_token' | 'code token' | 'code id_token token')[],
  scope: 'openid profile email offline_access',
};
const redirect = hybrid.redirect_uris[0] as string;

let t: TestServer;
/** A second provider that keeps the scope's claims out of ID tokens issued with an access token. */
const quiet = 'quiet';

before(async () => {
  t = await startTestServer({
    providers: [
      { name: 'default', clients: [demoClient, hybrid], users: [alice, bob] },
      { name: quiet, clients: [hybrid], users: [alice], scopeClaimsInIdToken: false },
    ],
  });
});
after(() => t.close());

/** left-half hash, base64url (OIDC Core §3.3.2.11) for RS256. */
function halfHash(value: string): string {
  const d = createHash('sha256').update(value, 'ascii').digest();
  return d.subarray(0, 16).toString('base64url');
}

async function verified(idToken: string, issuer = t.issuer): Promise<JWTPayload> {
  const jwks = createRemoteJWKSet(new URL(`${issuer}/jwk`));
  const { payload } = await jwtVerify(idToken, jwks, { issuer, audience: hybrid.client_id });
  return payload;
}

interface FlowOptions {
  responseType: string;
  responseMode?: string;
  nonce?: string | null;
  state?: string;
  scope?: string;
  issuer?: string;
  redirectUri?: string;
  ua?: UserAgent;
}

/** Runs the browser part and returns the response parameters, wherever the mode put them. */
async function run(o: FlowOptions) {
  const issuer = o.issuer ?? t.issuer;
  const params: Record<string, string> = {
    response_type: o.responseType,
    client_id: hybrid.client_id,
    redirect_uri: o.redirectUri ?? redirect,
    scope: o.scope ?? 'openid email',
    state: o.state ?? 'st-123',
  };
  if (o.nonce !== null) params.nonce = o.nonce ?? 'n-456';
  if (o.responseMode) params.response_mode = o.responseMode;
  const response = await authorize(o.ua ?? new UserAgent(), authorizeUrl(issuer, params));
  if (response.kind === 'form_post') {
    return { where: 'form_post' as const, params: new URLSearchParams(response.fields), response };
  }
  const { location } = response;
  if (location.hash)
    return { where: 'fragment' as const, params: new URLSearchParams(location.hash.slice(1)), response };
  return { where: 'query' as const, params: location.searchParams, response };
}

/** openid-client configured for the hybrid client from discovery (http issuer: development only). */
function hybridRp(): Promise<oidc.Configuration> {
  return oidc.discovery(new URL(t.issuer), hybrid.client_id, hybrid.client_secret, undefined, {
    execute: [oidc.allowInsecureRequests],
  });
}

async function redeem(code: string, issuer = t.issuer) {
  return postForm(
    `${issuer}/token`,
    { grant_type: 'authorization_code', code, redirect_uri: redirect },
    { authorization: basic(hybrid.client_id, hybrid.client_secret) },
  );
}

describe('discovery lists every response type and mode (oidcc-discovery-endpoint-verification)', () => {
  test('response_types_supported, response_modes_supported and grant_types_supported', async () => {
    const doc = (await (await fetch(`${t.issuer}/.well-known/openid-configuration`)).json()) as Record<
      string,
      string[]
    >;
    for (const rt of [
      'code',
      'id_token',
      'id_token token',
      'code id_token',
      'code token',
      'code id_token token',
    ])
      assert.ok(doc.response_types_supported?.includes(rt), rt);
    assert.deepEqual(doc.response_modes_supported, ['query', 'fragment', 'form_post']);
    assert.ok(doc.grant_types_supported?.includes('implicit'));
    assert.ok(doc.grant_types_supported?.includes('authorization_code'));
  });
});

describe('Implicit OP (oidcc-server with response_type id_token and id_token token)', () => {
  test('id_token: in the fragment, nonce echoed, the scope claims in the ID token, no at_hash or c_hash', async () => {
    // The quiet provider keeps scope claims out of ID tokens only when an access token is issued (OIDC Core §5.4).
    const r = await run({ responseType: 'id_token', issuer: t.issuerOf(quiet) });
    assert.equal(r.where, 'fragment');
    assert.equal(r.params.get('state'), 'st-123');
    assert.equal(r.params.get('iss'), t.issuerOf(quiet));
    assert.equal(r.params.get('code'), null);
    assert.equal(r.params.get('access_token'), null);
    const idt = await verified(r.params.get('id_token') as string, t.issuerOf(quiet));
    assert.equal(idt.nonce, 'n-456');
    assert.equal(idt.email, alice.claims.email);
    assert.equal(idt.at_hash, undefined);
    assert.equal(idt.c_hash, undefined);
    assert.equal(idt.s_hash, halfHash('st-123'));
    assert.equal(typeof idt.auth_time, 'number');
  });

  test('id_token token: the access token works at UserInfo and at_hash binds it', async () => {
    const r = await run({ responseType: 'id_token token' });
    assert.equal(r.where, 'fragment');
    const at = r.params.get('access_token') as string;
    assert.ok(at);
    assert.equal(r.params.get('token_type'), 'Bearer');
    assert.ok(Number(r.params.get('expires_in')) > 0);
    const idt = await verified(r.params.get('id_token') as string);
    assert.equal(idt.at_hash, halfHash(at));
    const info = await fetch(`${t.issuer}/userinfo`, { headers: { authorization: `Bearer ${at}` } });
    assert.equal(info.status, 200);
    assert.equal(((await info.json()) as { sub: string }).sub, idt.sub);
  });

  test('an id_token response type without the openid scope → invalid_scope (OIDC Core §3.2.2.1)', async () => {
    for (const responseType of ['id_token', 'code id_token']) {
      const r = await run({ responseType, scope: 'profile' });
      assert.equal(r.params.get('error'), 'invalid_scope', responseType);
      assert.equal(r.params.get('id_token'), null);
    }
  });

  test('token values in a fragment never reach a log line', async () => {
    const r = await run({ responseType: 'id_token token' });
    const at = r.params.get('access_token') as string;
    const idt = r.params.get('id_token') as string;
    const logs = t.logs.join('\n');
    assert.equal(logs.includes(at), false);
    assert.equal(logs.includes(idt), false);
    assert.equal(logs.includes(idt.split('.')[2] as string), false);
  });

  test('nonce is required whenever an ID token leaves the authorization endpoint', async () => {
    for (const responseType of ['id_token', 'id_token token', 'code id_token', 'code id_token token']) {
      const r = await run({ responseType, nonce: null });
      assert.equal(r.where, 'fragment', responseType);
      assert.equal(r.params.get('error'), 'invalid_request', responseType);
      assert.equal(r.params.get('state'), 'st-123');
      assert.equal(r.params.get('iss'), t.issuer);
    }
  });

  test('openid-client implicitAuthentication accepts the response', async () => {
    const config = await hybridRp();
    oidc.useIdTokenResponseType(config);
    const nonce = oidc.randomNonce();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirect,
      scope: 'openid email',
      nonce,
      state,
    });
    const response = await authorize(new UserAgent(), url.href);
    assert.equal(response.kind, 'redirect');
    if (response.kind !== 'redirect') return;
    const claims = await oidc.implicitAuthentication(config, response.location, nonce, {
      expectedState: state,
    });
    assert.equal(claims.email, alice.claims.email);
  });
});

describe('Hybrid OP (oidcc-server with code id_token, code token, code id_token token)', () => {
  test('code id_token: c_hash binds the code; the token endpoint ID token has the same sub', async () => {
    const r = await run({ responseType: 'code id_token' });
    assert.equal(r.where, 'fragment');
    const code = r.params.get('code') as string;
    const front = await verified(r.params.get('id_token') as string);
    assert.equal(front.c_hash, halfHash(code));
    assert.equal(front.at_hash, undefined);
    const res = await redeem(code);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const back = await verified(res.json.id_token as string);
    assert.equal(back.sub, front.sub);
    assert.equal(back.nonce, 'n-456');
  });

  test('code token: the front-channel access token works; a replayed code revokes it (RFC 6749 §4.1.2)', async () => {
    const r = await run({ responseType: 'code token' });
    const at = r.params.get('access_token') as string;
    const code = r.params.get('code') as string;
    assert.ok(at && code);
    assert.equal(r.params.get('id_token'), null);
    assert.equal((await redeem(code)).status, 200);
    assert.equal((await redeem(code)).json.error, 'invalid_grant');
    const info = await fetch(`${t.issuer}/userinfo`, { headers: { authorization: `Bearer ${at}` } });
    assert.equal(info.status, 401);
  });

  test('code id_token token: at_hash and c_hash both present and correct', async () => {
    const r = await run({ responseType: 'code id_token token' });
    const idt = await verified(r.params.get('id_token') as string);
    assert.equal(idt.at_hash, halfHash(r.params.get('access_token') as string));
    assert.equal(idt.c_hash, halfHash(r.params.get('code') as string));
  });

  test('the order of response_type values does not matter', async () => {
    const r = await run({ responseType: 'token id_token code' });
    assert.ok(r.params.get('code') && r.params.get('access_token') && r.params.get('id_token'));
  });

  test('openid-client hybrid flow (useCodeIdTokenResponseType) with form_post', async () => {
    const config = await hybridRp();
    oidc.useCodeIdTokenResponseType(config);
    const nonce = oidc.randomNonce();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirect,
      scope: 'openid email',
      nonce,
      state,
      response_mode: 'form_post',
    });
    const response = await authorize(new UserAgent(), url.href);
    assert.equal(response.kind, 'form_post');
    if (response.kind !== 'form_post') return;
    // The RP receives what the browser would POST.
    const callback = new Request(response.action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(response.fields).toString(),
    });
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      expectedNonce: nonce,
      expectedState: state,
    });
    assert.equal(tokens.claims()?.email, alice.claims.email);
  });
});

describe('Form Post OP (response_mode=form_post)', () => {
  test('an auto-submitting form to the redirect URI, with a CSP that allows exactly that form', async () => {
    const r = await run({ responseType: 'code', responseMode: 'form_post' });
    assert.equal(r.where, 'form_post');
    if (r.response.kind !== 'form_post') return;
    const { page, action } = r.response;
    assert.equal(action, redirect);
    assert.ok(r.params.get('code'));
    assert.equal(r.params.get('state'), 'st-123');
    assert.equal(r.params.get('iss'), t.issuer);
    // No code in any URL: the page is the answer, with no Location header.
    assert.equal(page.headers.get('location'), null);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /form-action https:\/\/hybrid\.example(;|$)/);
    assert.match(csp, /script-src 'sha256-[A-Za-z0-9+/=]+'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /default-src 'none'/);
    assert.equal(page.headers.get('cache-control'), 'no-store');
    assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
    // Works without JavaScript: a visible submit button.
    assert.match(page.body, /<button type="submit">/);
    // The code redeems.
    assert.equal((await redeem(r.params.get('code') as string)).status, 200);
  });

  test('errors too are posted, never put in a URL', async () => {
    const r = await run({ responseType: 'id_token', responseMode: 'form_post', nonce: null });
    assert.equal(r.where, 'form_post');
    assert.equal(r.params.get('error'), 'invalid_request');
    assert.equal(r.params.get('state'), 'st-123');
  });

  test('hostile values are escaped in the page', async () => {
    const state = '"><script>alert(1)</script>';
    const r = await run({ responseType: 'code', responseMode: 'form_post', state });
    if (r.response.kind !== 'form_post') throw new Error('expected form_post');
    assert.equal(r.response.page.body.includes('<script>alert(1)'), false);
    assert.equal(r.params.get('state'), state);
  });

  test('a registered redirect URI with a query keeps it (oidcc-redirect-uri-query-OK)', async () => {
    const r = await run({ responseType: 'code', redirectUri: hybrid.redirect_uris[1] as string });
    assert.equal(r.where, 'query');
    if (r.response.kind !== 'redirect') return;
    assert.equal(r.response.location.searchParams.get('keep'), '1');
    assert.ok(r.params.get('code'));
  });
});

describe('response types a client did not register, and modes that would leak tokens', () => {
  test('a code-only client asking for id_token → unsupported_response_type, in the query', async () => {
    const url = authorizeUrl(t.issuer, {
      response_type: 'id_token',
      client_id: demoClient.client_id,
      redirect_uri: demoClient.redirect_uris[0] as string,
      scope: 'openid',
      state: 's',
      nonce: 'n',
    });
    const response = await authorize(new UserAgent(), url);
    assert.equal(response.kind, 'redirect');
    if (response.kind !== 'redirect') return;
    assert.equal(response.location.searchParams.get('error'), 'unsupported_response_type');
    assert.equal(response.location.hash, '');
  });

  test('response_mode=query with a token response type → invalid_request, delivered in the fragment', async () => {
    const r = await run({ responseType: 'id_token token', responseMode: 'query' });
    assert.equal(r.where, 'fragment');
    assert.equal(r.params.get('error'), 'invalid_request');
    assert.equal(r.params.get('access_token'), null);
  });

  test('an unknown response_mode → invalid_request', async () => {
    const r = await run({ responseType: 'code', responseMode: 'web_message' });
    assert.equal(r.params.get('error'), 'invalid_request');
  });

  test('response_mode=fragment for code is honoured', async () => {
    const r = await run({ responseType: 'code', responseMode: 'fragment' });
    assert.equal(r.where, 'fragment');
    assert.ok(r.params.get('code'));
  });
});

describe('claims in ID tokens (OIDC Core §5.4, provider setting scopeClaimsInIdToken)', () => {
  test('default: the scope claims are in the token endpoint ID token too', async () => {
    const r = await run({ responseType: 'code' });
    const res = await redeem(r.params.get('code') as string);
    const idt = decodeJwt(res.json.id_token as string);
    assert.equal(idt.email, alice.claims.email);
  });

  test('scopeClaimsInIdToken: false keeps them out when an access token is issued', async () => {
    const r = await run({ responseType: 'code', issuer: t.issuerOf(quiet) });
    const res = await redeem(r.params.get('code') as string, t.issuerOf(quiet));
    const idt = decodeJwt(res.json.id_token as string);
    assert.equal(idt.email, undefined);
    const front = await run({ responseType: 'id_token token', issuer: t.issuerOf(quiet) });
    assert.equal(decodeJwt(front.params.get('id_token') as string).email, undefined);
  });
});

describe('configuration: implicit only where the client registered it (OIDC Registration §2)', () => {
  const base = (client: Record<string, unknown>) => ({
    providers: [
      { name: 'p', clients: [{ client_id: 'c', client_secret: 'c-secret-0123456789abcdef', ...client }] },
    ],
  });
  const problems = (client: Record<string, unknown>) => {
    try {
      buildConfig(base(client), {});
      return [];
    } catch (err) {
      if (err instanceof ConfigError) return err.problems.map((p) => `${p.path}: ${p.message}`);
      throw err;
    }
  };

  test('a response type needs its grant type', () => {
    const found = problems({ redirect_uris: ['https://rp.example/cb'], response_types: ['code id_token'] });
    assert.ok(
      found.some((p) =>
        p.startsWith('providers[0].clients[0].response_types[0]: code id_token needs implicit'),
      ),
      found.join('\n'),
    );
  });

  test('a configured web client using implicit may use a loopback redirect URI (an app on a developer machine)', () => {
    const found = problems({
      redirect_uris: ['http://127.0.0.1:3000/callback', 'http://localhost:3000/callback'],
      grant_types: ['implicit'],
      response_types: ['id_token'],
    });
    assert.deepEqual(found, []);
  });

  test('a registered web client using implicit registers only https redirect URIs, never localhost', async () => {
    const s = await startTestServer({
      providers: [{ name: 'reg', clients: [], users: [alice], registration: {} }],
    });
    try {
      for (const uri of ['http://127.0.0.1:3000/callback', 'https://localhost/cb']) {
        const res = await fetch(`${s.issuer}/registration`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            redirect_uris: [uri],
            grant_types: ['implicit'],
            response_types: ['id_token'],
            token_endpoint_auth_method: 'none',
          }),
        });
        assert.equal(res.status, 400, uri);
        assert.equal(((await res.json()) as { error: string }).error, 'invalid_redirect_uri', uri);
      }
    } finally {
      await s.close();
    }
  });

  test('response_types are written in any order and stored canonically', () => {
    const c = buildConfig(
      base({
        redirect_uris: ['https://rp.example/cb'],
        grant_types: ['authorization_code', 'implicit'],
        response_types: ['token id_token code', 'id_token'],
      }),
      {},
    );
    assert.deepEqual(c.providers[0]?.clients[0]?.response_types, ['code id_token token', 'id_token']);
  });
});
