// Configuration loading: defaults, ${ENV} interpolation, and errors that name the key path.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildConfig, ConfigError, configWarnings } from '../../src/config/load.js';

const minimal = {
  providers: [
    {
      name: 'default',
      clients: [
        {
          client_id: 'demo',
          client_secret: 'demo-secret-0123456789abcdef',
          redirect_uris: ['http://127.0.0.1:9000/callback'],
        },
      ],
      users: [{ username: 'alice', password: 'alice-password' }],
    },
  ],
};

function problems(doc: unknown, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    buildConfig(doc, env);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems.map((p) => `${p.path}: ${p.message}`);
  }
  assert.fail('expected a ConfigError');
}

describe('configuration', () => {
  test('the keys of interface.md alone make a complete provider, with documented defaults', () => {
    const c = buildConfig(minimal, {});
    assert.equal(c.publicUrl, 'http://127.0.0.1:8080');
    assert.equal(c.storage.driver, 'sqlite');
    assert.equal(c.storage.path, './data/gatehouse.db');
    const p = c.providers[0];
    assert.equal(p?.issuer, 'http://127.0.0.1:8080/oidc/endpoint/default');
    assert.equal(p?.lifetimes.authorizationCode, 60);
    assert.equal(p?.lifetimes.accessToken, 3600);
    assert.equal(p?.signingAlg, 'RS256');
    const client = p?.clients[0];
    assert.deepEqual(client?.grant_types, ['authorization_code']);
    assert.deepEqual(client?.response_types, ['code']);
    // Absent: the client may use client_secret_basic or client_secret_post (interface.md).
    assert.equal(client?.token_endpoint_auth_method, undefined);
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.providers[0]));
  });

  test('publicUrl decides the issuer, without a trailing slash', () => {
    const c = buildConfig({ ...minimal, server: { publicUrl: 'https://op.example.com/' } }, {});
    assert.equal(c.providers[0]?.issuer, 'https://op.example.com/oidc/endpoint/default');
    assert.equal(c.secureCookies, true);
  });

  test('${NAME} is replaced from the environment; $${ keeps a literal', () => {
    const doc = structuredClone(minimal) as typeof minimal;
    (doc.providers[0]?.clients[0] as { client_secret: string }).client_secret = '${DEMO_SECRET}';
    (doc.providers[0]?.users[0] as { password: string }).password = 'pa$${x}ss';
    const c = buildConfig(doc, { DEMO_SECRET: 'from-env-0123456789abcdef' });
    assert.equal(c.providers[0]?.clients[0]?.client_secret, 'from-env-0123456789abcdef');
    assert.equal(c.providers[0]?.users[0]?.password, 'pa${x}ss');
    assert.deepEqual(problems(doc, {}), [
      'providers[0].clients[0].client_secret: environment variable DEMO_SECRET is not set',
    ]);
  });

  test('unknown keys and wrong types name their key path', () => {
    const doc = structuredClone(minimal) as Record<string, unknown> & typeof minimal;
    doc.server = { port: 'eighty', colour: 'blue' };
    (doc.providers[0]?.clients[0] as Record<string, unknown>).redirect_uri = 'typo';
    (doc.providers[0]?.clients[0] as Record<string, unknown>).redirect_uris = 'not-a-list';
    const found = problems(doc);
    assert.ok(
      found.some((p) => p.startsWith('server.port:')),
      found.join('\n'),
    );
    assert.ok(found.includes('server.colour: unknown key'), found.join('\n'));
    assert.ok(found.includes('providers[0].clients[0].redirect_uri: unknown key'), found.join('\n'));
    assert.ok(
      found.some((p) => p.startsWith('providers[0].clients[0].redirect_uris:')),
      found.join('\n'),
    );
  });

  test('several workers on an in-memory SQLite store are refused (each would have its own database)', () => {
    const found = problems({ ...minimal, server: { workers: 2 }, storage: { path: ':memory:' } });
    assert.ok(
      found.some((p) => p.startsWith('server.workers:') && p.includes(':memory:')),
      found.join('\n'),
    );
    buildConfig({ ...minimal, server: { workers: 2 }, storage: { path: '/tmp/gatehouse-test.db' } }, {});
    buildConfig({ ...minimal, server: { workers: 1 }, storage: { path: ':memory:' } }, {});
  });

  test('semantic checks: secrets, redirect URIs, duplicates', () => {
    const expect = [
      'providers[0].clients[0].client_secret: required unless token_endpoint_auth_method is none',
      'providers[0].clients[0].redirect_uris[0]:',
      'providers[0].clients[1].client_id: duplicate client_id a',
      'providers[0].clients[1].redirect_uris[0]:',
      'providers[0].clients[1].redirect_uris[1]:',
      'providers[0].clients[2].client_secret: not used by token_endpoint_auth_method none',
      'providers[0].clients[2].redirect_uris: required',
      'providers[0].users[0].password: give exactly one',
      'providers[0].users[1].username: duplicate username u',
      'providers[0].users[1].password: give exactly one',
      'providers[1].name: duplicate provider name p',
    ];
    // Zod stops at the provider-name regex before the semantic pass, so check them one document at a time.
    const nameProblems = problems({ providers: [{ name: 'bad name!' }] });
    assert.ok(
      nameProblems.some((p) => p.startsWith('providers[0].name:')),
      nameProblems.join('\n'),
    );
    const semantic = problems({
      providers: [
        {
          name: 'p',
          clients: [
            { client_id: 'a', redirect_uris: ['http://rp.example/cb'] },
            {
              client_id: 'a',
              client_secret: 'x',
              redirect_uris: ['https://rp.example/cb#frag', 'javascript:alert(1)'],
            },
            { client_id: 'b', client_secret: 'x', token_endpoint_auth_method: 'none', redirect_uris: [] },
          ],
          users: [{ username: 'u' }, { username: 'u', password: 'p', password_hash: '$argon2id$v=19$x' }],
        },
        { name: 'p' },
      ],
    });
    for (const e of expect)
      assert.ok(
        semantic.some((p) => p.startsWith(e)),
        `missing ${e} in\n${semantic.join('\n')}`,
      );
  });

  test('loopback http redirect URIs and native private-use schemes are accepted', () => {
    const c = buildConfig(
      {
        providers: [
          {
            name: 'p',
            clients: [
              {
                client_id: 'native',
                token_endpoint_auth_method: 'none',
                application_type: 'native',
                redirect_uris: ['http://127.0.0.1/cb', 'http://[::1]/cb', 'com.example.app:/cb'],
              },
            ],
          },
        ],
      },
      {},
    );
    assert.equal(c.providers[0]?.clients[0]?.redirect_uris.length, 3);
  });
});

describe('configuration from the environment', () => {
  test('numbers and booleans may come from ${ENV}; other strings stay strings', () => {
    const c = buildConfig(
      {
        server: { port: '${PORT}', allowPrivateNetworkFetch: '${PRIVATE}' },
        providers: [
          {
            name: 'p',
            lifetimes: { accessToken: '${AT_TTL}' },
            users: [{ username: 'u', password: '${PW}' }],
          },
        ],
      },
      { PORT: '9090', PRIVATE: 'true', AT_TTL: '600', PW: '123456' },
    );
    assert.equal(c.server.port, 9090);
    assert.equal(c.server.allowPrivateNetworkFetch, true);
    assert.equal(c.providers[0]?.lifetimes.accessToken, 600);
    assert.equal(c.providers[0]?.users[0]?.password, '123456');
  });

  test('post_logout_redirect_uris are accepted and checked like redirect URIs', () => {
    assert.throws(
      () =>
        buildConfig(
          {
            providers: [
              {
                name: 'p',
                clients: [
                  {
                    client_id: 'c',
                    client_secret: 's',
                    redirect_uris: ['https://rp.example/cb'],
                    post_logout_redirect_uris: ['http://rp.example/bye'],
                  },
                ],
              },
            ],
          },
          {},
        ),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.problems.some((p) => p.path === 'providers[0].clients[0].post_logout_redirect_uris[0]'),
    );
  });
});

describe('client secret lengths (issue 8 point 7)', () => {
  const withSecrets = (secrets: string[], provider: Record<string, unknown> = {}) => ({
    providers: [
      {
        name: 'p',
        ...provider,
        clients: secrets.map((client_secret, i) => ({
          client_id: `c${i}`,
          client_secret,
          redirect_uris: ['https://rp.example/cb'],
        })),
      },
    ],
  });

  test('a configured secret shorter than clientSecretMinLength (default 16) is refused by key path, never echoed', () => {
    const found = problems(withSecrets(['long-enough-secret-0123456789abcdef', 'gX1fBat3bV', 'x']));
    assert.deepEqual(
      found.map((p) => p.split(':')[0]),
      ['providers[0].clients[1].client_secret', 'providers[0].clients[2].client_secret'],
    );
    assert.match(found[0] as string, /shorter than 16 characters/);
    assert.ok(!found.join('\n').includes('gX1fBat3bV'));
    // Fifteen characters are one too few, sixteen are enough; the value counted is the one after ${ENV}.
    assert.equal(problems(withSecrets(['${S}']), { S: 'a'.repeat(15) }).length, 1);
    assert.equal(
      buildConfig(withSecrets(['${S}']), { S: 'a'.repeat(16) }).providers[0]?.clientSecretMinLength,
      16,
    );
  });

  test('a lowered clientSecretMinLength accepts a migrated secret; the warnings flag it', () => {
    const c = buildConfig(withSecrets(['gX1fBat3bV'], { clientSecretMinLength: 8 }), {});
    const warnings = configWarnings(c);
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]?.path, 'providers[0].clients[0].client_secret');
    assert.match(
      warnings[0]?.message ?? '',
      /shorter than 32 characters; accepted only because clientSecretMinLength is 8/,
    );
    assert.ok(!JSON.stringify(warnings).includes('gX1fBat3bV'));
    assert.deepEqual(problems(withSecrets(['short'], { clientSecretMinLength: 8 })), [
      'providers[0].clients[0].client_secret: shorter than 8 characters (providers[0].clientSecretMinLength); use 32 or more random characters, or lower the minimum for a secret carried over from another provider',
    ]);
    assert.equal(
      problems(withSecrets([], { clientSecretMinLength: 0 }))[0]?.split(':')[0],
      'providers[0].clientSecretMinLength',
    );
  });

  test('secrets under 32 characters are warned about by key path: client secrets and the initial access token', () => {
    const c = buildConfig(
      withSecrets(['sixteen-chars-ok', 'a-thirty-two-character-secret-ok'], {
        registration: { initialAccessToken: 'sixteen-chars-ok' },
      }),
      {},
    );
    assert.deepEqual(
      configWarnings(c).map((w) => w.path),
      ['providers[0].clients[0].client_secret', 'providers[0].registration.initialAccessToken'],
    );
    assert.deepEqual(configWarnings(buildConfig(withSecrets(['a-thirty-two-character-secret-ok']), {})), []);
  });
});
