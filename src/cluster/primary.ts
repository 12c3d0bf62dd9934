// The primary process of `server.workers` > 1 (issue 9 point 3): migrates the store once, forks the workers that
// share the port (node:cluster round-robin), replaces one that dies, stops them all on SIGTERM/SIGINT, and gathers
// every worker's metrics for /metrics. It serves no request itself.
import cluster, { type Worker } from 'node:cluster';
import { hostname } from 'node:os';
import { AggregatorRegistry } from 'prom-client';
import type { Config } from '../config/load.js';
import { openStore } from '../store/open.js';
import { type FromPrimary, type FromWorker, isGatehouseMessage, type MetricsPart } from './messages.js';

/** A slot's worker is started again no sooner than this after its last start, so a crash loop does not spin. */
export const restartIntervalMs = 1000;
/** How long the primary waits for each worker's metrics; one that has not answered by then is left out. */
const metricsPartTimeoutMs = 1000;

const levels = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity } as const;

/** Log lines in the workers' shape (pino's JSON), on stdout with theirs, at the configured level. */
function primaryLog(config: Config) {
  const threshold = levels[config.server.logLevel];
  const base = { pid: process.pid, hostname: hostname(), cluster: 'primary' };
  return (level: 'info' | 'warn' | 'error', fields: Record<string, unknown>, msg: string) => {
    if (levels[level] < threshold) return;
    const line = { level: levels[level], time: Date.now(), ...base, ...fields, msg };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  };
}

function send(worker: Worker, message: FromPrimary): void {
  // A worker that just exited may still be listed: its closed channel's error goes to the callback, not 'error'.
  if (worker.isConnected()) worker.send(message, undefined, () => undefined);
}

interface Collection {
  parts: MetricsPart[];
  waiting: Set<Worker>;
  timer: NodeJS.Timeout;
  finish(): void;
}

/**
 * Runs the cluster until SIGTERM or SIGINT: calls `onListening` once every worker accepts requests, and answers the
 * exit status: 0 after every worker stopped cleanly, 1 if one could not start or a stop failed.
 */
export async function runPrimary(config: Config, onListening: (url: string) => void): Promise<number> {
  const log = primaryLog(config);
  const count = config.server.workers;
  // Migrations once, before any worker opens the store: SQLite's (PRAGMA user_version) are not safe to run from
  // several processes at once. PostgreSQL's are (an advisory lock), but one migration run is simpler to reason about.
  await (await openStore(config.storage)).close();

  const slots = new Map<Worker, number>();
  const started: number[] = [];
  const announced = new Set<Worker>();
  const restarts = new Set<NodeJS.Timeout>();
  const collections = new Map<number, Collection>();
  let nextCollection = 0;
  let phase: 'starting' | 'running' | 'stopping' = 'starting';
  let status = 0;

  const fork = (slot: number) => {
    started[slot] = Date.now();
    slots.set(cluster.fork(), slot);
  };

  const collect = (requester: Worker, requestId: number) => {
    const id = nextCollection++;
    const targets = [...announced].filter((w) => w.isConnected());
    const collection: Collection = {
      parts: [],
      waiting: new Set(targets),
      timer: setTimeout(() => collection.finish(), metricsPartTimeoutMs),
      finish() {
        clearTimeout(collection.timer);
        if (!collections.delete(id)) return;
        let text: Promise<string | undefined>;
        try {
          text = AggregatorRegistry.aggregate(collection.parts).metrics();
        } catch (err) {
          log('error', { err: String(err) }, 'metrics aggregation failed');
          text = Promise.resolve(undefined);
        }
        text.then(
          (t) =>
            send(
              requester,
              t === undefined
                ? { gatehouse: 'metrics-answer', id: requestId }
                : { gatehouse: 'metrics-answer', id: requestId, text: t },
            ),
          () => send(requester, { gatehouse: 'metrics-answer', id: requestId }),
        );
      },
    };
    collections.set(id, collection);
    for (const w of targets) send(w, { gatehouse: 'metrics-collect', id });
    if (targets.length === 0) collection.finish();
  };

  return new Promise<number>((resolve) => {
    let backstop: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(backstop);
      process.off('SIGTERM', onSigterm);
      process.off('SIGINT', onSigint);
      cluster.off('message', onMessage);
      cluster.off('exit', onExit);
      resolve(status);
    };

    const stop = (reason: string) => {
      if (phase === 'stopping') return;
      phase = 'stopping';
      log('info', { reason }, 'stopping the workers');
      for (const timer of restarts) clearTimeout(timer);
      restarts.clear();
      // Each worker drains as a single process does (server.shutdownTimeoutSeconds) and exits by its own backstop
      // after that; this one only catches a worker that hangs even so.
      backstop = setTimeout(
        () => {
          log('error', { workers: slots.size }, 'workers did not stop in time; killing them');
          for (const w of slots.keys()) w.process.kill('SIGKILL');
          status = 1;
        },
        config.server.shutdownTimeoutSeconds * 1000 + 4000,
      );
      for (const w of slots.keys()) w.process.kill('SIGTERM');
      if (slots.size === 0) finish();
    };
    const onSigterm = () => stop('SIGTERM');
    const onSigint = () => stop('SIGINT');

    const onMessage = (worker: Worker, message: unknown) => {
      if (!isGatehouseMessage<FromWorker>(message)) return;
      if (message.gatehouse === 'listening') {
        announced.add(worker);
        if (phase === 'starting' && announced.size === count) {
          phase = 'running';
          onListening(message.url);
        }
      } else if (message.gatehouse === 'metrics-request') {
        collect(worker, message.id);
      } else if (message.gatehouse === 'metrics-part') {
        const collection = collections.get(message.id);
        if (collection?.waiting.delete(worker)) {
          collection.parts.push(message.metrics);
          if (collection.waiting.size === 0) collection.finish();
        }
      }
    };

    const onExit = (worker: Worker, code: number | null, signal: string | null) => {
      const slot = slots.get(worker) ?? 0;
      slots.delete(worker);
      announced.delete(worker);
      for (const collection of collections.values())
        if (collection.waiting.delete(worker) && collection.waiting.size === 0) collection.finish();
      if (phase === 'stopping') {
        if (code !== 0) status = 1;
        if (slots.size === 0) finish();
        return;
      }
      if (phase === 'starting') {
        // It said why on stderr (a port in use, a bad sector document, a store that does not answer): stop the rest.
        log('error', { worker: worker.process.pid, code, signal }, 'a worker could not start');
        status = 1;
        stop('a worker could not start');
        return;
      }
      const wait = Math.max(0, (started[slot] ?? 0) + restartIntervalMs - Date.now());
      log(
        'warn',
        { worker: worker.process.pid, code, signal, restartInMs: wait },
        'a worker exited; replacing it',
      );
      const timer = setTimeout(() => {
        restarts.delete(timer);
        if (phase === 'running') fork(slot);
      }, wait);
      restarts.add(timer);
    };

    process.on('SIGTERM', onSigterm);
    process.on('SIGINT', onSigint);
    cluster.on('message', onMessage);
    cluster.on('exit', onExit);
    for (let slot = 0; slot < count; slot++) fork(slot);
  });
}
