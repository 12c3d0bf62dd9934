// Request objects by value (`request`) or by reference (`request_uri`): fetched, verified with the client's keys and
// merged into the authorization request's parameters (OIDC Core §6, RFC 9101 §4-§6, §10).
import { base64url, compactVerify, decodeProtectedHeader, type JWTVerifyGetKey } from 'jose';
import { asymmetricAlgs, canonicalResponseType, hmacAlgs } from '../config/schema.js';
import { OAuthError } from '../errors/oauth-error.js';
import { FormParams } from '../http/form.js';
import { fetchText } from '../net/fetch-json.js';
import { type Client, matchRedirectUri } from '../provider/client.js';
import type { Provider } from '../provider/provider.js';
import { AuthorizationRedirectError } from './errors.js';
import { defaultResponseMode } from './response.js';

/** Caps (checked before any work): a request object by value, and a request_uri (RFC 9101 §5.2 suggests 512). */
const requestObjectMaxLength = 32 * 1024;
const requestUriMaxLength = 2048;

/** Time another party's clock may be off from ours, seconds (security checklist C6). */
const skew = 60;

/** `typ` values of JWTs made for another job: never an authorization request (RFC 8725 §3.11). */
const foreignTypes = new Set(['at+jwt', 'logout+jwt', 'secevent+jwt', 'dpop+jwt', 'token-introspection+jwt']);

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const controlCharacters = /[\x00-\x08\x0B\x0C\x0E-\x1F\x7F]/;

/** JWT claims of the object itself, not authorization request parameters (RFC 9101 §4; RFC 7519 §4.1). */
const jwtClaims = new Set(['iss', 'aud', 'exp', 'iat', 'nbf', 'jti', 'sub']);

const invalidObject = (description: string, detail?: string) =>
  new OAuthError('invalid_request_object', description, detail === undefined ? {} : { detail });
const invalidUri = (description: string, detail?: string) =>
  new OAuthError('invalid_request_uri', description, detail === undefined ? {} : { detail });

/** The URI without its fragment: OIDC Core §6.2 lets a client vary the fragment to make the OP fetch again. */
function withoutFragment(uri: string): string {
  const i = uri.indexOf('#');
  return i === -1 ? uri : uri.slice(0, i);
}

/**
 * RFC 9101 §5.2, OIDC Core §6.2: fetches the object, from a URI the client registered in `request_uris` (compared
 * without the fragment; `require_request_uri_registration` is true), through the SSRF guard (checklist G2). Fetching
 * any URL a caller names would let anyone who knows a client_id make the provider fetch it (RFC 9101 §10.4.1).
 */
async function fetchRequestObject(provider: Provider, client: Client, requestUri: string): Promise<string> {
  if (requestUri.length > requestUriMaxLength) throw invalidUri('request_uri is too long');
  const registered = client.metadata.request_uris ?? [];
  const uri = withoutFragment(requestUri);
  if (registered.length === 0)
    throw new OAuthError('request_uri_not_supported', 'This client has registered no request_uris');
  if (!registered.some((r) => withoutFragment(r) === uri))
    throw invalidUri('request_uri is not registered for this client');
  try {
    const text = await fetchText(
      uri,
      provider.fetchPolicy,
      'application/oauth-authz-req+jwt, application/jwt',
    );
    return text.trim();
  } catch (err) {
    // Whatever went wrong out there (guard, DNS, status, size, time) is the request_uri's problem, never a 5xx.
    throw invalidUri('The request_uri could not be fetched', (err as Error).message);
  }
}

/** The algorithms this client's request objects may use (OIDC Registration §2 `request_object_signing_alg`). */
function allowedAlgs(client: Client): readonly string[] {
  const registered = client.metadata.request_object_signing_alg;
  if (registered !== undefined) return [registered];
  const m = client.metadata;
  return [
    ...(m.jwks !== undefined || m.jwks_uri !== undefined ? asymmetricAlgs : []),
    // Only client_secret_jwt clients have their secret as a key (the others' is kept as a keyed hash).
    ...(client.hmacKey !== undefined ? hmacAlgs : []),
  ];
}

/** The client's keys: its HMAC secret for HS*, else its public keys (never an HMAC keyed with a public key: C7). */
function keyFor(provider: Provider, client: Client): JWTVerifyGetKey {
  const m = client.metadata;
  const publicKeys =
    m.jwks !== undefined || m.jwks_uri !== undefined
      ? provider.keySets.resolver({ jwks: m.jwks, jwks_uri: m.jwks_uri })
      : undefined;
  return async (header, token) => {
    if (header.alg?.startsWith('HS')) {
      if (client.hmacKey === undefined) throw new Error('no HMAC key for this client');
      return client.hmacKey;
    }
    if (publicKeys === undefined) throw new Error('the client has no jwks or jwks_uri');
    return publicKeys(header, token);
  };
}

/** Verifies the signature (or its registered absence) and answers the payload's JSON text. */
async function verifiedPayload(provider: Provider, client: Client, jwt: string): Promise<string> {
  const parts = jwt.split('.');
  // RFC 9101 §6.1: an encrypted object has five parts; this provider publishes no encryption keys.
  if (parts.length === 5) throw invalidObject('Encrypted request objects are not supported');
  if (parts.length !== 3) throw invalidObject('The request object is not a JWT');
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(jwt);
  } catch {
    throw invalidObject('The request object header cannot be read');
  }
  // RFC 7515 §4.1.11: no extension is understood here, so any `crit` refuses the object (security checklist C8).
  if (header.crit !== undefined) throw invalidObject('Unsupported crit header in the request object');
  const typ = header.typ?.toLowerCase().replace(/^application\//, '');
  if (typ !== undefined && foreignTypes.has(typ)) throw invalidObject('This JWT is not a request object');
  const registered = client.metadata.request_object_signing_alg;
  if (header.alg === 'none') {
    // OIDC Registration §2: without a registered algorithm any supported one may be used, `none` included; an
    // unsigned object has no more authority than the query parameters it replaces (redirect_uri is still checked).
    // A client that registered a signing algorithm has its objects signed with it.
    if (registered !== undefined && registered !== 'none')
      throw invalidObject(`Request objects of this client must use ${registered}`);
    if (parts[2] !== '') throw invalidObject('An unsigned request object has an empty signature');
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(base64url.decode(parts[1] as string));
    } catch {
      throw invalidObject('The request object payload cannot be read');
    }
  }
  const algs = allowedAlgs(client);
  if (header.alg === undefined || !algs.includes(header.alg))
    throw invalidObject(
      registered !== undefined
        ? `Request objects of this client must use ${registered}`
        : 'The request object algorithm is not usable with this client',
    );
  try {
    // jose takes keys from keyFor only (never jku, x5u or an embedded jwk) and checks the algorithm allow-list.
    const { payload } = await compactVerify(jwt, keyFor(provider, client), { algorithms: [...algs] });
    return new TextDecoder('utf-8', { fatal: true }).decode(payload);
  } catch (err) {
    throw invalidObject('The request object signature cannot be verified', (err as Error).message);
  }
}

/** RFC 9101 §6.3, §10.8; OIDC Core §6.3.2: the claims about the object itself. */
function checkObjectClaims(
  provider: Provider,
  client: Client,
  payload: Record<string, unknown>,
  now: number,
): void {
  const { iss, aud, exp, nbf } = payload;
  if (iss !== undefined && iss !== client.id)
    throw invalidObject('The request object iss must be the client_id');
  if (aud !== undefined) {
    const auds = Array.isArray(aud) ? aud : [aud];
    if (!auds.includes(provider.issuer)) throw invalidObject('The request object aud must name this issuer');
  }
  if (exp !== undefined && (typeof exp !== 'number' || exp <= now - skew))
    throw invalidObject('The request object has expired');
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf > now + skew))
    throw invalidObject('The request object is not valid yet');
  // RFC 9101 §5: the client_id outside and inside must agree.
  if (payload.client_id !== undefined && payload.client_id !== client.id)
    throw invalidObject('The request object client_id does not match client_id');
  // RFC 9101 §4: a request object does not point to another one.
  if (payload.request !== undefined || payload.request_uri !== undefined)
    throw invalidObject('A request object must not contain request or request_uri');
}

/** A JSON member as authorization request parameter values (RFC 9101 §4: the claims are the parameters). */
function parameterValues(name: string, value: unknown): string[] | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return [value];
  if (typeof value === 'number' || typeof value === 'boolean') return [String(value)];
  // RFC 8707 `resource` may repeat; in JSON it is an array of strings.
  if (name === 'resource' && Array.isArray(value) && value.every((v) => typeof v === 'string'))
    return value as string[];
  // `claims` (OIDC Core §5.5) and other structured parameters travel as their JSON text, as in a query.
  return [JSON.stringify(value)];
}

/**
 * OIDC Core §6.3.3: the object's parameters are used, the query's only for what the object does not hold.
 * `request` and `request_uri` themselves are gone from the result.
 */
function merge(query: FormParams, payload: Record<string, unknown>): FormParams {
  const values = new Map(query.values);
  const repeated = new Set(query.repeated);
  const extra = new Map<string, string[]>();
  for (const name of ['request', 'request_uri']) values.delete(name);
  for (const [name, raw] of Object.entries(payload)) {
    if (jwtClaims.has(name)) continue;
    const list = parameterValues(name, raw);
    if (list === undefined || list.length === 0) continue;
    // The same rule as for a query or form (src/http/form.ts): no C0 controls in any parameter.
    if (list.some((v) => controlCharacters.test(v)))
      throw invalidObject('The request object has control characters in a parameter');
    values.set(name, list[0] as string);
    repeated.delete(name);
    if (list.length > 1) {
      extra.set(name, list.slice(1));
      // Only `resource` may carry several values; the usual repeated-parameter check refuses the rest.
      repeated.add(name);
    }
  }
  for (const name of query.repeated) {
    if (!Object.hasOwn(payload, name) && query.getAll(name).length > 1)
      extra.set(name, query.getAll(name).slice(1));
  }
  return new FormParams(values, repeated, extra);
}

/**
 * Answers the request's parameters with its request object applied, or the query unchanged without one.
 * Throws `invalid_request_object` / `invalid_request_uri` (OIDC Core §3.1.2.6, RFC 9101 §7), or `invalid_request`.
 */
export async function applyRequestObject(
  provider: Provider,
  client: Client,
  query: FormParams,
  now: number,
): Promise<FormParams> {
  const request = query.present('request');
  const requestUri = query.present('request_uri');
  if (request === undefined && requestUri === undefined) return query;
  if (query.repeated.has('request') || query.repeated.has('request_uri'))
    throw new OAuthError('invalid_request', 'request and request_uri must not be repeated');
  // RFC 9101 §5: by value or by reference, not both.
  if (request !== undefined && requestUri !== undefined)
    throw new OAuthError('invalid_request', 'Use either request or request_uri, not both');
  if (request !== undefined && request.length > requestObjectMaxLength)
    throw invalidObject('The request object is too long');
  const jwt = request ?? (await fetchRequestObject(provider, client, requestUri as string));
  if (jwt.length > requestObjectMaxLength) throw invalidUri('The request object is too long');

  let payload: unknown;
  try {
    payload = JSON.parse(await verifiedPayload(provider, client, jwt));
  } catch (err) {
    if (err instanceof OAuthError) throw err;
    throw invalidObject('The request object payload is not JSON');
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload))
    throw invalidObject('The request object payload is not a JSON object');
  const claims = payload as Record<string, unknown>;
  checkObjectClaims(provider, client, claims, now);
  // OIDC Core §6.1: response_type outside, when given, must match the object's.
  const outside = query.present('response_type');
  const inside = claims.response_type;
  if (
    outside !== undefined &&
    inside !== undefined &&
    (typeof inside !== 'string' || canonicalResponseType(inside) !== canonicalResponseType(outside))
  )
    throw new OAuthError('invalid_request', 'response_type differs from the request object');
  return merge(query, claims);
}

/**
 * The parameters an authorization request is validated with: its request object's applied over the query when it
 * has one (OIDC Core §6.3.3). The query's client_id names whose keys verify the object (RFC 9101 §5). Until the
 * object is verified its redirect_uri cannot be trusted, so its errors go to the query's redirect_uri when that one
 * is registered, and are shown on a page otherwise (RFC 6749 §4.1.2.1).
 */
export async function requestParameters(provider: Provider, query: FormParams): Promise<FormParams> {
  if (!query.has('request') && !query.has('request_uri')) return query;
  const clientId = query.present('client_id');
  const client = clientId === undefined ? undefined : await provider.findClient(clientId);
  if (!client || query.repeated.has('client_id'))
    throw new OAuthError('invalid_request', 'client_id is missing or unknown', { status: 400 });
  try {
    return await applyRequestObject(provider, client, query, provider.clock.now());
  } catch (err) {
    if (!(err instanceof OAuthError)) throw err;
    const redirectUri = query.present('redirect_uri');
    if (
      redirectUri === undefined ||
      query.repeated.has('redirect_uri') ||
      !matchRedirectUri(client, redirectUri)
    )
      throw new OAuthError(err.code, err.description, {
        status: 400,
        ...(err.detail === undefined ? {} : { detail: err.detail }),
      });
    const state = query.present('state');
    const mode = query.present('response_mode');
    throw new AuthorizationRedirectError(
      {
        redirectUri,
        state: state !== undefined && state.length <= 2048 ? state : undefined,
        responseMode:
          mode === 'query' || mode === 'fragment' || mode === 'form_post'
            ? mode
            : defaultResponseMode(query.present('response_type')),
      },
      err,
    );
  }
}
