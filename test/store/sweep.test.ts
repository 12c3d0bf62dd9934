// Bounded growth (issue 7 point 6): the SQLite sweep removes expired rows of every swept table in small indexed batches,
// keeps live ones, and lets requests through while it runs.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { call } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const perTable = 3000;
const live = 5;

describe('the SQLite sweep', () => {
  let t: TestServer;
  let db: Database.Database;
  let now: number;

  before(async () => {
    t = await startTestServer();
    db = new Database(join(t.dir, 'gatehouse.db'));
    now = t.clock.now();
    const old = now - 2 * 86400;
    const future = now + 3600;
    const p = 'default';
    const rows: [string, (i: number, exp: number) => unknown[]][] = [
      [
        'INSERT INTO sessions (provider, id_hash, sid, user_id, auth_time, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
        (i, exp) => [p, `sweep-s${exp}-${i}`, `sid${i}`, 'u', old, exp],
      ],
      [
        'INSERT INTO session_grants (provider, sid, grant_id, client_id, expires_at) VALUES (?, ?, ?, ?, ?)',
        (i, exp) => [p, `sid${exp}`, `g${i}`, 'web', exp],
      ],
      [
        `INSERT INTO throttles (provider, throttle_key, attempts, window_start, strikes, expires_at)
         VALUES (?, ?, 1, ?, 0, ?)`,
        (i, exp) => [p, `sweep-t${exp}-${i}`, old, exp],
      ],
      [
        `INSERT INTO access_tokens (provider, token_hash, grant_id, client_id, scope, audience, issued_at, expires_at)
         VALUES (?, ?, ?, 'web', 'openid', '', ?, ?)`,
        (i, exp) => [p, `sweep-a${exp}-${i}`, `g${i}`, old, exp],
      ],
      [
        `INSERT INTO refresh_tokens (provider, token_hash, grant_id, client_id, user_id, scope, audience, auth_time,
           issued_at, expires_at, idle_expires_at) VALUES (?, ?, ?, 'web', 'u', 'openid', '', ?, ?, ?, ?)`,
        (i, exp) => [p, `sweep-r${exp}-${i}`, `g${i}`, old, old, exp, exp],
      ],
      [
        'INSERT INTO used_jtis (provider, namespace, jti, expires_at) VALUES (?, ?, ?, ?)',
        (i, exp) => [p, 'client:web', `sweep-j${exp}-${i}`, exp],
      ],
      [
        `INSERT INTO authorization_codes (provider, code_hash, grant_id, client_id, user_id, redirect_uri, scope,
           resource, auth_time, expires_at) VALUES (?, ?, ?, 'web', 'u', 'https://rp.example/cb', 'openid', '', ?, ?)`,
        // Codes are kept a day past expiry (replay detection): expired two days ago goes, an hour ago stays.
        (i, exp) => [p, `sweep-c${exp}-${i}`, `g${i}`, old, exp === future ? now - 3600 : exp - 86400],
      ],
    ];
    db.transaction(() => {
      for (const [sql, values] of rows) {
        const insert = db.prepare(sql);
        for (let i = 0; i < perTable; i++) insert.run(...values(i, now - 10));
        for (let i = 0; i < live; i++) insert.run(...values(i, future));
      }
    })();
  });
  after(async () => {
    db.close();
    await t.close();
  });

  const count = (table: string) => db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
  const tables = [
    'sessions',
    'session_grants',
    'throttles',
    'access_tokens',
    'refresh_tokens',
    'used_jtis',
    'authorization_codes',
  ];

  test('removes every expired row in batches while requests keep being answered, and keeps the live ones', async () => {
    const before = Object.fromEntries(tables.map((table) => [table, count(table)]));
    for (const table of tables) assert.ok(before[table] >= perTable + live, table);

    let sweeping = true;
    const sweep = t.server.store.deleteExpired(now).finally(() => {
      sweeping = false;
    });
    let answeredDuringSweep = 0;
    const client = async () => {
      while (sweeping) {
        const health = await call(`${t.baseUrl}/healthz`);
        const discovery = await call(`${t.issuer}/.well-known/openid-configuration`);
        assert.equal(health.status, 200, 'the store takes writes between batches');
        assert.equal(discovery.status, 200);
        if (sweeping) answeredDuringSweep++;
      }
    };
    const [removed] = await Promise.all([sweep, client(), client()]);

    assert.ok(removed >= tables.length * perTable, `removed ${removed}`);
    assert.ok(answeredDuringSweep > 0, 'requests were answered while the sweep ran');
    for (const table of tables) {
      const left = count(table);
      assert.ok(left >= live, `${table} keeps its live rows`);
      assert.ok(left <= before[table] - perTable, `${table} lost its expired rows`);
    }
    assert.equal(
      db
        .prepare('SELECT count(*) FROM authorization_codes WHERE expires_at = ?')
        .pluck()
        .get(now - 3600),
      live,
      'codes expired less than a day ago stay for replay detection',
    );
    assert.equal(db.prepare('SELECT count(*) FROM access_tokens WHERE expires_at < ?').pluck().get(now), 0);

    // A second sweep finds nothing left to remove.
    assert.equal(await t.server.store.deleteExpired(now), 0);
  });

  test('each swept table is searched by its expiry index, not scanned', () => {
    for (const table of tables) {
      const plan = db
        .prepare(`EXPLAIN QUERY PLAN SELECT 1 FROM ${table} WHERE expires_at < ? LIMIT 500`)
        .all(now)
        .map((r) => (r as { detail: string }).detail)
        .join(' ');
      assert.match(plan, /USING (COVERING )?INDEX \w+_expires/, `${table}: ${plan}`);
    }
  });
});
