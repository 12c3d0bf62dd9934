// Logins through the bounded argon2 pool over HTTP (issue 8 point 5): a full queue answers 503 at once, and token
// requests are answered while password checks wait.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { passwordPoolStats } from '../../src/crypto/password.js';
import { alice, defaultProvider, demoClient, startTestServer, type TestServer } from '../helpers/server.js';
import {
  authorizeUrl,
  basic,
  obtainCode,
  type Page,
  pkcePair,
  postForm,
  signIn,
  UserAgent,
} from '../helpers/user-agent.js';

/** A browser each, at the login page of its own authorization request. */
async function loginPages(t: TestServer, n: number): Promise<{ ua: UserAgent; page: Page }[]> {
  const out: { ua: UserAgent; page: Page }[] = [];
  for (let i = 0; i < n; i++) {
    const ua = new UserAgent();
    const url = authorizeUrl(t.issuer, {
      response_type: 'code',
      client_id: demoClient.client_id,
      redirect_uri: demoClient.redirect_uris[0] as string,
      scope: 'openid',
      state: `s${i}`,
    });
    const page = await ua.follow(url, new URL(t.issuer).origin);
    assert.equal(page.status, 200);
    assert.match(page.body, /name="password"/);
    out.push({ ua, page });
  }
  return out;
}

function signInUrl(t: TestServer): string {
  return authorizeUrl(t.issuer, {
    response_type: 'code',
    client_id: demoClient.client_id,
    redirect_uri: demoClient.redirect_uris[0] as string,
    scope: 'openid',
    state: 'after',
  });
}

test('a burst beyond one worker and a queue of one: some logins get 503 + Retry-After at once, none a 500', async () => {
  // The address may make 12 attempts: the burst's 12 would use them all if a login turned away uncounted counted.
  const t = await startTestServer({
    server: { passwordWorkers: 1, passwordQueue: 1 },
    providers: [{ ...defaultProvider(), throttle: { login: { perAccountAndAddress: 10, perAddress: 12 } } }],
  });
  try {
    const logins = await loginPages(t, 12);
    // Unknown usernames: they take the dummy hash through the same pool, and count against no real account.
    const results = await Promise.all(
      logins.map(({ ua, page }, i) =>
        ua.submit(page, { username: `nobody-${i}`, password: 'pool-burst-password' }),
      ),
    );
    const statuses = results.map((r) => r.status);
    assert.ok(
      statuses.every((s) => s === 401 || s === 503),
      `statuses: ${statuses.join(',')}`,
    );
    assert.ok(statuses.includes(503), `no login was turned away: ${statuses.join(',')}`);
    assert.ok(statuses.includes(401), `no login was checked: ${statuses.join(',')}`);
    for (const r of results.filter((x) => x.status === 503)) {
      assert.match(r.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
      assert.match(r.headers.get('content-type') ?? '', /^text\/html/);
      assert.equal(r.headers.get('cache-control'), 'no-store');
      assert.ok(!r.body.includes('pool-burst-password'));
      // The login form again, with the username kept, so the user can simply retry.
      assert.match(r.body, /name="password"/);
    }
    // The queue drained: the right password works, and the logins turned away were not counted against the
    // address (12 attempts allowed; only the checked ones, fewer than 12, were counted).
    const cb = await signIn(new UserAgent(), signInUrl(t), {
      username: alice.username,
      password: alice.password,
    });
    assert.ok(cb.searchParams.get('code'));
    assert.ok(!t.logs.some((l) => l.includes('pool-burst-password')), 'a password reached the log');
  } finally {
    await t.close();
  }
});

test('a token request is answered while login password checks still wait in the queue', async () => {
  const t = await startTestServer({ server: { passwordWorkers: 1, passwordQueue: 64 } });
  try {
    const pkce = pkcePair();
    const code = await obtainCode(t.issuer, {
      clientId: demoClient.client_id,
      redirectUri: demoClient.redirect_uris[0] as string,
      scope: 'openid',
      challenge: pkce.challenge,
    });
    const n = 24;
    const logins = await loginPages(t, n);
    let answered = 0;
    const flood = logins.map(({ ua, page }, i) =>
      ua.submit(page, { username: `nobody-${i}`, password: 'wrong-password' }).then((r) => {
        answered++;
        return r.status;
      }),
    );
    // Wait (by behaviour, not by time) until argon2 jobs queue behind the one worker.
    for (let i = 0; (passwordPoolStats()?.waiting ?? 0) < 8; i++) {
      assert.ok(i < 2000, `the queue never filled: ${JSON.stringify(passwordPoolStats())}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    const token = await postForm(
      `${t.issuer}/token`,
      {
        grant_type: 'authorization_code',
        code,
        redirect_uri: demoClient.redirect_uris[0] as string,
        code_verifier: pkce.verifier,
      },
      { authorization: basic(demoClient.client_id, demoClient.client_secret) },
    );
    const queuedAtAnswer = passwordPoolStats()?.waiting ?? 0;
    const answeredAtToken = answered;
    assert.equal(token.status, 200, JSON.stringify(token.json));
    assert.equal(typeof token.json.id_token, 'string');
    // Signing did not wait for the argon2 backlog: password checks were still queued when the tokens came back.
    assert.ok(
      queuedAtAnswer > 0,
      `no password check was waiting any more (${answeredAtToken} logins answered)`,
    );
    assert.ok(answeredAtToken < n);
    assert.deepEqual(new Set(await Promise.all(flood)), new Set([401]));
  } finally {
    await t.close();
  }
});

test('with no queue at all the server starts, restarts (rechecking configured passwords) and logs in', async () => {
  const t = await startTestServer({ server: { passwordWorkers: 1, passwordQueue: 0 } });
  try {
    await t.restart();
    const cb = await signIn(new UserAgent(), signInUrl(t), {
      username: alice.username,
      password: alice.password,
    });
    assert.ok(cb.searchParams.get('code'));
  } finally {
    await t.close();
  }
});
