// Single use under races (RFC 6749 §4.1.2; security checklist T3, R3): the store's atomic steps decide, not the handlers.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { demoClient, publicClient, startTestServer, type TestServer } from '../helpers/server.js';
import { basic, obtainCode, pkcePair, postForm } from '../helpers/user-agent.js';

let t: TestServer;
before(async () => {
  t = await startTestServer();
});
after(() => t.close());

async function codeFor(clientId: string, redirectUri: string, challenge?: string): Promise<string> {
  return obtainCode(t.issuer, {
    clientId,
    redirectUri,
    scope: 'openid offline_access',
    state: 'race',
    ...(challenge ? { challenge } : {}),
  });
}

test('20 concurrent redemptions of one code: exactly one 200, the rest invalid_grant', async () => {
  const code = await codeFor('web', 'https://rp.example/cb');
  const auth = basic(demoClient.client_id, demoClient.client_secret);
  const results = await Promise.all(
    Array.from({ length: 20 }, () =>
      postForm(
        `${t.issuer}/token`,
        { grant_type: 'authorization_code', code, redirect_uri: 'https://rp.example/cb' },
        { authorization: auth },
      ),
    ),
  );
  const ok = results.filter((r) => r.status === 200);
  assert.equal(ok.length, 1, `statuses: ${results.map((r) => r.status).join(',')}`);
  for (const r of results.filter((x) => x.status !== 200)) {
    assert.equal(r.status, 400);
    assert.equal(r.json.error, 'invalid_grant');
  }
});

test('10 concurrent refreshes of one rotating refresh token: at most one success, never two live families', async () => {
  const { verifier, challenge } = pkcePair();
  const code = await codeFor('spa', publicClient.redirect_uris[0] as string, challenge);
  const first = await postForm(`${t.issuer}/token`, {
    grant_type: 'authorization_code',
    code,
    client_id: 'spa',
    redirect_uri: publicClient.redirect_uris[0] as string,
    code_verifier: verifier,
  });
  assert.equal(first.status, 200);
  const rt = first.json.refresh_token as string;
  const results = await Promise.all(
    Array.from({ length: 10 }, () =>
      postForm(`${t.issuer}/token`, { grant_type: 'refresh_token', refresh_token: rt, client_id: 'spa' }),
    ),
  );
  const ok = results.filter((r) => r.status === 200);
  assert.ok(ok.length <= 1, `successes: ${ok.length}`);
  // Every loser presented a consumed token: reuse detection revokes the family, winner included.
  const survivors = [];
  for (const r of ok) {
    const again = await postForm(`${t.issuer}/token`, {
      grant_type: 'refresh_token',
      refresh_token: r.json.refresh_token as string,
      client_id: 'spa',
    });
    if (again.status === 200) survivors.push(again);
  }
  assert.ok(survivors.length <= 1);
});
