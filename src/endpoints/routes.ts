// Every route, in one place: process-wide endpoints, then each provider's under /oidc/endpoint/{name}.
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../http/metrics.js';
import type { Provider } from '../provider/provider.js';
import type { Store } from '../store/types.js';
import { registerAuthorize } from './authorize.js';
import { registerDiscovery } from './discovery.js';
import { registerEndSession } from './end-session.js';
import { registerInteraction } from './interaction.js';
import { registerIntrospection } from './introspection.js';
import { registerJwks } from './jwks.js';
import { registerOperations } from './operations.js';
import { registerRegistration } from './registration.js';
import { registerRevocation } from './revocation.js';
import { registerToken } from './token.js';
import { registerUserinfo } from './userinfo.js';

export function registerRoutes(
  app: FastifyInstance,
  providers: Provider[],
  store: Store,
  metrics: Metrics,
): void {
  registerOperations(app, store, metrics);
  for (const provider of providers) {
    registerDiscovery(app, provider);
    registerJwks(app, provider);
    registerAuthorize(app, provider);
    registerInteraction(app, provider);
    registerToken(app, provider, metrics);
    registerUserinfo(app, provider);
    registerRevocation(app, provider);
    registerIntrospection(app, provider);
    registerEndSession(app, provider);
    registerRegistration(app, provider);
  }
}
