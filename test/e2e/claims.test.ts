// Claims: the scope's claims in ID tokens and at UserInfo, the `claims` request parameter, acr (OIDC Core §5.4, §5.5,
// §2, §3.1.2.1), and what discovery says about them.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { alice, defaultProvider, demoClient, startTestServer, type TestServer } from '../helpers/server.js';
import { authorizeUrl, basic, postForm, signIn, UserAgent } from '../helpers/user-agent.js';

const acrValues = ['urn:example:acr:password', 'urn:example:acr:basic'];
const redirectUri = demoClient.redirect_uris[0] as string;

/** A second provider that keeps scope claims out of ID tokens when an access token goes with them. */
const leanImplicit = {
  client_id: 'lean-implicit',
  redirect_uris: ['https://lean.example/cb'],
  grant_types: ['implicit'] as 'implicit'[],
  response_types: ['id_token'],
  token_endpoint_auth_method: 'none' as const,
  scope: 'openid email',
};

let t: TestServer;
/** One browser, logged in as alice once: later requests need no password, only consent where it is new. */
const ua = new UserAgent();

before(async () => {
  t = await startTestServer({
    providers: [
      { ...defaultProvider(), acrValues },
      {
        name: 'lean',
        scopeClaimsInIdToken: false,
        clients: [demoClient, leanImplicit],
        users: [alice],
      },
    ],
  });
});
after(() => t.close());

interface Tokens {
  access_token: string;
  id_token: string;
  refresh_token?: string;
  idClaims: Record<string, unknown>;
}

/** Runs an authorization request for the demo client in the shared browser and redeems the code. */
async function codeFlow(params: Record<string, string>, issuer = t.issuer): Promise<Tokens> {
  const cb = await signIn(
    ua,
    authorizeUrl(issuer, {
      response_type: 'code',
      client_id: demoClient.client_id,
      redirect_uri: redirectUri,
      state: 'st',
      ...params,
    }),
  );
  const code = cb.searchParams.get('code');
  assert.ok(code, `no code: ${cb.href}`);
  const res = await postForm(
    `${issuer}/token`,
    { grant_type: 'authorization_code', code, redirect_uri: redirectUri },
    { authorization: basic(demoClient.client_id, demoClient.client_secret) },
  );
  assert.equal(res.status, 200, JSON.stringify(res.json));
  const tokens = res.json as unknown as Tokens;
  // Every ID token here verifies against the published keys.
  const { payload } = await jwtVerify(tokens.id_token, createRemoteJWKSet(new URL(`${issuer}/jwk`)), {
    issuer,
    audience: demoClient.client_id,
  });
  return { ...tokens, idClaims: payload };
}

async function userinfo(accessToken: string, issuer = t.issuer): Promise<Record<string, unknown>> {
  const res = await fetch(`${issuer}/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  return (await res.json()) as Record<string, unknown>;
}

/** The error an authorization request is refused with, before any page. */
async function refusal(params: Record<string, string>): Promise<URL> {
  const res = await new UserAgent().get(
    authorizeUrl(t.issuer, {
      response_type: 'code',
      client_id: demoClient.client_id,
      redirect_uri: redirectUri,
      scope: 'openid',
      state: 'refused',
      ...params,
    }),
  );
  assert.equal(res.status, 303);
  const location = new URL(res.headers.get('location') ?? '');
  assert.equal(location.origin + location.pathname, redirectUri, 'delivered to the redirect URI');
  assert.equal(location.searchParams.get('state'), 'refused');
  assert.equal(location.searchParams.get('code'), null);
  return location;
}

describe('claims by scope (OIDC Core §5.4)', () => {
  test('oidcc-scope-profile / -email / -address / -phone / -all: UserInfo has the scope claims, and by default the ID token too', async () => {
    const tokens = await codeFlow({ scope: 'openid profile email address phone' });
    const info = await userinfo(tokens.access_token);
    assert.equal(info.sub, tokens.idClaims.sub);
    assert.equal(info.name, alice.claims.name);
    assert.equal(info.email, alice.claims.email);
    assert.equal(info.email_verified, true);
    assert.equal(info.phone_number, alice.claims.phone_number);
    assert.deepEqual(info.address, alice.claims.address);
    // scopeClaimsInIdToken defaults to true: what most relying-party libraries read.
    assert.equal(tokens.idClaims.email, alice.claims.email);
    assert.equal(tokens.idClaims.name, alice.claims.name);
  });

  test('scopeClaimsInIdToken: false keeps them at UserInfo only; without an access token they go in the ID token', async () => {
    const lean = t.issuerOf('lean');
    const tokens = await codeFlow({ scope: 'openid email' }, lean);
    assert.equal(tokens.idClaims.email, undefined);
    assert.equal((await userinfo(tokens.access_token, lean)).email, alice.claims.email);

    // response_type=id_token: no access token, so the scope's claims must be in the ID token (OIDC Core §5.4).
    const cb = await signIn(
      ua,
      authorizeUrl(lean, {
        response_type: 'id_token',
        client_id: leanImplicit.client_id,
        redirect_uri: leanImplicit.redirect_uris[0] as string,
        scope: 'openid email',
        nonce: 'n-lean',
        state: 'st',
      }),
    );
    const idToken = new URLSearchParams(cb.hash.slice(1)).get('id_token');
    assert.ok(idToken, cb.href);
    const claims = decodeJwt(idToken);
    assert.equal(claims.email, alice.claims.email);
    assert.equal(claims.nonce, 'n-lean');
  });
});

describe('the claims request parameter (OIDC Core §5.5)', () => {
  test('oidcc-claims-essential (openid-client): name asked for at UserInfo is there, and not in the ID token', async () => {
    const config = await oidc.discovery(
      new URL(t.issuer),
      demoClient.client_id,
      demoClient.client_secret,
      oidc.ClientSecretBasic(demoClient.client_secret),
      { execute: [oidc.allowInsecureRequests] },
    );
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid',
      state,
      nonce,
      // Unknown claim names, claims the user lacks and a prototype-named one are ignored, not errors.
      claims: JSON.stringify({
        userinfo: { name: { essential: true }, nickname: null, x_custom: null, ['__proto__']: null },
        other_member: { ignored: true },
      }),
    });
    // The consent page names the claim asked for beyond the scope.
    const first = await ua.follow(url.href, new URL(t.issuer).origin);
    assert.match(first.body, /name="decision"/);
    assert.match(first.body, /Also these details: name/);
    const callback = await signIn(ua, url.href);
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      expectedState: state,
      expectedNonce: nonce,
    });
    const idClaims = tokens.claims();
    assert.ok(idClaims);
    assert.equal(idClaims.name, undefined, 'name was asked for at UserInfo only');
    const info = await oidc.fetchUserInfo(config, tokens.access_token, idClaims.sub);
    assert.equal(info.name, alice.claims.name);
    assert.equal(info.nickname, undefined);
    assert.equal(info.x_custom, undefined);
    assert.equal(info.email, undefined, 'neither scope nor claims asked for email');
  });

  test('the id_token member puts a claim in the ID token only; one more claim asks for consent again', async () => {
    const tokens = await codeFlow({
      scope: 'openid',
      claims: JSON.stringify({ id_token: { email: null, phone_number: { essential: false } } }),
    });
    assert.equal(tokens.idClaims.email, alice.claims.email);
    assert.equal(tokens.idClaims.phone_number, alice.claims.phone_number);
    const info = await userinfo(tokens.access_token);
    assert.equal(info.email, undefined);
    assert.equal(info.phone_number, undefined);

    // The same claims again: remembered, no page. A claim never consented to: the consent page again.
    const again = await ua.get(
      authorizeUrl(t.issuer, {
        response_type: 'code',
        client_id: demoClient.client_id,
        redirect_uri: redirectUri,
        scope: 'openid',
        claims: JSON.stringify({ id_token: { email: null } }),
      }),
    );
    assert.ok(again.headers.get('location')?.startsWith(redirectUri), 'remembered consent');
    const more = await ua.follow(
      authorizeUrl(t.issuer, {
        response_type: 'code',
        client_id: demoClient.client_id,
        redirect_uri: redirectUri,
        scope: 'openid',
        claims: JSON.stringify({ id_token: { email: null, address: null } }),
      }),
      new URL(t.issuer).origin,
    );
    assert.equal(more.status, 200);
    assert.match(more.body, /name="decision"/);
    assert.match(more.body, /Also these details: address, email/);
  });

  test('value and values do not filter the user’s claims; a refreshed ID token carries the same claims and acr', async () => {
    const tokens = await codeFlow({
      scope: 'openid offline_access',
      claims: JSON.stringify({
        id_token: { email: { value: 'someone-else@example.com' } },
        userinfo: { name: { values: ['Nobody'] } },
      }),
      acr_values: 'urn:example:acr:basic',
    });
    assert.equal(tokens.idClaims.email, alice.claims.email);
    assert.equal((await userinfo(tokens.access_token)).name, alice.claims.name);
    assert.equal(tokens.idClaims.acr, 'urn:example:acr:basic');
    assert.ok(tokens.refresh_token);

    const refreshed = await postForm(
      `${t.issuer}/token`,
      { grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string },
      { authorization: basic(demoClient.client_id, demoClient.client_secret) },
    );
    assert.equal(refreshed.status, 200);
    const claims = decodeJwt(refreshed.json.id_token as string);
    assert.equal(claims.email, alice.claims.email);
    assert.equal(claims.acr, 'urn:example:acr:basic');
    assert.equal((await userinfo(refreshed.json.access_token as string)).name, alice.claims.name);
  });

  test('a malformed claims parameter is invalid_request, delivered to the client', async () => {
    for (const claims of [
      'not json',
      '[]',
      '"userinfo"',
      JSON.stringify({ userinfo: [] }),
      JSON.stringify({ userinfo: { name: 'yes' } }),
      JSON.stringify({ id_token: { name: { essential: 'true' } } }),
      JSON.stringify({ id_token: { acr: { values: 'urn:x' } } }),
      JSON.stringify({ userinfo: { name: null }, pad: 'x'.repeat(5000) }),
    ]) {
      const location = await refusal({ claims });
      assert.equal(location.searchParams.get('error'), 'invalid_request', claims);
    }
  });
});

describe('acr (OIDC Core §2, §3.1.2.1, §5.5.1.1)', () => {
  test('oidcc-ensure-request-with-acr-values-succeeds: acr is the first requested value the provider supports; else the default', async () => {
    const asked = await codeFlow({ scope: 'openid', acr_values: 'urn:unknown:acr urn:example:acr:basic' });
    assert.equal(asked.idClaims.acr, 'urn:example:acr:basic');
    const unknownOnly = await codeFlow({ scope: 'openid', acr_values: 'urn:unknown:acr' });
    assert.equal(unknownOnly.idClaims.acr, acrValues[0]);
    const none = await codeFlow({ scope: 'openid' });
    assert.equal(none.idClaims.acr, acrValues[0], 'the ID token always says which acr was met');
  });

  test('an essential acr: a supported value is returned; one the provider cannot meet is access_denied before any page', async () => {
    const met = await codeFlow({
      scope: 'openid',
      claims: JSON.stringify({
        id_token: { acr: { essential: true, values: ['urn:x', 'urn:example:acr:basic'] } },
      }),
    });
    assert.equal(met.idClaims.acr, 'urn:example:acr:basic');

    const unmet = await refusal({
      claims: JSON.stringify({ id_token: { acr: { essential: true, value: 'urn:example:acr:mfa' } } }),
    });
    assert.equal(unmet.searchParams.get('error'), 'access_denied');
    assert.match(unmet.searchParams.get('error_description') ?? '', /acr/);
  });
});

describe('discovery (OpenID Connect Discovery §3)', () => {
  test('claims and request parameters are advertised as supported', async () => {
    const doc = (await (await fetch(`${t.issuer}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    assert.equal(doc.claims_parameter_supported, true);
    const claims = doc.claims_supported as string[];
    for (const c of ['sub', 'iss', 'auth_time', 'acr', 'sid', 'name', 'email', 'email_verified', 'address'])
      assert.ok(claims.includes(c), c);
    assert.deepEqual(doc.acr_values_supported, acrValues);
    assert.deepEqual(doc.display_values_supported, ['page', 'popup', 'touch', 'wap']);
    assert.equal(doc.request_parameter_supported, true);
    assert.equal(doc.request_uri_parameter_supported, true);
    assert.equal(doc.require_request_uri_registration, true);
    const algs = doc.request_object_signing_alg_values_supported as string[];
    assert.equal(algs[0], 'RS256');
    assert.ok(algs.includes('none'));
    assert.equal(doc.ui_locales_supported, undefined, 'the pages are not localized');
  });
});
