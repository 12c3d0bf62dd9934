// Request objects by value and by reference (OIDC Core §6, RFC 9101): processed when signed with the client's keys
// (or unsigned where the client registered `none`), refused otherwise; request_uri fetched through the SSRF guard
// (security checklist C7, C8, G2).
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  type CryptoKey,
  decodeJwt,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  SignJWT,
  UnsecuredJWT,
} from 'jose';
import * as oidc from 'openid-client';
import { buildConfig, ConfigError } from '../../src/config/load.js';
import { alice, demoClient, startTestServer, type TestServer } from '../helpers/server.js';
import { authorizeUrl, basic, postForm, signIn, UserAgent } from '../helpers/user-agent.js';

interface KeyPair {
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function keyPair(alg: 'RS256' | 'ES256', kid: string): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

let rsKey: KeyPair; // jar-rs, inline jwks, kid rs1
let esKey: KeyPair; // also in jar-rs's jwks, kid es1: right key, wrong algorithm for that client
let uriKey: KeyPair; // jar-uri, served from its jwks_uri, kid uri1
let strangerKey: KeyPair; // nobody's

const hsSecret = 'jar-hs-secret-0123456789abcdef-0123456789';

/** Request objects the test serves by reference, by path; and every path the object server was asked for. */
const served = new Map<string, string>();
const hits: string[] = [];
let objectServer: Server;
let base: string;

let t: TestServer;
let origin: string;

const clients = {
  rs: { id: 'jar-rs', secret: 'jar-rs-secret-0123456789abcdef', redirect: 'https://jar-rs.example/cb' },
  uri: { id: 'jar-uri', secret: 'jar-uri-secret-0123456789abcdef', redirect: 'https://jar-uri.example/cb' },
  none: {
    id: 'jar-none',
    secret: 'jar-none-secret-0123456789abcdef',
    redirect: 'https://jar-none.example/cb',
  },
  hs: { id: 'jar-hs', secret: hsSecret, redirect: 'https://jar-hs.example/cb' },
};

before(async () => {
  [rsKey, esKey, uriKey, strangerKey] = await Promise.all([
    keyPair('RS256', 'rs1'),
    keyPair('ES256', 'es1'),
    keyPair('RS256', 'uri1'),
    keyPair('RS256', 'rs1'),
  ]);
  objectServer = createServer((req, res) => {
    const path = req.url ?? '';
    hits.push(path);
    if (path === '/jwks') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [uriKey.publicJwk] }));
      return;
    }
    const body = served.get(path);
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/oauth-authz-req+jwt' });
    res.end(body);
  });
  await new Promise<void>((resolve) => objectServer.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(objectServer.address() as AddressInfo).port}`;

  t = await startTestServer({
    server: { allowPrivateNetworkFetch: true },
    providers: [
      {
        name: 'default',
        users: [alice],
        clients: [
          demoClient,
          {
            client_id: clients.rs.id,
            client_secret: clients.rs.secret,
            redirect_uris: [clients.rs.redirect],
            scope: 'openid email',
            jwks: { keys: [rsKey.publicJwk, esKey.publicJwk] },
            request_object_signing_alg: 'RS256',
          },
          {
            client_id: clients.uri.id,
            client_secret: clients.uri.secret,
            redirect_uris: [clients.uri.redirect],
            scope: 'openid',
            jwks_uri: `${base}/jwks`,
            request_uris: [`${base}/ro/signed-1`],
          },
          {
            client_id: clients.none.id,
            client_secret: clients.none.secret,
            redirect_uris: [clients.none.redirect],
            scope: 'openid',
            request_object_signing_alg: 'none',
            request_uris: [`${base}/ro/none-1`, `${base}/ro/missing`],
          },
          {
            client_id: clients.hs.id,
            client_secret: hsSecret,
            token_endpoint_auth_method: 'client_secret_jwt',
            redirect_uris: [clients.hs.redirect],
            scope: 'openid',
            request_object_signing_alg: 'HS256',
          },
        ],
      },
    ],
  });
  origin = new URL(t.issuer).origin;
});
after(async () => {
  await t.close();
  await new Promise((resolve) => objectServer.close(resolve));
});

/** One browser for the successful flows: alice logs in once, then consents per client. */
const ua = new UserAgent();

type ClientInfo = (typeof clients)[keyof typeof clients];

/** The authorization parameters a request object carries. */
function objectClaims(client: ClientInfo, extra: Record<string, unknown> = {}): JWTPayload {
  return {
    iss: client.id,
    aud: t.issuer,
    client_id: client.id,
    response_type: 'code',
    redirect_uri: client.redirect,
    scope: 'openid',
    state: 'object-state',
    nonce: 'object-nonce',
    ...extra,
  };
}

function sign(claims: JWTPayload, key: KeyPair, header: Record<string, unknown> = {}): Promise<string> {
  const alg = key.publicJwk.alg as string;
  return new SignJWT(claims)
    .setProtectedHeader({ alg, kid: key.publicJwk.kid, typ: 'oauth-authz-req+jwt', ...header })
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(key.privateKey);
}

/** Signs by hand, for headers jose refuses to produce (an unknown `crit` extension). */
async function rawRs256(header: Record<string, unknown>, claims: JWTPayload, key: KeyPair): Promise<string> {
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${enc({ alg: 'RS256', kid: key.publicJwk.kid, ...header })}.${enc(claims)}`;
  const signature = await crypto.subtle.sign('RSASSA-PKCS1-v1_5', key.privateKey, Buffer.from(input));
  return `${input}.${Buffer.from(signature).toString('base64url')}`;
}

function unsigned(claims: JWTPayload): string {
  return new UnsecuredJWT(claims).encode();
}

function url(client: ClientInfo, params: Record<string, string>): string {
  return authorizeUrl(t.issuer, { client_id: client.id, ...params });
}

/** Follows the request to the client and redeems the code; answers the ID token's claims and the callback. */
async function complete(client: ClientInfo, authorization: string) {
  const callback = await signIn(ua, authorization);
  const code = callback.searchParams.get('code');
  assert.ok(code, `no code: ${callback.href}`);
  assert.equal(callback.origin + callback.pathname, client.redirect);
  const res = await postForm(
    `${t.issuer}/token`,
    { grant_type: 'authorization_code', code, redirect_uri: client.redirect },
    { authorization: basic(client.id, client.secret) },
  );
  return { callback, token: res };
}

/** The error a request is refused with, delivered to `redirect` without any page. */
async function refusedWith(authorization: string, redirect: string): Promise<URLSearchParams> {
  const page = await new UserAgent().follow(authorization, origin);
  assert.equal(page.status, 303, page.body.slice(0, 300));
  const location = new URL(page.headers.get('location') ?? '');
  assert.equal(location.origin + location.pathname, redirect);
  assert.equal(location.searchParams.get('code'), null);
  return location.searchParams;
}

describe('request objects by value (request)', () => {
  test('signed RS256 with openid-client (buildAuthorizationUrlWithJAR): only client_id and request in the query', async () => {
    const config = await oidc.discovery(
      new URL(t.issuer),
      clients.rs.id,
      clients.rs.secret,
      oidc.ClientSecretBasic(clients.rs.secret),
      { execute: [oidc.allowInsecureRequests] },
    );
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const jar = await oidc.buildAuthorizationUrlWithJAR(
      config,
      {
        redirect_uri: clients.rs.redirect,
        scope: 'openid',
        state,
        nonce,
        // Structured parameters travel as JSON inside the object: claims as an object, max_age as a number.
        claims: JSON.stringify({ id_token: { email: null } }),
        max_age: '3600',
      },
      { key: rsKey.privateKey, kid: 'rs1' },
    );
    assert.deepEqual([...jar.searchParams.keys()].sort(), ['client_id', 'request']);
    const callback = await signIn(ua, jar.href);
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      expectedState: state,
      expectedNonce: nonce,
      maxAge: 3600,
    });
    assert.equal(tokens.claims()?.email, alice.claims.email, 'the object’s claims request was applied');
  });

  test('oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported: alg none from a client that registered none', async () => {
    const request = unsigned(objectClaims(clients.none));
    // The suite repeats the required parameters in the query; the object's state and nonce are the ones used.
    const { callback, token } = await complete(
      clients.none,
      url(clients.none, {
        request,
        response_type: 'code',
        scope: 'openid',
        redirect_uri: clients.none.redirect,
        state: 'query-state',
      }),
    );
    assert.equal(callback.searchParams.get('state'), 'object-state');
    assert.equal(token.status, 200);
    assert.equal(decodeJwt(token.json.id_token as string).nonce, 'object-nonce');
  });

  test('oidcc-ensure-request-object-with-redirect-uri: the object’s redirect_uri wins over the query’s unregistered one', async () => {
    const request = await sign(objectClaims(clients.rs), rsKey);
    const { callback } = await complete(
      clients.rs,
      url(clients.rs, {
        request,
        response_type: 'code',
        scope: 'openid',
        redirect_uri: `${clients.rs.redirect}_invalid`,
      }),
    );
    assert.equal(callback.searchParams.get('state'), 'object-state');
  });

  test('HS256 with the secret of a client_secret_jwt client', async () => {
    const request = await new SignJWT(objectClaims(clients.hs))
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(hsSecret));
    const callback = await signIn(ua, url(clients.hs, { request }));
    assert.ok(callback.searchParams.get('code'));
    assert.equal(callback.searchParams.get('state'), 'object-state');
  });

  test('oidcc-unsigned-request-object-supported-correctly: a client that registered no algorithm may send an unsigned object', async () => {
    const demo = {
      id: demoClient.client_id,
      secret: demoClient.client_secret,
      redirect: demoClient.redirect_uris[0] as string,
    };
    const { callback } = await complete(
      demo,
      authorizeUrl(t.issuer, {
        client_id: demo.id,
        scope: 'openid',
        request: unsigned(objectClaims(demo, { state: 'unsigned-demo', scope: 'openid' })),
      }),
    );
    // The object was processed: its state, not a query one, came back.
    assert.equal(callback.searchParams.get('state'), 'unsigned-demo');
    assert.ok(callback.searchParams.get('code'));
  });

  test('refused with invalid_request_object, delivered to the redirect URI (checklist C7, C8)', async () => {
    const rs = clients.rs;
    const cases: [string, string][] = [
      ['unsigned, client registered RS256', unsigned(objectClaims(rs))],
      ['signed with a key that is not the client’s (same kid)', await sign(objectClaims(rs), strangerKey)],
      ['the client’s ES256 key, but RS256 is registered', await sign(objectClaims(rs), esKey)],
      ['jku to a foreign key set', await sign(objectClaims(rs), strangerKey, { jku: `${base}/jwks` })],
      ['kid path trick', await sign(objectClaims(rs), strangerKey, { kid: '../../rs1' })],
      ['crit header', await rawRs256({ crit: ['x-unknown'], 'x-unknown': 1 }, objectClaims(rs), rsKey)],
      ['iss is another client', await sign(objectClaims(rs, { iss: clients.uri.id }), rsKey)],
      ['aud is another issuer', await sign(objectClaims(rs, { aud: 'https://other.example' }), rsKey)],
      ['client_id differs', await sign(objectClaims(rs, { client_id: clients.uri.id }), rsKey)],
      ['a request inside', await sign(objectClaims(rs, { request: 'x.y.z' }), rsKey)],
      ['a request_uri inside', await sign(objectClaims(rs, { request_uri: `${base}/ro/none-1` }), rsKey)],
      ['an access token type', await sign(objectClaims(rs), rsKey, { typ: 'at+jwt' })],
      ['a control character in a parameter', await sign(objectClaims(rs, { nonce: 'a\u0000b' }), rsKey)],
      ['encrypted (five parts)', 'a.b.c.d.e'],
      ['not a JWT', 'garbage'],
      [
        'expired',
        await new SignJWT(objectClaims(rs))
          .setProtectedHeader({ alg: 'RS256', kid: 'rs1' })
          .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
          .sign(rsKey.privateKey),
      ],
      [
        'not valid yet',
        await new SignJWT(objectClaims(rs))
          .setProtectedHeader({ alg: 'RS256', kid: 'rs1' })
          .setNotBefore(Math.floor(Date.now() / 1000) + 3600)
          .sign(rsKey.privateKey),
      ],
    ];
    // The hand-made signature is sound: without `crit` the same object goes through (alice consented before).
    const sound = await signIn(ua, url(rs, { request: await rawRs256({}, objectClaims(rs), rsKey) }));
    assert.ok(sound.searchParams.get('code'));
    for (const [name, request] of cases) {
      const params = await refusedWith(
        authorizeUrl(t.issuer, { client_id: rs.id, redirect_uri: rs.redirect, state: 'q', request }),
        rs.redirect,
      );
      assert.equal(params.get('error'), 'invalid_request_object', name);
      assert.equal(params.get('state'), 'q', 'the query’s state, as the object is not trusted');
    }
  });

  test('HS256 keyed with the public key of a jwks_uri client is refused (checklist C7)', async () => {
    const pem = await exportSPKI((await generateKeyPair('RS256', { extractable: true })).publicKey);
    const request = await new SignJWT(objectClaims(clients.uri))
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(pem));
    const params = await refusedWith(
      url(clients.uri, { redirect_uri: clients.uri.redirect, request }),
      clients.uri.redirect,
    );
    assert.equal(params.get('error'), 'invalid_request_object');
  });

  test('a bad object with no registered redirect_uri in the query gets an error page, never a redirect', async () => {
    for (const query of [{}, { redirect_uri: 'https://evil.example/cb' }] as Record<string, string>[]) {
      const page = await new UserAgent().get(
        url(clients.rs, { ...query, request: unsigned(objectClaims(clients.rs)) }),
      );
      assert.equal(page.status, 400);
      assert.equal(page.headers.get('location'), null);
      assert.match(page.body, /<html/);
    }
  });

  test('an over-long request object (sent by POST) is refused before any work', async () => {
    const form = new URLSearchParams({
      client_id: clients.rs.id,
      redirect_uri: clients.rs.redirect,
      state: 'q',
      request: `${'a'.repeat(32 * 1024)}.b.c`,
    });
    const page = await new UserAgent().request(`${t.issuer}/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    assert.equal(page.status, 303);
    const location = new URL(page.headers.get('location') ?? '');
    assert.equal(location.origin + location.pathname, clients.rs.redirect);
    assert.equal(location.searchParams.get('error'), 'invalid_request_object');
  });

  test('request and request_uri together are invalid_request', async () => {
    const params = await refusedWith(
      url(clients.none, {
        redirect_uri: clients.none.redirect,
        request: unsigned(objectClaims(clients.none)),
        request_uri: `${base}/ro/none-1`,
      }),
      clients.none.redirect,
    );
    assert.equal(params.get('error'), 'invalid_request');
  });
});

describe('request objects by reference (request_uri)', () => {
  test('oidcc-request-uri-unsigned: alg none, served as a JWT from a registered request_uri', async () => {
    served.set('/ro/none-1', unsigned(objectClaims(clients.none, { state: 'by-reference' })));
    const { callback } = await complete(
      clients.none,
      url(clients.none, {
        request_uri: `${base}/ro/none-1#v1`,
        response_type: 'code',
        scope: 'openid',
        redirect_uri: clients.none.redirect,
      }),
    );
    assert.equal(callback.searchParams.get('state'), 'by-reference');
    assert.ok(hits.includes('/ro/none-1'), 'fetched, without the fragment');
  });

  test('oidcc-request-uri-signed-rs256: iss=client_id and aud=issuer, verified with keys from the client’s jwks_uri', async () => {
    served.set('/ro/signed-1', await sign(objectClaims(clients.uri, { state: 'signed-ref' }), uriKey));
    const { callback, token } = await complete(
      clients.uri,
      url(clients.uri, { request_uri: `${base}/ro/signed-1`, response_type: 'code', scope: 'openid' }),
    );
    assert.equal(callback.searchParams.get('state'), 'signed-ref');
    assert.equal(token.status, 200);
    assert.equal(decodeJwt(token.json.id_token as string).nonce, 'object-nonce');
  });

  test('refused with invalid_request_uri: unregistered, not fetchable, too long', async () => {
    served.set('/ro/none-2', unsigned(objectClaims(clients.none)));
    const cases: [string, string][] = [
      ['not among the registered request_uris', `${base}/ro/none-2`],
      ['registered but answers 404', `${base}/ro/missing`],
      ['too long', `${base}/ro/none-1?${'x'.repeat(2100)}`],
    ];
    for (const [name, requestUri] of cases) {
      const params = await refusedWith(
        url(clients.none, { redirect_uri: clients.none.redirect, request_uri: requestUri }),
        clients.none.redirect,
      );
      assert.equal(params.get('error'), 'invalid_request_uri', name);
    }
    const dead = await refusedWith(
      url(clients.uri, { redirect_uri: clients.uri.redirect, request_uri: 'http://127.0.0.1:1/ro' }),
      clients.uri.redirect,
    );
    assert.equal(dead.get('error'), 'invalid_request_uri', 'nothing listens there');
  });
});

describe('request_uri and the SSRF guard (checklist G2)', () => {
  test('a client that registered no request_uris makes the provider fetch nothing (RFC 9101 §10.4.1)', async () => {
    const guarded = await startTestServer({
      providers: [
        {
          name: 'guarded',
          clients: [
            {
              client_id: 'g',
              client_secret: 'g-secret-0123456789abcdef0123',
              redirect_uris: ['https://g.example/cb'],
              request_object_signing_alg: 'none',
            },
          ],
        },
      ],
    });
    try {
      served.set('/ro/canary', unsigned({ client_id: 'g', response_type: 'code', scope: 'openid' }));
      const before = hits.length;
      const port = new URL(base).port;
      for (const requestUri of [
        `${base}/ro/canary`,
        `https://127.0.0.1:${port}/ro/canary`,
        `https://localhost:${port}/ro/canary`,
        'https://169.254.169.254/latest/meta-data',
        'urn:ietf:params:oauth:request_uri:abc',
      ]) {
        const page = await new UserAgent().get(
          authorizeUrl(guarded.issuer, {
            client_id: 'g',
            redirect_uri: 'https://g.example/cb',
            request_uri: requestUri,
          }),
        );
        assert.equal(page.status, 303, requestUri);
        const location = new URL(page.headers.get('location') ?? '');
        assert.equal(location.searchParams.get('error'), 'request_uri_not_supported', requestUri);
      }
      assert.equal(hits.length, before, 'no request reached the canary');
    } finally {
      await guarded.close();
    }
  });
});

describe('configuration checks for request objects (OIDC Registration §2)', () => {
  const problemsOf = (client: Record<string, unknown>, allowPrivateNetworkFetch = false): string[] => {
    try {
      buildConfig({
        server: { allowPrivateNetworkFetch },
        providers: [
          {
            name: 'p',
            clients: [
              { client_id: 'c', client_secret: hsSecret, redirect_uris: ['https://c.example/cb'], ...client },
            ],
          },
        ],
      });
      return [];
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.problems.map((p) => `${p.path}: ${p.message}`);
    }
  };

  test('keys must exist for the registered algorithm; request_uris must be fetchable', () => {
    assert.deepEqual(
      problemsOf({ request_object_signing_alg: 'RS256', jwks: { keys: [rsKey.publicJwk] } }),
      [],
    );
    assert.deepEqual(problemsOf({ request_object_signing_alg: 'none' }), []);
    assert.match(
      problemsOf({ request_object_signing_alg: 'RS256' }).join('\n'),
      /request_object_signing_alg: .*jwks/,
    );
    assert.match(
      problemsOf({ request_object_signing_alg: 'HS256' }).join('\n'),
      /request_object_signing_alg: .*client_secret_jwt/,
    );
    assert.deepEqual(
      problemsOf({ request_object_signing_alg: 'HS256', token_endpoint_auth_method: 'client_secret_jwt' }),
      [],
    );
    assert.match(
      problemsOf({ request_uris: ['http://rp.example/ro'] }).join('\n'),
      /request_uris\[0\]: .*https/,
    );
    assert.match(
      problemsOf({ request_uris: ['https://10.0.0.1/ro'] }).join('\n'),
      /request_uris\[0\]: .*private/,
    );
    assert.deepEqual(problemsOf({ request_uris: ['https://rp.example/ro'] }), []);
    assert.deepEqual(problemsOf({ request_uris: ['http://127.0.0.1:9/ro'] }, true), []);
  });
});
