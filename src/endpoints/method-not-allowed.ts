// 405 for the methods an endpoint does not serve (RFC 9110 §15.5.6), in the endpoint's own error shape.
import { METHODS } from 'node:http';
import type { FastifyInstance, HTTPMethods } from 'fastify';
import { OAuthError } from '../errors/oauth-error.js';
import type { RouteKind } from '../http/app.js';

/**
 * Every method Node's parser accepts, so WebDAV, TRACE, QUERY and the rest get 405 too, not 404 (issue 8 point 8).
 * CONNECT never reaches the router (Node hands it to the server's 'connect' event): app.ts answers it.
 */
export const routableMethods: readonly string[] = METHODS.filter((m) => m !== 'CONNECT');

/** A method no endpoint serves: app.ts routes what the router never sees (CONNECT, unknown methods) as this one. */
export const neverServedMethod = 'TRACE';

/** `headServed`: Fastify answers HEAD for a GET route unless the route opted out (exposeHeadRoute: false). */
export function methodNotAllowed(
  app: FastifyInstance,
  url: string,
  allowed: HTTPMethods[],
  kind: RouteKind,
  headServed = true,
): void {
  const served = new Set<string>(allowed.includes('GET') && headServed ? [...allowed, 'HEAD'] : allowed);
  const method = routableMethods.filter((m) => !served.has(m));
  // OPTIONS is listed too when the endpoint answers it (CORS preflight): Allow names exactly what is served.
  const allow = [...served].join(', ');
  const description = `Use ${allowed.filter((m) => m !== 'OPTIONS').join(' or ')}`;
  const refuse = async () => {
    throw new OAuthError('method_not_allowed', description, { headers: { Allow: allow } });
  };
  app.route({
    method,
    url,
    config: { kind },
    // Refused before the body is read: a 405 is not turned into a 415 or 413 by a body it never needed.
    onRequest: refuse,
    handler: refuse,
  });
}
