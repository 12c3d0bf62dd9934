// Introspection endpoint (RFC 7662): authenticated confidential callers; a client sees its own tokens unless allowed all.
import type { FastifyInstance } from 'fastify';
import { clientAuthFailed } from '../client-auth/errors.js';
import { corsRoute } from '../http/cors.js';
import type { Provider } from '../provider/provider.js';
import { subjectFor } from '../subjects/subject.js';
import { type FoundToken, findToken, isLive } from '../tokens/lookup.js';
import { clientRequest, tokenParam } from './client-request.js';
import { methodNotAllowed } from './method-not-allowed.js';

async function describe(provider: Provider, token: FoundToken): Promise<Record<string, unknown>> {
  const r = token.record;
  const user = r.userId === undefined ? undefined : await provider.store.getUser(provider.name, r.userId);
  const aud = r.audience.length === 0 ? [provider.issuer] : r.audience;
  // The sub the token's own client knows the user by (OIDC Core §8): a resource server sees what the client sees.
  const owner = r.userId === undefined ? undefined : await provider.findClient(r.clientId);
  const sub = r.userId === undefined ? r.clientId : owner ? subjectFor(provider, owner, r.userId) : undefined;
  return {
    active: true,
    scope: r.scope.join(' '),
    client_id: r.clientId,
    // A username would let pairwise clients' resource servers link the user across sectors.
    ...(user && owner?.metadata.subject_type !== 'pairwise' ? { username: user.username } : {}),
    ...(token.kind === 'access' ? { token_type: 'Bearer' } : {}),
    exp: r.expiresAt,
    iat: r.issuedAt,
    ...(sub !== undefined ? { sub } : {}),
    aud: aud.length === 1 ? aud[0] : aud,
    iss: provider.issuer,
  };
}

export function registerIntrospection(app: FastifyInstance, provider: Provider): void {
  const url = `${provider.basePath}/introspect`;
  app.post(url, { config: { kind: 'api', cors: provider.corsOrigins } }, async (request, reply) => {
    const { form, client, now } = await clientRequest(provider, request);
    // RFC 7662 §2.1: the caller must be authenticated; a public client proves nothing about itself.
    if (client.isPublic) throw clientAuthFailed('client_id', `public client ${client.id} cannot introspect`);
    const found = await findToken(provider, tokenParam(form), form.get('token_type_hint'));
    // RFC 7662 §2.2: anything the caller may not see is simply inactive.
    const visible = found && (found.record.clientId === client.id || client.introspectAnyToken);
    if (!found || !visible || !(await isLive(provider, found, now)))
      return reply.type('application/json').send({ active: false });
    return reply.type('application/json').send(await describe(provider, found));
  });
  corsRoute(app, url, provider, ['POST']);
  methodNotAllowed(app, url, ['POST', 'OPTIONS'], 'api');
}
