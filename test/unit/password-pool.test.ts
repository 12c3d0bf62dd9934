// The argon2 worker pool (issue 8 point 5): its queue bound, replacement of crashed or stuck workers, and close.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { serverSchema } from '../../src/config/schema.js';
import { hashPassword, openPasswordPool, verifyPassword } from '../../src/crypto/password.js';
import { PasswordJobError, PasswordPool } from '../../src/crypto/password-pool.js';
import { OAuthError } from '../../src/errors/oauth-error.js';

const misbehaving = new URL('./fixtures/misbehaving-password-worker.mjs', import.meta.url);
const argon2 = { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 };

/** The pool's refusal: 503 temporarily_unavailable with a Retry-After of whole seconds. */
function isBusy(err: unknown): boolean {
  assert.ok(err instanceof OAuthError, `expected an OAuthError, got ${String(err)}`);
  assert.equal(err.code, 'temporarily_unavailable');
  assert.equal(err.status, 503);
  assert.match(err.headers['Retry-After'] ?? '', /^[1-9]\d*$/);
  return true;
}

describe('password pool', () => {
  test('hashes and verifies with argon2id in a worker; a malformed hash is the job’s own error', async () => {
    const pool = new PasswordPool({ workers: 1, queue: 4 });
    try {
      await pool.ready();
      const phc = await pool.run({ op: 'hash', password: 'correct horse', options: argon2 });
      assert.match(String(phc), /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      assert.equal(await pool.run({ op: 'verify', phc: String(phc), password: 'correct horse' }), true);
      assert.equal(await pool.run({ op: 'verify', phc: String(phc), password: 'wrong' }), false);
      await assert.rejects(pool.run({ op: 'verify', phc: 'not-a-hash', password: 'x' }), PasswordJobError);
    } finally {
      await pool.close();
    }
  });

  test('with every worker busy and the queue full, a job is refused at once with 503 and Retry-After', async () => {
    const pool = new PasswordPool({ workers: 1, queue: 2 });
    try {
      await pool.ready();
      const phc = String(await pool.run({ op: 'hash', password: 'pw', options: argon2 }));
      const jobs = Array.from({ length: 5 }, () => pool.run({ op: 'verify', phc, password: 'pw' }));
      // One running, two waiting: the fourth and fifth never reach a worker.
      assert.deepEqual(pool.stats(), { workers: 1, running: 1, waiting: 2 });
      // The server's own work (hashing configured passwords at start) waits whatever the bound.
      jobs.push(pool.run({ op: 'verify', phc, password: 'pw' }, 'wait'));
      assert.deepEqual(pool.stats(), { workers: 1, running: 1, waiting: 3 });
      const results = await Promise.allSettled(jobs);
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'rejected', 'fulfilled'],
      );
      for (const r of results) if (r.status === 'rejected') assert.ok(isBusy(r.reason));
      // Drained, it takes work again.
      assert.equal(await pool.run({ op: 'verify', phc, password: 'pw' }), true);
    } finally {
      await pool.close();
    }
  });

  test('a crashed worker fails its job with 503 and is replaced; jobs behind it still run', async () => {
    const failures: string[] = [];
    const pool = new PasswordPool(
      { workers: 1, queue: 8 },
      { workerUrl: misbehaving, onWorkerFailure: (d) => failures.push(d) },
    );
    try {
      await pool.ready();
      const jobs = ['crash', 'right', 'exit', 'wrong', 'right'].map((password) =>
        pool.run({ op: 'verify', phc: 'x', password }),
      );
      const results = await Promise.allSettled(jobs);
      assert.ok(results[0]?.status === 'rejected' && isBusy(results[0].reason));
      assert.deepEqual(results[1], { status: 'fulfilled', value: true });
      assert.ok(results[2]?.status === 'rejected' && isBusy(results[2].reason));
      assert.deepEqual(results[3], { status: 'fulfilled', value: false });
      assert.deepEqual(results[4], { status: 'fulfilled', value: true });
      assert.equal(failures.length, 2);
      assert.equal(pool.stats().workers, 1);
    } finally {
      await pool.close();
    }
  });

  test('a worker stuck on a job is stopped at the job deadline and replaced: the caller never hangs', async () => {
    const pool = new PasswordPool(
      { workers: 1, queue: 8 },
      { workerUrl: misbehaving, jobTimeoutMs: 300, onWorkerFailure: () => {} },
    );
    try {
      await pool.ready();
      await assert.rejects(pool.run({ op: 'verify', phc: 'x', password: 'hang' }), isBusy);
      // The deadline counts from submission, waiting included; the replacement takes the next job.
      assert.equal(await pool.run({ op: 'verify', phc: 'x', password: 'right' }), true);
      assert.equal(pool.stats().workers, 1);
    } finally {
      await pool.close();
    }
  });

  test('close fails what runs and waits with 503, and refuses later jobs', async () => {
    const pool = new PasswordPool({ workers: 1, queue: 8 }, { workerUrl: misbehaving, jobTimeoutMs: 60_000 });
    await pool.ready();
    const running = assert.rejects(pool.run({ op: 'verify', phc: 'x', password: 'hang' }), isBusy);
    const waiting = assert.rejects(pool.run({ op: 'verify', phc: 'x', password: 'right' }), isBusy);
    await pool.close();
    await running;
    await waiting;
    await assert.rejects(pool.run({ op: 'verify', phc: 'x', password: 'right' }), isBusy);
    assert.deepEqual(pool.stats(), { workers: 0, running: 0, waiting: 0 });
  });

  test('a worker that cannot load fails ready()', async () => {
    const pool = new PasswordPool(
      { workers: 1, queue: 1 },
      { workerUrl: new URL('./fixtures/no-such-worker.mjs', import.meta.url), onWorkerFailure: () => {} },
    );
    await assert.rejects(pool.ready(), /did not start/);
    await pool.close();
  });

  test('verifyPassword and hashPassword go through the process pool; an unknown user is a plain false', async () => {
    const lease = await openPasswordPool({ workers: 1, queue: 8 });
    try {
      const phc = await hashPassword('s3cret');
      assert.equal(await verifyPassword(phc, 's3cret'), true);
      assert.equal(await verifyPassword(phc, 'nope'), false);
      assert.equal(await verifyPassword(undefined, 's3cret'), false);
      assert.equal(await verifyPassword('garbage', 's3cret'), false);
    } finally {
      await lease.close();
    }
  });

  test('settings: passwordWorkers and passwordQueue have defaults and take ${ENV} numbers', () => {
    const defaults = serverSchema.parse({});
    assert.ok(defaults.passwordWorkers >= 1 && defaults.passwordWorkers <= 8);
    assert.equal(defaults.passwordQueue, 64);
    const set = serverSchema.parse({ passwordWorkers: '3', passwordQueue: '0' });
    assert.equal(set.passwordWorkers, 3);
    assert.equal(set.passwordQueue, 0);
    assert.throws(() => serverSchema.parse({ passwordWorkers: 0 }));
  });
});
