// Every route, in one place: process-wide endpoints, then each provider's under /oidc/endpoint/{name}.
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../http/metrics.js';
import type { Provider } from '../provider/provider.js';
import type { Store } from '../store/types.js';
import { RequestRateLimiter, requestRateHook } from '../throttle/request-rate.js';
import { registerAuthorize } from './authorize.js';
import { registerDiscovery } from './discovery.js';
import { registerEndSession } from './end-session.js';
import { registerInteraction } from './interaction.js';
import { registerIntrospection } from './introspection.js';
import { registerJwks } from './jwks.js';
import { methodNotAllowed } from './method-not-allowed.js';
import { registerOperations } from './operations.js';
import { registerRegistration } from './registration.js';
import { registerRevocation } from './revocation.js';
import { registerToken } from './token.js';
import { registerUserinfo } from './userinfo.js';

/**
 * Registers an endpoint in a scope of its own whose requests first pass the provider's per-address rate for it
 * (issue 8; checklist C3: a burst at /authorize or /registration gets 429 and the service stays up).
 */
function withRequestRate(
  app: FastifyInstance,
  provider: Provider,
  endpoint: 'authorize' | 'registration',
  register: (scope: FastifyInstance, provider: Provider) => void,
): void {
  const { requests } = provider.settings.throttle;
  const limiter = new RequestRateLimiter(requests[endpoint], requests.maxAddresses, provider.clock);
  app.register(async (scope) => {
    scope.addHook('onRequest', requestRateHook(limiter));
    register(scope, provider);
  });
}

export function registerRoutes(
  app: FastifyInstance,
  providers: Provider[],
  store: Store,
  metrics: Metrics,
): void {
  registerOperations(app, store, metrics);
  methodNotAllowed(app, '/healthz', ['GET'], 'api');
  methodNotAllowed(app, '/metrics', ['GET'], 'api');
  for (const provider of providers) {
    registerDiscovery(app, provider);
    registerJwks(app, provider);
    withRequestRate(app, provider, 'authorize', registerAuthorize);
    registerInteraction(app, provider);
    registerToken(app, provider, metrics);
    registerUserinfo(app, provider);
    registerRevocation(app, provider);
    registerIntrospection(app, provider);
    registerEndSession(app, provider);
    withRequestRate(app, provider, 'registration', registerRegistration);
  }
}
