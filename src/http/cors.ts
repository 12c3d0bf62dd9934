// CORS for browser clients (Fetch standard; RFC 9700 §2.6): exact allowed origins only, never `*`, never credentials.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Provider } from '../provider/provider.js';

/** Adds Access-Control-Allow-Origin when the request's Origin is allowed: by the client, once known, else by the provider. */
export function applyCors(request: FastifyRequest, reply: FastifyReply): void {
  const providerOrigins = request.routeOptions.config.cors;
  if (!providerOrigins) return;
  reply.header('Vary', 'Origin');
  const origin = request.headers.origin;
  if (origin === undefined || origin === 'null') return;
  const allowed = request.corsClient ? request.corsClient.corsOrigins : providerOrigins;
  if (!allowed.has(origin)) return;
  reply.header('Access-Control-Allow-Origin', origin);
  reply.header('Access-Control-Expose-Headers', 'WWW-Authenticate');
}

/** Answers preflights from memory: no store access, no client authentication (they carry no credentials). */
export function corsRoute(app: FastifyInstance, url: string, provider: Provider, methods: string[]): void {
  app.options(url, { config: { kind: 'api', cors: provider.corsOrigins } }, async (request, reply) => {
    const origin = request.headers.origin;
    if (origin !== undefined && provider.corsOrigins.has(origin)) {
      reply.header('Access-Control-Allow-Methods', methods.join(', '));
      reply.header('Access-Control-Allow-Headers', 'Authorization, Content-Type');
      reply.header('Access-Control-Max-Age', '600');
    }
    return reply.code(204).send();
  });
}
