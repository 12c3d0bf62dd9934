// What a Gatehouse cluster's primary and workers say to each other over node:cluster's IPC channel (issue 9 point 3).
import type { MetricObjectWithValues, MetricValue } from 'prom-client';

/** One worker's metrics, as its registry's `getMetricsAsJSON()` gives them (what AggregatorRegistry aggregates). */
export type MetricsPart = MetricObjectWithValues<MetricValue<string>>[];

/** From a worker: it accepts requests at `url`; it wants the whole server's /metrics; its part of a collection. */
export type FromWorker =
  | { gatehouse: 'listening'; url: string }
  | { gatehouse: 'metrics-request'; id: number }
  | { gatehouse: 'metrics-part'; id: number; metrics: MetricsPart };

/** From the primary: send your metrics for collection `id`; the answer to a worker's request (absent: none). */
export type FromPrimary =
  | { gatehouse: 'metrics-collect'; id: number }
  | { gatehouse: 'metrics-answer'; id: number; text?: string };

const kinds = new Set(['listening', 'metrics-request', 'metrics-part', 'metrics-collect', 'metrics-answer']);

/**
 * Whether `message` is one of ours. The channel also carries node:cluster's and prom-client's own messages; the
 * shape is trusted beyond the tag because only our own processes write to it.
 */
export function isGatehouseMessage<T extends FromWorker | FromPrimary>(message: unknown): message is T {
  return (
    typeof message === 'object' &&
    message !== null &&
    kinds.has(String((message as { gatehouse?: unknown }).gatehouse))
  );
}
