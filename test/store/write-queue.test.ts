// The SQLite write queue (src/store/sqlite/write-queue.ts; ADR 0008): group commit with per-step atomicity, answers
// only after the commit, and lock waits on timers while another connection holds the write lock.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { StoreUnavailableError } from '../../src/store/errors.js';
import { WriteQueue } from '../../src/store/sqlite/write-queue.js';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-write-queue-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function open(name: string): Database.Database {
  const db = new Database(join(dir, name));
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 0');
  db.exec('CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)');
  return db;
}

describe('SQLite write queue', () => {
  test('steps queued together share one commit; a failing step undoes only itself', async () => {
    const db = open('batch.db');
    const queue = new WriteQueue(db, { busyTimeoutMs: 1000 });
    const insert = db.prepare('INSERT INTO t (k, v) VALUES (?, ?)');
    const pair = db.transaction((k: string) => {
      insert.run(`${k}-1`, 1);
      insert.run(k, 2); // fails for a key already present, after the first insert ran
    });
    insert.run('taken', 0);
    const other = new Database(join(dir, 'batch.db'));
    let aSeenByOther: unknown;
    const results = await Promise.allSettled([
      queue.run(() => insert.run('a', 1).changes),
      queue.run(() => pair('taken')),
      queue.run(() => {
        // Same transaction as step one, not yet committed: another connection cannot see its row.
        aSeenByOther = other.prepare("SELECT count(*) FROM t WHERE k = 'a'").pluck().get();
        return insert.run('b', 1).changes;
      }),
    ]);
    assert.equal(aSeenByOther, 0);
    other.close();
    assert.equal(results[0]?.status, 'fulfilled');
    assert.equal(results[1]?.status, 'rejected');
    assert.equal(results[2]?.status, 'fulfilled');
    const keys = (db.prepare('SELECT k FROM t ORDER BY k').pluck().all() as string[]).join(',');
    // The failed step's first insert (taken-1) was rolled back with it; the others committed.
    assert.equal(keys, 'a,b,taken');
    db.close();
  });

  test('a caller is answered only after its batch committed: another connection sees the row by then', async () => {
    const db = open('visible.db');
    const other = new Database(join(dir, 'visible.db'));
    const queue = new WriteQueue(db, { busyTimeoutMs: 1000 });
    const pending = queue.run(() => db.prepare('INSERT INTO t (k, v) VALUES (?, ?)').run('x', 1));
    assert.equal(other.prepare('SELECT count(*) FROM t').pluck().get(), 0, 'nothing before the flush');
    await pending;
    assert.equal(other.prepare('SELECT count(*) FROM t').pluck().get(), 1);
    other.close();
    db.close();
  });

  test('while another connection holds the write lock, the event loop runs and the write lands after', async () => {
    const db = open('locked.db');
    const holder = new Database(join(dir, 'locked.db'));
    const queue = new WriteQueue(db, { busyTimeoutMs: 5000 });
    holder.exec('BEGIN IMMEDIATE');
    let settled = false;
    const write = queue.run(() => db.prepare('INSERT INTO t (k, v) VALUES (?, ?)').run('y', 1).changes);
    void write.then(() => {
      settled = true;
    });
    // Timers fire while the write waits: the loop is free, and the write has not gone through.
    for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(settled, false);
    holder.exec('COMMIT');
    assert.equal(await write, 1);
    holder.close();
    db.close();
  });

  test('a lock held past the busy timeout fails the waiting steps as unavailable; the queue goes on', async () => {
    const db = open('timeout.db');
    const holder = new Database(join(dir, 'timeout.db'));
    const queue = new WriteQueue(db, { busyTimeoutMs: 50 });
    holder.exec('BEGIN IMMEDIATE');
    await assert.rejects(
      queue.run(() => db.prepare('INSERT INTO t (k, v) VALUES (?, ?)').run('z', 1)),
      StoreUnavailableError,
    );
    holder.exec('ROLLBACK');
    assert.equal(
      await queue.run(() => db.prepare('INSERT INTO t (k, v) VALUES (?, ?)').run('z', 1).changes),
      1,
    );
    holder.close();
    db.close();
  });

  test('after close, queued steps fail as unavailable instead of touching the connection', async () => {
    const db = open('closed.db');
    const queue = new WriteQueue(db, { busyTimeoutMs: 1000 });
    queue.close();
    await assert.rejects(
      queue.run(() => db.prepare('INSERT INTO t (k, v) VALUES (?, ?)').run('w', 1)),
      StoreUnavailableError,
    );
    db.close();
  });
});
