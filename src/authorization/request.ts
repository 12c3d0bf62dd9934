// Validates an authorization request (RFC 6749 §4.1.1, §3.1.2; OIDC Core §3.1.2.1-2; RFC 7636 §4.3; RFC 9700 §2.1).

import { isResourceUri } from '../config/load.js';
import { OAuthError } from '../errors/oauth-error.js';
import { s256ChallengeSyntax } from '../grants/pkce.js';
import type { FormParams } from '../http/form.js';
import { forbiddenRepeats } from '../http/oauth-request.js';
import { type Client, matchRedirectUri } from '../provider/client.js';
import type { Provider } from '../provider/provider.js';
import type { AuthorizationRequest } from '../store/types.js';
import { AuthorizationRedirectError, type RedirectTarget } from './errors.js';

const promptValues = new Set(['none', 'login', 'consent', 'select_account']);
/** Caps on free-text parameters, so one request cannot fill the store. */
const maxLength = { state: 2048, nonce: 512, scope: 2048 };

export interface ValidRequest {
  client: Client;
  request: AuthorizationRequest;
}

/** Errors shown on our own page: the redirect target is not trustworthy (RFC 6749 §4.1.2.1). */
function pageError(description: string): OAuthError {
  return new OAuthError('invalid_request', description, { status: 400 });
}

function identifyClient(provider: Provider, params: FormParams): { client: Client; redirectUri: string } {
  if (params.repeated.has('client_id') || params.repeated.has('redirect_uri'))
    throw pageError('client_id and redirect_uri must not be repeated');
  const clientId = params.present('client_id');
  if (clientId === undefined) throw pageError('client_id is missing');
  const client = provider.getClient(clientId);
  if (!client) throw pageError('Unknown client');
  const redirectUri = params.present('redirect_uri');
  // OIDC Core §3.1.2.1: redirect_uri is REQUIRED; RFC 9700 §4.1.3: exact match.
  if (redirectUri === undefined) throw pageError('redirect_uri is missing');
  if (!matchRedirectUri(client, redirectUri))
    throw pageError('redirect_uri is not registered for this client');
  return { client, redirectUri };
}

export function validateAuthorizationRequest(provider: Provider, params: FormParams): ValidRequest {
  const { client, redirectUri } = identifyClient(provider, params);
  const state = params.present('state');
  const target: RedirectTarget = {
    redirectUri,
    state: state && state.length <= maxLength.state ? state : undefined,
  };
  const fail = (code: OAuthError['code'], description: string): never => {
    throw new AuthorizationRedirectError(target, new OAuthError(code, description));
  };

  const repeats = forbiddenRepeats(params);
  if (repeats.length > 0) fail('invalid_request', `Repeated parameter: ${repeats.join(', ')}`);
  if (state !== undefined && state.length > maxLength.state) fail('invalid_request', 'state is too long');
  if (params.has('request')) fail('request_not_supported', 'Request objects are not supported');
  if (params.has('request_uri')) fail('request_uri_not_supported', 'request_uri is not supported');

  const responseType = params.present('response_type');
  if (responseType === undefined) fail('invalid_request', 'response_type is missing');
  if (responseType !== 'code') fail('unsupported_response_type', 'Only response_type=code is supported');
  if (!client.metadata.response_types.includes('code') || !client.grantTypes.has('authorization_code'))
    fail('unauthorized_client', 'This client may not use the authorization code flow');
  const responseMode = params.present('response_mode');
  if (responseMode !== undefined && responseMode !== 'query')
    fail('invalid_request', 'Only response_mode=query is supported');

  const scopeParam = params.present('scope') ?? '';
  if (scopeParam.length > maxLength.scope) fail('invalid_scope', 'scope is too long');
  const requested = [...new Set(scopeParam.split(' ').filter((s) => s !== ''))];
  // Scopes the client may not ask for are dropped (RFC 6749 §3.3 lets the server grant less than asked).
  const scope = requested.filter(
    (s) => client.allowedScopes.has(s) && (s !== 'offline_access' || client.grantTypes.has('refresh_token')),
  );
  if (scope.length === 0) fail('invalid_scope', 'No requested scope is allowed for this client');

  const challenge = params.present('code_challenge');
  const method = params.present('code_challenge_method');
  if (method !== undefined && method !== 'S256')
    fail('invalid_request', 'code_challenge_method must be S256');
  if (challenge === undefined) {
    if (method !== undefined) fail('invalid_request', 'code_challenge_method without code_challenge');
    // RFC 9700 §2.1.1: PKCE is required for public clients (and for all, when configured).
    if (client.isPublic || provider.settings.pkceRequired === 'all')
      fail('invalid_request', 'code_challenge (PKCE, S256) is required');
  } else {
    // RFC 7636 §4.3: without a method the default is plain, which we do not accept.
    if (method === undefined) fail('invalid_request', 'code_challenge_method=S256 is required');
    if (!s256ChallengeSyntax.test(challenge))
      fail('invalid_request', 'code_challenge is not a valid S256 challenge');
  }

  const nonce = params.present('nonce');
  if (nonce !== undefined && nonce.length > maxLength.nonce) fail('invalid_request', 'nonce is too long');

  const prompt = [...new Set((params.present('prompt') ?? '').split(' ').filter((p) => p !== ''))];
  if (prompt.some((p) => !promptValues.has(p))) fail('invalid_request', 'Unknown prompt value');
  if (prompt.includes('none') && prompt.length > 1) fail('invalid_request', 'prompt=none cannot be combined');

  let maxAge: number | undefined;
  const maxAgeParam = params.present('max_age');
  if (maxAgeParam !== undefined) {
    if (!/^\d{1,9}$/.test(maxAgeParam)) fail('invalid_request', 'max_age must be a non-negative integer');
    maxAge = Number(maxAgeParam);
  }

  // RFC 8707 §2: each resource an absolute URI without fragment, and one this client may ask for.
  const resource = [...new Set(params.getAll('resource'))];
  for (const r of resource) {
    if (!isResourceUri(r)) fail('invalid_target', 'resource must be an absolute URI without a fragment');
    if (!client.allowedResources.has(r)) fail('invalid_target', 'The client may not ask for this resource');
  }

  return {
    client,
    request: {
      resource,
      clientId: client.id,
      redirectUri,
      scope,
      state,
      nonce,
      codeChallenge: challenge,
      prompt,
      maxAge,
    },
  };
}
