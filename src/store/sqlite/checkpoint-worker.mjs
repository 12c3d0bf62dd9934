// The SQLite store's checkpointer (src/store/sqlite/checkpointer.ts; issue 9 point 4): copies committed WAL frames
// into the database file on its own connection and thread, so the fsyncs of a checkpoint never stall the event loop.
// Plain JavaScript, not TypeScript: worker threads do not inherit the tsx loader bin/gatehouse.js registers.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const port = parentPort;
if (!port) throw new Error('checkpoint-worker.mjs runs only as a worker thread');

const { path, synchronous, intervalMs } = workerData;
const db = new Database(path);
// This thread may wait for locks: it serves no requests.
db.pragma('busy_timeout = 1000');
db.pragma(`synchronous = ${synchronous}`);
// Only this connection checkpoints, and only here.
db.pragma('wal_autocheckpoint = 0');
// A checkpoint copies pages from the WAL to the file; it needs no page cache of its own (memory: issue 9 point 2).
db.pragma('cache_size = -256');

function checkpoint() {
  try {
    // PASSIVE: copies what no reader still needs and never blocks a writer or a reader of another connection.
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (err) {
    // A busy or failing database now is retried at the next tick; the store's own writes report real failures.
    if (!/^SQLITE_(BUSY|LOCKED)/.test(err?.code ?? ''))
      port.postMessage({ error: String(err?.message ?? err) });
  }
}

const timer = setInterval(checkpoint, intervalMs);
port.on('message', (m) => {
  if (m === 'stop') {
    clearInterval(timer);
    checkpoint();
    db.close();
    port.postMessage('stopped');
    port.close();
  }
});
port.postMessage('ready');
