// The PostgreSQL store against the store contract, and atomic steps raced for real across two pools (issue 7 points 1-3, 5, 6).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { buildConfig, ConfigError } from '../../src/config/load.js';
import { StoreUnavailableError } from '../../src/store/errors.js';
import { migrations } from '../../src/store/postgres/migrations.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import type { IssuedTokens, Store } from '../../src/store/types.js';
import { type RunningPostgres, startPostgres } from '../helpers/postgres.js';
import { storeContract } from './contract.js';

const now = 1_800_000_000;
let server: RunningPostgres;
before(async () => {
  server = await startPostgres();
});
after(async () => {
  await server.stop();
});

// Each contract case gets a database of its own, migrated by the store it opens.
storeContract('postgres', async () => PostgresStore.open({ url: await server.createDatabase() }));

function issued(grantId: string, parentHash?: string): IssuedTokens {
  const refreshHash = randomUUID();
  return {
    accessToken: {
      tokenHash: randomUUID(),
      grantId,
      clientId: 'c',
      userId: 'u',
      scope: ['openid'],
      audience: [],
      refreshHash,
      details: {},
      issuedAt: now,
      expiresAt: now + 3600,
      revokedAt: undefined,
    },
    refreshToken: {
      tokenHash: refreshHash,
      grantId,
      clientId: 'c',
      userId: 'u',
      scope: ['openid', 'offline_access'],
      audience: [],
      authTime: now,
      details: {},
      issuedAt: now,
      parentHash,
      expiresAt: now + 86400,
      idleExpiresAt: now + 3600,
      consumedAt: undefined,
      revokedAt: undefined,
    },
  };
}

/** Stores on one database, each with its own pool: as many processes would have. */
async function openMany(n: number, options: { statementTimeoutMs?: number } = {}): Promise<Store[]> {
  const url = await server.createDatabase();
  return Promise.all(Array.from({ length: n }, () => PostgresStore.open({ url, poolSize: 10, ...options })));
}

const closeAll = (stores: Store[]) => Promise.all(stores.map((s) => s.close()));
/** Spreads `count` calls over the stores, all started before any is awaited. */
const race = <T>(stores: Store[], count: number, step: (s: Store, i: number) => Promise<T>) =>
  Promise.all(Array.from({ length: count }, (_, i) => step(stores[i % stores.length] as Store, i)));

describe('postgres store: atomic steps raced across pools', () => {
  test('20 redemptions of one code over two pools: exactly one redeemed, and its tokens end up revoked', async () => {
    const stores = await openMany(2);
    const [a] = stores as [Store];
    const grantId = randomUUID();
    await a.insertCode('p', {
      codeHash: 'raced',
      grantId,
      clientId: 'c',
      userId: 'u',
      redirectUri: 'https://rp/cb',
      scope: ['openid'],
      nonce: undefined,
      codeChallenge: undefined,
      resource: [],
      authTime: now,
      details: {},
      expiresAt: now + 60,
      consumedAt: undefined,
    });
    const attempts = Array.from({ length: 20 }, () => issued(grantId));
    const results = await race(stores, 20, (s, i) =>
      s.redeemCode('p', 'raced', now, attempts[i] as IssuedTokens),
    );
    assert.equal(results.filter((r) => r === 'redeemed').length, 1);
    assert.equal(results.filter((r) => r === 'replayed').length, 19);
    const winner = attempts[results.indexOf('redeemed')] as IssuedTokens;
    // Every replay ran after the winner committed, so the tokens it issued are revoked (RFC 6749 §4.1.2).
    assert.equal((await a.findAccessToken('p', winner.accessToken.tokenHash))?.revokedAt, now);
    for (const [i, t] of attempts.entries()) {
      if (results[i] !== 'redeemed')
        assert.equal(await a.findAccessToken('p', t.accessToken.tokenHash), undefined);
    }
    await closeAll(stores);
  });

  test('20 rotations of one refresh token: one rotated, the rest reuse; with a grace period one live token remains', async () => {
    const stores = await openMany(2);
    const [a] = stores as [Store];
    const grantId = randomUUID();
    const start = issued(grantId);
    await a.insertTokens('p', start);
    const rt = start.refreshToken?.tokenHash as string;
    const results = await race(stores, 20, (s) => s.rotateRefreshToken('p', rt, now, issued(grantId, rt), 0));
    assert.deepEqual(
      [results.filter((r) => r === 'rotated').length, results.filter((r) => r === 'reused').length],
      [1, 19],
    );

    // Grace period: every retry is a client retrying a lost response; each replaces the unused successor.
    const g2 = randomUUID();
    const s2 = issued(g2);
    await a.insertTokens('p', s2);
    const rt2 = s2.refreshToken?.tokenHash as string;
    const answers = Array.from({ length: 20 }, () => issued(g2, rt2));
    const graced = await race(stores, 20, (s, i) =>
      s.rotateRefreshToken('p', rt2, now + 1, answers[i] as IssuedTokens, 30),
    );
    assert.ok(graced.every((r) => r === 'rotated'));
    const live = [];
    for (const t of answers) {
      const r = await a.findRefreshToken('p', t.refreshToken?.tokenHash as string);
      if (r && r.revokedAt === undefined && r.consumedAt === undefined) live.push(r);
      const at = await a.findAccessToken('p', t.accessToken.tokenHash);
      assert.equal(
        at?.revokedAt === undefined,
        r?.revokedAt === undefined,
        'each access token goes with its pair',
      );
    }
    assert.equal(live.length, 1, 'exactly one live refresh token');
    await closeAll(stores);
  });

  test('a jti, a pending authorization and a session end are each won once across pools', async () => {
    const stores = await openMany(2);
    const [a] = stores as [Store];
    const jtis = await race(stores, 20, (s) => s.useJti('p', 'client-assertion:c', 'j', now, now + 60));
    assert.equal(jtis.filter(Boolean).length, 1);

    // A pending authorization is spent once through the replay store (namespace `interaction`).
    const spends = await race(stores, 10, (s) => s.useJti('p', 'interaction', 'i', now, now + 60));
    assert.equal(spends.filter(Boolean).length, 1);

    await a.createSession('p', { idHash: 'h', sid: 'sid', userId: 'u', authTime: now, expiresAt: now + 60 });
    const ends = await race(stores, 10, (s) => s.endSession('p', 'h', now));
    assert.equal(ends.filter((e) => e !== undefined).length, 1);
    await closeAll(stores);
  });

  test('three processes starting at once on an empty database converge: one schema, one key per algorithm, one secret', async () => {
    const stores = await openMany(3);
    const key = (kid: string, alg: string) => ({
      kid,
      alg,
      privateJwk: '{}',
      publicJwk: '{}',
      createdAt: now,
      retireAt: undefined,
    });
    await race(stores, 9, (s, i) => s.ensureSigningKey('p', key(`k${i}`, i % 3 === 0 ? 'ES256' : 'RS256')));
    const algs = (await (stores[0] as Store).listSigningKeys('p')).map((k) => k.alg).sort();
    assert.deepEqual(algs, ['ES256', 'RS256']);
    const secrets = await race(stores, 9, (s, i) => s.getOrCreateSecret('p', 'cookie', `candidate-${i}`));
    assert.equal(new Set(secrets).size, 1);
    const users = await race(stores, 6, (s, i) =>
      s.upsertUser('p', { id: undefined, username: 'alice', passwordHash: 'h', claims: { i } }),
    );
    assert.equal(new Set(users.map((u) => u.id)).size, 1, 'one user, whichever start wrote last');
    // Rotations at once: each supersedes the previous one, so one key signs at the end.
    await race(stores, 6, (s, i) => s.rotateSigningKey('p', key(`r${i}`, 'RS256'), now + 100));
    const signing = (await (stores[0] as Store).listSigningKeys('p')).filter(
      (k) => k.alg === 'RS256' && k.retireAt === undefined,
    );
    assert.equal(signing.length, 1);
    const versions = await race(stores, 3, (s) => s.registeredClientsVersion('p'));
    assert.equal(new Set(versions).size, 1);
    await closeAll(stores);

    // The migration ran once: one row per version, however many processes opened the database.
    const url = await server.createDatabase();
    const opened = await Promise.all(Array.from({ length: 3 }, () => PostgresStore.open({ url })));
    await closeAll(opened);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const { rows } = await client.query('SELECT version FROM gatehouse_migrations ORDER BY version');
    await client.end();
    assert.deepEqual(
      rows.map((r: { version: number }) => r.version),
      migrations.map((_, i) => i + 1),
    );
  });
});

describe('postgres store: faults and sweeping', () => {
  test('a statement blocked past the statement timeout fails with StoreUnavailableError, and the pool goes on', async () => {
    const url = await server.createDatabase();
    const store = await PostgresStore.open({ url, statementTimeoutMs: 1000 });
    await store.insertTokens('p', issued('g-lock'));
    // Another connection holds the row lock a revocation needs.
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query("SELECT * FROM access_tokens WHERE grant_id = 'g-lock' FOR UPDATE");
    await assert.rejects(store.revokeGrant('p', 'g-lock', now), StoreUnavailableError);
    await holder.query('ROLLBACK');
    await holder.end();
    await store.revokeGrant('p', 'g-lock', now);
    await store.ping();
    await store.close();
  });

  test('nothing listening: opening and using the store fail with StoreUnavailableError, not a hang or a crash', async () => {
    await assert.rejects(
      PostgresStore.open({ url: 'postgres://nobody:x@127.0.0.1:1/none', statementTimeoutMs: 1000 }),
      StoreUnavailableError,
    );
  });

  test('PostgreSQL stopped and started again: steps fail with StoreUnavailableError, then the same store recovers', async () => {
    const own = await startPostgres();
    try {
      const store = await PostgresStore.open({ url: await own.createDatabase(), statementTimeoutMs: 1000 });
      await store.ping();
      await own.pause();
      // The pool's idle connections were dropped by the server: that must not crash this process.
      await assert.rejects(store.ping(), StoreUnavailableError);
      await assert.rejects(store.useJti('p', 'n', 'j', now, now + 60), StoreUnavailableError);
      await own.resume();
      await store.ping();
      assert.equal(await store.useJti('p', 'n', 'j', now, now + 60), true);
      await store.close();
    } finally {
      await own.stop();
    }
  });

  test('expired rows are swept in batches across tables; a second sweeper skips while one runs', async () => {
    const url = await server.createDatabase();
    const store = await PostgresStore.open({ url, sweepBatchSize: 50 });
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    // 1200 expired jtis and 130 expired token pairs, plus live ones that must stay.
    await client.query(
      `INSERT INTO used_jtis (provider, namespace, jti, expires_at)
       SELECT 'p', 'n', 'old-' || g, $1 FROM generate_series(1, 1200) g`,
      [now - 10],
    );
    for (let i = 0; i < 130; i++) await store.insertTokens('p', issued(`old-${i}`));
    assert.equal(await store.useJti('p', 'n', 'live', now, now + 999_999), true);
    const removed = await store.deleteExpired(now + 100_000);
    assert.equal(removed, 1200 + 260);
    assert.equal(await store.useJti('p', 'n', 'live', now, now + 60), false, 'a live row stays');
    const left = await client.query('SELECT count(*)::int AS n FROM used_jtis');
    assert.equal(left.rows[0].n, 1);

    // While another process holds the sweep lock, this one sweeps nothing rather than queueing behind it.
    await client.query(`SELECT pg_advisory_lock(hashtextextended('gatehouse:sweep', 0))`);
    await client.query(
      `INSERT INTO used_jtis (provider, namespace, jti, expires_at) VALUES ('p', 'n', 'old-x', $1)`,
      [now - 10],
    );
    assert.equal(await store.deleteExpired(now + 100_000), 0);
    await client.query(`SELECT pg_advisory_unlock(hashtextextended('gatehouse:sweep', 0))`);
    assert.equal(await store.deleteExpired(now + 100_000), 1);
    await client.end();
    await store.close();
  });
});

describe('postgres store: input PostgreSQL text cannot hold', () => {
  test('U+0000 in a key or a stored value is never an error: lookups find nothing, writes are stored', async () => {
    const store = await PostgresStore.open({ url: await server.createDatabase() });
    assert.equal(await store.findClient('p', 'demo\u0000'), undefined);
    assert.equal(await store.useJti('p', 'interaction', 'i\u0000d', now, now + 60), true);
    assert.equal(await store.findUserByUsername('p', 'alice\u0000'), undefined);
    assert.equal(await store.useJti('p', 'client-assertion:c\u0000', 'j\u0000', now, now + 60), true);
    assert.equal(await store.useJti('p', 'client-assertion:c\u0000', 'j\u0000', now, now + 60), false);
    await store.insertCode('p', {
      codeHash: 'nul',
      grantId: 'g',
      clientId: 'c',
      userId: 'u',
      redirectUri: 'https://rp/cb',
      scope: ['openid'],
      nonce: 'n\u0000',
      codeChallenge: undefined,
      resource: [],
      authTime: now,
      details: { acr: 'a\u0000' },
      expiresAt: now + 60,
      consumedAt: undefined,
    });
    const code = await store.findCode('p', 'nul');
    assert.equal(code?.details.acr, 'a\u0000', 'JSON keeps it escaped');
    assert.ok(code?.nonce?.startsWith('n'));
    await store.close();
  });
});

describe('postgres configuration', () => {
  const minimal = {
    providers: [{ name: 'default', clients: [], users: [] }],
  };
  test('driver postgres needs a postgres:// url; pool size and statement timeout have defaults; ${ENV} works', () => {
    const c = buildConfig(
      { ...minimal, storage: { driver: 'postgres', url: '${DB_URL}' } },
      { DB_URL: 'postgres://g:secret@db:5432/g' },
    );
    assert.equal(c.storage.driver, 'postgres');
    assert.equal(c.storage.url, 'postgres://g:secret@db:5432/g');
    assert.equal(c.storage.poolSize, 10);
    assert.equal(c.storage.statementTimeoutMs, 5000);
    const problems = (doc: unknown) => {
      try {
        buildConfig(doc, {});
      } catch (err) {
        assert.ok(err instanceof ConfigError);
        return err.problems.map((p) => `${p.path}: ${p.message}`);
      }
      return [];
    };
    assert.deepEqual(problems({ ...minimal, storage: { driver: 'postgres' } }), [
      'storage.url: required for driver postgres',
    ]);
    const bad = problems({
      ...minimal,
      storage: { driver: 'postgres', url: 'mysql://u:hunter2@x/y', poolSize: 0 },
    });
    assert.ok(bad.includes('storage.url: must be a postgres:// URL'), bad.join('; '));
    assert.ok(bad.some((p) => p.startsWith('storage.poolSize:')));
    assert.ok(!bad.join(' ').includes('hunter2'), 'a URL password is never echoed');
    assert.deepEqual(problems({ ...minimal, storage: { url: 'postgres://x/y' } }), [
      'storage.url: only for driver postgres',
    ]);
  });
});
