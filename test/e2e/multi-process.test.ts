// What one process changes, the others see (issue 7 point 4): two servers on one SQLite file, as two processes would
// share it: a revocation at once; a key rotation, a registered, updated or deleted client, a changed user in seconds.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ConfigInput } from '../../src/config/schema.js';
import { call, type Reply } from '../helpers/http.js';
import { alice, demoClient, startTestServer, type TestServer, testStorage } from '../helpers/server.js';
import { authorizeUrl, basic, obtainCode, pkcePair, postForm } from '../helpers/user-agent.js';

const machine = {
  client_id: 'machine',
  client_secret: 'machine-secret-0123456789abcdef',
  grant_types: ['client_credentials' as const],
  scope: 'api:read',
};

const providers = (password: string): ConfigInput['providers'] => [
  {
    name: 'default',
    clients: [demoClient, machine],
    users: [{ ...alice, password }],
    registration: {},
  },
];

/** The shared data folder: owned here, so stopping one server leaves the database in place for the other. */
let dir: string;
let a: TestServer;
let b: TestServer;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-multi-'));
  a = await startTestServer({ dir, providers: providers(alice.password) });
  b = await startTestServer({ dir, providers: providers(alice.password) });
});
after(async () => {
  await b.close();
  await a.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Credentials {
  client_id: string;
  client_secret: string;
}

function introspect(t: TestServer, token: string, as: Credentials = machine): Promise<Reply> {
  return call(`${t.issuer}/introspect`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: basic(as.client_id, as.client_secret),
    },
    body: new URLSearchParams({ token }).toString(),
  });
}

async function active(t: TestServer, token: string, as: Credentials = machine): Promise<boolean> {
  const res = await introspect(t, token, as);
  assert.equal(res.status, 200, res.text);
  return res.json.active === true;
}

/** A code flow on `t` for alice; answers the token response. */
async function aliceTokens(t: TestServer, password = alice.password): Promise<Record<string, unknown>> {
  const pkce = pkcePair();
  const redirectUri = demoClient.redirect_uris[0] as string;
  const code = await obtainCode(t.issuer, {
    clientId: demoClient.client_id,
    redirectUri,
    scope: 'openid offline_access',
    challenge: pkce.challenge,
    signIn: { username: 'alice', password },
  });
  const res = await postForm(
    `${t.issuer}/token`,
    { grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: pkce.verifier },
    { authorization: basic(demoClient.client_id, demoClient.client_secret) },
  );
  assert.equal(res.status, 200, JSON.stringify(res.json));
  return res.json;
}

describe('two processes on one store', () => {
  test('a token revoked through one process is inactive on the other at once', async () => {
    const issued = await postForm(
      `${a.issuer}/token`,
      { grant_type: 'client_credentials', scope: 'api:read' },
      { authorization: basic(machine.client_id, machine.client_secret) },
    );
    assert.equal(issued.status, 200);
    const token = issued.json.access_token as string;
    assert.equal(await active(b, token), true, 'issued by A, valid on B');
    const revoked = await postForm(
      `${a.issuer}/revoke`,
      { token },
      { authorization: basic(machine.client_id, machine.client_secret) },
    );
    assert.equal(revoked.status, 200);
    assert.equal(await active(b, token), false, 'revoked on A, inactive on B with no wait');
  });

  test('a client registered, updated and deleted through one process is followed by the other', async () => {
    const reg = await call(`${a.issuer}/registration`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: ['https://mp.example/cb'] }),
    });
    assert.equal(reg.status, 201, reg.text);
    const clientId = reg.json.client_id as string;
    const secret = reg.json.client_secret as string;
    const rat = reg.json.registration_access_token as string;
    const authorizeOn = (t: TestServer, redirectUri: string) =>
      call(
        authorizeUrl(t.issuer, {
          response_type: 'code',
          client_id: clientId,
          redirect_uri: redirectUri,
          scope: 'openid',
          state: 's',
          code_challenge: pkcePair().challenge,
          code_challenge_method: 'S256',
        }),
      );
    // Registered on A: B knows it at once (an unknown id falls through to the store).
    assert.equal((await authorizeOn(b, 'https://mp.example/cb')).status, 303);

    // Updated on A (RFC 7592 §2.2): B follows within its recheck interval.
    const updated = await call(`${a.issuer}/registration/${clientId}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${rat}` },
      body: JSON.stringify({ client_id: clientId, redirect_uris: ['https://mp.example/cb2'] }),
    });
    assert.equal(updated.status, 200, updated.text);
    b.clock.advance(3);
    assert.equal(
      (await authorizeOn(b, 'https://mp.example/cb2')).status,
      303,
      'the new redirect URI works on B',
    );
    assert.equal((await authorizeOn(b, 'https://mp.example/cb')).status, 400, 'the old one is refused on B');

    // Deleted through B: A refuses the client within seconds.
    const deleted = await call(`${b.issuer}/registration/${clientId}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${rat}` },
    });
    assert.equal(deleted.status, 204, deleted.text);
    a.clock.advance(3);
    const auth = await postForm(
      `${a.issuer}/token`,
      { grant_type: 'authorization_code', code: 'bogus', redirect_uri: 'https://mp.example/cb2' },
      { authorization: basic(clientId, secret) },
    );
    assert.equal(auth.json.error, 'invalid_client');
  });

  test('a key rotated by the command is published and used by both processes within 10 s', async () => {
    const configFile = join(a.dir, 'keys.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        storage: await testStorage(a.dir),
        providers: providers(alice.password),
      }),
    );
    const bin = join(import.meta.dirname, '..', '..', 'bin', 'gatehouse.js');
    const r = spawnSync(
      process.execPath,
      [bin, 'keys', 'rotate', '--config', configFile, '--provider', 'default'],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(r.status, 0, r.stderr);
    const kid = r.stdout.trim();
    const leading = async (t: TestServer) =>
      ((await call(`${t.issuer}/jwk`)).json.keys as { kid: string }[])[0]?.kid;
    // Each process reloads its keys every few seconds; 10 s is the promise (interface.md `keys rotate`).
    for (let i = 0; i < 40 && ((await leading(a)) !== kid || (await leading(b)) !== kid); i++)
      await new Promise((resolve) => setTimeout(resolve, 250));
    assert.equal(await leading(a), kid, 'A signs with the new key');
    assert.equal(await leading(b), kid, 'B signs with the new key');
  });

  test('a password changed by restarting one process with a new configuration holds on the other', async () => {
    const before = await aliceTokens(b);
    assert.equal(await active(b, before.access_token as string, demoClient), true);

    // A restarts with alice's new password; B keeps running on its old configuration.
    await a.close();
    a = await startTestServer({ dir, providers: providers('alice-new-password') });

    // The new password ends what the old one opened (sessions, tokens): on B too, at once.
    assert.equal(await active(b, before.access_token as string, demoClient), false);
    const refreshed = await postForm(
      `${b.issuer}/token`,
      { grant_type: 'refresh_token', refresh_token: before.refresh_token as string },
      { authorization: basic(demoClient.client_id, demoClient.client_secret) },
    );
    assert.equal(refreshed.json.error, 'invalid_grant');
    // B checks passwords against the store: the old one fails there, the new one works.
    await assert.rejects(aliceTokens(b), /login failed/);
    const after = await aliceTokens(b, 'alice-new-password');
    assert.equal(await active(b, after.access_token as string, demoClient), true);
  });
});
