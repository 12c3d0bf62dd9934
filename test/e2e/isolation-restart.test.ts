// Provider isolation (a token of one provider is worthless at another) and persistence across restarts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import {
  defaultProvider,
  demoClient,
  startTestServer,
  type TestServer,
  testStorage,
} from '../helpers/server.js';
import { authorizeUrl, basic, postForm, signIn, UserAgent } from '../helpers/user-agent.js';

let t: TestServer;
before(async () => {
  t = await startTestServer({ providers: [defaultProvider('one'), defaultProvider('two')] });
});
after(() => t.close());

const auth = basic(demoClient.client_id, demoClient.client_secret);

async function tokensAt(issuer: string) {
  const url = authorizeUrl(issuer, {
    response_type: 'code',
    client_id: 'web',
    redirect_uri: 'https://rp.example/cb',
    scope: 'openid email offline_access',
    state: 'x',
  });
  const cb = await signIn(new UserAgent(), url);
  assert.equal(cb.searchParams.get('iss'), issuer);
  const res = await postForm(
    `${issuer}/token`,
    {
      grant_type: 'authorization_code',
      code: cb.searchParams.get('code') as string,
      redirect_uri: 'https://rp.example/cb',
    },
    { authorization: auth },
  );
  assert.equal(res.status, 200);
  return { code: cb.searchParams.get('code') as string, ...res.json } as Record<string, string>;
}

async function userinfo(issuer: string, token: string) {
  return fetch(`${issuer}/userinfo`, { headers: { authorization: `Bearer ${token}` } });
}

describe('two providers in one process', () => {
  test('each has its own issuer and keys', async () => {
    const one = (await (await fetch(`${t.issuerOf('one')}/.well-known/openid-configuration`)).json()) as {
      issuer: string;
    };
    const two = (await (await fetch(`${t.issuerOf('two')}/.well-known/openid-configuration`)).json()) as {
      issuer: string;
    };
    assert.equal(one.issuer, t.issuerOf('one'));
    assert.equal(two.issuer, t.issuerOf('two'));
    const k1 = (await (await fetch(`${t.issuerOf('one')}/jwk`)).json()) as { keys: { kid: string }[] };
    const k2 = (await (await fetch(`${t.issuerOf('two')}/jwk`)).json()) as { keys: { kid: string }[] };
    assert.notEqual(k1.keys[0]?.kid, k2.keys[0]?.kid);
  });

  test('a token, refresh token or code of one provider is worthless at the other', async () => {
    const one = await tokensAt(t.issuerOf('one'));
    assert.equal((await userinfo(t.issuerOf('one'), one.access_token as string)).status, 200);
    assert.equal((await userinfo(t.issuerOf('two'), one.access_token as string)).status, 401);
    const refresh = await postForm(
      `${t.issuerOf('two')}/token`,
      { grant_type: 'refresh_token', refresh_token: one.refresh_token as string },
      { authorization: auth },
    );
    assert.equal(refresh.json.error, 'invalid_grant');
    // An ID token from one does not verify against the other's keys.
    const jwksTwo = createRemoteJWKSet(new URL(`${t.issuerOf('two')}/jwk`));
    await assert.rejects(jwtVerify(one.id_token as string, jwksTwo));

    const url = authorizeUrl(t.issuerOf('one'), {
      response_type: 'code',
      client_id: 'web',
      redirect_uri: 'https://rp.example/cb',
      scope: 'openid',
    });
    const cb = await signIn(new UserAgent(), url);
    const cross = await postForm(
      `${t.issuerOf('two')}/token`,
      {
        grant_type: 'authorization_code',
        code: cb.searchParams.get('code') as string,
        redirect_uri: 'https://rp.example/cb',
      },
      { authorization: auth },
    );
    assert.equal(cross.json.error, 'invalid_grant');
  });

  test('a session at one provider does not sign the browser in at the other', async () => {
    const ua = new UserAgent();
    await signIn(
      ua,
      authorizeUrl(t.issuerOf('one'), {
        response_type: 'code',
        client_id: 'web',
        redirect_uri: 'https://rp.example/cb',
        scope: 'openid',
      }),
    );
    const page = await ua.follow(
      authorizeUrl(t.issuerOf('two'), {
        response_type: 'code',
        client_id: 'web',
        redirect_uri: 'https://rp.example/cb',
        scope: 'openid',
      }),
      new URL(t.baseUrl).origin,
    );
    assert.equal(page.status, 200);
    assert.match(page.body, /name="password"/);
  });
});

describe('restart', () => {
  test('keeps keys, clients, users, sessions and unexpired tokens', async () => {
    const issuer = t.issuerOf('one');
    const before = await tokensAt(issuer);
    const jwksBefore = await (await fetch(`${issuer}/jwk`)).text();
    await t.restart();
    assert.equal(await (await fetch(`${issuer}/jwk`)).text(), jwksBefore);
    const info = await userinfo(issuer, before.access_token as string);
    assert.equal(info.status, 200);
    // The ID token signed before the restart verifies against the JWK Set served after it.
    await jwtVerify(before.id_token as string, createRemoteJWKSet(new URL(`${issuer}/jwk`)), { issuer });
    const refreshed = await postForm(
      `${issuer}/token`,
      { grant_type: 'refresh_token', refresh_token: before.refresh_token as string },
      { authorization: auth },
    );
    assert.equal(refreshed.status, 200);
    // A new flow works with the same client and user.
    await tokensAt(issuer);
  });

  test('a code redeemed before the restart stays redeemed after it', async () => {
    const issuer = t.issuerOf('two');
    const first = await tokensAt(issuer);
    await t.restart();
    const replay = await postForm(
      `${issuer}/token`,
      { grant_type: 'authorization_code', code: first.code as string, redirect_uri: 'https://rp.example/cb' },
      { authorization: auth },
    );
    assert.equal(replay.json.error, 'invalid_grant');
    assert.equal(
      (await userinfo(issuer, first.access_token as string)).status,
      401,
      'replay revoked the grant',
    );
  });
});

describe('signing keys at rest', () => {
  test('are stored encrypted, and a different secretEncryptionKey is a clear start-up error', async () => {
    const { openStore } = await import('../../src/store/open.js');
    const { buildConfig } = await import('../../src/config/load.js');
    const { startServer } = await import('../../src/server.js');
    const store = await openStore(t.config.storage);
    const keys = await store.listSigningKeys('one');
    await store.close();
    assert.ok(keys.length > 0);
    for (const k of keys) {
      assert.doesNotMatch(k.privateJwk, /"d"\s*:/, 'no private member in the clear');
      assert.equal(k.privateJwk.split('.').length, 5, 'a compact JWE');
    }
    const other = buildConfig({
      server: { host: '127.0.0.1', port: 0 },
      storage: await testStorage(t.dir),
      providers: [{ ...defaultProvider('one'), secretEncryptionKey: 'a-different-key-0123456789abcdefghij' }],
    });
    await assert.rejects(startServer(other), /cannot decrypt signing key .*secretEncryptionKey/);
  });
});
