// Authorization endpoint, GET and POST (RFC 6749 §3.1, §4.1.1; OIDC Core §3.1.2): validate, then log in, consent or redirect.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AuthorizationRedirectError } from '../authorization/errors.js';
import { issueAuthorization, nextStep } from '../authorization/flow.js';
import { pendingUrl, sealPending } from '../authorization/pending.js';
import { validateAuthorizationRequest } from '../authorization/request.js';
import { sendAuthorizationError, sendAuthorizationResponse, targetOf } from '../authorization/response.js';
import { sha256 } from '../crypto/hash.js';
import { randomToken } from '../crypto/random.js';
import { OAuthError } from '../errors/oauth-error.js';
import { sendPageError } from '../http/errors.js';
import { FormParams, parseQuery } from '../http/form.js';
import type { Provider } from '../provider/provider.js';
import { readCookie, setCookie } from '../session/cookies.js';
import { currentSession } from '../session/session.js';
import { methodNotAllowed } from './method-not-allowed.js';

function requestParams(request: FastifyRequest): FormParams {
  if (request.method === 'POST') {
    if (!(request.body instanceof FormParams))
      throw new OAuthError('invalid_request', 'The request body must be application/x-www-form-urlencoded');
    return request.body;
  }
  return parseQuery(request.url);
}

async function authorize(
  provider: Provider,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const { request: authz } = await validateAuthorizationRequest(provider, requestParams(request));
  const session = await currentSession(provider, request);
  const step = await nextStep(provider, { request: authz, session, loggedInNow: false });
  const target = targetOf(authz);

  if (step === 'complete' && session)
    return sendAuthorizationResponse(
      reply,
      provider,
      target,
      await issueAuthorization(provider, authz, session),
    );
  // OIDC Core §3.1.2.6: prompt=none must not show any page.
  if (authz.prompt.includes('none')) {
    const code = step === 'login' ? 'login_required' : 'consent_required';
    const error = new OAuthError(
      code,
      step === 'login' ? 'The user is not logged in' : 'The user has not consented',
    );
    return sendAuthorizationError(reply, provider, target, error);
  }

  // Bind the pending request to this browser; a form from another browser will not match.
  const binding = readCookie(provider, request, 'bind') ?? randomToken();
  const now = provider.clock.now();
  const id = randomToken(16);
  // Sealed into the URL rather than stored: until someone authenticates, the request costs the store nothing.
  const sealed = await sealPending(provider, {
    id,
    bindingHash: sha256(binding),
    request: authz,
    // A consent-only interaction may use the session the browser already has.
    sessionIdHash: step === 'consent' ? session?.record.idHash : undefined,
    createdAt: now,
    expiresAt: now + provider.settings.lifetimes.interaction,
  });
  setCookie(provider, reply, 'bind', binding, undefined);
  return reply.redirect(pendingUrl(provider, id, sealed), 303);
}

/**
 * Security checklist A5 (RFC 9700 §4.11.2): a dynamically registered client's redirect URI is anyone's, so a bad
 * request of such a client is not redirected before a user has authenticated (the OP would be an open redirector);
 * it gets the error page instead. prompt=none answers still redirect, as OIDC Core §3.1.2.6 requires.
 */
async function untrustedWithoutUser(provider: Provider, request: FastifyRequest): Promise<boolean> {
  const clientId = requestParams(request).present('client_id');
  const client = clientId === undefined ? undefined : await provider.findClient(clientId);
  if (client?.source !== 'registration') return false;
  return (await currentSession(provider, request)) === undefined;
}

export function registerAuthorize(app: FastifyInstance, provider: Provider): void {
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      return await authorize(provider, request, reply);
    } catch (err) {
      if (err instanceof AuthorizationRedirectError) {
        request.oauthError = err.error;
        if (await untrustedWithoutUser(provider, request)) return sendPageError(reply, err.error);
        return sendAuthorizationError(reply, provider, err.target, err.error);
      }
      throw err;
    }
  };
  const config = { kind: 'page' as const };
  // No automatic HEAD: a GET here may issue a code, which a HEAD must not do.
  app.get(`${provider.basePath}/authorize`, { config, exposeHeadRoute: false }, handler);
  app.post(`${provider.basePath}/authorize`, { config }, handler);
  methodNotAllowed(app, `${provider.basePath}/authorize`, ['GET', 'POST'], 'page', false);
}
