// Turns SQLite's "cannot answer now" failures into StoreUnavailableError at the store boundary (issue 7 point 5).
import { StoreUnavailableError } from '../errors.js';

/**
 * Result codes (primary, so extended codes such as SQLITE_IOERR_WRITE or SQLITE_BUSY_SNAPSHOT match too) that mean
 * the database is there but cannot answer right now: locked past the busy timeout, an I/O error, a full disk, a file
 * that cannot be opened. A retry later may succeed, so the client gets 503, not a 500.
 */
const unavailableCodes = new Set([
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_IOERR',
  'SQLITE_FULL',
  'SQLITE_CANTOPEN',
  'SQLITE_PROTOCOL',
  'SQLITE_NOMEM',
  'SQLITE_READONLY',
]);

function primaryCode(code: string): string {
  const m = /^SQLITE_[A-Z]+/.exec(code);
  return m ? m[0] : code;
}

/** The error to throw for `err`: a StoreUnavailableError for the codes above, anything else unchanged. */
export function translateSqliteError(err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !unavailableCodes.has(primaryCode(code))) return err;
  // SQLite's message names the condition ("database is locked", "disk I/O error"), never row data.
  return new StoreUnavailableError(`SQLite: ${code}: ${(err as Error).message}`, { cause: err });
}

/** The lock is held by another connection (busy_timeout is 0: the caller waits on a timer instead). */
export function isBusyError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^SQLITE_(BUSY|LOCKED)/.test(code);
}

/**
 * How long a write batch (src/store/sqlite/write-queue.ts) or a read waits before it tries a lock again. Another process holds the write lock only for its own
 * batch (well under a millisecond), so a waiter that backs off exponentially would mostly wait for nothing and, with
 * several workers on one file, let the lock go idle while every process sleeps: it retries every millisecond
 * (the event loop serves requests meanwhile), and only a lock held past lockHeldLongMs (a backup, a long sweep
 * elsewhere) is tried less often.
 */
export function retryDelayMs(waitedMs: number): number {
  return waitedMs < lockHeldLongMs ? 1 : 10;
}
const lockHeldLongMs = 100;

type AnyMethod = (this: unknown, ...args: unknown[]) => unknown;

/**
 * Wraps every async method of a store class's prototype (the public store interface: each method is `async`), so
 * errors are translated once at the boundary instead of around each statement. Synchronous helpers are left alone.
 * A method that found the database locked (a read during another process's checkpoint, say) runs again after a short
 * wait on a timer, for up to the instance's `busyTimeoutMs`: every public method is one statement, one transaction or
 * one write-queue step, so running it again repeats nothing that took effect.
 */
export function translateErrorsOf(prototype: object): void {
  for (const name of Object.getOwnPropertyNames(prototype)) {
    const descriptor = Object.getOwnPropertyDescriptor(prototype, name);
    const method = descriptor?.value as AnyMethod | undefined;
    if (typeof method !== 'function' || method.constructor.name !== 'AsyncFunction') continue;
    Object.defineProperty(prototype, name, {
      ...descriptor,
      value: async function (this: { busyTimeoutMs?: number }, ...args: unknown[]) {
        const started = Date.now();
        const deadline = started + (this.busyTimeoutMs ?? 0);
        for (;;) {
          try {
            return await method.apply(this, args);
          } catch (err) {
            if (!isBusyError(err) || Date.now() >= deadline) throw translateSqliteError(err);
          }
          await new Promise((resolve) => setTimeout(resolve, retryDelayMs(Date.now() - started)));
        }
      },
    });
  }
}
