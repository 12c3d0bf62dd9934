// Token endpoint (RFC 6749 §3.2, §4.1.3, §5; OIDC Core §3.1.3): a short list of named steps.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { invalidRequest, unauthorizedClient, unsupportedGrantType } from '../errors/oauth-error.js';
import { grants } from '../grants/registry.js';
import type { Grant } from '../grants/types.js';
import { corsRoute } from '../http/cors.js';
import type { FormParams } from '../http/form.js';
import type { Metrics } from '../http/metrics.js';
import type { Client } from '../provider/client.js';
import type { Provider } from '../provider/provider.js';
import { clientRequest } from './client-request.js';
import { methodNotAllowed } from './method-not-allowed.js';

function selectGrant(form: FormParams, client: Client): Grant {
  const grantType = form.present('grant_type');
  if (grantType === undefined) throw invalidRequest('grant_type is required');
  const grant = grants.get(grantType);
  if (!grant) throw unsupportedGrantType(`Unsupported grant_type: ${grantType.slice(0, 64)}`);
  // RFC 6749 §5.2 unauthorized_client: not registered for this grant type.
  if (!client.grantTypes.has(grant.grantType))
    throw unauthorizedClient(`Client may not use ${grant.grantType}`);
  return grant;
}

export function registerToken(app: FastifyInstance, provider: Provider, metrics: Metrics): void {
  const url = `${provider.basePath}/token`;
  const config = { kind: 'api' as const, cors: provider.corsOrigins };
  app.post(url, { config }, async (request: FastifyRequest, reply: FastifyReply) => {
    const { form, client, now } = await clientRequest(provider, request);
    const grant = selectGrant(form, client);
    const response = await grant.handle({
      provider,
      client,
      // Parameters outside the grant's allow-list are dropped before the handler runs.
      params: form.pick(grant.parameters),
      now,
    });
    metrics.tokenIssued(provider.name, grant.grantType);
    return reply.code(200).type('application/json').send(response);
  });
  corsRoute(app, url, provider, ['POST']);
  methodNotAllowed(app, url, ['POST', 'OPTIONS'], 'api');
}
