// Process-wide operations endpoints: /healthz (the store answers, within a short deadline) and /metrics (Prometheus).
import type { FastifyInstance } from 'fastify';
import { storeRetryAfterSeconds } from '../http/errors.js';
import type { Metrics } from '../http/metrics.js';
import { StoreUnavailableError } from '../store/errors.js';
import type { Store } from '../store/types.js';

/**
 * How long /healthz waits for the store. A balancer's health check must get an answer, not hang with a database
 * that stopped answering: past this the process reports itself unhealthy, whatever the store's own timeouts.
 */
export const healthDeadlineMs = 2000;

/** Settles like `work`, or rejects with StoreUnavailableError once `ms` have passed. */
async function within<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new StoreUnavailableError(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export function registerOperations(app: FastifyInstance, store: Store, metrics: Metrics): void {
  app.get('/healthz', { config: { kind: 'api' } }, async (request, reply) => {
    try {
      await within(store.ping(), healthDeadlineMs);
      return reply.send({ status: 'ok' });
    } catch (err) {
      // Unavailable is a condition, not a fault of ours: a warning naming it, without a stack.
      if (err instanceof StoreUnavailableError)
        request.log.warn({ detail: err.message }, 'store does not answer');
      else request.log.error({ err }, 'store does not answer');
      return reply
        .code(503)
        .header('Retry-After', String(storeRetryAfterSeconds))
        .send({ status: 'unavailable' });
    }
  });
  app.get('/metrics', async (_request, reply) => reply.type(metrics.contentType).send(await metrics.text()));
}
