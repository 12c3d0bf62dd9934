// A registered client as the endpoints use it: metadata plus resolved settings and the sets they check (RFC 7591 §2).
import {
  type AssertionAlg,
  asymmetricAlgs,
  type ClientAuthMethodName,
  type GrantTypeName,
  hmacAlgs,
  type Lifetimes,
  type ProviderConfig,
} from '../config/schema.js';
import type { ClientMetadata, ClientRecord } from '../store/types.js';

export interface ClientLifetimes {
  accessToken: number;
  idToken: number;
  refreshToken: number;
  refreshTokenIdle: number;
}

export interface Client {
  readonly id: string;
  readonly name: string;
  /**
   * `registration`: registered by anyone through /registration (RFC 7591), so its redirect URIs are not vouched
   * for by the operator (RFC 9700 §4.11.2; security checklist A5).
   */
  readonly source: ClientRecord['source'];
  readonly secretHash: string | undefined;
  /** client_secret_jwt only: the secret as an HMAC key, decrypted from the store at start. */
  readonly hmacKey: Uint8Array | undefined;
  readonly metadata: ClientMetadata;
  /** RFC 6749 §2.1: a client that cannot keep a secret. */
  readonly isPublic: boolean;
  /**
   * The methods this client may authenticate with: the one it registered, or, for a client with a secret and no
   * registered method, client_secret_basic and client_secret_post (interface.md "Configuration file").
   */
  readonly authMethods: ReadonlySet<ClientAuthMethodName>;
  /** Algorithms accepted on this client's assertions (security checklist C7). */
  readonly assertionAlgs: readonly AssertionAlg[];
  readonly grantTypes: ReadonlySet<GrantTypeName>;
  readonly allowedScopes: ReadonlySet<string>;
  readonly allowedResources: ReadonlySet<string>;
  readonly redirectUris: readonly string[];
  /** Browser origins that may call the token-side endpoints for this client. */
  readonly corsOrigins: ReadonlySet<string>;
  readonly accessTokenFormat: 'opaque' | 'jwt';
  readonly rotateRefreshTokens: boolean;
  readonly introspectAnyToken: boolean;
  readonly lifetimes: ClientLifetimes;
}

/** Default CORS origins: those of the https (or loopback http) redirect URIs. */
function redirectOrigins(uris: readonly string[]): string[] {
  const origins: string[] = [];
  for (const uri of uris) {
    try {
      const u = new URL(uri);
      if (u.protocol === 'https:' || u.protocol === 'http:') origins.push(u.origin);
    } catch {
      // Validated at load; nothing to add.
    }
  }
  return origins;
}

function assertionAlgs(m: ClientMetadata): readonly AssertionAlg[] {
  if (m.token_endpoint_auth_signing_alg) return [m.token_endpoint_auth_signing_alg];
  if (m.token_endpoint_auth_method === 'client_secret_jwt') return hmacAlgs;
  if (m.token_endpoint_auth_method === 'private_key_jwt') return asymmetricAlgs;
  return [];
}

function lifetimes(m: ClientMetadata, defaults: Lifetimes): ClientLifetimes {
  return {
    accessToken: m.access_token_lifetime ?? defaults.accessToken,
    idToken: m.id_token_lifetime ?? defaults.idToken,
    refreshToken: m.refresh_token_lifetime ?? defaults.refreshToken,
    refreshTokenIdle: m.refresh_token_idle_lifetime ?? defaults.refreshTokenIdle,
  };
}

export function toClient(
  record: ClientRecord,
  settings: Pick<ProviderConfig, 'lifetimes' | 'accessTokenFormat' | 'refreshTokenRotation'>,
  hmacKey: Uint8Array | undefined,
): Client {
  const m = record.metadata;
  const isPublic = m.token_endpoint_auth_method === 'none';
  const authMethods: ClientAuthMethodName[] = m.token_endpoint_auth_method
    ? [m.token_endpoint_auth_method]
    : ['client_secret_basic', 'client_secret_post'];
  return Object.freeze({
    id: record.clientId,
    name: m.client_name ?? record.clientId,
    source: record.source,
    secretHash: record.secretHash,
    hmacKey,
    metadata: m,
    isPublic,
    authMethods: new Set(authMethods),
    assertionAlgs: assertionAlgs(m),
    grantTypes: new Set(m.grant_types),
    allowedScopes: new Set(m.scope.split(' ')),
    allowedResources: new Set(m.allowed_resources),
    redirectUris: [...m.redirect_uris],
    corsOrigins: new Set(m.allowed_cors_origins ?? redirectOrigins(m.redirect_uris)),
    accessTokenFormat: m.access_token_format ?? settings.accessTokenFormat,
    // RFC 9700 §4.14.2: public clients' refresh tokens are rotated, whatever the setting.
    rotateRefreshTokens: isPublic || (m.refresh_token_rotation ?? settings.refreshTokenRotation),
    introspectAnyToken: m.introspect_any_token,
    lifetimes: lifetimes(m, settings.lifetimes),
  });
}

/**
 * Exact string comparison against the registered list (RFC 9700 §4.1.3, OIDC Core §3.1.2.1). The one
 * exception: a native client's loopback IP redirect may use any port (RFC 8252 §7.3), and nothing else may differ.
 */
export function matchRedirectUri(client: Client, candidate: string): boolean {
  if (client.redirectUris.includes(candidate)) return true;
  if (client.metadata.application_type !== 'native') return false;
  const m = /^http:\/\/(127\.0\.0\.1|\[::1\]):(\d{1,5})([/?].*)?$/.exec(candidate);
  if (!m) return false;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return false;
  return client.redirectUris.includes(`http://${m[1]}${m[3] ?? ''}`);
}
