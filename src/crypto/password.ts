// User passwords: argon2id hashing and verification (NIST SP 800-63B §5.1.1.2), same cost for unknown users, run in
// the bounded worker pool of password-pool.ts so that logins never hold up token signing (issue 8 point 5).
import { serverSchema } from '../config/schema.js';
import { OAuthError } from '../errors/oauth-error.js';
import { PasswordPool, type PasswordPoolSettings, type PasswordPoolStats } from './password-pool.js';

/** `Algorithm.Argon2id`: the package exports it as an ambient const enum, which isolated modules cannot read. */
const argon2id = 2;

// OWASP's argon2id baseline (m=19 MiB, t=2, p=1).
const options = { algorithm: argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

/**
 * One pool per process, shared by the servers it runs (tests run several): the first server to open it sets its
 * size, and the last to close it stops its workers. Without any server (a command that hashes), a pool of the
 * default size is made on first use; its idle workers do not keep the process alive.
 */
let shared: { pool: PasswordPool; leases: number } | undefined;

export interface PasswordPoolLease {
  close(): Promise<void>;
}

/** Starts (or joins) the process's password pool; resolves once its workers have loaded argon2. */
export async function openPasswordPool(settings: PasswordPoolSettings): Promise<PasswordPoolLease> {
  let previous: PasswordPool | undefined;
  if (shared === undefined || shared.leases === 0) {
    previous = shared?.pool;
    shared = { pool: new PasswordPool(settings), leases: 0 };
  }
  const entry = shared;
  entry.leases++;
  let open = true;
  const lease: PasswordPoolLease = {
    async close() {
      if (!open) return;
      open = false;
      if (--entry.leases > 0) return;
      if (shared === entry) shared = undefined;
      await entry.pool.close();
    },
  };
  try {
    await previous?.close();
    await entry.pool.ready();
    // Made now (once per process), so the first unknown username costs one verification like every later one, not
    // a hash as well; awaited, so it never occupies a worker while the server's start checks configured passwords.
    await dummyHash();
  } catch (err) {
    await lease.close();
    throw err;
  }
  return lease;
}

function pool(): PasswordPool {
  if (shared === undefined) {
    const { passwordWorkers, passwordQueue } = serverSchema.parse({});
    shared = { pool: new PasswordPool({ workers: passwordWorkers, queue: passwordQueue }), leases: 0 };
  }
  return shared.pool;
}

/** What the process's pool is doing now (tests watch the queue fill). */
export function passwordPoolStats(): PasswordPoolStats | undefined {
  return shared?.pool.stats();
}

/**
 * Hashes configured passwords at start (and the dummy hash): the server's own work, not a request's, so it waits for
 * a worker however long the queue is rather than being refused. Errors never carry the password.
 */
export async function hashPassword(password: string): Promise<string> {
  const result = await pool().run({ op: 'hash', password, options }, 'wait');
  if (typeof result !== 'string') throw new Error('password worker answered a hash that is not a string');
  return result;
}

let dummy: Promise<string> | undefined;

/** A hash no user has, for unknown usernames. A failed attempt (pool closed) is not kept: the next call tries again. */
function dummyHash(): Promise<string> {
  dummy ??= hashPassword('gatehouse-dummy-password').catch((err: unknown) => {
    dummy = undefined;
    throw err;
  });
  return dummy;
}

/**
 * Verifies a password against a PHC hash. With no hash (unknown user) it still runs one verification against a
 * dummy hash, through the same pool and queue, so an unknown user and a wrong password cost and answer the same.
 * Throws an OAuthError `temporarily_unavailable` (503, Retry-After) when the pool is full or its worker fails:
 * on a page route that is the page with that status.
 */
export async function verifyPassword(phc: string | undefined, password: string): Promise<boolean> {
  try {
    const result = await pool().run({ op: 'verify', phc: phc ?? (await dummyHash()), password });
    return phc !== undefined && result === true;
  } catch (err) {
    // The pool cannot answer: the caller says so (503). A malformed stored hash is a wrong password.
    if (err instanceof OAuthError) throw err;
    return false;
  }
}
