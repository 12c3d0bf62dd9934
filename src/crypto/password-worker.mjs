// One worker thread of the password pool (src/crypto/password-pool.ts; issue 8 point 5): argon2 run synchronously
// here, so it never occupies libuv's thread pool, where WebCrypto signs ID tokens.
// Plain JavaScript, not TypeScript: bin/gatehouse.js registers tsx in the main thread only, and worker threads do not
// inherit a loader registered that way, so a .ts worker would not load under `gatehouse serve`.
import { parentPort } from 'node:worker_threads';
import { hashSync, verifySync } from '@node-rs/argon2';

const port = parentPort;
if (!port) throw new Error('password-worker.mjs runs only as a worker thread');

port.on('message', (job) => {
  try {
    const result =
      job.op === 'hash' ? hashSync(job.password, job.options) : verifySync(job.phc, job.password);
    port.postMessage({ id: job.id, ok: true, result });
  } catch (err) {
    // A malformed stored hash, or bad options. Only argon2's own message goes back, never the job's fields.
    port.postMessage({ id: job.id, ok: false, error: err instanceof Error ? err.message : 'argon2 failed' });
  }
});

// The pool hands out jobs only once this arrives: a worker that cannot load argon2 never takes one.
port.postMessage({ ready: true });
