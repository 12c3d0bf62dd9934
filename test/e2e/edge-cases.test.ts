// Edge cases found in review: prompt=select_account, max_age=0, HEAD on code-issuing routes, error text hygiene,
// empty parameters, foreign JWT types as assertions, prototype-named scopes, password changes.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { call } from '../helpers/http.js';
import { alice, defaultProvider, demoClient, startTestServer, type TestServer } from '../helpers/server.js';
import { authorizeUrl, basic, pkcePair, postForm, signIn, UserAgent } from '../helpers/user-agent.js';

const cb = 'https://rp.example/cb';
let t: TestServer;
let pkjKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

before(async () => {
  const pair = await generateKeyPair('ES256', { extractable: true });
  pkjKey = pair.privateKey;
  const provider = defaultProvider();
  t = await startTestServer({
    providers: [
      {
        ...provider,
        clients: [
          ...(provider.clients ?? []),
          {
            client_id: 'pkj',
            token_endpoint_auth_method: 'private_key_jwt',
            jwks: { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1' }] },
            grant_types: ['client_credentials'],
            scope: 'api:read',
          },
          {
            client_id: 'odd',
            client_secret: 'odd-secret-0123456789abcdef',
            redirect_uris: [cb],
            scope: 'openid constructor toString __proto__',
          },
        ],
      },
    ],
  });
});
after(() => t.close());

const authz = (extra: Record<string, string> = {}) =>
  authorizeUrl(t.issuer, {
    response_type: 'code',
    client_id: 'web',
    redirect_uri: cb,
    scope: 'openid',
    state: 's',
    ...extra,
  });

describe('prompt and max_age with a live session', () => {
  test('prompt=select_account and max_age=0 show the login page instead of issuing a code', async () => {
    const ua = new UserAgent();
    await signIn(ua, authz());
    const plain = await ua.get(authz());
    assert.equal(plain.status, 303);
    assert.match(plain.headers.get('location') ?? '', /^https:\/\/rp\.example\/cb\?code=/);
    const variants: Record<string, string>[] = [{ prompt: 'select_account' }, { max_age: '0' }];
    for (const extra of variants) {
      const page = await ua.follow(authz(extra), new URL(t.issuer).origin);
      assert.equal(page.status, 200, JSON.stringify(extra));
      assert.match(page.body, /name="password"/);
    }
  });

  test('HEAD does not run the code-issuing GET handlers', async () => {
    const ua = new UserAgent();
    await signIn(ua, authz());
    const head = await ua.request(authz(), { method: 'HEAD' });
    assert.equal(head.status, 405);
    assert.equal(head.headers.get('location'), null);
  });
});

describe('error text', () => {
  test('error_description only carries the characters RFC 6749 §5.2 allows', async () => {
    const res = await call(`${t.issuer}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basic('web', demoClient.client_secret),
      },
      body: 'grant_type=password%22%5C%C3%A9&x=1',
    });
    assert.equal(res.status, 400);
    assert.match(String(res.json.error_description), /^[\x20-\x21\x23-\x5B\x5D-\x7E]*$/);
  });

  test('an undecodable path gets an HTML error page with the page headers', async () => {
    const res = await call(`${t.issuer}/interaction/%zz`);
    assert.equal(res.status, 400);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.match(res.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
  });
});

describe('client authentication details', () => {
  test('an empty client_secret from a public client counts as absent (RFC 6749 §3.1)', async () => {
    const { verifier, challenge } = pkcePair();
    const redirect = 'https://spa.example/cb';
    const code = (
      await signIn(
        new UserAgent(),
        authorizeUrl(t.issuer, {
          response_type: 'code',
          client_id: 'spa',
          redirect_uri: redirect,
          scope: 'openid',
          code_challenge: challenge,
          code_challenge_method: 'S256',
        }),
      )
    ).searchParams.get('code') as string;
    const res = await postForm(`${t.issuer}/token`, {
      grant_type: 'authorization_code',
      client_id: 'spa',
      client_secret: '',
      code,
      redirect_uri: redirect,
      code_verifier: verifier,
    });
    assert.equal(res.status, 200, JSON.stringify(res.json));
  });

  test('a validly signed assertion typed as an access token or logout token is refused (RFC 8725 §3.11)', async () => {
    for (const typ of ['at+jwt', 'logout+jwt', 'application/at+jwt']) {
      const assertion = await new SignJWT({})
        .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ })
        .setIssuer('pkj')
        .setSubject('pkj')
        .setAudience(t.issuer)
        .setJti(crypto.randomUUID())
        .setIssuedAt()
        .setExpirationTime('60s')
        .sign(pkjKey);
      const res = await postForm(`${t.issuer}/token`, {
        grant_type: 'client_credentials',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: assertion,
      });
      assert.equal(res.status, 401, typ);
      assert.equal(res.json.error, 'invalid_client');
    }
  });
});

describe('scopes named like Object.prototype members', () => {
  test('consent page and UserInfo handle them without a 5xx', async () => {
    const url = authorizeUrl(t.issuer, {
      response_type: 'code',
      client_id: 'odd',
      redirect_uri: cb,
      scope: 'openid constructor toString __proto__',
    });
    const code = (await signIn(new UserAgent(), url)).searchParams.get('code') as string;
    const tokens = await postForm(
      `${t.issuer}/token`,
      { grant_type: 'authorization_code', code, redirect_uri: cb },
      { authorization: basic('odd', 'odd-secret-0123456789abcdef') },
    );
    assert.equal(tokens.status, 200);
    const info = await call(`${t.issuer}/userinfo`, {
      headers: { authorization: `Bearer ${tokens.json.access_token}` },
    });
    assert.equal(info.status, 200);
    assert.ok(info.json.sub);
  });
});

describe('password change', () => {
  test('restarting with a new password ends sessions and revokes tokens', async () => {
    const other = await startTestServer();
    try {
      const ua = new UserAgent();
      const code = (
        await signIn(
          ua,
          authorizeUrl(other.issuer, {
            response_type: 'code',
            client_id: 'web',
            redirect_uri: cb,
            scope: 'openid offline_access',
          }),
        )
      ).searchParams.get('code') as string;
      const auth = { authorization: basic('web', demoClient.client_secret) };
      const tokens = await postForm(
        `${other.issuer}/token`,
        { grant_type: 'authorization_code', code, redirect_uri: cb },
        auth,
      );
      assert.equal(tokens.status, 200);
      // Same file, new password for alice.
      const changed = {
        ...other.config,
        providers: other.config.providers.map((p) => ({
          ...p,
          users: p.users.map((u) =>
            u.username === alice.username ? { ...u, password: 'a-new-password' } : u,
          ),
        })),
      };
      await other.server.close();
      const { startServer } = await import('../../src/server.js');
      other.server = await startServer(changed, { clock: other.clock });
      const info = await call(`${other.issuer}/userinfo`, {
        headers: { authorization: `Bearer ${tokens.json.access_token}` },
      });
      assert.equal(info.status, 401);
      const refresh = await postForm(
        `${other.issuer}/token`,
        { grant_type: 'refresh_token', refresh_token: tokens.json.refresh_token as string },
        auth,
      );
      assert.equal(refresh.json.error, 'invalid_grant');
      const again = await ua.follow(
        authorizeUrl(other.issuer, {
          response_type: 'code',
          client_id: 'web',
          redirect_uri: cb,
          scope: 'openid',
        }),
        new URL(other.issuer).origin,
      );
      assert.match(again.body, /name="password"/, 'the old session is gone');
    } finally {
      await other.close();
    }
  });
});
