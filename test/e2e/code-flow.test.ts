// The authorization code flow end to end with openid-client as the relying party: login, consent, tokens, UserInfo, refresh.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import {
  alice,
  demoClient,
  postClient,
  publicClient,
  startTestServer,
  type TestServer,
} from '../helpers/server.js';
import { signIn, UserAgent } from '../helpers/user-agent.js';

let t: TestServer;

before(async () => {
  t = await startTestServer();
});
after(() => t.close());

async function rp(clientId: string, secret?: string, auth?: oidc.ClientAuth) {
  return oidc.discovery(new URL(t.issuer), clientId, secret, auth, { execute: [oidc.allowInsecureRequests] });
}

describe('authorization code flow with openid-client', () => {
  test('confidential client with client_secret_basic: code, tokens, ID token, UserInfo, refresh', async () => {
    const config = await rp(
      demoClient.client_id,
      demoClient.client_secret,
      oidc.ClientSecretBasic(demoClient.client_secret),
    );
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: demoClient.redirect_uris[0] as string,
      scope: 'openid profile email offline_access',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    const ua = new UserAgent();
    const callback = await signIn(ua, url.href);
    assert.equal(callback.searchParams.get('iss'), t.issuer);
    assert.equal(callback.searchParams.get('state'), state);

    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
    });
    assert.equal(tokens.token_type.toLowerCase(), 'bearer');
    assert.equal(typeof tokens.expires_in, 'number');
    assert.ok(tokens.refresh_token, 'refresh token issued with offline_access');
    assert.ok(tokens.access_token.length >= 22);

    // The ID token signature checks out against the published JWK Set.
    const jwks = createRemoteJWKSet(new URL(`${t.issuer}/jwk`));
    const { payload, protectedHeader } = await jwtVerify(tokens.id_token as string, jwks, {
      issuer: t.issuer,
      audience: demoClient.client_id,
    });
    assert.equal(protectedHeader.alg, 'RS256');
    assert.equal(payload.nonce, nonce);
    assert.equal(payload.azp, demoClient.client_id);
    assert.equal(typeof payload.auth_time, 'number');
    assert.equal(typeof payload.at_hash, 'string');
    assert.ok(payload.sub);
    // By default the scope's claims are in the ID token too (scopeClaimsInIdToken), as RP libraries expect.
    assert.equal(payload.email, alice.claims.email);
    assert.equal(payload.name, alice.claims.name);

    const info = await oidc.fetchUserInfo(config, tokens.access_token, payload.sub as string);
    assert.equal(info.sub, payload.sub);
    assert.equal(info.email, alice.claims.email);
    assert.equal(info.name, alice.claims.name);
    assert.equal(info.phone_number, undefined, 'phone scope was not asked for');

    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token as string);
    assert.notEqual(refreshed.access_token, tokens.access_token);
    assert.ok(refreshed.id_token);
    const again = await jwtVerify(refreshed.id_token as string, jwks, { issuer: t.issuer, audience: 'web' });
    assert.equal(again.payload.sub, payload.sub);
    assert.equal(again.payload.auth_time, payload.auth_time);
    const info2 = await oidc.fetchUserInfo(config, refreshed.access_token, payload.sub as string);
    assert.equal(info2.email, alice.claims.email);
  });

  test('a second sign-in with remembered consent goes straight back to the client', async () => {
    const config = await rp(demoClient.client_id, demoClient.client_secret);
    const ua = new UserAgent();
    const first = oidc.buildAuthorizationUrl(config, {
      redirect_uri: 'https://rp.example/cb',
      scope: 'openid email',
      state: 's1',
    });
    const cb1 = await signIn(ua, first.href);
    assert.ok(cb1.searchParams.get('code'));
    const second = oidc.buildAuthorizationUrl(config, {
      redirect_uri: 'https://rp.example/cb',
      scope: 'openid email',
      state: 's2',
    });
    const res = await ua.get(second.href);
    assert.equal(res.status, 303);
    const location = new URL(res.headers.get('location') as string);
    assert.equal(location.origin + location.pathname, 'https://rp.example/cb');
    assert.ok(location.searchParams.get('code'));
    assert.equal(location.searchParams.get('state'), 's2');

    // prompt=consent asks again even though consent is remembered.
    const third = oidc.buildAuthorizationUrl(config, {
      redirect_uri: 'https://rp.example/cb',
      scope: 'openid email',
      state: 's3',
      prompt: 'consent',
    });
    const page = await ua.follow(third.href, new URL(t.issuer).origin);
    assert.equal(page.status, 200);
    assert.match(page.body, /name="decision" value="allow"/);
  });

  test('public client with PKCE (none) and client_secret_post client', async () => {
    const spa = await rp(publicClient.client_id, undefined, oidc.None());
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(spa, {
      redirect_uri: publicClient.redirect_uris[0] as string,
      scope: 'openid email offline_access',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: 'st',
    });
    const cb = await signIn(new UserAgent(), url.href);
    const tokens = await oidc.authorizationCodeGrant(spa, cb, {
      pkceCodeVerifier: verifier,
      expectedState: 'st',
    });
    assert.ok(tokens.id_token && tokens.refresh_token);
    const claims = tokens.claims();
    assert.equal(claims?.aud, 'spa');
    // Public clients rotate: the new refresh token differs.
    const refreshed = await oidc.refreshTokenGrant(spa, tokens.refresh_token as string);
    assert.ok(refreshed.refresh_token);
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token);

    const poster = await rp(
      postClient.client_id,
      postClient.client_secret,
      oidc.ClientSecretPost(postClient.client_secret),
    );
    const url2 = oidc.buildAuthorizationUrl(poster, {
      redirect_uri: 'https://poster.example/cb',
      scope: 'openid email',
      state: 'p',
    });
    const cb2 = await signIn(new UserAgent(), url2.href);
    const t2 = await oidc.authorizationCodeGrant(poster, cb2, { expectedState: 'p' });
    assert.equal(
      decodeProtectedHeader(t2.id_token as string).kid,
      ((await (await fetch(`${t.issuer}/jwk`)).json()) as { keys: { kid: string }[] }).keys[0]?.kid,
    );
    assert.equal(t2.refresh_token, undefined, 'no refresh_token grant for this client');
  });
});
