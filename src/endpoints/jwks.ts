// JWK Set (RFC 7517 §5; OIDC Discovery jwks_uri): the provider's public signing keys only, following key rotation.
import type { FastifyInstance } from 'fastify';
import { corsRoute } from '../http/cors.js';
import type { Provider } from '../provider/provider.js';
import { methodNotAllowed } from './method-not-allowed.js';

/**
 * Kept short: a rotated key signs within seconds (interface.md "Commands"), and a cache in front must not hide it
 * for longer than that. Relying parties also refetch on an unknown kid (OIDC Core §10.1.1).
 */
const cacheControl = 'public, max-age=10';

export function registerJwks(app: FastifyInstance, provider: Provider): void {
  const url = `${provider.basePath}/jwk`;
  app.get(url, { config: { kind: 'public', cors: provider.corsOrigins } }, async (_request, reply) =>
    // Read per request: the body is rebuilt only when a reload or a retirement changes the key list.
    reply.type('application/jwk-set+json').header('Cache-Control', cacheControl).send(provider.keys.jwksBody),
  );
  corsRoute(app, url, provider, ['GET']);
  methodNotAllowed(app, url, ['GET', 'OPTIONS'], 'public');
}
