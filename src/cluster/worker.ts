// One worker process of `server.workers` > 1 (issue 9 point 3): tells the primary it listens, gives it its metrics,
// and answers /metrics (interface.md "URLs": process-wide) with every worker's, gathered by the primary.
import cluster from 'node:cluster';
import type { Config } from '../config/load.js';
import { Metrics } from '../http/metrics.js';
import { type FromPrimary, type FromWorker, isGatehouseMessage } from './messages.js';

/**
 * How long /metrics waits for the primary's aggregate; past it the worker answers with its own metrics rather than
 * none. The primary gives each worker 1 s, so this is only reached when the primary itself does not answer.
 */
const aggregateTimeoutMs = 2500;

/** Whether this process is a worker forked by the primary (src/cluster/primary.ts). */
export function isClusterWorker(): boolean {
  return cluster.isWorker;
}

function send(message: FromWorker): void {
  // The callback takes a closed channel's error (the primary is gone): the worker is about to exit anyway.
  process.send?.(message, undefined, undefined, () => undefined);
}

/** This worker's registry as usual; `text()` is the whole server's, from the primary, with this worker's own as the fallback. */
class ClusterMetrics extends Metrics {
  private nextId = 0;
  private readonly waiting = new Map<number, (text: string | undefined) => void>();
  private readonly onMessage = (message: unknown) => {
    if (!isGatehouseMessage<FromPrimary>(message)) return;
    if (message.gatehouse === 'metrics-collect') {
      const { id } = message;
      this.registry.getMetricsAsJSON().then(
        (metrics) => send({ gatehouse: 'metrics-part', id, metrics }),
        // Left out of this collection; the primary stops waiting for it after its deadline.
        () => undefined,
      );
    } else if (message.gatehouse === 'metrics-answer') {
      this.waiting.get(message.id)?.(message.text);
    }
  };

  constructor() {
    super();
    process.on('message', this.onMessage);
  }

  override async text(): Promise<string> {
    const id = this.nextId++;
    const aggregate = await new Promise<string | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), aggregateTimeoutMs);
      this.waiting.set(id, (text) => {
        clearTimeout(timer);
        resolve(text);
      });
      send({ gatehouse: 'metrics-request', id });
    });
    this.waiting.delete(id);
    return aggregate ?? super.text();
  }

  /** Stops listening to the primary, so the IPC channel no longer holds the process. */
  detach(): void {
    process.off('message', this.onMessage);
    for (const resolve of this.waiting.values()) resolve(undefined);
  }
}

export interface ClusterWorker {
  /** For startServer: this process's share of the per-process limits, and the metrics /metrics aggregates. */
  serverOptions: { workers: number; metrics: Metrics };
  /** Tells the primary this worker accepts requests (it prints the one `listening on` line once all do). */
  listening(url: string): void;
  /** After the server closed: leaves the cluster on purpose (not a crash to replace), letting the process exit. */
  leave(): void;
}

export function joinCluster(config: Config): ClusterWorker {
  const metrics = new ClusterMetrics();
  return {
    serverOptions: { workers: config.server.workers, metrics },
    listening: (url) => send({ gatehouse: 'listening', url }),
    leave() {
      metrics.detach();
      // exitedAfterDisconnect: the primary knows this exit was asked for.
      if (cluster.worker?.isConnected()) cluster.worker.disconnect();
    },
  };
}
