// Throttling through real HTTP (issue 8 points 1-2; checklist C3, L5; interface.md "Throttled requests"): logins by
// account and address, client authentication at token, introspection and revocation, per-address request rates.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SignJWT } from 'jose';
import type { ConfigInput } from '../../src/config/schema.js';
import { addressKey } from '../../src/throttle/address.js';
import { RequestRateLimiter } from '../../src/throttle/request-rate.js';
import { ManualClock } from '../../src/util/clock.js';
import { call } from '../helpers/http.js';
import { alice, bob, defaultProvider, startTestServer, type TestServer } from '../helpers/server.js';
import { authorizeUrl, basic, type Page, postForm, UserAgent } from '../helpers/user-agent.js';

type Throttle = NonNullable<NonNullable<ConfigInput['providers']>[number]['throttle']>;

function throttled(throttle: Throttle, extra: Partial<ReturnType<typeof defaultProvider>> = {}) {
  return { providers: [{ ...defaultProvider(), ...extra, throttle }] };
}

/** A fresh browser at the login page of an authorization request of the demo client. */
async function openLogin(t: TestServer): Promise<{ ua: UserAgent; page: Page }> {
  const ua = new UserAgent();
  const url = authorizeUrl(t.issuer, {
    client_id: 'web',
    response_type: 'code',
    redirect_uri: 'https://rp.example/cb',
    scope: 'openid',
    state: 'st',
    nonce: 'n',
  });
  const page = await ua.follow(url, new URL(t.issuer).origin);
  assert.equal(page.status, 200, page.body.slice(0, 300));
  assert.match(page.body, /name="password"/);
  return { ua, page };
}

async function tryLogin(t: TestServer, username: string, password: string): Promise<Page> {
  const { ua, page } = await openLogin(t);
  return ua.submit(page, { username, password });
}

function retryAfter(headers: Headers): number {
  const value = headers.get('retry-after');
  assert.ok(value !== null && /^\d+$/.test(value), `Retry-After: ${value}`);
  return Number(value);
}

/** A throttled login POST: the login page again, 429, Retry-After, a message to wait, no session. */
function assertLoginThrottled(page: Page): number {
  assert.equal(page.status, 429, page.body.slice(0, 300));
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
  assert.match(page.body, /name="password"/);
  assert.match(page.body, /Too many sign-in attempts\. Wait \d+ (second|minute|hour)s? and try again\./);
  assert.equal(page.headers.get('location'), null);
  return retryAfter(page.headers);
}

describe('login throttling (issue 8 point 1; checklist L5)', () => {
  test('bad passwords up to the limit, then 429 with Retry-After; the right password is refused until the window ends', async () => {
    const t = await startTestServer(throttled({ login: { perAccountAndAddress: 3, perAddress: 100 } }));
    try {
      for (let i = 0; i < 3; i++) assert.equal((await tryLogin(t, 'alice', `wrong-${i}`)).status, 401);
      const refused = await tryLogin(t, 'alice', alice.password);
      const wait = assertLoginThrottled(refused);
      assert.ok(wait > 0 && wait <= 900, `Retry-After ${wait}`);
      // The username field is kept as on a failed login; the password never comes back.
      assert.match(refused.body, /value="alice"/);
      assert.ok(!refused.body.includes(alice.password));
      assert.ok(t.logs.some((l) => l.includes('"status":429') && l.includes('login throttled')));
      assert.ok(!t.logs.some((l) => l.includes(alice.password)));
      // Still throttled just before the window ends, also from a case variant of the username.
      t.clock.advance(wait - 30);
      assertLoginThrottled(await tryLogin(t, 'ALICE', alice.password));
      t.clock.advance(30);
      assert.equal((await tryLogin(t, 'alice', alice.password)).status, 303);
      // The success cleared the account's count: three more bad passwords are answered 401 again.
      for (let i = 0; i < 3; i++) assert.equal((await tryLogin(t, 'alice', `again-${i}`)).status, 401);
      assertLoginThrottled(await tryLogin(t, 'alice', alice.password));
    } finally {
      await t.close();
    }
  });

  test('an account at its limit again in the next window is blocked twice as long', async () => {
    const t = await startTestServer(throttled({ login: { perAccountAndAddress: 2, perAddress: 100 } }));
    try {
      for (let i = 0; i < 2; i++) await tryLogin(t, 'alice', 'wrong');
      const first = assertLoginThrottled(await tryLogin(t, 'alice', 'wrong'));
      t.clock.advance(first);
      for (let i = 0; i < 2; i++) assert.equal((await tryLogin(t, 'alice', 'wrong')).status, 401);
      const second = assertLoginThrottled(await tryLogin(t, 'alice', 'wrong'));
      assert.ok(second >= 1800 - 5 && second <= 1800, `second block ${second} s after a first of ${first} s`);
    } finally {
      await t.close();
    }
  });

  test('unknown and known usernames get the same answers, statuses, waits and pages', async () => {
    const t = await startTestServer(throttled({ login: { perAccountAndAddress: 3, perAddress: 100 } }));
    try {
      const answers = async (username: string) => {
        const { ua, page } = await openLogin(t);
        const out: { status: number; retryAfter: number; body: string }[] = [];
        for (let i = 0; i < 4; i++) {
          const r = await ua.submit(page, { username, password: `wrong-${i}` });
          out.push({
            status: r.status,
            retryAfter: Number(r.headers.get('retry-after') ?? 0),
            // Each login page carries its own interaction's hidden fields and echoes the username typed.
            body: r.body
              .replaceAll(username, 'NAME')
              .replace(/<input type="hidden"[^>]*>/g, '')
              .replace(/action="[^"]*"/g, ''),
          });
        }
        return out;
      };
      const known = await answers('alice');
      const unknown = await answers('nobody-at-all');
      assert.deepEqual(
        known.map((a) => a.status),
        [401, 401, 401, 429],
      );
      // The waits were measured a moment apart: equal but for the second boundary between them.
      assert.ok(Math.abs((unknown[3]?.retryAfter ?? 0) - (known[3]?.retryAfter ?? 0)) <= 1);
      const withoutWait = (a: typeof known) => a.map((x) => ({ ...x, retryAfter: x.retryAfter > 0 }));
      assert.deepEqual(withoutWait(unknown), withoutWait(known));
    } finally {
      await t.close();
    }
  });

  test('another account from the same address is unaffected below the address limit; at it, every account waits', async () => {
    const t = await startTestServer(throttled({ login: { perAccountAndAddress: 3, perAddress: 8 } }));
    try {
      for (let i = 0; i < 3; i++) await tryLogin(t, 'alice', 'wrong');
      assertLoginThrottled(await tryLogin(t, 'alice', alice.password));
      // bob signs in (and his attempt is given back to the address): 3 counted on the address.
      assert.equal((await tryLogin(t, 'bob', bob.password)).status, 303);
      for (let i = 0; i < 5; i++) assert.equal((await tryLogin(t, `user-${i}`, 'wrong')).status, 401);
      // 8 counted: the address is at its limit, so bob waits too, with the right password.
      assertLoginThrottled(await tryLogin(t, 'bob', bob.password));
      assertLoginThrottled(await tryLogin(t, 'someone-new', 'whatever'));
    } finally {
      await t.close();
    }
  });

  test('30 parallel bad passwords with a limit of 20: exactly 20 are checked, 10 are throttled unchecked', async () => {
    const t = await startTestServer(throttled({ login: { perAccountAndAddress: 20, perAddress: 100 } }));
    try {
      const { ua, page } = await openLogin(t);
      const replies = await Promise.all(
        Array.from({ length: 30 }, (_, i) => ua.submit(page, { username: 'alice', password: `guess-${i}` })),
      );
      const statuses = replies.map((r) => r.status).sort();
      // Check-then-count would let all 30 through to the password check; reserving first lets exactly 20.
      assert.deepEqual(statuses, [...Array(20).fill(401), ...Array(10).fill(429)]);
      assertLoginThrottled(await ua.submit(page, { username: 'alice', password: alice.password }));
    } finally {
      await t.close();
    }
  });

  test('one account from many addresses: the per-account limit holds whatever the address (NIST SP 800-63B §5.2.2)', async () => {
    // trustProxy lets this test play many client addresses through X-Forwarded-For.
    const t = await startTestServer({
      server: { trustProxy: 1 },
      ...throttled({ login: { perAccountAndAddress: 3, perAccount: 5, perAddress: 100 } }),
    });
    try {
      for (let i = 1; i <= 5; i++) {
        const { ua, page } = await openLogin(t);
        const reply = await ua.submit(
          page,
          { username: 'alice', password: `guess-${i}` },
          {
            'x-forwarded-for': `203.0.113.${i}`,
          },
        );
        assert.equal(reply.status, 401, `attempt ${i}: ${t.logs.slice(-3).join('\n')}`);
      }
      // A sixth address, even with the right password: the account is held until the window ends.
      const { ua, page } = await openLogin(t);
      assertLoginThrottled(
        await ua.submit(
          page,
          { username: 'alice', password: alice.password },
          { 'x-forwarded-for': '203.0.113.99' },
        ),
      );
      // Another account from that address is unaffected.
      const other = await openLogin(t);
      const ok = await other.ua.submit(
        other.page,
        { username: 'bob', password: 'bob-password' },
        {
          'x-forwarded-for': '203.0.113.99',
        },
      );
      assert.equal(ok.status, 303);
    } finally {
      await t.close();
    }
  });

  test('two servers on one store count together', async () => {
    const options = throttled({ login: { perAccountAndAddress: 3, perAddress: 100 } });
    const a = await startTestServer(options);
    const b = await startTestServer({ ...options, dir: a.dir });
    try {
      assert.equal((await tryLogin(a, 'alice', 'wrong')).status, 401);
      assert.equal((await tryLogin(b, 'alice', 'wrong')).status, 401);
      assert.equal((await tryLogin(a, 'alice', 'wrong')).status, 401);
      assertLoginThrottled(await tryLogin(b, 'alice', alice.password));
      assertLoginThrottled(await tryLogin(a, 'alice', alice.password));
    } finally {
      await b.close();
      await a.close();
    }
  });
});

const webSecret = 'web-secret-0123456789abcdef';
const posterSecret = 'poster-secret-0123456789abcdef';

/** A throttled token-side answer (interface.md "Throttled requests"). */
function assertClientThrottled(r: {
  status: number;
  headers: Headers;
  json: Record<string, unknown>;
}): number {
  assert.equal(r.status, 429, JSON.stringify(r.json));
  assert.equal(r.headers.get('cache-control'), 'no-store');
  assert.equal(r.json.error, 'temporarily_unavailable');
  const wait = retryAfter(r.headers);
  assert.equal(
    r.json.error_description,
    `Too many failed client authentications; retry after ${wait} seconds`,
  );
  return wait;
}

describe('client authentication throttling (issue 8 point 2; checklist C3)', () => {
  // C3 with the default limits: 100 bad secrets in 60 s; the correct secret is then refused at every endpoint.
  test('bad secrets end in 429 + Retry-After at token, introspection and revocation; another client is not', async () => {
    const t = await startTestServer();
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 100; i++) {
        const r = await postForm(
          `${t.issuer}/token`,
          { grant_type: 'refresh_token', refresh_token: 'x' },
          { authorization: basic('web', `bad-${i}`) },
        );
        statuses.push(r.status);
        if (r.status === 429) assertClientThrottled(r);
      }
      // The default limit per client and address is 20.
      assert.deepEqual(statuses.slice(0, 20), Array(20).fill(401));
      assert.deepEqual(statuses.slice(20), Array(80).fill(429));
      const right = { authorization: basic('web', webSecret) };
      const wait = assertClientThrottled(
        await postForm(`${t.issuer}/token`, { grant_type: 'refresh_token', refresh_token: 'x' }, right),
      );
      assert.ok(wait > 0 && wait <= 900);
      assertClientThrottled(await postForm(`${t.issuer}/introspect`, { token: 'x' }, right));
      assertClientThrottled(await postForm(`${t.issuer}/revoke`, { token: 'x' }, right));
      // Another client from the same address is below its own limit and the address's (200).
      const other = await postForm(`${t.issuer}/introspect`, {
        token: 'x',
        client_id: 'poster',
        client_secret: posterSecret,
      });
      assert.equal(other.status, 200);
      assert.deepEqual(other.json, { active: false });
      assert.ok(!t.logs.some((l) => l.includes(webSecret) || l.includes('bad-1')));
      // After the window the correct secret works again (invalid_grant: the client authenticated).
      t.clock.advance(wait);
      const after = await postForm(
        `${t.issuer}/token`,
        { grant_type: 'refresh_token', refresh_token: 'x' },
        right,
      );
      assert.equal(after.status, 400);
      assert.equal(after.json.error, 'invalid_grant');
    } finally {
      await t.close();
    }
  });

  test('60 bad secrets sent at once: exactly 20 are answered 401, the rest 429, and the right secret then too', async () => {
    // Checking the counters before verifying and counting after would let a whole burst through (the reads all
    // come first, above all on PostgreSQL's connection pool); each failure's verdict is one atomic step instead.
    const t = await startTestServer();
    try {
      const replies = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          postForm(
            `${t.issuer}/token`,
            { grant_type: 'refresh_token', refresh_token: 'x' },
            { authorization: basic('web', `burst-${i}`) },
          ),
        ),
      );
      const statuses = replies.map((r) => r.status).sort();
      assert.deepEqual(statuses, [...Array(20).fill(401), ...Array(40).fill(429)]);
      assertClientThrottled(
        await postForm(
          `${t.issuer}/token`,
          { grant_type: 'refresh_token', refresh_token: 'x' },
          { authorization: basic('web', webSecret) },
        ),
      );
    } finally {
      await t.close();
    }
  });

  test('failures count at introspection and revocation, and with client assertions', async () => {
    const t = await startTestServer(throttled({ clientAuth: { perClientAndAddress: 3, perAddress: 100 } }));
    try {
      for (let i = 0; i < 3; i++) {
        const r = await postForm(`${t.issuer}/introspect`, {
          token: 'x',
          client_id: 'poster',
          client_secret: `bad-${i}`,
        });
        assert.equal(r.status, 401);
      }
      assertClientThrottled(
        await postForm(`${t.issuer}/introspect`, {
          token: 'x',
          client_id: 'poster',
          client_secret: posterSecret,
        }),
      );
      for (let i = 0; i < 3; i++) {
        const r = await postForm(
          `${t.issuer}/revoke`,
          { token: 'x' },
          { authorization: basic('web', `bad-${i}`) },
        );
        assert.equal(r.status, 401);
      }
      assertClientThrottled(
        await postForm(`${t.issuer}/revoke`, { token: 'x' }, { authorization: basic('web', webSecret) }),
      );
      // An assertion naming a client that uses a secret: invalid_client, counted all the same.
      const assertion = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer('spa')
        .setSubject('spa')
        .setAudience(`${t.issuer}/token`)
        .setIssuedAt()
        .setExpirationTime('1m')
        .setJti(crypto.randomUUID())
        .sign(new TextEncoder().encode('a-key-that-is-not-the-clients-0123456789'));
      for (let i = 0; i < 3; i++) {
        const r = await postForm(`${t.issuer}/token`, {
          grant_type: 'authorization_code',
          code: 'x',
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: assertion,
        });
        assert.equal(r.status, 401);
      }
      assertClientThrottled(
        await postForm(`${t.issuer}/token`, {
          grant_type: 'authorization_code',
          code: 'x',
          client_id: 'spa',
          redirect_uri: 'https://spa.example/cb',
          code_verifier: 'v'.repeat(43),
        }),
      );
    } finally {
      await t.close();
    }
  });

  test('the address limit covers unknown client_ids and then every client from that address', async () => {
    const t = await startTestServer(throttled({ clientAuth: { perClientAndAddress: 20, perAddress: 5 } }));
    try {
      for (let i = 0; i < 5; i++) {
        const r = await postForm(`${t.issuer}/token`, {
          grant_type: 'client_credentials',
          client_id: `nobody-${i}`,
        });
        assert.equal(r.status, 401);
      }
      assertClientThrottled(
        await postForm(`${t.issuer}/introspect`, {
          token: 'x',
          client_id: 'poster',
          client_secret: posterSecret,
        }),
      );
    } finally {
      await t.close();
    }
  });

  test('two servers on one store count together', async () => {
    const options = throttled({ clientAuth: { perClientAndAddress: 4, perAddress: 100 } });
    const a = await startTestServer(options);
    const b = await startTestServer({ ...options, dir: a.dir });
    try {
      for (const t of [a, b, a, b]) {
        const r = await postForm(
          `${t.issuer}/revoke`,
          { token: 'x' },
          { authorization: basic('web', 'bad') },
        );
        assert.equal(r.status, 401);
      }
      for (const t of [a, b])
        assertClientThrottled(
          await postForm(`${t.issuer}/revoke`, { token: 'x' }, { authorization: basic('web', webSecret) }),
        );
    } finally {
      await b.close();
      await a.close();
    }
  });
});

describe('per-address request rates (checklist C3)', () => {
  test('a burst of 1,000 requests at /authorize and at /registration gets 429 with Retry-After; the service stays up', async () => {
    const t = await startTestServer({ providers: [{ ...defaultProvider(), registration: {} }] });
    try {
      const url = authorizeUrl(t.issuer, {
        client_id: 'web',
        response_type: 'code',
        redirect_uri: 'https://rp.example/cb',
        scope: 'openid',
        nonce: 'n',
      });
      /** 1,000 requests, 100 at a time; `admitted` is what the bucket may let through meanwhile. */
      const burst = async (send: () => Promise<Response>, rate: { perSecond: number; burst: number }) => {
        const counts = new Map<number, number>();
        let sample: { headers: Headers; text: string } | undefined;
        const started = t.clock.now();
        for (let batch = 0; batch < 10; batch++) {
          const replies = await Promise.all(Array.from({ length: 100 }, send));
          for (const r of replies) {
            counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
            const text = await r.text();
            if (r.status === 429) sample ??= { headers: r.headers, text };
          }
        }
        const admitted = rate.burst + rate.perSecond * (t.clock.now() - started + 1);
        return { counts, sample, admitted };
      };

      const authorize = await burst(() => fetch(url, { redirect: 'manual' }), { perSecond: 30, burst: 300 });
      assert.equal(
        [...authorize.counts.values()].reduce((a, b) => a + b),
        1000,
      );
      const limited = authorize.counts.get(429) ?? 0;
      assert.ok(limited > 0 && limited >= 1000 - authorize.admitted, JSON.stringify([...authorize.counts]));
      assert.ok(![...authorize.counts.keys()].some((s) => s >= 500), JSON.stringify([...authorize.counts]));
      assert.ok(authorize.sample);
      retryAfter(authorize.sample.headers);
      // /authorize answers with pages: the 429 is one.
      assert.match(authorize.sample.headers.get('content-type') ?? '', /^text\/html/);

      const registration = await burst(
        () =>
          fetch(`${t.issuer}/registration`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              redirect_uris: ['https://rp.example/cb'],
              token_endpoint_auth_method: 'none',
            }),
          }),
        { perSecond: 2, burst: 20 },
      );
      const registered = registration.counts.get(201) ?? 0;
      assert.ok(
        registered > 0 && registered <= registration.admitted,
        JSON.stringify([...registration.counts]),
      );
      assert.equal(registered + (registration.counts.get(429) ?? 0), 1000);
      assert.ok(registration.sample);
      retryAfter(registration.sample.headers);
      assert.equal(
        (JSON.parse(registration.sample.text) as { error: string }).error,
        'temporarily_unavailable',
      );

      // Up: other endpoints answer, and the limited ones again once their buckets refill.
      assert.equal((await call(`${t.baseUrl}/healthz`)).status, 200);
      assert.equal((await call(`${t.issuer}/.well-known/openid-configuration`)).status, 200);
      assert.equal(
        (
          await postForm(`${t.issuer}/introspect`, {
            token: 'x',
            client_id: 'poster',
            client_secret: posterSecret,
          })
        ).status,
        200,
      );
      t.clock.advance(10);
      assert.equal((await openLogin(t)).page.status, 200);
    } finally {
      await t.close();
    }
  });

  test('the limiter remembers a bounded number of addresses, least recently seen forgotten first', () => {
    const clock = new ManualClock();
    const limiter = new RequestRateLimiter({ perSecond: 1, burst: 2 }, 3, clock);
    assert.equal(limiter.take('10.0.0.1'), 0);
    assert.equal(limiter.take('10.0.0.1'), 0);
    assert.equal(limiter.take('10.0.0.1'), 1);
    for (let i = 0; i < 100; i++) limiter.take(`192.0.2.${i}`);
    assert.equal(limiter.size, 3);
    // 10.0.0.1 was forgotten: it starts with a full bucket.
    assert.equal(limiter.take('10.0.0.1'), 0);
    clock.advance(1);
    assert.equal(limiter.take('192.0.2.99'), 0);
  });

  test('addresses: IPv6 counts by its /64, an IPv4-mapped address as its IPv4 address', () => {
    assert.equal(addressKey('203.0.113.7'), '203.0.113.7');
    assert.equal(addressKey('::ffff:203.0.113.7'), '203.0.113.7');
    assert.equal(addressKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(addressKey('::1'), '0:0:0:0::/64');
    assert.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
  });
});

describe('the client address the counters key on, behind a proxy (server.trustProxy)', () => {
  async function loggedIp(trustProxy: boolean | number | string[], forwardedFor: string): Promise<string> {
    const t = await startTestServer({ server: { trustProxy } });
    try {
      await fetch(`${t.baseUrl}/healthz`, { headers: { 'x-forwarded-for': forwardedFor } });
      const line = t.logs.findLast((l) => l.includes('"path":"/healthz"')) ?? '{}';
      return String((JSON.parse(line) as { ip?: string }).ip);
    } finally {
      await t.close();
    }
  }

  test('a hop count takes the address the last proxy added, not one the client wrote before it', async () => {
    // Fastify 5.12 on its own would trust nothing for a hop count, putting everyone on the proxy's counters.
    assert.equal(await loggedIp(1, '198.51.100.1, 203.0.113.5'), '203.0.113.5');
  });

  test('a list of proxy addresses trusts only those peers', async () => {
    assert.equal(await loggedIp(['127.0.0.1'], '203.0.113.6'), '203.0.113.6');
    assert.equal(await loggedIp(['10.0.0.0/8'], '203.0.113.6'), '127.0.0.1');
  });

  test('without trustProxy, X-Forwarded-For is ignored', async () => {
    assert.equal(await loggedIp(false, '203.0.113.7'), '127.0.0.1');
  });
});
