// Process-wide operations endpoints: /healthz (the store answers) and /metrics (Prometheus text format).
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../http/metrics.js';
import type { Store } from '../store/types.js';

export function registerOperations(app: FastifyInstance, store: Store, metrics: Metrics): void {
  app.get('/healthz', { config: { kind: 'api' } }, async (request, reply) => {
    try {
      await store.ping();
      return reply.send({ status: 'ok' });
    } catch (err) {
      request.log.error({ err }, 'store does not answer');
      return reply.code(503).send({ status: 'unavailable' });
    }
  });
  app.get('/metrics', async (_request, reply) => reply.type(metrics.contentType).send(await metrics.text()));
}
