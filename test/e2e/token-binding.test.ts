// Tokens follow their client and audience (issue 8 point 6): client removal, UserInfo audience (RFC 8707, RFC 9068 §4), refresh reuse after idle expiry (RFC 9700 §4.14.2).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ConfigInput } from '../../src/config/schema.js';
import { call } from '../helpers/http.js';
import { freePorts } from '../helpers/readme-recipes.js';
import { alice, demoClient, queryTestDatabase, startTestServer, type TestServer } from '../helpers/server.js';
import { basic, obtainCode, postForm } from '../helpers/user-agent.js';

type ProviderInput = NonNullable<ConfigInput['providers']>[number];

const API = 'https://api.example/';

/** A resource server allowed to introspect every token, so a token's state is seen from outside its client. */
const rs = {
  client_id: 'rs',
  client_secret: 'rs-secret-0123456789abcdef0123456789',
  grant_types: ['client_credentials'] as 'client_credentials'[],
  scope: 'api:read',
  introspect_any_token: true,
};

/** A confidential code-flow client like the demo one, under another id (the one taken away). */
const leaving = {
  ...demoClient,
  client_id: 'leaving',
  client_secret: 'leaving-secret-0123456789abcdef0123',
  redirect_uris: ['https://leaving.example/cb'],
};

interface Client {
  id: string;
  secret: string;
  redirect: string;
}

const web: Client = {
  id: demoClient.client_id,
  secret: demoClient.client_secret,
  redirect: demoClient.redirect_uris[0] as string,
};
const gone: Client = {
  id: leaving.client_id,
  secret: leaving.client_secret,
  redirect: leaving.redirect_uris[0] as string,
};

/** The issuer's URLs as this process reaches them. */
const at = (t: TestServer, path: string) => `${t.issuer}${path}`;

async function redeem(t: TestServer, client: Client, code: string, resource: string[] = []) {
  const form = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: client.redirect });
  for (const r of resource) form.append('resource', r);
  return postForm(at(t, '/token'), form, { authorization: basic(client.id, client.secret) });
}

/** Login, consent and code exchange: the client's access and refresh tokens. */
async function tokensFor(
  t: TestServer,
  client: Client,
  resource: string[] = [],
): Promise<{ access: string; refresh: string }> {
  const code = await obtainCode(t.issuer, {
    clientId: client.id,
    redirectUri: client.redirect,
    scope: 'openid email offline_access',
    resource,
  });
  const res = await redeem(t, client, code);
  assert.equal(res.status, 200, JSON.stringify(res.json));
  return { access: res.json.access_token as string, refresh: res.json.refresh_token as string };
}

async function introspect(t: TestServer, token: string): Promise<boolean> {
  const res = await postForm(
    at(t, '/introspect'),
    { token },
    { authorization: basic(rs.client_id, rs.client_secret) },
  );
  assert.equal(res.status, 200, JSON.stringify(res.json));
  return res.json.active === true;
}

function userinfo(t: TestServer, token: string) {
  return call(at(t, '/userinfo'), { headers: { authorization: `Bearer ${token}` } });
}

function refresh(t: TestServer, client: Client, token: string) {
  return postForm(
    at(t, '/token'),
    { grant_type: 'refresh_token', refresh_token: token },
    { authorization: basic(client.id, client.secret) },
  );
}

describe('a client taken out of the configuration ends its tokens (restart without it, same data)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-binding-'));
  const provider = (clients: unknown[]): ProviderInput => ({
    name: 'default',
    clients: clients as ProviderInput['clients'],
    users: [alice],
  });
  let t: TestServer | undefined;
  after(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('refused at once after the restart, and still when the client comes back; its codes are unredeemable', async () => {
    t = await startTestServer({ dir, providers: [provider([demoClient, rs, leaving])] });
    const held = await tokensFor(t, gone);
    const kept = await tokensFor(t, web);
    const code = await obtainCode(t.issuer, {
      clientId: gone.id,
      redirectUri: gone.redirect,
      scope: 'openid offline_access',
    });
    assert.equal(await introspect(t, held.access), true);
    assert.equal((await userinfo(t, held.access)).status, 200);
    await t.close();

    // Restarted without the client: its tokens are over, the others' are not.
    t = await startTestServer({ dir, providers: [provider([demoClient, rs])] });
    assert.equal(await introspect(t, held.access), false, 'access token inactive');
    assert.equal(await introspect(t, held.refresh), false, 'refresh token inactive');
    const refused = await userinfo(t, held.access);
    assert.equal(refused.status, 401);
    assert.match(refused.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    assert.equal(await introspect(t, kept.access), true, "another client's token stays active");
    assert.equal((await userinfo(t, kept.access)).status, 200);
    await t.close();

    // Put back under the same id: what it held before stays revoked in the store, and the old code is spent.
    t = await startTestServer({ dir, providers: [provider([demoClient, rs, leaving])] });
    assert.equal(await introspect(t, held.access), false);
    assert.equal(await introspect(t, held.refresh), false);
    assert.equal((await userinfo(t, held.access)).status, 401);
    const refreshed = await refresh(t, gone, held.refresh);
    assert.equal(refreshed.status, 400);
    assert.equal(refreshed.json.error, 'invalid_grant');
    const redeemed = await redeem(t, gone, code);
    assert.equal(redeemed.status, 400);
    assert.equal(redeemed.json.error, 'invalid_grant');
    assert.equal(await introspect(t, kept.access), true);
  });
});

describe('a registered client that is gone ends its tokens', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({
      providers: [{ name: 'default', clients: [demoClient, rs], users: [alice], registration: {} }],
    });
  });
  after(() => t.close());

  async function registerClient(): Promise<Client & { registrationToken: string }> {
    const res = await call(at(t, '/registration'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        redirect_uris: ['https://registered.example/cb'],
        grant_types: ['authorization_code', 'refresh_token'],
        scope: 'openid email offline_access',
      }),
    });
    assert.equal(res.status, 201, res.text);
    // Generated secrets are far past the 32-character floor (issue 8 point 7): 256 random bits, 43 characters.
    assert.ok((res.json.client_secret as string).length >= 43);
    return {
      id: res.json.client_id as string,
      secret: res.json.client_secret as string,
      redirect: 'https://registered.example/cb',
      registrationToken: res.json.registration_access_token as string,
    };
  }

  test('deleted through RFC 7592: inactive at introspection, 401 at UserInfo, its code unredeemable', async () => {
    const client = await registerClient();
    const held = await tokensFor(t, client);
    const code = await obtainCode(t.issuer, {
      clientId: client.id,
      redirectUri: client.redirect,
      scope: 'openid',
    });
    const deleted = await call(at(t, `/registration/${client.id}`), {
      method: 'DELETE',
      headers: { authorization: `Bearer ${client.registrationToken}` },
    });
    assert.equal(deleted.status, 204);
    assert.equal(await introspect(t, held.access), false);
    assert.equal(await introspect(t, held.refresh), false);
    assert.equal((await userinfo(t, held.access)).status, 401);
    const stored = await queryTestDatabase(
      t.config.storage,
      'SELECT consumed_at FROM authorization_codes WHERE provider = ? AND client_id = ?',
      ['default', client.id],
    );
    assert.ok(stored.length > 0 && stored.every((r) => r.consumed_at !== null), 'its codes are consumed');
    assert.equal((await redeem(t, client, code)).json.error, 'invalid_client');
  });

  test('removed where the store revoked nothing (another process, late): its tokens are refused anyway', async () => {
    const client = await registerClient();
    const held = await tokensFor(t, client);
    assert.equal(await introspect(t, held.access), true);
    // The row goes and the version moves, as another process's removal would look; the tokens stay unrevoked.
    await queryTestDatabase(t.config.storage, 'DELETE FROM clients WHERE provider = ? AND client_id = ?', [
      'default',
      client.id,
    ]);
    await queryTestDatabase(
      t.config.storage,
      'UPDATE client_versions SET version = version + 1 WHERE provider = ?',
      ['default'],
    );
    t.clock.advance(5);
    const rows = await queryTestDatabase(
      t.config.storage,
      'SELECT revoked_at FROM access_tokens WHERE provider = ? AND client_id = ?',
      ['default', client.id],
    );
    assert.ok(rows.length > 0 && rows.every((r) => r.revoked_at === null), 'nothing revoked in the store');
    assert.equal(await introspect(t, held.access), false, 'access token inactive');
    assert.equal(await introspect(t, held.refresh), false, 'refresh token inactive');
    const refused = await userinfo(t, held.access);
    assert.equal(refused.status, 401);
    assert.match(refused.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
  });
});

describe('UserInfo accepts only tokens meant for it (RFC 8707, RFC 9068 §4)', () => {
  let t: TestServer;
  let issuer: string;
  before(async () => {
    // The issuer is a resource this client may ask for, so the port is fixed before the configuration is written.
    const [port] = await freePorts(1);
    issuer = `http://127.0.0.1:${port}/oidc/endpoint/default`;
    t = await startTestServer({
      server: { port },
      providers: [
        {
          name: 'default',
          clients: [{ ...demoClient, allowed_resources: [API, issuer] }, rs],
          users: [alice],
        },
      ],
    });
    assert.equal(t.issuer, issuer);
  });
  after(() => t.close());

  test('a token asked for another resource only → 401 invalid_token; no resource, or the issuer among them → 200', async () => {
    const apiOnly = await tokensFor(t, web, [API]);
    const refused = await userinfo(t, apiOnly.access);
    assert.equal(refused.status, 401);
    assert.equal(refused.json.error, 'invalid_token');
    assert.match(refused.headers.get('www-authenticate') ?? '', /^Bearer .*error="invalid_token"/);
    // The token is fine for its API: introspection says so, with that audience.
    assert.equal(await introspect(t, apiOnly.access), true);

    const plain = await tokensFor(t, web);
    assert.equal((await userinfo(t, plain.access)).status, 200);

    const both = await tokensFor(t, web, [API, issuer]);
    const answer = await userinfo(t, both.access);
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.json.email, alice.claims.email);

    // A refreshed access token narrowed to the API alone is refused as well.
    const narrowed = await postForm(
      at(t, '/token'),
      { grant_type: 'refresh_token', refresh_token: both.refresh, resource: API },
      { authorization: basic(web.id, web.secret) },
    );
    assert.equal(narrowed.status, 200, JSON.stringify(narrowed.json));
    assert.equal((await userinfo(t, narrowed.json.access_token as string)).status, 401);
  });
});

describe('refresh token reuse after idle expiry (RFC 9700 §4.14.2)', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({
      providers: [
        {
          name: 'default',
          clients: [demoClient, rs],
          users: [alice],
          lifetimes: { refreshTokenIdle: 100, refreshToken: 10_000 },
        },
      ],
    });
  });
  after(() => t.close());

  test('a rotated token presented after its idle expiry still revokes its family', async () => {
    const first = await tokensFor(t, web);
    t.clock.advance(50);
    const rotated = await refresh(t, web, first.refresh);
    assert.equal(rotated.status, 200, JSON.stringify(rotated.json));
    const successor = rotated.json.refresh_token as string;
    const successorAccess = rotated.json.access_token as string;
    assert.notEqual(successor, first.refresh);

    // The first token's idle limit (t0 + 100) has passed; its successor's (t0 + 150) has not.
    t.clock.advance(60);
    // The sweep keeps a rotated row until the family's absolute end, so its reuse is still recognised.
    await t.server.store.deleteExpired(t.clock.now());
    assert.equal(await introspect(t, successor), true);
    const reused = await refresh(t, web, first.refresh);
    assert.equal(reused.status, 400);
    assert.equal(reused.json.error, 'invalid_grant');

    assert.equal(await introspect(t, successor), false, 'the successor is revoked with its family');
    assert.equal(await introspect(t, successorAccess), false, "the successor's access token too");
    const after = await refresh(t, web, successor);
    assert.equal(after.status, 400);
    assert.equal(after.json.error, 'invalid_grant');
  });

  test('an idle-expired token that was never rotated is just expired: its grant is left alone', async () => {
    const first = await tokensFor(t, web);
    t.clock.advance(150);
    const expired = await refresh(t, web, first.refresh);
    assert.equal(expired.status, 400);
    assert.equal(expired.json.error, 'invalid_grant');
    // Its access token (an hour) outlives it and is not revoked by the refusal.
    assert.equal(await introspect(t, first.access), true);
  });
});
