// Pending authorizations cost an anonymous caller nothing lasting, and every authorization parameter is capped (issue 8 point 3).
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { call } from '../helpers/http.js';
import {
  defaultProvider,
  demoClient,
  queryTestDatabase,
  startTestServer,
  type TestServer,
} from '../helpers/server.js';
import { hiddenInputs, type Page, UserAgent } from '../helpers/user-agent.js';

const redirect = demoClient.redirect_uris[0] as string;

let t: TestServer;
let other: string;

before(async () => {
  t = await startTestServer({
    providers: [
      {
        ...defaultProvider(),
        // The 3,000 requests below come from one address: no per-address rate limit may answer them.
        throttle: { requests: { authorize: { perSecond: 1_000_000, burst: 1_000_000 } } },
      },
      defaultProvider('other'),
    ],
  });
  other = t.issuerOf('other');
});
after(() => t.close());

function authorizeUrl(params: Record<string, string>, issuer = t.issuer): string {
  return `${issuer}/authorize?${new URLSearchParams(params).toString()}`;
}

function params(extra: Record<string, string> = {}): Record<string, string> {
  return {
    response_type: 'code',
    client_id: demoClient.client_id,
    redirect_uri: redirect,
    scope: 'openid profile',
    state: 'st',
    ...extra,
  };
}

/** Starts an authorization in `ua` and answers the interaction URL it is sent to. */
async function start(ua: UserAgent, issuer = t.issuer, extra: Record<string, string> = {}): Promise<string> {
  const res = await ua.get(authorizeUrl(params(extra), issuer));
  assert.equal(res.status, 303, res.body);
  const location = res.headers.get('location') ?? '';
  assert.ok(location.startsWith(`${issuer}/interaction/`), location);
  return location;
}

function assertExpiredPage(page: { status: number; body?: string; text?: string }, label = ''): void {
  assert.equal(page.status, 400, label);
  assert.match(page.body ?? page.text ?? '', /expired or was already used/, label);
}

/** Logs alice in on the interaction and answers the page the post-login redirect leads to (consent here). */
async function login(ua: UserAgent, interaction: string): Promise<Page> {
  const loginPage = await ua.get(interaction);
  assert.equal(loginPage.status, 200);
  assert.match(loginPage.body, /name="password"/);
  const res = await ua.submit(loginPage, { username: 'alice', password: 'alice-password' });
  assert.equal(res.status, 303, res.body);
  return ua.get(new URL(res.headers.get('location') ?? '', interaction).href);
}

/** Bytes the database keeps: SQLite's file and WAL after a checkpoint, or PostgreSQL's database size. */
async function storeBytes(): Promise<number> {
  const storage = t.config.storage;
  if (storage.driver === 'sqlite') {
    await queryTestDatabase(storage, 'PRAGMA wal_checkpoint(TRUNCATE)');
    const size = (suffix: string) => {
      try {
        return statSync(`${storage.path}${suffix}`).size;
      } catch {
        return 0;
      }
    };
    return size('') + size('-wal');
  }
  const [row] = await queryTestDatabase(storage, 'SELECT pg_database_size(current_database()) AS size');
  return Number(row?.size);
}

describe('anonymous authorization requests (issue 8: 3,000 grow the store by less than 2 MB)', () => {
  test('3,000 requests with the largest allowed parameters leave the store as it was', async () => {
    const fixed = {
      state: 'S'.repeat(2048),
      nonce: 'N'.repeat(512),
      login_hint: 'L'.repeat(512),
      ui_locales: 'en',
      display: 'page',
      prompt: 'login consent',
      max_age: '999999999',
      // Ignored parameters at their cap: they cost the request line, never the store.
      x_pad_1: 'x'.repeat(2048),
      x_pad_2: 'x'.repeat(2048),
    };
    // The longest acr_values the request-size cap still allows with all of the above: the largest allowed request.
    let lo = 0;
    let hi = 1024;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      const res = await call(authorizeUrl(params({ ...fixed, acr_values: 'A'.repeat(mid) })));
      if (res.headers.get('location')?.startsWith(`${t.issuer}/interaction/`)) lo = mid;
      else hi = mid - 1;
    }
    assert.ok(lo > 100, `acr_values room left: ${lo}`);
    const largest = authorizeUrl(params({ ...fixed, acr_values: 'A'.repeat(lo) }));

    // The sealed interaction URL stays under nginx's default 8 KB request line (docs/nginx.conf sets none larger).
    const first = await call(largest);
    const location = first.headers.get('location') ?? '';
    assert.ok(location.length < 7000, `interaction URL of ${location.length} characters`);
    // Sealed, not merely encoded: the request's values cannot be read from the URL.
    assert.doesNotMatch(location, /SSSS|NNNN|LLLL/);

    const before = await storeBytes();
    let next = 0;
    let redirected = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < 3000) {
          next++;
          const res = await fetch(largest, { redirect: 'manual' });
          await res.arrayBuffer();
          if (res.status === 303 && res.headers.get('location')?.includes('/interaction/')) redirected++;
        }
      }),
    );
    assert.equal(redirected, 3000);
    const grown = (await storeBytes()) - before;
    assert.ok(grown < 2 * 1024 * 1024, `the store grew by ${grown} bytes`);
    // Nothing recorded for them, not even in the replay store.
    const [row] = await queryTestDatabase(
      t.config.storage,
      "SELECT count(*) AS n FROM used_jtis WHERE namespace = 'interaction'",
    );
    assert.equal(Number(row?.n), 0);
  });

  test('showing the login page to an anonymous browser writes nothing', async () => {
    const ua = new UserAgent();
    const interaction = await start(ua);
    for (let i = 0; i < 3; i++) assert.equal((await ua.get(interaction)).status, 200);
    const [row] = await queryTestDatabase(
      t.config.storage,
      "SELECT count(*) AS n FROM used_jtis WHERE namespace = 'interaction'",
    );
    assert.equal(Number(row?.n), 0);
  });
});

describe('length caps on every authorization parameter (invalid_request beyond them)', () => {
  // [parameter, cap in characters, error code]: one over the cap is refused, and said to be too long.
  const caps: [string, number, string][] = [
    ['response_type', 64, 'invalid_request'],
    ['response_mode', 32, 'invalid_request'],
    ['scope', 2048, 'invalid_request'],
    ['state', 2048, 'invalid_request'],
    ['nonce', 512, 'invalid_request'],
    ['code_challenge', 128, 'invalid_request'],
    ['code_challenge_method', 16, 'invalid_request'],
    ['prompt', 64, 'invalid_request'],
    ['max_age', 16, 'invalid_request'],
    ['resource', 2048, 'invalid_request'],
    ['registration', 4096, 'invalid_request'],
    ['login_hint', 512, 'invalid_request'],
    ['ui_locales', 256, 'invalid_request'],
    ['claims_locales', 256, 'invalid_request'],
    ['acr_values', 1024, 'invalid_request'],
    ['display', 16, 'invalid_request'],
    ['claims', 4096, 'invalid_request'],
    ['id_token_hint', 8192, 'invalid_request'],
    ['an_unknown_parameter', 2048, 'invalid_request'],
    // RFC 9101's own codes for the request object parameters (checked where they are read).
    ['request_uri', 2048, 'invalid_request_uri'],
  ];
  for (const [name, cap, code] of caps) {
    test(`${name}: ${cap} characters at most`, async () => {
      const res = await call(authorizeUrl(params({ [name]: 'a'.repeat(cap + 1) })));
      assert.equal(res.status, 303, res.text);
      const location = new URL(res.headers.get('location') ?? '');
      assert.equal(location.origin + location.pathname, redirect);
      assert.equal(location.searchParams.get('error'), code);
      assert.match(location.searchParams.get('error_description') ?? '', /too long/);
      // An over-long state is not echoed back; any other one is.
      assert.equal(location.searchParams.get('state'), name === 'state' ? null : 'st');
    });
  }

  test('request: 32 KB at most (sent by POST; invalid_request_object)', async () => {
    const res = await call(`${t.issuer}/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params({ request: 'a'.repeat(32 * 1024 + 1) })).toString(),
    });
    assert.equal(res.status, 303);
    const location = new URL(res.headers.get('location') ?? '');
    assert.equal(location.searchParams.get('error'), 'invalid_request_object');
    assert.match(location.searchParams.get('error_description') ?? '', /too long/);
  });

  for (const [name, cap] of [
    ['client_id', 255],
    ['redirect_uri', 2048],
  ] as const) {
    test(`${name}: ${cap} characters at most, refused on a page (nothing to redirect to yet)`, async () => {
      const value = name === 'redirect_uri' ? `${redirect}?${'a'.repeat(cap)}` : 'a'.repeat(cap + 1);
      const res = await call(authorizeUrl(params({ [name]: value })));
      assert.equal(res.status, 400);
      assert.equal(res.headers.get('location'), null);
      assert.match(res.text, /too long/);
    });
  }

  test('a request just within the caps is accepted', async () => {
    const res = await call(
      authorizeUrl(params({ state: 'S'.repeat(2048), nonce: 'N'.repeat(512), login_hint: 'L'.repeat(512) })),
    );
    assert.equal(res.status, 303);
    assert.ok(res.headers.get('location')?.startsWith(`${t.issuer}/interaction/`));
  });

  test('an over-long parameter name, too many parameters, or more than 10 resources', async () => {
    const cases: [string, Record<string, string> | URLSearchParams][] = [
      ['name', params({ [`x${'n'.repeat(128)}`]: '1' })],
      ['count', params(Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`x${i}`, '1'])))],
    ];
    const many = new URLSearchParams(params());
    for (let i = 0; i < 11; i++) many.append('resource', `https://api.example/${i}`);
    cases.push(['resources', many]);
    for (const [label, query] of cases) {
      const res = await call(`${t.issuer}/authorize?${new URLSearchParams(query).toString()}`);
      assert.equal(res.status, 303, label);
      const location = new URL(res.headers.get('location') ?? '');
      assert.equal(location.searchParams.get('error'), 'invalid_request', label);
      assert.match(location.searchParams.get('error_description') ?? '', /too long|Too many|At most/, label);
    }
  });

  test('a request within every parameter cap but too large as a whole is invalid_request', async () => {
    const res = await call(
      authorizeUrl(
        params({
          state: 'S'.repeat(2048),
          nonce: 'N'.repeat(512),
          login_hint: 'L'.repeat(512),
          acr_values: 'A'.repeat(1024),
        }),
      ),
    );
    assert.equal(res.status, 303);
    const location = new URL(res.headers.get('location') ?? '');
    assert.equal(location.searchParams.get('error'), 'invalid_request');
    assert.match(location.searchParams.get('error_description') ?? '', /too large/);
  });
});

describe('the sealed pending authorization', () => {
  test('tampered, truncated, missing, mangled or for another id: the expired page, never a 5xx', async () => {
    const ua = new UserAgent();
    const interaction = await start(ua);
    const url = new URL(interaction);
    const sealed = url.searchParams.get('pending') ?? '';
    assert.ok(sealed.split('.').length === 5, 'a compact JWE');
    const parts = sealed.split('.');
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    const variants: [string, string][] = [
      ['ciphertext changed', [parts[0], parts[1], parts[2], flip(parts[3] ?? ''), parts[4]].join('.')],
      ['tag changed', [parts[0], parts[1], parts[2], parts[3], flip(parts[4] ?? '')].join('.')],
      ['header changed', [flip(parts[0] ?? ''), ...parts.slice(1)].join('.')],
      ['truncated', sealed.slice(0, -10)],
      ['not a JWE', 'abc'],
    ];
    const base = `${url.origin}${url.pathname}`;
    for (const [label, value] of variants) assertExpiredPage(await ua.get(`${base}?pending=${value}`), label);
    assertExpiredPage(await ua.get(base), 'missing');
    assertExpiredPage(await ua.get(`${base}?pending=%FF`), 'not UTF-8');
    assertExpiredPage(await ua.get(`${base}?pending=${sealed}&pending=${sealed}`), 'repeated');
    assertExpiredPage(await ua.get(`${url.origin}${url.pathname}x?pending=${sealed}`), 'another id');
    // The untouched one still works.
    assert.equal((await ua.get(interaction)).status, 200);
    // Log lines carry the path only, never the sealed value.
    assert.ok(!t.logs.join('\n').includes(sealed.slice(-40)));
  });

  test('a value sealed by another provider is refused (its key differs)', async () => {
    const ua = new UserAgent();
    const foreign = new URL(await start(ua, other));
    const ours = new URL(await start(ua));
    const sealed = foreign.searchParams.get('pending') ?? '';
    const id = foreign.pathname.split('/').pop() ?? '';
    assertExpiredPage(await ua.get(`${ours.origin}${ours.pathname.replace(/[^/]+$/, id)}?pending=${sealed}`));
    const res = await ua.post(`${ours.origin}${ours.pathname.replace(/[^/]+$/, id)}?pending=${sealed}`, {
      csrf: 'x',
      username: 'alice',
      password: 'alice-password',
    });
    assertExpiredPage(res, 'POST');
  });

  test('an expired one shows the expired page, also to a signed-in browser', async () => {
    const ua = new UserAgent();
    const interaction = await start(ua);
    const consent = await login(ua, interaction);
    assert.match(consent.body, /name="decision"/);
    // The clock only moves forward: later tests start their own authorizations after this.
    t.clock.advance(t.config.providers[0]?.lifetimes.interaction ?? 900);
    assertExpiredPage(await ua.get(interaction), 'before login');
    assertExpiredPage(await ua.get(consent.url), 'after login');
    assertExpiredPage(await ua.submit(consent, { decision: 'allow' }), 'consent posted');
  });

  test('a double submit of the consent form makes one code; the page is gone afterwards', async () => {
    const ua = new UserAgent();
    const consent = await login(ua, await start(ua, t.issuer, { prompt: 'consent' }));
    const both = await Promise.all([
      ua.submit(consent, { decision: 'allow' }),
      ua.submit(consent, { decision: 'allow' }),
    ]);
    const codes = both
      .map((p) => p.headers.get('location'))
      .filter((l): l is string => l?.startsWith(redirect) === true)
      .map((l) => new URL(l).searchParams.get('code'))
      .filter((c) => c !== null);
    assert.equal(codes.length, 1);
    assert.equal(both.filter((p) => p.status === 400).length, 1);
    assertExpiredPage(await ua.get(consent.url), 'shown again');
    assertExpiredPage(await ua.submit(consent, { decision: 'allow' }), 'posted again');
  });

  test('a denied one cannot be shown or decided again', async () => {
    const ua = new UserAgent();
    // prompt=consent: alice may have consented to this client in an earlier test.
    const consent = await login(ua, await start(ua, t.issuer, { prompt: 'consent' }));
    assert.match(consent.body, /name="decision"/);
    const denied = await ua.submit(consent, { decision: 'deny' });
    assert.equal(new URL(denied.headers.get('location') ?? '').searchParams.get('error'), 'access_denied');
    // The consent was not remembered, so this would be the consent page again without the single-use check.
    assertExpiredPage(await ua.get(consent.url), 'shown again');
    assertExpiredPage(await ua.submit(consent, { decision: 'allow' }), 'allowed after deny');
  });

  test('logging in again through the pre-login URL of a completed one gets no second code', async () => {
    const ua = new UserAgent();
    const interaction = await start(ua, t.issuer, { prompt: 'consent' });
    const consent = await login(ua, interaction);
    const allowed = await ua.submit(consent, { decision: 'allow' });
    assert.ok(allowed.headers.get('location')?.startsWith(redirect));
    const again = await ua.get(interaction);
    assert.equal(again.status, 200, 'the login page: an anonymous view cannot know');
    const res = await ua.submit(again, { username: 'alice', password: 'alice-password' });
    assert.equal(res.status, 303);
    assertExpiredPage(await ua.get(new URL(res.headers.get('location') ?? '', interaction).href));
  });

  test('a URL from one browser is refused in another (binding cookie)', async () => {
    const a = new UserAgent();
    const interaction = await start(a);
    const page = await a.get(interaction);
    const b = new UserAgent();
    assert.equal((await b.get(interaction)).status, 403, 'a browser without a binding cookie');
    await start(b);
    assert.equal((await b.get(interaction)).status, 403, 'a browser with its own binding cookie');
    const posted = await b.post(interaction, {
      ...hiddenInputs(page.body),
      username: 'alice',
      password: 'alice-password',
    });
    assert.equal(posted.status, 403);
    assert.equal(posted.headers.get('location'), null);
  });
});
