// Delivers authorization responses, success or error, with state and iss, in the response mode the request asked for
// (RFC 6749 §4.1.2, §4.2.2; OAuth 2.0 Multiple Response Type Encoding Practices §2.1, §5; OAuth 2.0 Form Post Response
// Mode §2; RFC 9207 §2).
import type { FastifyReply } from 'fastify';
import type { OAuthError } from '../errors/oauth-error.js';
import type { Provider } from '../provider/provider.js';
import type { AuthorizationRequest } from '../store/types.js';
import { formPostPage } from '../views/form-post.js';
import type { RedirectTarget, ResponseMode } from './errors.js';

/**
 * Multiple Response Types §5: the default mode is `query` for `code` alone and `fragment` for anything that returns
 * a token from the authorization endpoint, where `query` MUST NOT be used.
 */
export function defaultResponseMode(responseType: string | undefined): ResponseMode {
  return responseType === undefined || responseType.split(' ').every((t) => t === 'code' || t === '')
    ? 'query'
    : 'fragment';
}

/** Where and how a validated request's response goes. */
export function targetOf(request: AuthorizationRequest): RedirectTarget {
  return { redirectUri: request.redirectUri, state: request.state, responseMode: request.responseMode };
}

function withState(provider: Provider, target: RedirectTarget, params: Record<string, string>) {
  const all: Record<string, string> = { ...params };
  if (target.state !== undefined) all.state = target.state;
  all.iss = provider.issuer;
  return all;
}

/**
 * Sends the response: a 303 to the redirect URI with the parameters in its query or fragment, or (form_post) an
 * HTML page that POSTs them there. Token values never reach a log line: only the path of a request is logged, and
 * neither the Location header nor a page body is.
 */
export function sendAuthorizationResponse(
  reply: FastifyReply,
  provider: Provider,
  target: RedirectTarget,
  params: Record<string, string>,
): FastifyReply {
  const all = withState(provider, target, params);
  if (target.responseMode === 'form_post') {
    const page = formPostPage(target.redirectUri, all);
    return reply
      .code(200)
      .header('Content-Security-Policy', page.csp)
      .type('text/html; charset=utf-8')
      .send(page.html);
  }
  const url = new URL(target.redirectUri);
  if (target.responseMode === 'fragment') {
    url.hash = new URLSearchParams(all).toString();
  } else {
    // A registered redirect URI may carry its own query (OIDC Core §3.1.2.1); its parameters stay as they are.
    for (const [k, v] of Object.entries(all)) url.searchParams.append(k, v);
  }
  return reply.redirect(url.href, 303);
}

export function sendAuthorizationError(
  reply: FastifyReply,
  provider: Provider,
  target: RedirectTarget,
  error: OAuthError,
): FastifyReply {
  return sendAuthorizationResponse(reply, provider, target, {
    error: error.code,
    error_description: error.description,
  });
}
