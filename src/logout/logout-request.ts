// The parameters of a logout request, checked (OIDC RP-Initiated Logout 1.0 §2, §3): who asks, and where to go after.
import { invalidRequest } from '../errors/oauth-error.js';
import type { FormParams } from '../http/form.js';
import type { Client } from '../provider/client.js';
import type { Provider } from '../provider/provider.js';
import { type IdTokenHint, verifyIdTokenHint } from './id-token-hint.js';

/** Where the browser goes after the logout: a registered post_logout_redirect_uri, with the RP's state. */
export interface PostLogoutRedirect {
  uri: string;
  state: string | undefined;
}

export interface LogoutRequest {
  /** The client asking, from id_token_hint or client_id; undefined when neither was sent. */
  client: Client | undefined;
  hint: IdTokenHint | undefined;
  /** The id_token_hint as sent, when it verified (the confirmation form carries it when the redirect rests on it). */
  hintToken: string | undefined;
  redirect: PostLogoutRedirect | undefined;
}

/** The parameters of RP-Initiated Logout §2; anything else is ignored. */
export const logoutParameters: readonly string[] = [
  'id_token_hint',
  'logout_hint',
  'client_id',
  'post_logout_redirect_uri',
  'state',
  'ui_locales',
];

/** What the confirmation form carries over to its POST (already checked once; checked again there). */
export const carriedParameters: ReadonlySet<string> = new Set([
  'id_token_hint',
  'client_id',
  'post_logout_redirect_uri',
  'state',
]);

/**
 * Read-only checks. Any failure is an error page and never a redirect (§2: "When the OP detects errors in the
 * RP-Initiated Logout request, the OP MUST NOT perform post-logout redirection to an RP"). logout_hint and
 * ui_locales are accepted and not needed: the session is the browser's own.
 */
export async function validateLogoutRequest(provider: Provider, params: FormParams): Promise<LogoutRequest> {
  if (params.repeated.size > 0)
    throw invalidRequest(`Parameters sent more than once: ${[...params.repeated].join(', ')}`);
  const hintValue = params.present('id_token_hint');
  const hint = hintValue === undefined ? undefined : await verifyIdTokenHint(provider, hintValue);
  let client = hint?.client;
  const clientId = params.present('client_id');
  if (clientId !== undefined) {
    // §2: with both, the client_id MUST match the one the ID token was issued to.
    if (hint && hint.client.id !== clientId)
      throw invalidRequest('client_id does not match the id_token_hint', {
        detail: `client_id ${clientId}, hint for ${hint.client.id}`,
      });
    client = await provider.findClient(clientId);
    if (!client) throw invalidRequest('Unknown client_id', { detail: `client_id ${clientId}` });
  }

  const uri = params.present('post_logout_redirect_uri');
  if (uri === undefined) return { client, hint, hintToken: hintValue, redirect: undefined };
  // §3: without id_token_hint (or client_id) nothing says whose URI this is, so there is no redirect to it.
  if (!client)
    throw invalidRequest('post_logout_redirect_uri needs an id_token_hint or a client_id to go with it');
  // §3: "MUST NOT perform post-logout redirection if the post_logout_redirect_uri value supplied does not exactly
  // match one of the previously registered post_logout_redirect_uris values" - a plain string comparison.
  if (!client.metadata.post_logout_redirect_uris.includes(uri))
    throw invalidRequest('The post_logout_redirect_uri is not registered for this client', {
      detail: `client ${client.id}`,
    });
  // §3 (and RFC 9700 §4.11): a registered client is anyone's, and so are its URIs; a client_id alone proves nothing,
  // so it could send any browser to its own page from here, an open redirector. Only its own ID token as a hint
  // shows that the RP asking is that client; without one the logout goes on, ending on the signed-out page instead.
  // The operator's configured clients are trusted with client_id alone, as §3 allows.
  if (client.source === 'registration' && !hint)
    return { client, hint, hintToken: hintValue, redirect: undefined };
  return { client, hint, hintToken: hintValue, redirect: { uri, state: params.present('state') } };
}

/** §3: the registered URI, with `state` added to its query when the RP sent one. */
export function postLogoutRedirectUrl(redirect: PostLogoutRedirect): string {
  const url = new URL(redirect.uri);
  if (redirect.state !== undefined) url.searchParams.append('state', redirect.state);
  return url.href;
}
