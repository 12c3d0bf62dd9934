// 405 for the methods an endpoint does not serve (RFC 9110 §15.5.6), in the endpoint's own error shape.
import type { FastifyInstance, HTTPMethods } from 'fastify';
import { OAuthError } from '../errors/oauth-error.js';
import type { RouteKind } from '../http/app.js';

const all: HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];

/** `headServed`: Fastify answers HEAD for a GET route unless the route opted out (exposeHeadRoute: false). */
export function methodNotAllowed(
  app: FastifyInstance,
  url: string,
  allowed: HTTPMethods[],
  kind: RouteKind,
  headServed = true,
): void {
  const served = new Set<HTTPMethods>(allowed.includes('GET') && headServed ? [...allowed, 'HEAD'] : allowed);
  const method = all.filter((m) => !served.has(m));
  const allow = [...served].filter((m) => m !== 'OPTIONS').join(', ');
  app.route({
    method,
    url,
    config: { kind },
    handler: async () => {
      throw new OAuthError('method_not_allowed', `Use ${allowed.join(' or ')}`, {
        headers: { Allow: allow },
      });
    },
  });
}
