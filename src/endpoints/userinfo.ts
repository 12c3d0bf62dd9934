// UserInfo endpoint (OIDC Core §5.3) with Bearer token usage and errors per RFC 6750 §2.1, §2.2, §3.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sha256 } from '../crypto/hash.js';
import { OAuthError } from '../errors/oauth-error.js';
import { corsRoute } from '../http/cors.js';
import { FormParams, parseQuery } from '../http/form.js';
import type { Provider } from '../provider/provider.js';
import { userinfoClaims } from '../tokens/claims.js';
import { userinfoResponse } from '../tokens/userinfo-response.js';
import { methodNotAllowed } from './method-not-allowed.js';

/** RFC 6750 §2.1 b64token. */
const b64token = /^[A-Za-z0-9\-._~+/]+=*$/;

function challenge(
  provider: Provider,
  error?: { code: string; description: string },
): Record<string, string> {
  const parts = [`realm="${provider.issuer}"`];
  if (error) parts.push(`error="${error.code}"`, `error_description="${error.description}"`);
  return { 'WWW-Authenticate': `Bearer ${parts.join(', ')}` };
}

function bearerError(
  provider: Provider,
  code: 'invalid_request' | 'invalid_token' | 'insufficient_scope',
  description: string,
) {
  const status = code === 'invalid_request' ? 400 : code === 'invalid_token' ? 401 : 403;
  return new OAuthError(code, description, { status, headers: challenge(provider, { code, description }) });
}

/** RFC 6750 §2: header or form body, exactly one; never the query string (OIDC Core §5.3.1 / RFC 9700 §2.4). */
function presentedToken(provider: Provider, request: FastifyRequest): string {
  if (parseQuery(request.url).has('access_token'))
    throw bearerError(provider, 'invalid_request', 'Send the access token in the Authorization header');
  const header = request.headers.authorization;
  const body = request.body instanceof FormParams ? request.body : undefined;
  if (body && body.repeated.size > 0) throw bearerError(provider, 'invalid_request', 'Repeated parameter');
  const fromBody = body?.get('access_token');
  if (header !== undefined && fromBody !== undefined)
    throw bearerError(provider, 'invalid_request', 'More than one way of sending the access token was used');
  if (header !== undefined) {
    const m = /^bearer +(\S+) *$/i.exec(header);
    if (!m) {
      // RFC 6750 §3.1: a request without usable authentication gets the challenge without an error code.
      throw new OAuthError('invalid_token', 'Bearer access token required', { headers: challenge(provider) });
    }
    return m[1] as string;
  }
  if (fromBody !== undefined) return fromBody;
  throw new OAuthError('invalid_token', 'Bearer access token required', { headers: challenge(provider) });
}

/**
 * Whether a token's audience lets it in here: no resource asked (the audience is then the provider itself), or the
 * issuer or this endpoint among the resources asked. A client that wants one token for both its API and UserInfo
 * lists the issuer in `allowed_resources` and asks for `resource=<issuer>` alongside the API.
 */
function meantForUserinfo(provider: Provider, audience: readonly string[]): boolean {
  return (
    audience.length === 0 ||
    audience.includes(provider.issuer) ||
    audience.includes(`${provider.issuer}/userinfo`)
  );
}

async function userinfo(provider: Provider, request: FastifyRequest, reply: FastifyReply) {
  const value = presentedToken(provider, request);
  const invalid = () =>
    bearerError(provider, 'invalid_token', 'The access token is invalid, expired or revoked');
  if (!b64token.test(value) || value.length > 4096) throw invalid();
  // Only access tokens are in this table: an ID token or refresh token never matches.
  const token = await provider.store.findAccessToken(provider.name, sha256(value));
  if (!token || token.revokedAt !== undefined || token.expiresAt <= provider.clock.now()) throw invalid();
  // A client removed since the token was issued ends its tokens, even where the store's revocation has not
  // reached (issue 8 point 6); it also has no answer format (or sector) any more.
  const client = await provider.findClient(token.clientId);
  if (!client) throw invalid();
  // From here on, only the origins of the client the token belongs to may read the answer.
  request.corsClient = client;
  // RFC 8707 §2, RFC 9068 §4: a token asked for other resources is theirs alone, not a key to UserInfo.
  if (!meantForUserinfo(provider, token.audience))
    throw bearerError(provider, 'invalid_token', 'The access token was issued for another resource');
  if (!token.scope.includes('openid'))
    throw bearerError(provider, 'insufficient_scope', 'The access token lacks the openid scope');
  // A token a client got for itself (client_credentials) has no user to describe.
  const user =
    token.userId === undefined ? undefined : await provider.store.getUser(provider.name, token.userId);
  if (!user) throw invalid();
  const answer = await userinfoResponse(provider, client, {
    userId: user.id,
    // OIDC Core §5.3.2, §5.5: the scope's claims and those the claims request's `userinfo` member asks for.
    claims: userinfoClaims(user, token.scope, token.details.claims),
    now: provider.clock.now(),
    expiresAt: token.expiresAt,
  });
  return reply.type(answer.contentType).send(answer.body);
}

export function registerUserinfo(app: FastifyInstance, provider: Provider): void {
  const url = `${provider.basePath}/userinfo`;
  const config = { kind: 'api' as const, cors: provider.corsOrigins };
  app.get(url, { config }, (request, reply) => userinfo(provider, request, reply));
  app.post(url, { config }, (request, reply) => userinfo(provider, request, reply));
  corsRoute(app, url, provider, ['GET', 'POST']);
  methodNotAllowed(app, url, ['GET', 'POST', 'OPTIONS'], 'api');
}
