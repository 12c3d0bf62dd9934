// The authorization request parameters that steer login and consent: prompt, max_age, id_token_hint, login_hint,
// display, ui_locales, claims_locales, unknown parameters, POST requests and length caps (OIDC Core §3.1.2.1,
// §3.1.2.6; checklist A11).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeJwt } from 'jose';
import {
  alice,
  bob,
  defaultProvider,
  demoClient,
  startTestServer,
  type TestServer,
} from '../helpers/server.js';
import { authorizeUrl, basic, hiddenInputs, type Page, postForm, UserAgent } from '../helpers/user-agent.js';

const redirectUri = demoClient.redirect_uris[0] as string;

/** A second client, for hints issued to someone else and for default_max_age. */
const agedClient = {
  client_id: 'aged',
  client_secret: 'aged-secret-0123456789abcdef',
  redirect_uris: ['https://aged.example/cb'],
  scope: 'openid',
  default_max_age: 60,
};

let t: TestServer;
let origin: string;

before(async () => {
  t = await startTestServer({
    providers: [{ ...defaultProvider(), clients: [demoClient, agedClient] }],
  });
  origin = new URL(t.issuer).origin;
});
after(() => t.close());

type Shown = 'login' | 'consent';

interface Run {
  callback: URL;
  /** The pages the browser was shown, in order. */
  shown: Shown[];
  /** The login page, when one was shown first (to look at its fields). */
  loginPage: Page | undefined;
}

/**
 * Drives the browser through an authorization request: logs in when the login page comes (as `user`), allows
 * when the consent page comes, and records which pages it saw. `beforeConsent` runs just before allowing.
 */
async function drive(
  ua: UserAgent,
  url: string,
  user: { username: string; password: string } = alice,
  beforeConsent?: () => void,
): Promise<Run> {
  const shown: Shown[] = [];
  let loginPage: Page | undefined;
  let page = await ua.follow(url, origin);
  for (let i = 0; i < 8; i++) {
    const location = page.headers.get('location');
    if (page.status === 303 && location && !location.startsWith(origin))
      return { callback: new URL(location), shown, loginPage };
    if (page.status === 303 && location) {
      page = await ua.follow(new URL(location, page.url).href, origin);
      continue;
    }
    assert.equal(page.status, 200, page.body.slice(0, 300));
    if (page.body.includes('name="password"')) {
      shown.push('login');
      loginPage ??= page;
      page = await ua.submit(page, { username: user.username, password: user.password });
    } else if (page.body.includes('name="decision"')) {
      shown.push('consent');
      beforeConsent?.();
      page = await ua.submit(page, { decision: 'allow' });
    } else {
      throw new Error(`unexpected page: ${page.body.slice(0, 300)}`);
    }
  }
  throw new Error('did not finish');
}

interface TestClient {
  client_id: string;
  client_secret: string;
  redirect_uris: string[];
}

function webUrl(params: Record<string, string> = {}, client: TestClient = demoClient): string {
  return authorizeUrl(t.issuer, {
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: client.redirect_uris[0] as string,
    scope: 'openid',
    state: 'st',
    nonce: 'n',
    ...params,
  });
}

/** Redeems the callback's code and answers the ID token's claims (and the ID token itself). */
async function idTokenOf(
  callback: URL,
  client: TestClient = demoClient,
): Promise<{ idToken: string; claims: Record<string, unknown> }> {
  const code = callback.searchParams.get('code');
  assert.ok(code, `no code: ${callback.href}`);
  const res = await postForm(
    `${t.issuer}/token`,
    { grant_type: 'authorization_code', code, redirect_uri: client.redirect_uris[0] as string },
    { authorization: basic(client.client_id, client.client_secret) },
  );
  assert.equal(res.status, 200, JSON.stringify(res.json));
  const idToken = res.json.id_token as string;
  return { idToken, claims: decodeJwt(idToken) };
}

/** The error a request gets without any page, in a fresh browser or the one given. */
async function errorOf(url: string, ua = new UserAgent()): Promise<URL> {
  const page = await ua.follow(url, origin);
  assert.equal(page.status, 303, page.body.slice(0, 200));
  const location = new URL(page.headers.get('location') ?? '');
  assert.ok(location.href.startsWith(redirectUri), location.href);
  assert.equal(location.searchParams.get('code'), null);
  assert.equal(location.searchParams.get('iss'), t.issuer);
  return location;
}

describe('prompt and max_age (OIDC Core §3.1.2.1, checklist A11)', () => {
  /** Alice's browser, logged in once by the first test of this block. */
  const ua = new UserAgent();
  let first: { idToken: string; claims: Record<string, unknown> };

  test('oidcc-prompt-none-not-logged-in: a fresh browser gets login_required, with its long state back', async () => {
    const state = 'x'.repeat(128);
    const location = await errorOf(webUrl({ prompt: 'none', state }));
    assert.equal(location.searchParams.get('error'), 'login_required');
    assert.equal(location.searchParams.get('state'), state);
  });

  test('oidcc-prompt-none-logged-in: silent, same sub and auth_time', async () => {
    const run = await drive(ua, webUrl());
    assert.deepEqual(run.shown, ['login', 'consent']);
    first = await idTokenOf(run.callback);
    const silent = await drive(ua, webUrl({ prompt: 'none' }));
    assert.deepEqual(silent.shown, []);
    const second = await idTokenOf(silent.callback);
    assert.equal(second.claims.sub, first.claims.sub);
    assert.equal(second.claims.auth_time, first.claims.auth_time);
  });

  test('oidcc-max-age-10000: a recent enough login needs no page; auth_time unchanged', async () => {
    t.clock.advance(5);
    const run = await drive(ua, webUrl({ max_age: '10000' }));
    assert.deepEqual(run.shown, []);
    const { claims } = await idTokenOf(run.callback);
    assert.equal(claims.auth_time, first.claims.auth_time);
    assert.equal(claims.sub, first.claims.sub);
  });

  test('oidcc-max-age-1: after 2 s the password is asked again, and auth_time is the new login', async () => {
    t.clock.advance(2);
    const started = t.clock.now();
    const run = await drive(ua, webUrl({ max_age: '1' }));
    assert.deepEqual(run.shown, ['login']);
    const { claims } = await idTokenOf(run.callback);
    assert.ok((claims.auth_time as number) > (first.claims.auth_time as number));
    assert.ok((claims.auth_time as number) >= started, 'the login of this request');
  });

  test('oidcc-prompt-login: the login page again despite the session; auth_time later', async () => {
    const before = await idTokenOf((await drive(ua, webUrl({ prompt: 'none' }))).callback);
    t.clock.advance(2);
    const run = await drive(ua, webUrl({ prompt: 'login' }));
    assert.deepEqual(run.shown, ['login']);
    const { claims } = await idTokenOf(run.callback);
    assert.ok((claims.auth_time as number) > (before.claims.auth_time as number));
  });

  test('prompt=none without consent for the scope is consent_required; prompt=consent asks despite remembered consent', async () => {
    const location = await errorOf(webUrl({ prompt: 'none', scope: 'openid address' }), ua);
    assert.equal(location.searchParams.get('error'), 'consent_required');
    const run = await drive(ua, webUrl({ prompt: 'consent' }));
    assert.deepEqual(run.shown, ['consent']);
    await idTokenOf(run.callback);
  });

  test('select_account shows the login page even with a session', async () => {
    const run = await drive(ua, webUrl({ prompt: 'select_account' }));
    assert.deepEqual(run.shown, ['login']);
    await idTokenOf(run.callback);
  });

  test('max_age after a login inside the interaction: a consent page left open past it asks for the password again', async () => {
    const fresh = new UserAgent();
    let loginTime = 0;
    // Log in, then sit on the consent page for two minutes before allowing, with max_age=60.
    const run = await drive(fresh, webUrl({ max_age: '60', scope: 'openid email' }), alice, () => {
      if (loginTime === 0) {
        loginTime = t.clock.now();
        t.clock.advance(120);
      }
    });
    // The consent counted (no second consent page), but the login had to be done again.
    assert.deepEqual(run.shown, ['login', 'consent', 'login']);
    const { claims } = await idTokenOf(run.callback);
    assert.ok((claims.auth_time as number) >= loginTime + 120, 'auth_time is the second login');
  });

  test('max_age=0 is met by the login inside the interaction (no loop), not by an existing session', async () => {
    const fresh = new UserAgent();
    const run = await drive(fresh, webUrl({ max_age: '0', scope: 'openid phone' }));
    assert.deepEqual(run.shown, ['login', 'consent']);
    const again = await drive(fresh, webUrl({ max_age: '0', scope: 'openid phone' }));
    assert.deepEqual(again.shown, ['login']);
    await idTokenOf(again.callback);
  });

  test("default_max_age: the client's default applies when the request has no max_age", async () => {
    const fresh = new UserAgent();
    const url = webUrl({}, agedClient);
    assert.deepEqual((await drive(fresh, url)).shown, ['login', 'consent']);
    assert.deepEqual((await drive(fresh, url)).shown, [], 'within 60 s');
    t.clock.advance(61);
    const late = await drive(fresh, url);
    assert.deepEqual(late.shown, ['login']);
    // Explicit max_age wins over the default.
    t.clock.advance(61);
    assert.deepEqual((await drive(fresh, webUrl({ max_age: '3600' }, agedClient))).shown, []);
  });
});

describe('id_token_hint (OIDC Core §3.1.2.1, §3.1.2.6)', () => {
  const aliceUa = new UserAgent();
  let aliceIdToken: string;
  let bobIdToken: string;

  before(async () => {
    aliceIdToken = (await idTokenOf((await drive(aliceUa, webUrl())).callback)).idToken;
    bobIdToken = (await idTokenOf((await drive(new UserAgent(), webUrl(), bob)).callback)).idToken;
  });

  test('oidcc-id-token-hint: prompt=none with the first ID token succeeds silently, same sub', async () => {
    // An expired hint is still a hint (OIDC Core §3.1.2.1 asks only that we issued it).
    t.clock.advance(2 * 3600);
    const run = await drive(
      aliceUa,
      webUrl({ prompt: 'none', id_token_hint: aliceIdToken, max_age: '99999' }),
    );
    assert.deepEqual(run.shown, []);
    const { claims } = await idTokenOf(run.callback);
    assert.equal(claims.sub, decodeJwt(aliceIdToken).sub);
  });

  test("another user's hint with prompt=none is login_required; without prompt=none the login page asks", async () => {
    const location = await errorOf(webUrl({ prompt: 'none', id_token_hint: bobIdToken }), aliceUa);
    assert.equal(location.searchParams.get('error'), 'login_required');
    const run = await drive(aliceUa, webUrl({ id_token_hint: bobIdToken }), bob);
    assert.deepEqual(run.shown, ['login']);
    assert.equal((await idTokenOf(run.callback)).claims.sub, decodeJwt(bobIdToken).sub);
  });

  test('a sub claimed with a value names the one user who may get an answer (OIDC Core §5.5.1)', async () => {
    const claims = (sub: unknown) => JSON.stringify({ id_token: { sub: { value: sub, essential: true } } });
    // Alice is signed in and consented; a request for Bob's sub must not answer for her.
    const aliceOnly = new UserAgent();
    await drive(aliceOnly, webUrl());
    const wrong = await errorOf(
      webUrl({ prompt: 'none', claims: claims(decodeJwt(bobIdToken).sub) }),
      aliceOnly,
    );
    assert.equal(wrong.searchParams.get('error'), 'login_required');
    // Logging in as Alice does not satisfy it either: the login page comes back.
    const ua = new UserAgent();
    const login = await ua.follow(webUrl({ claims: claims(decodeJwt(bobIdToken).sub) }), origin);
    assert.match(login.body, /name="password"/);
    const after = await ua.submit(login, { username: alice.username, password: alice.password });
    assert.equal(after.status, 303);
    const again = await ua.follow(new URL(after.headers.get('location') ?? '', login.url).href, origin);
    assert.equal(again.status, 200, 'no answer for Alice');
    assert.match(again.body, /name="password"/);
    // Her own sub is answered silently.
    const own = await drive(
      aliceOnly,
      webUrl({ prompt: 'none', claims: claims(decodeJwt(aliceIdToken).sub) }),
    );
    assert.deepEqual(own.shown, []);
    assert.equal((await idTokenOf(own.callback)).claims.sub, decodeJwt(aliceIdToken).sub);
  });

  test('a hint without a session, with prompt=none, is login_required', async () => {
    const location = await errorOf(webUrl({ prompt: 'none', id_token_hint: aliceIdToken }));
    assert.equal(location.searchParams.get('error'), 'login_required');
  });

  test('a hint we did not issue, or issued to another client, is invalid_request', async () => {
    const [h, p] = aliceIdToken.split('.') as [string, string, string];
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...decodeJwt(aliceIdToken), sub: 'mallory' })).toString('base64url')}.${aliceIdToken.split('.')[2]}`;
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${p}.`;
    for (const hint of [tampered, unsigned, 'not-a-jwt']) {
      const location = await errorOf(webUrl({ id_token_hint: hint }), aliceUa);
      assert.equal(location.searchParams.get('error'), 'invalid_request');
    }
    const aged = await drive(aliceUa, webUrl({}, agedClient));
    const agedIdToken = (await idTokenOf(aged.callback, agedClient)).idToken;
    const location = await errorOf(webUrl({ id_token_hint: agedIdToken }), aliceUa);
    assert.equal(location.searchParams.get('error'), 'invalid_request');
  });
});

describe('login_hint, display, locales, unknown parameters, POST (OIDC Core §3.1.2.1)', () => {
  test('oidcc-login-hint: the login page has the hint as the username, escaped', async () => {
    const hint = 'buffy@"example"<b>.test';
    const run = await drive(new UserAgent(), webUrl({ login_hint: hint }));
    const page = run.loginPage;
    assert.ok(page);
    const input = /<input name="username"[^>]*value="([^"]*)"/.exec(page.body)?.[1];
    assert.equal(
      input?.replace(/&#(\d+);/g, (_s, c: string) => String.fromCharCode(Number(c))),
      hint,
    );
    assert.ok(!page.body.includes('<b>'));
  });

  test('oidcc-display-page / -popup, oidcc-ui-locales, oidcc-claims-locales, oidcc-ensure-request-with-unknown-parameter-succeeds', async () => {
    const ua = new UserAgent();
    await drive(ua, webUrl());
    for (const params of <Record<string, string>[]>[
      { display: 'page' },
      { display: 'popup' },
      { display: 'touch' },
      { ui_locales: 'se' },
      { ui_locales: 'de-CH fr' },
      { claims_locales: 'se' },
      { extra: 'foobar' },
    ]) {
      const run = await drive(ua, webUrl(params));
      assert.deepEqual(run.shown, [], JSON.stringify(params));
      await idTokenOf(run.callback);
    }
    const bad = await errorOf(webUrl({ display: 'hologram' }));
    assert.equal(bad.searchParams.get('error'), 'invalid_request');
  });

  test('oidcc-ensure-post-request-succeeds: the authorization request as a form POST', async () => {
    const ua = new UserAgent();
    const params = new URL(webUrl({ login_hint: 'alice' })).searchParams;
    const res = await ua.request(`${t.issuer}/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: params.toString(),
    });
    assert.equal(res.status, 303);
    const run = await drive(ua, new URL(res.headers.get('location') ?? '', t.issuer).href);
    // Alice consented to this client before, so only the password is asked.
    assert.deepEqual(run.shown, ['login']);
    assert.notEqual(hiddenInputs(run.loginPage?.body ?? '').csrf, undefined);
    assert.equal(run.callback.searchParams.get('state'), 'st');
    await idTokenOf(run.callback);
  });

  test('length caps: over-long free-text parameters are invalid_request, delivered to the client', async () => {
    for (const [name, length] of [
      ['login_hint', 513],
      ['ui_locales', 257],
      ['claims_locales', 257],
      ['acr_values', 1025],
      ['claims', 4097],
      ['id_token_hint', 8193],
    ] as const) {
      const location = await errorOf(webUrl({ [name]: 'a'.repeat(length) }));
      assert.equal(location.searchParams.get('error'), 'invalid_request', name);
    }
  });
});
