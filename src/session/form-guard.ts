// The checks every form POST of our pages passes first (interface.md "Login and consent pages"; RFC 6749 §10.12): the
// Origin is ours and the CSRF token is the one bound to this browser.
import type { FastifyRequest } from 'fastify';
import { constantTimeEqual } from '../crypto/hash.js';
import { OAuthError } from '../errors/oauth-error.js';
import type { FormParams } from '../http/form.js';
import type { Provider } from '../provider/provider.js';

export const formRefused = (detail: string) =>
  new OAuthError(
    'access_denied',
    'The form could not be accepted. Return to the application and start again.',
    { status: 403, detail },
  );

/** An Origin other than the public origin is refused; a missing or `null` one is accepted (no-referrer pages). */
function checkFormOrigin(provider: Provider, request: FastifyRequest): void {
  const origin = request.headers.origin;
  // Browsers send `null` under Referrer-Policy: no-referrer; the CSRF token still has to match.
  if (origin !== undefined && origin !== 'null' && origin !== provider.publicOrigin)
    throw formRefused(`cross-origin form post from ${origin}`);
}

/** The Origin check, then the form's `csrf` against the token expected for this browser, in constant time. */
export function checkFormPost(
  provider: Provider,
  request: FastifyRequest,
  form: FormParams,
  csrf: string,
): void {
  checkFormOrigin(provider, request);
  const sent = form.get('csrf');
  if (sent === undefined || !constantTimeEqual(sent, csrf)) throw formRefused('missing or wrong CSRF token');
}
