// SQLite with several writers (issue 9 point 3): while another connection holds the write lock, a request that must
// write waits for it without blocking the server's event loop, and completes once the lock is let go.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { startTestServer, type TestServer, testStoreDriver } from '../helpers/server.js';
import { basic } from '../helpers/user-agent.js';

const machine = {
  client_id: 'machine',
  client_secret: 'machine-secret-0123456789abcdef',
  grant_types: ['client_credentials' as const],
  scope: 'api:read',
};

const sqlite = testStoreDriver === 'sqlite';
let t: TestServer;
before(async () => {
  if (sqlite) t = await startTestServer({ providers: [{ name: 'default', clients: [machine] }] });
});
after(async () => {
  if (sqlite) await t.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function issueToken(): Promise<Response> {
  return fetch(`${t.issuer}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: basic(machine.client_id, machine.client_secret),
    },
    body: 'grant_type=client_credentials&scope=api%3Aread',
  });
}

test('a token request waiting for the write lock leaves the event loop free, and completes once the lock is let go', {
  skip: sqlite ? false : 'SQLite only: PostgreSQL writers do not share one file lock',
}, async () => {
  // Warm: the client and the keys are loaded, so the request below waits only for the lock.
  assert.equal((await issueToken()).status, 200);
  const path = t.config.storage.path;
  const other = new Database(path);
  try {
    // Another process's writer (another worker, `gatehouse keys rotate`) holding the lock.
    other.exec('BEGIN IMMEDIATE');
    let settled = false;
    const token = issueToken().finally(() => {
      settled = true;
    });
    // Time for the request to reach the store and wait for the lock (a pause, not an assertion).
    await sleep(300);
    const discovery = await fetch(`${t.issuer}/.well-known/openid-configuration`);
    assert.equal(discovery.status, 200, 'the server answers while its write waits for the lock');
    assert.equal(settled, false, 'the token request is still waiting for the lock (neither done nor failed)');
    other.exec('ROLLBACK');
    const res = await token;
    assert.equal(res.status, 200, await res.clone().text());
    assert.ok(((await res.json()) as { access_token?: string }).access_token);
  } finally {
    if (other.inTransaction) other.exec('ROLLBACK');
    other.close();
  }
});
