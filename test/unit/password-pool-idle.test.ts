// The password pool's idle workers (issue 9 point 2): stopped after idleMs to give their memory back, started again
// by the next job, which is accepted or refused exactly as an idle worker's would be; parking is not a failure.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PasswordPool } from '../../src/crypto/password-pool.js';
import { OAuthError } from '../../src/errors/oauth-error.js';

const argon2 = { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 };

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(check(), what);
}

test('an idle worker is stopped, and the next job starts one again and gets its answer', async () => {
  const failures: string[] = [];
  const pool = new PasswordPool(
    { workers: 1, queue: 0 },
    { idleMs: 100, onWorkerFailure: (detail) => failures.push(detail) },
  );
  try {
    await pool.ready();
    const phc = String(await pool.run({ op: 'hash', password: 'correct horse', options: argon2 }));
    await until('the idle worker was not stopped', () => pool.stats().workers === 0);
    // With no queue at all, a job is still accepted by a pool whose worker was stopped, as by an idle worker...
    const first = pool.run({ op: 'verify', phc, password: 'correct horse' });
    // ...and one more, while it runs (or waits for its worker to load), is refused at once.
    await assert.rejects(
      pool.run({ op: 'verify', phc, password: 'correct horse' }),
      (err) => err instanceof OAuthError && err.status === 503,
    );
    assert.equal(await first, true);
    assert.equal(pool.stats().workers, 1);
    await until('the worker was not stopped again', () => pool.stats().workers === 0);
    assert.deepEqual(failures, []);
  } finally {
    await pool.close();
  }
});

test('a worker kept busy is not stopped', async () => {
  const pool = new PasswordPool({ workers: 1, queue: 4 }, { idleMs: 150 });
  try {
    await pool.ready();
    const phc = String(await pool.run({ op: 'hash', password: 'pw', options: argon2 }));
    const started = Date.now();
    while (Date.now() - started < 600) {
      assert.equal(pool.stats().workers, 1);
      await pool.run({ op: 'verify', phc, password: 'pw' });
    }
  } finally {
    await pool.close();
  }
});
