// Revocation endpoint (RFC 7009 §2): an authenticated client revokes its own tokens; a refresh token takes its grant with it.
import type { FastifyInstance } from 'fastify';
import { unauthorizedClient } from '../errors/oauth-error.js';
import { corsRoute } from '../http/cors.js';
import type { Provider } from '../provider/provider.js';
import { findToken } from '../tokens/lookup.js';
import { clientRequest, tokenParam } from './client-request.js';
import { methodNotAllowed } from './method-not-allowed.js';

export function registerRevocation(app: FastifyInstance, provider: Provider): void {
  const url = `${provider.basePath}/revoke`;
  app.post(url, { config: { kind: 'api', cors: provider.corsOrigins } }, async (request, reply) => {
    const { form, client, now } = await clientRequest(provider, request);
    const found = await findToken(provider, tokenParam(form), form.get('token_type_hint'));
    // RFC 7009 §2.2: an invalid or unknown token still answers 200.
    if (found) {
      // RFC 7009 §2.1: only the client the token was issued to may revoke it.
      if (found.record.clientId !== client.id)
        throw unauthorizedClient('The token was issued to another client');
      // RFC 7009 §2.1: revoking a refresh token SHOULD also revoke the access tokens of the same grant.
      if (found.kind === 'refresh')
        await provider.store.revokeGrant(provider.name, found.record.grantId, now);
      else await provider.store.revokeAccessToken(provider.name, found.record.tokenHash, now);
    }
    return reply.code(200).send();
  });
  corsRoute(app, url, provider, ['POST']);
  methodNotAllowed(app, url, ['POST', 'OPTIONS'], 'api');
}
