// The semantic rules of client metadata (RFC 7591 §2, OIDC Registration §2), shared by configuration loading and
// dynamic registration; each problem carries its key path and the RFC 7591 §3.2.2 error code it maps to.
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { isIP } from 'node:net';
import { asymmetricAlgs, type ClientConfig, hmacAlgs, jwtBearerGrantType } from '../config/schema.js';
import { isPrivateAddress } from '../net/fetch-json.js';
import { sectorProblems } from '../subjects/sector.js';
import { isHttpUrl, isLoopbackHost } from '../util/url.js';

/** RFC 7591 §3.2.2: a redirect URI problem, or any other metadata problem. */
export type MetadataErrorCode = 'invalid_redirect_uri' | 'invalid_client_metadata';

export interface MetadataProblem {
  /** Key path inside the client, e.g. `['redirect_uris', 0]`. */
  path: PropertyKey[];
  message: string;
  code: MetadataErrorCode;
}

/** Where a client comes from: the operator's configuration file, or dynamic registration (stricter). */
export type ClientSource = 'config' | 'registration';

export interface MetadataContext {
  /**
   * `registration`: metadata sent by anyone (RFC 7591 §5), checked with the stricter rules of security checklist
   * A4 and G1 besides the common ones. `config`: the operator's own file.
   */
  source: ClientSource;
  /** The provider trusts at least one JWT bearer issuer (jwtBearer.issuers). */
  jwtBearerTrusted: boolean;
  /** server.allowPrivateNetworkFetch: URLs the provider fetches may be http and on private networks. */
  allowPrivateNetworkFetch: boolean;
}

type Add = (path: PropertyKey[], message: string) => void;

/** The scopes a registered client may ask for: the OpenID ones discovery lists. API scopes are the operator's to grant. */
export const registrableScopes: ReadonlySet<string> = new Set([
  'openid',
  'profile',
  'email',
  'address',
  'phone',
  'offline_access',
]);

function isOrigin(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'https:' || u.protocol === 'http:') && u.origin === s;
  } catch {
    return false;
  }
}

/** RFC 8707 §2: an absolute URI without a fragment. */
export function isResourceUri(s: string): boolean {
  try {
    new URL(s);
    return !s.includes('#');
  } catch {
    return false;
  }
}

function checkRedirectUri(uri: string, client: ClientConfig): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return `${uri} is not an absolute URL`;
  }
  if (uri.includes('#')) return `${uri} must not contain a fragment (RFC 6749 §3.1.2)`;
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:') {
    return isLoopbackHost(url.hostname)
      ? undefined
      : `${uri} uses http on a non-loopback host; use https (RFC 9700 §2.6)`;
  }
  // RFC 8252 §7.1: private-use schemes in reverse-domain form, for native apps only.
  if (client.application_type === 'native' && /^[a-z][a-z0-9+-]*\.[a-z0-9.+-]+:$/.test(url.protocol))
    return undefined;
  return `${uri} has a scheme that is not allowed (${url.protocol})`;
}

/**
 * Registration only (security checklist A4; RFC 9700 §2.6, §4.1.3): what exact matching would never match anyway, or
 * what only makes sense as an attack: wildcards, and credentials before the host (`https://rp.ex@evil.ex/cb`).
 */
function checkRegisteredRedirectUri(uri: string): string | undefined {
  if (uri.includes('*')) return `${uri} must not contain a wildcard; redirect URIs are matched exactly`;
  try {
    const url = new URL(uri);
    if (url.username !== '' || url.password !== '') return `${uri} must not contain user information`;
  } catch {
    // Reported by checkRedirectUri.
  }
  return undefined;
}

const secretMethods = new Set(['client_secret_basic', 'client_secret_post', 'client_secret_jwt']);

/** Whether Node can build a public key from the JWK: a key a client cannot sign for would only fail later (RFC 7517). */
function isUsablePublicJwk(k: Record<string, unknown>): boolean {
  try {
    createPublicKey({ key: k as JsonWebKey, format: 'jwk' });
    return true;
  } catch {
    return false;
  }
}

/** Each authentication method needs exactly its own credential (OIDC Registration §2, OIDC Core §9). */
function checkClientAuth(c: ClientConfig, add: Add): void {
  const method = c.token_endpoint_auth_method;
  // OIDC Registration §2: "The jwks_uri and jwks parameters MUST NOT be used together" (security checklist G1).
  if (c.jwks !== undefined && c.jwks_uri !== undefined)
    add(['jwks'], 'jwks and jwks_uri must not be used together (OIDC Registration §2)');
  if (c.jwks_uri !== undefined && !isHttpUrl(c.jwks_uri)) add(['jwks_uri'], 'must be an http(s) URL');
  const kids = new Set<unknown>();
  c.jwks?.keys.forEach((k, ki) => {
    // A private or symmetric member means the client's secret key was pasted here: refuse, do not publish it further.
    if (['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'].some((m) => m in k))
      add(['jwks', 'keys', ki], 'must be a public key (no d, p, q, dp, dq, qi or k member)');
    else if (typeof k.kty !== 'string') add(['jwks', 'keys', ki], 'kty is required (RFC 7517 §4.1)');
    else if (!isUsablePublicJwk(k)) add(['jwks', 'keys', ki], 'is not a usable RSA, EC or OKP public key');
    // RFC 7517 §4.5: kids distinguish keys; two alike would make the key choice ambiguous.
    if (k.kid !== undefined && kids.has(k.kid)) add(['jwks', 'keys', ki, 'kid'], 'duplicate kid');
    kids.add(k.kid);
  });
  if (method === undefined) {
    // Absent: basic or post with a secret (interface.md); without one the client has no way to authenticate.
    if (c.client_secret === undefined)
      add(
        ['client_secret'],
        'required unless token_endpoint_auth_method is none (public client) or private_key_jwt',
      );
    return;
  }
  if (secretMethods.has(method) && c.client_secret === undefined)
    add(['client_secret'], `required for token_endpoint_auth_method ${method}`);
  // RFC 7518 §3.2: an HMAC key at least as long as the hash output (256 bits for HS256).
  if (
    method === 'client_secret_jwt' &&
    c.client_secret !== undefined &&
    Buffer.byteLength(c.client_secret) < 32
  )
    add(['client_secret'], 'client_secret_jwt needs a secret of at least 32 bytes (RFC 7518 §3.2)');
  if (!secretMethods.has(method) && c.client_secret !== undefined)
    add(['client_secret'], `not used by token_endpoint_auth_method ${method}; remove it`);
  // jwks may serve request objects too (OIDC Core §6.1), so other methods may have them; private_key_jwt needs them.
  if (method === 'private_key_jwt' && c.jwks === undefined && c.jwks_uri === undefined)
    add(['jwks'], 'private_key_jwt needs exactly one of jwks and jwks_uri');
  const alg = c.token_endpoint_auth_signing_alg;
  if (alg !== undefined) {
    if (method === 'client_secret_jwt' && !(hmacAlgs as readonly string[]).includes(alg))
      add(['token_endpoint_auth_signing_alg'], 'client_secret_jwt signs with HS256, HS384 or HS512');
    else if (method === 'private_key_jwt' && !(asymmetricAlgs as readonly string[]).includes(alg))
      add(['token_endpoint_auth_signing_alg'], 'private_key_jwt signs with an asymmetric algorithm');
    else if (method !== 'client_secret_jwt' && method !== 'private_key_jwt')
      add(['token_endpoint_auth_signing_alg'], 'only used with client_secret_jwt and private_key_jwt');
  }
}

/**
 * OIDC Registration §2: response_types and grant_types correspond (code ↔ authorization_code, id_token and token ↔
 * implicit), and web clients using implicit register only https redirect URIs, never localhost. An operator's own
 * configured client may still use a loopback http redirect URI (the app on a developer's machine: express-openid-
 * connect's defaults are implicit with form_post); a registered one may not.
 */
function checkResponseTypes(c: ClientConfig, add: Add, source: ClientSource): void {
  const front = c.grant_types.includes('authorization_code') || c.grant_types.includes('implicit');
  // A client of the token endpoint alone (client_credentials) never uses its response_types (interface.md).
  if (!front) return;
  if (c.redirect_uris.length === 0)
    add(['redirect_uris'], 'required for the authorization_code and implicit grants');
  c.response_types.forEach((rt, i) => {
    const parts = rt.split(' ');
    if (parts.includes('code') && !c.grant_types.includes('authorization_code'))
      add(['response_types', i], `${rt} needs authorization_code in grant_types`);
    if ((parts.includes('id_token') || parts.includes('token')) && !c.grant_types.includes('implicit'))
      add(['response_types', i], `${rt} needs implicit in grant_types`);
  });
  if (c.grant_types.includes('authorization_code') && !c.response_types.some((rt) => rt.includes('code')))
    add(['response_types'], 'authorization_code needs a response type with code');
  if (c.grant_types.includes('implicit') && !c.response_types.some((rt) => rt !== 'code'))
    add(['response_types'], 'implicit needs a response type with id_token or token');
  if (c.grant_types.includes('implicit') && c.application_type === 'web') {
    c.redirect_uris.forEach((uri, ui) => {
      let url: URL | undefined;
      try {
        url = new URL(uri);
      } catch {
        return; // Reported by the redirect URI check.
      }
      const loopback = isLoopbackHost(url.hostname);
      if (source === 'config' && loopback) return;
      if (url.protocol !== 'https:' || loopback)
        add(
          ['redirect_uris', ui],
          'a web client using implicit must use https redirect URIs, not localhost (OIDC Registration §2)',
        );
    });
  }
}

function checkGrants(c: ClientConfig, ctx: MetadataContext, add: Add): void {
  if (c.grant_types.includes('refresh_token') && !c.grant_types.includes('authorization_code'))
    add(['grant_types'], 'refresh_token needs authorization_code (refresh tokens come from the code flow)');
  if (c.grant_types.includes(jwtBearerGrantType) && !ctx.jwtBearerTrusted)
    add(['grant_types'], `${jwtBearerGrantType} needs at least one trusted issuer in jwtBearer.issuers`);
  if (c.token_endpoint_auth_method === 'none') {
    for (const g of ['client_credentials', jwtBearerGrantType] as const)
      if (c.grant_types.includes(g)) add(['grant_types'], `${g} is for confidential clients only`);
  }
}

/**
 * Signed responses are never `none` (security checklist I1, G1: anyone could forge them); a pairwise client has a
 * sector (OIDC Core §8.1). The sector_identifier_uri document itself is fetched by the caller (subjects/sector.ts).
 */
function checkSubjectAndSigning(c: ClientConfig, allowHttp: boolean, add: Add): void {
  for (const field of ['id_token_signed_response_alg', 'userinfo_signed_response_alg'] as const)
    if (c[field] === 'none')
      add([field], 'unsigned (none) responses are not supported; name a JWS algorithm');
  for (const p of sectorProblems(c, allowHttp)) add([p.field], p.message);
}

/** Encrypted ID tokens, UserInfo responses and request objects are not implemented: refuse rather than send plain text. */
const encryptionMetadata = [
  'id_token_encrypted_response_alg',
  'id_token_encrypted_response_enc',
  'userinfo_encrypted_response_alg',
  'userinfo_encrypted_response_enc',
  'request_object_encryption_alg',
  'request_object_encryption_enc',
] as const;

/**
 * Registration only: metadata from anyone is held to what the provider can vouch for (RFC 7591 §5; RFC 9700
 * §4.15; security checklist A4, G1, G2).
 */
function checkRegistrationOnly(c: ClientConfig, ctx: MetadataContext, add: Add): void {
  c.redirect_uris.forEach((uri, ui) => {
    const problem = checkRegisteredRedirectUri(uri);
    if (problem) add(['redirect_uris', ui], problem);
  });
  c.post_logout_redirect_uris.forEach((uri, ui) => {
    const problem = checkRegisteredRedirectUri(uri);
    if (problem) add(['post_logout_redirect_uris', ui], problem);
  });
  // Tokens without a user (client_credentials) and tokens for users named by a third party (JWT bearer) are the
  // operator's to allow, never a registrant's.
  for (const g of ['client_credentials', jwtBearerGrantType] as const)
    if (c.grant_types.includes(g)) add(['grant_types'], `${g} cannot be registered dynamically`);
  const foreign = c.scope.split(' ').filter((s) => s !== '' && !registrableScopes.has(s));
  if (foreign.length > 0)
    add(['scope'], `only OpenID scopes can be registered dynamically, not ${foreign.join(' ')}`);
  // Shown to users or opened by their browsers: https only (OIDC Registration §2).
  for (const key of ['logo_uri', 'policy_uri', 'tos_uri', 'client_uri', 'initiate_login_uri'] as const) {
    const value = c[key];
    if (value !== undefined && !isHttpsUrl(value)) add([key], 'must be an https URL');
  }
  // Fetched by the provider later: https and no private address literal (security checklist G2); DNS answers are
  // checked when fetching (src/net/fetch-json.ts). sector_identifier_uri is fetched, under that guard, right away.
  const fetched: [PropertyKey[], string][] = [];
  if (c.jwks_uri !== undefined) fetched.push([['jwks_uri'], c.jwks_uri]);
  c.request_uris?.forEach((u, i) => {
    fetched.push([['request_uris', i], u]);
  });
  for (const [path, value] of fetched) {
    const problem = fetchableUrlProblem(value, ctx.allowPrivateNetworkFetch);
    if (problem) add(path, problem);
  }
}

function isHttpsUrl(s: string): boolean {
  try {
    return new URL(s).protocol === 'https:';
  } catch {
    return false;
  }
}

/** An IP literal in a private, loopback, link-local or otherwise non-public range (the fetch guard's list). */
function isPrivateLiteral(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  return isIP(host) !== 0 && isPrivateAddress(host);
}

/**
 * OIDC Back-Channel Logout §2.2: an absolute URI without a fragment, https; http only on a loopback host (an RP on
 * the same machine, as in tests).
 */
function backchannelLogoutUriProblem(uri: string): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return 'must be an absolute https URL (OIDC Back-Channel Logout §2.2)';
  }
  if (uri.includes('#')) return 'must not contain a fragment (OIDC Back-Channel Logout §2.2)';
  if (url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname)))
    return undefined;
  return 'must be an https URL; http only on a loopback host (OIDC Back-Channel Logout §2.2)';
}

/** Why the provider would refuse to fetch `value`, or undefined. */
export function fetchableUrlProblem(value: string, allowPrivateNetworkFetch: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute https URL';
  }
  if (value.includes('#')) return 'must not contain a fragment';
  if (allowPrivateNetworkFetch) return isHttpUrl(value) ? undefined : 'must be an http(s) URL';
  if (url.protocol !== 'https:') return 'must be an https URL';
  if (isPrivateLiteral(url.hostname) || url.hostname === 'localhost')
    return 'must not point to a private or loopback address';
  return undefined;
}

/**
 * OIDC Core §6.1, OIDC Registration §2: the keys a client's request objects are verified with must exist: its public
 * keys for an asymmetric request_object_signing_alg, its secret as an HMAC key (kept only for client_secret_jwt)
 * for HS*. request_uris are fetched by the provider, so they meet the fetch guard's rules (security checklist G2).
 */
function checkRequestObjects(c: ClientConfig, ctx: MetadataContext, add: Add): void {
  const alg = c.request_object_signing_alg;
  if (alg !== undefined && (asymmetricAlgs as readonly string[]).includes(alg)) {
    if (c.jwks === undefined && c.jwks_uri === undefined)
      add(['request_object_signing_alg'], `${alg} request objects need the client's jwks or jwks_uri`);
  } else if (alg !== undefined && (hmacAlgs as readonly string[]).includes(alg)) {
    if (c.token_endpoint_auth_method !== 'client_secret_jwt')
      add(
        ['request_object_signing_alg'],
        `${alg} request objects are verified with the secret of a client_secret_jwt client only`,
      );
  }
  if (ctx.source === 'config')
    c.request_uris?.forEach((u, i) => {
      const problem = fetchableUrlProblem(u, ctx.allowPrivateNetworkFetch);
      if (problem) add(['request_uris', i], problem);
    });
}

/** Every problem of one client's metadata, by key path inside the client. */
export function clientMetadataProblems(c: ClientConfig, ctx: MetadataContext): MetadataProblem[] {
  const problems: MetadataProblem[] = [];
  const add: Add = (path, message) =>
    problems.push({
      path,
      message,
      code: path[0] === 'redirect_uris' ? 'invalid_redirect_uri' : 'invalid_client_metadata',
    });
  checkClientAuth(c, add);
  checkResponseTypes(c, add, ctx.source);
  checkGrants(c, ctx, add);
  checkRequestObjects(c, ctx, add);
  checkSubjectAndSigning(c, ctx.allowPrivateNetworkFetch, add);
  for (const key of encryptionMetadata)
    if (c[key] !== undefined) add([key], 'encrypted responses and request objects are not supported');
  c.allowed_cors_origins?.forEach((o, oi) => {
    if (!isOrigin(o)) add(['allowed_cors_origins', oi], `${o} is not an origin (scheme://host[:port])`);
  });
  c.allowed_resources.forEach((r, ri) => {
    if (!isResourceUri(r))
      add(['allowed_resources', ri], `${r} must be an absolute URI without a fragment (RFC 8707 §2)`);
  });
  c.redirect_uris.forEach((uri, ui) => {
    const problem = checkRedirectUri(uri, c);
    if (problem) add(['redirect_uris', ui], problem);
  });
  c.post_logout_redirect_uris.forEach((uri, ui) => {
    const problem = checkRedirectUri(uri, c);
    if (problem) add(['post_logout_redirect_uris', ui], problem);
  });
  if (c.backchannel_logout_uri !== undefined) {
    // The provider POSTs logout tokens there, so a registered one is held to the fetch guard too (checklist G2).
    const uri = c.backchannel_logout_uri;
    const problem =
      backchannelLogoutUriProblem(uri) ??
      (ctx.source === 'registration' ? fetchableUrlProblem(uri, ctx.allowPrivateNetworkFetch) : undefined);
    if (problem) add(['backchannel_logout_uri'], problem);
  }
  if (ctx.source === 'registration') checkRegistrationOnly(c, ctx, add);
  return problems;
}
