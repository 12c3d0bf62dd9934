// Moves SQLite's WAL checkpoints off the event loop (issue 9 point 4): a worker thread checkpoints on its own
// connection; the serving connection's automatic checkpoint stays only as a backstop for a checkpointer that fell
// far behind. Checkpoints sync the files (synchronous=NORMAL), and a sync inside a commit would stall every request.
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

/** How often the worker checkpoints: the WAL stays a few MB under load. */
const intervalMs = 200;
/** The serving connection checkpoints itself only past this many WAL pages (40 MB of 4 KB pages). */
const backstopPages = 10_000;
/** SQLite's default: what the serving connection falls back to if the worker fails. */
const defaultAutocheckpointPages = 1000;

export class Checkpointer {
  private constructor(
    private readonly worker: Worker,
    private readonly db: Database.Database,
  ) {}

  /**
   * Starts the worker, and once it runs, hands checkpoints over to it. Undefined when it cannot start (the serving
   * connection then keeps checkpointing itself, as SQLite does by default).
   */
  static async start(db: Database.Database, path: string, synchronous: 'NORMAL' | 'FULL') {
    const worker = new Worker(new URL('./checkpoint-worker.mjs', import.meta.url), {
      workerData: { path, synchronous, intervalMs },
      // A small heap: it only calls into SQLite (memory: issue 9 point 2).
      resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 16 },
    });
    const started = await new Promise<boolean>((resolve) => {
      worker.once('message', (m) => resolve(m === 'ready'));
      worker.once('error', () => resolve(false));
      worker.once('exit', () => resolve(false));
    });
    if (!started) {
      await worker.terminate().catch(() => undefined);
      return undefined;
    }
    const checkpointer = new Checkpointer(worker, db);
    db.pragma(`wal_autocheckpoint = ${backstopPages}`);
    // A worker that dies or reports a failure gives checkpoints back to the serving connection.
    worker.on('error', () => checkpointer.fallBack());
    worker.on('exit', () => checkpointer.fallBack());
    worker.on('message', (m: unknown) => {
      if (typeof m === 'object' && m !== null && 'error' in m) checkpointer.fallBack();
    });
    // Does not keep the process alive by itself.
    worker.unref();
    return checkpointer;
  }

  private stopped = false;

  private fallBack(): void {
    if (this.stopped || !this.db.open) return;
    this.stopped = true;
    this.db.pragma(`wal_autocheckpoint = ${defaultAutocheckpointPages}`);
    void this.worker.terminate().catch(() => undefined);
  }

  /** A last checkpoint, then the worker's connection closes (before the serving one, which then removes the WAL). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // Held until it has answered: an unreferenced worker and timer would let the process end mid-close.
    this.worker.ref();
    const done = new Promise<void>((resolve) => {
      this.worker.on('message', (m) => {
        if (m === 'stopped') resolve();
      });
      this.worker.once('exit', () => resolve());
    });
    this.worker.postMessage('stop');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, 2000);
    });
    await Promise.race([done, timeout]);
    clearTimeout(timer);
    await this.worker.terminate().catch(() => undefined);
  }
}
