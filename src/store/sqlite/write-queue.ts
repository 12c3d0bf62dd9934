// Group commit for the SQLite store (issue 9 points 3-4): the writes of every request that reached the store in one
// turn of the event loop run in one transaction, each answered only after it commits, and the write lock is waited
// for asynchronously, so a lock held by another process never blocks this process's event loop.
import type Database from 'better-sqlite3';
import { StoreUnavailableError } from '../errors.js';
import { isBusyError, retryDelayMs, translateSqliteError } from './unavailable.js';

interface Job {
  run: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

export interface WriteQueueOptions {
  /** How long a batch may wait for the write lock before its requests fail with StoreUnavailableError (503). */
  busyTimeoutMs: number;
  /** Most writes in one transaction: bounds how long one commit holds the lock and the event loop. */
  maxBatch?: number;
}

/**
 * Runs write steps in shared transactions. A step is a synchronous function of the store that runs ONE statement or
 * ONE `db.transaction` wrapper (which nests as a savepoint inside the batch's transaction), so each step is atomic on
 * its own: a step that throws has undone itself and only its caller sees the error. The batch commits once.
 * The connection's busy_timeout must be 0: a busy lock is retried here, on a timer, never in a synchronous wait.
 */
export class WriteQueue {
  private pending: Job[] = [];
  private scheduled = false;
  private readonly maxBatch: number;
  private readonly begin: Database.Statement;
  private readonly commit: Database.Statement;
  private readonly rollback: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    private readonly options: WriteQueueOptions,
  ) {
    this.maxBatch = options.maxBatch ?? 256;
    this.begin = db.prepare('BEGIN IMMEDIATE');
    this.commit = db.prepare('COMMIT');
    this.rollback = db.prepare('ROLLBACK');
  }

  /** Runs `step` in the next batch; resolves with its result once that batch has committed. */
  run<T>(step: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ run: step, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // After the I/O callbacks of this turn: every request parsed in it joins the batch.
        setImmediate(() => this.flush(Date.now()));
      }
    });
  }

  /** The store is closing: what is queued or queued later fails as unavailable (503), never on a closed handle. */
  close(): void {
    this.closed = true;
  }

  private closed = false;

  private flush(firstTry: number): void {
    const batch = this.pending.slice(0, this.maxBatch);
    if (this.closed || !this.db.open) {
      this.pending = this.pending.slice(batch.length);
      const failure = new StoreUnavailableError('SQLite: the store is closing');
      for (const job of batch) job.reject(failure);
      this.next();
      return;
    }
    try {
      this.begin.run();
    } catch (err) {
      if (isBusyError(err) && Date.now() - firstTry < this.options.busyTimeoutMs) {
        // Another process writes: try again soon, leaving the event loop free meanwhile.
        setTimeout(() => this.flush(firstTry), retryDelayMs(Date.now() - firstTry));
        return;
      }
      this.pending = this.pending.slice(batch.length);
      const failure = isBusyError(err)
        ? new StoreUnavailableError('SQLite: the database stayed locked past the busy timeout', {
            cause: err,
          })
        : translateSqliteError(err);
      for (const job of batch) job.reject(failure);
      this.next();
      return;
    }
    this.pending = this.pending.slice(batch.length);
    const results: { ok: boolean; value: unknown }[] = [];
    let aborted: unknown;
    for (const job of batch) {
      try {
        results.push({ ok: true, value: job.run() });
      } catch (err) {
        if (!this.db.inTransaction) {
          // SQLite rolled the whole transaction back (a full disk, an I/O error): nothing of the batch is kept.
          aborted = err;
          break;
        }
        // The step undid itself: a failed statement leaves nothing behind, a db.transaction rolls back its savepoint.
        results.push({ ok: false, value: err });
      }
    }
    if (aborted === undefined) {
      try {
        this.commit.run();
      } catch (err) {
        aborted = err;
      }
    }
    if (aborted !== undefined && this.db.inTransaction) {
      // Nothing in flush may throw: the batch's callers would never be answered and the queue would stay scheduled.
      try {
        this.rollback.run();
      } catch {
        // The connection's transaction is gone or broken; every step of the batch fails below either way.
      }
    }
    if (aborted !== undefined) {
      const failure = translateSqliteError(aborted);
      for (const job of batch) job.reject(failure);
    } else {
      batch.forEach((job, i) => {
        const r = results[i] as { ok: boolean; value: unknown };
        if (r.ok) job.resolve(r.value);
        else job.reject(translateSqliteError(r.value));
      });
    }
    this.next();
  }

  private next(): void {
    if (this.pending.length > 0) setImmediate(() => this.flush(Date.now()));
    else this.scheduled = false;
  }
}
