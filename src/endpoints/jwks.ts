// JWK Set (RFC 7517 §5; OIDC Discovery jwks_uri): the provider's public signing keys only.
import type { FastifyInstance } from 'fastify';
import { corsRoute } from '../http/cors.js';
import type { Provider } from '../provider/provider.js';
import { methodNotAllowed } from './method-not-allowed.js';

export function registerJwks(app: FastifyInstance, provider: Provider): void {
  const body = JSON.stringify(provider.keys.jwks);
  const url = `${provider.basePath}/jwk`;
  app.get(url, { config: { kind: 'public', cors: provider.corsOrigins } }, async (_request, reply) =>
    reply.type('application/jwk-set+json').header('Cache-Control', 'public, max-age=300').send(body),
  );
  corsRoute(app, url, provider, ['GET']);
  methodNotAllowed(app, url, ['GET', 'OPTIONS'], 'public');
}
