// A bounded pool of worker threads for argon2 (issue 8 point 5): password hashing stays off libuv's thread pool, where
// ID tokens are signed, and a login flood waits in a bounded queue or is turned away at once (503, Retry-After).
import { Worker } from 'node:worker_threads';
import { OAuthError } from '../errors/oauth-error.js';

export interface PasswordPoolSettings {
  /** Worker threads, each running one argon2 computation at a time. */
  workers: number;
  /** Jobs that may wait for a busy worker; one more is refused at once rather than queued. */
  queue: number;
}

export interface PasswordPoolOptions {
  /** The worker script; tests pass one that misbehaves. */
  workerUrl?: URL;
  /**
   * Longest a job may take from its submission, waiting included. Past it the job fails (503) and a worker still on
   * it is replaced: a caller never hangs, whatever a worker does.
   */
  jobTimeoutMs?: number;
  /** Told when a worker dies or is stopped for being stuck (never with anything of a job's contents). */
  onWorkerFailure?: (detail: string) => void;
  /**
   * A worker with nothing to do for this long is stopped, and started again by the next job that finds no idle
   * worker (issue 9 point 2: stopping one gives back 5-10 MiB of the server's RSS; a restart costs a few tens of
   * milliseconds to the first login after a quiet spell).
   */
  idleMs?: number;
}

export type PasswordJob =
  | { op: 'hash'; password: string; options: Readonly<Record<string, number>> }
  | { op: 'verify'; phc: string; password: string };

export interface PasswordPoolStats {
  /** Workers loaded and able to take a job. */
  workers: number;
  running: number;
  waiting: number;
}

/** An argon2 failure for one job (a malformed stored hash): the job's own error, not the pool's. */
export class PasswordJobError extends Error {
  override readonly name = 'PasswordJobError';
}

/** Seconds a refused login is told to wait: a full queue drains in about that (one argon2 run takes tens of ms). */
export const passwordRetryAfterSeconds = 1;

/** The pool cannot take or finish the job now: 503 with Retry-After (RFC 9110 §10.2.3), as for a store outage. */
export function passwordPoolBusy(detail: string): OAuthError {
  return new OAuthError('temporarily_unavailable', 'Too many sign-ins at once; try again in a moment', {
    headers: { 'Retry-After': String(passwordRetryAfterSeconds) },
    detail,
  });
}

const defaultWorkerUrl = new URL('./password-worker.mjs', import.meta.url);
const defaultJobTimeoutMs = 30_000;
const defaultIdleMs = 5_000;

type WorkerMessage =
  | { ready: true }
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: string };

interface Pending {
  readonly id: number;
  readonly job: PasswordJob;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: Error) => void;
  timer?: NodeJS.Timeout;
  slot?: Slot;
  done: boolean;
}

interface Slot {
  readonly worker: Worker;
  ready: boolean;
  /** Set when the pool gave up on the worker (stuck): it takes no more jobs and is replaced when it has exited. */
  retired: boolean;
  /** Set when the worker was stopped for being idle: retired, but neither a failure nor replaced. */
  parked: boolean;
  current: Pending | undefined;
  idleTimer?: NodeJS.Timeout;
}

export class PasswordPool {
  private readonly slots = new Set<Slot>();
  private readonly waiting: Pending[] = [];
  private readonly workerUrl: URL;
  private readonly jobTimeoutMs: number;
  private readonly onWorkerFailure: (detail: string) => void;
  private readonly idleMs: number;
  private readonly started: Promise<void>;
  private nextId = 1;
  private closed = false;
  /** Workers that died before loading, in a row: respawns back off, so a broken install does not spin. */
  private startFailures = 0;

  constructor(
    readonly settings: PasswordPoolSettings,
    options: PasswordPoolOptions = {},
  ) {
    this.workerUrl = options.workerUrl ?? defaultWorkerUrl;
    this.jobTimeoutMs = options.jobTimeoutMs ?? defaultJobTimeoutMs;
    this.idleMs = options.idleMs ?? defaultIdleMs;
    this.onWorkerFailure =
      options.onWorkerFailure ?? ((detail) => process.emitWarning(detail, 'GatehouseWarning'));
    const starts: Promise<void>[] = [];
    for (let i = 0; i < Math.max(1, settings.workers); i++) starts.push(this.spawn());
    this.started = Promise.all(starts).then(() => undefined);
    // Whoever needs the first start awaits ready(); a failure is not an unhandled rejection meanwhile.
    this.started.catch(() => undefined);
  }

  /** Resolves once every first worker has loaded argon2 (a broken install fails at start); rejects if one could not. */
  ready(): Promise<void> {
    return this.started;
  }

  stats(): PasswordPoolStats {
    let workers = 0;
    let running = 0;
    for (const s of this.slots) {
      if (s.ready && !s.retired) workers++;
      if (s.current) running++;
    }
    return { workers, running, waiting: this.waiting.length };
  }

  /**
   * Runs one job. Refused at once (an OAuthError 503) when every worker is busy and `queue` jobs already wait (unless
   * `wait`: work of the server's own, such as hashing configured passwords at start, queues regardless), and
   * failed (503) if its worker dies or the job outlives jobTimeoutMs. argon2's own failure is a PasswordJobError.
   */
  run(job: PasswordJob, limit: 'bounded' | 'wait' = 'bounded'): Promise<unknown> {
    if (this.closed) return Promise.reject(passwordPoolBusy('password pool closed'));
    if (limit === 'bounded' && this.waiting.length >= this.settings.queue + this.spare()) {
      const { running, waiting } = this.stats();
      return Promise.reject(passwordPoolBusy(`password queue full: ${running} running, ${waiting} waiting`));
    }
    return new Promise((resolve, reject) => {
      const pending: Pending = { id: this.nextId++, job, resolve, reject, done: false };
      pending.timer = setTimeout(() => this.expire(pending), this.jobTimeoutMs);
      // The worker's own reference keeps the process alive while the job runs; the timer need not.
      pending.timer.unref();
      this.waiting.push(pending);
      this.pump();
    });
  }

  /**
   * Workers that could take a job without it queueing behind another: idle ones, and those not running (stopped for
   * being idle, or still loading) up to the pool's size. With every worker idle-stopped, a login is still accepted
   * exactly as it would be by an idle worker.
   */
  private spare(): number {
    let busy = 0;
    for (const s of this.slots) if (!s.retired && s.current) busy++;
    return Math.max(0, Math.max(1, this.settings.workers) - busy);
  }

  /** Fails what is waiting or running (503) and stops every worker. */
  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.waiting.splice(0)) this.settle(p, passwordPoolBusy('password pool closed'));
    const workers: Worker[] = [];
    for (const s of this.slots) {
      clearTimeout(s.idleTimer);
      if (s.current) this.settle(s.current, passwordPoolBusy('password pool closed'));
      s.current = undefined;
      workers.push(s.worker);
    }
    await Promise.all(workers.map((w) => w.terminate()));
  }

  private spawn(): Promise<void> {
    const worker = new Worker(this.workerUrl, {
      // The worker is plain JavaScript: no loader (tsx) from the parent's command line, which only slows its start.
      execArgv: [],
      name: 'gatehouse-password',
    });
    const slot: Slot = { worker, ready: false, retired: false, parked: false, current: undefined };
    this.slots.add(slot);
    this.updateRefs();
    let lastError: string | undefined;
    return new Promise<void>((resolveReady, rejectReady) => {
      worker.on('message', (msg: WorkerMessage) => {
        if ('ready' in msg) {
          slot.ready = true;
          this.startFailures = 0;
          resolveReady();
          this.pump();
          return;
        }
        const p = slot.current;
        if (!p || p.id !== msg.id) return;
        slot.current = undefined;
        if (msg.ok) this.settle(p, undefined, msg.result);
        else this.settle(p, new PasswordJobError(msg.error));
        this.pump();
      });
      // Without a listener, a worker's uncaught exception would be rethrown here and end the process.
      worker.on('error', (err) => {
        lastError = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      });
      worker.on('exit', (code) => {
        this.slots.delete(slot);
        clearTimeout(slot.idleTimer);
        const cause = lastError ?? `exit code ${code}`;
        if (!slot.ready) rejectReady(new Error(`password worker did not start: ${cause}`));
        const p = slot.current;
        slot.current = undefined;
        if (p) this.settle(p, passwordPoolBusy(`password worker stopped: ${cause}`));
        if (this.closed) return;
        if (slot.parked) {
          // Stopped for being idle: a job that arrived meanwhile starts a worker of its own.
          this.pump();
          return;
        }
        if (!slot.retired) this.onWorkerFailure(`password worker stopped (${cause}); starting another`);
        this.replace(slot.ready);
      });
    });
  }

  private replace(hadStarted: boolean): void {
    if (!hadStarted) this.startFailures++;
    if (this.startFailures === 0) {
      this.spawn().catch(() => undefined);
      this.pump();
      return;
    }
    // No worker can load: what waits fails now rather than at its deadline.
    if (![...this.slots].some((s) => s.ready && !s.retired))
      for (const p of this.waiting.splice(0))
        this.settle(p, passwordPoolBusy('no password worker could start'));
    this.updateRefs();
    const delay = Math.min(5000, 100 * 2 ** this.startFailures);
    setTimeout(() => {
      if (!this.closed) this.spawn().catch(() => undefined);
    }, delay).unref();
  }

  private expire(p: Pending): void {
    if (p.done) return;
    const i = this.waiting.indexOf(p);
    if (i >= 0) {
      this.waiting.splice(i, 1);
      this.settle(p, passwordPoolBusy('password job waited too long'));
      this.updateRefs();
      return;
    }
    const slot = p.slot;
    if (slot && slot.current === p) {
      slot.current = undefined;
      slot.retired = true;
      this.onWorkerFailure('password worker stuck on one job; replacing it');
      // Its exit starts the replacement.
      void slot.worker.terminate();
    }
    this.settle(p, passwordPoolBusy('password job took too long'));
    this.pump();
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (this.waiting.length === 0) break;
      if (!slot.ready || slot.retired || slot.current) continue;
      const p = this.waiting.shift() as Pending;
      slot.current = p;
      p.slot = slot;
      slot.worker.postMessage({ id: p.id, ...p.job });
    }
    this.startForWaiting();
    this.parkWhenIdle();
    this.updateRefs();
  }

  /** Jobs still waiting start stopped workers again, one per job, up to the pool's size (not while backing off). */
  private startForWaiting(): void {
    if (this.closed || this.startFailures > 0) return;
    let live = 0;
    let loading = 0;
    for (const s of this.slots) {
      if (s.retired) continue;
      live++;
      if (!s.ready) loading++;
    }
    for (
      let n = this.waiting.length - loading;
      n > 0 && live < Math.max(1, this.settings.workers);
      n--, live++
    )
      this.spawn().catch(() => undefined);
  }

  /** An idle worker is stopped after idleMs; a job given to it first cancels that. */
  private parkWhenIdle(): void {
    for (const slot of this.slots) {
      if (slot.current || slot.retired || !slot.ready) {
        clearTimeout(slot.idleTimer);
        slot.idleTimer = undefined;
        continue;
      }
      if (slot.idleTimer || this.closed) continue;
      slot.idleTimer = setTimeout(() => {
        slot.idleTimer = undefined;
        if (this.closed || slot.current || slot.retired) return;
        slot.retired = true;
        slot.parked = true;
        void slot.worker.terminate();
      }, this.idleMs);
      slot.idleTimer.unref();
    }
  }

  /** Workers keep the process alive only while there is work: an idle pool never holds a command open. */
  private updateRefs(): void {
    const busy = this.waiting.length > 0 || [...this.slots].some((s) => s.current !== undefined);
    for (const s of this.slots) {
      // A worker still loading is referenced too: a caller may be awaiting ready() with nothing else pending.
      if (busy || !s.ready) s.worker.ref();
      else s.worker.unref();
    }
  }

  private settle(p: Pending, error: Error | undefined, value?: unknown): void {
    if (p.done) return;
    p.done = true;
    clearTimeout(p.timer);
    if (error) p.reject(error);
    else p.resolve(value);
  }
}
