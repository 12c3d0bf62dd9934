// Validates an authorization request (RFC 6749 §4.1.1, §3.1.2; OIDC Core §3.1.2.1-2; RFC 7636 §4.3; RFC 9700 §2.1).

import { isResourceUri } from '../config/load.js';
import { canonicalResponseType, type GrantTypeName, responseTypes } from '../config/schema.js';
import { OAuthError } from '../errors/oauth-error.js';
import { s256ChallengeSyntax } from '../grants/pkce.js';
import type { FormParams } from '../http/form.js';
import { forbiddenRepeats } from '../http/oauth-request.js';
import { type Client, matchRedirectUri } from '../provider/client.js';
import type { Provider } from '../provider/provider.js';
import type { AuthorizationRequest } from '../store/types.js';
import { AuthorizationRedirectError, type RedirectTarget, type ResponseMode } from './errors.js';
import { oidcParameters } from './oidc-parameters.js';
import { parameterCapExceeded, parameterMaxLength, pendingRequestMaxBytes } from './parameter-caps.js';
import { requestParameters } from './request-object.js';
import { defaultResponseMode } from './response.js';

const promptValues = new Set(['none', 'login', 'consent', 'select_account']);

export interface ValidRequest {
  client: Client;
  request: AuthorizationRequest;
}

/** Errors shown on our own page: the redirect target is not trustworthy (RFC 6749 §4.1.2.1). */
function pageError(description: string): OAuthError {
  return new OAuthError('invalid_request', description, { status: 400 });
}

/** The two parameters that decide where errors go: beyond their caps there is nobody to tell but the browser. */
function checkClientCaps(params: FormParams): void {
  for (const name of ['client_id', 'redirect_uri']) {
    if (params.getAll(name).some((v) => v.length > (parameterMaxLength[name] as number)))
      throw pageError(`${name} is too long`);
  }
}

async function identifyClient(
  provider: Provider,
  params: FormParams,
): Promise<{ client: Client; redirectUri: string }> {
  if (params.repeated.has('client_id') || params.repeated.has('redirect_uri'))
    throw pageError('client_id and redirect_uri must not be repeated');
  checkClientCaps(params);
  const clientId = params.present('client_id');
  if (clientId === undefined) throw pageError('client_id is missing');
  const client = await provider.findClient(clientId);
  if (!client) throw pageError('Unknown client');
  const redirectUri = params.present('redirect_uri');
  // OIDC Core §3.1.2.1: redirect_uri is REQUIRED; RFC 9700 §4.1.3: exact match.
  if (redirectUri === undefined) throw pageError('redirect_uri is missing');
  if (!matchRedirectUri(client, redirectUri))
    throw pageError('redirect_uri is not registered for this client');
  return { client, redirectUri };
}

function isResponseMode(v: string | undefined): v is ResponseMode {
  return v === 'query' || v === 'fragment' || v === 'form_post';
}

/** Which grant types a response type needs (OIDC Registration §2: response_types and grant_types correspond). */
function grantsFor(responseType: string): GrantTypeName[] {
  const parts = responseType.split(' ');
  const grants: GrantTypeName[] = [];
  if (parts.includes('code')) grants.push('authorization_code');
  if (parts.includes('id_token') || parts.includes('token')) grants.push('implicit');
  return grants;
}

/**
 * OIDC Core §3.1.2.1, §3.2.2.1, §3.3.2.1: one of the six response types, registered by the client together with the
 * grant types it implies; a response mode that never puts tokens in a query (Multiple Response Types §5).
 */
function checkResponseType(
  client: Client,
  typeParam: string | undefined,
  modeParam: string | undefined,
  target: RedirectTarget,
  fail: (code: OAuthError['code'], description: string) => never,
): { responseType: string; responseMode: ResponseMode } {
  if (typeParam === undefined) return fail('invalid_request', 'response_type is missing');
  const responseType = canonicalResponseType(typeParam);
  if (!(responseTypes as readonly string[]).includes(responseType))
    return fail('unsupported_response_type', 'Unknown response_type');
  if (
    !(client.metadata.response_types as readonly string[]).includes(responseType) ||
    grantsFor(responseType).some((g) => !client.grantTypes.has(g))
  )
    // From this client's point of view the response type is not supported (checklist A10 names this code).
    return fail('unsupported_response_type', `response_type=${responseType} is not enabled for this client`);
  const defaultMode = defaultResponseMode(responseType);
  if (modeParam !== undefined && !isResponseMode(modeParam))
    return fail('invalid_request', 'response_mode must be query, fragment or form_post');
  const responseMode = modeParam ?? defaultMode;
  if (responseMode === 'query' && defaultMode !== 'query') {
    // Even the error stays out of the query this client must not use for this response type.
    target.responseMode = defaultMode;
    return fail('invalid_request', 'Tokens are never returned in the query; use fragment or form_post');
  }
  return { responseType, responseMode };
}

export async function validateAuthorizationRequest(
  provider: Provider,
  query: FormParams,
): Promise<ValidRequest> {
  checkClientCaps(query);
  // OIDC Core §6.3, RFC 9101 §6: a request object's parameters replace the query's before anything is read.
  const params = await requestParameters(provider, query);
  const { client, redirectUri } = await identifyClient(provider, params);
  const state = params.present('state');
  // The mode errors are delivered in: the one asked for when valid, else the response type's default.
  const responseTypeParam = params.present('response_type');
  const modeParam = params.present('response_mode');
  const target: RedirectTarget = {
    redirectUri,
    state: state && state.length <= (parameterMaxLength.state as number) ? state : undefined,
    // Until the response type is known good, errors go where a code-only client reads them: the query
    // (or the mode asked for). Once it is, the response type's own default applies (Multiple Response Types §5).
    responseMode: isResponseMode(modeParam) ? modeParam : 'query',
  };
  const fail = (code: OAuthError['code'], description: string): never => {
    throw new AuthorizationRedirectError(target, new OAuthError(code, description));
  };

  const repeats = forbiddenRepeats(params);
  if (repeats.length > 0) fail('invalid_request', `Repeated parameter: ${repeats.join(', ')}`);
  // Before any parameter is read further: every value within its cap (parameter-caps.ts).
  const capExceeded = parameterCapExceeded(params);
  if (capExceeded !== undefined) fail('invalid_request', capExceeded);

  const { responseType, responseMode } = checkResponseType(
    client,
    responseTypeParam,
    modeParam,
    target,
    fail,
  );
  target.responseMode = responseMode;

  const scopeParam = params.present('scope') ?? '';
  const requested = [...new Set(scopeParam.split(' ').filter((s) => s !== ''))];
  // Scopes the client may not ask for are dropped (RFC 6749 §3.3 lets the server grant less than asked).
  const scope = requested.filter(
    (s) => client.allowedScopes.has(s) && (s !== 'offline_access' || client.grantTypes.has('refresh_token')),
  );
  if (scope.length === 0) fail('invalid_scope', 'No requested scope is allowed for this client');
  // OIDC Core §3.2.2.1, §3.3.2.1: an ID token is an OpenID Connect answer; without `openid` there is none to give.
  if (responseType.split(' ').includes('id_token') && !scope.includes('openid'))
    fail('invalid_scope', 'response_type with id_token needs the openid scope');

  const challenge = params.present('code_challenge');
  const codeIssued = responseType.split(' ').includes('code');
  const method = params.present('code_challenge_method');
  if (method !== undefined && method !== 'S256')
    fail('invalid_request', 'code_challenge_method must be S256');
  if (challenge === undefined) {
    if (method !== undefined) fail('invalid_request', 'code_challenge_method without code_challenge');
    // RFC 9700 §2.1.1: PKCE is required for public clients (and for all, when configured) whenever a code is issued.
    if (codeIssued && (client.isPublic || provider.settings.pkceRequired === 'all'))
      fail('invalid_request', 'code_challenge (PKCE, S256) is required');
  } else {
    // RFC 7636 §4.3: without a method the default is plain, which we do not accept.
    if (method === undefined) fail('invalid_request', 'code_challenge_method=S256 is required');
    if (!s256ChallengeSyntax.test(challenge))
      fail('invalid_request', 'code_challenge is not a valid S256 challenge');
  }

  const nonce = params.present('nonce');
  // OIDC Core §3.2.2.1, §3.3.2.11: an ID token from the authorization endpoint must be bound to the request.
  if (nonce === undefined && responseType.split(' ').includes('id_token'))
    fail('invalid_request', 'nonce is required when an ID token is returned from the authorization endpoint');

  const prompt = [...new Set((params.present('prompt') ?? '').split(' ').filter((p) => p !== ''))];
  if (prompt.some((p) => !promptValues.has(p))) fail('invalid_request', 'Unknown prompt value');
  if (prompt.includes('none') && prompt.length > 1) fail('invalid_request', 'prompt=none cannot be combined');

  let maxAge: number | undefined;
  const maxAgeParam = params.present('max_age');
  if (maxAgeParam !== undefined) {
    if (!/^\d{1,9}$/.test(maxAgeParam)) fail('invalid_request', 'max_age must be a non-negative integer');
    maxAge = Number(maxAgeParam);
  }

  // OIDC Core §3.1.2.1, §5.5: claims, acr_values, id_token_hint, login_hint, display, ui_locales, claims_locales.
  const extras = await oidcParameters(provider, client, params).catch((err: unknown) => {
    throw err instanceof OAuthError ? new AuthorizationRedirectError(target, err) : err;
  });

  // RFC 8707 §2: each resource an absolute URI without fragment, and one this client may ask for.
  const resource = [...new Set(params.getAll('resource'))];
  for (const r of resource) {
    if (!isResourceUri(r)) fail('invalid_target', 'resource must be an absolute URI without a fragment');
    if (!client.allowedResources.has(r)) fail('invalid_target', 'The client may not ask for this resource');
  }

  const request: AuthorizationRequest = {
    resource,
    clientId: client.id,
    responseType,
    responseMode,
    redirectUri,
    scope,
    state,
    nonce,
    codeChallenge: challenge,
    prompt,
    // OIDC Registration §2: default_max_age applies when the request has no max_age.
    maxAge: maxAge ?? client.metadata.default_max_age,
    ...extras,
  };
  // The whole request travels sealed in the interaction URL, which must stay short enough for proxies.
  if (Buffer.byteLength(JSON.stringify(request)) > pendingRequestMaxBytes)
    fail('invalid_request', 'The authorization request is too large');
  return { client, request };
}
