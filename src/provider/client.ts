// A registered client as the endpoints use it: metadata plus the sets they check (RFC 7591 §2).
import type { ClientAuthMethodName, GrantTypeName } from '../config/schema.js';
import type { ClientMetadata, ClientRecord } from '../store/types.js';

export interface Client {
  readonly id: string;
  readonly name: string;
  readonly secretHash: string | undefined;
  readonly metadata: ClientMetadata;
  /** RFC 6749 §2.1: a client that cannot keep a secret. */
  readonly isPublic: boolean;
  readonly authMethod: ClientAuthMethodName;
  readonly grantTypes: ReadonlySet<GrantTypeName>;
  readonly allowedScopes: ReadonlySet<string>;
  readonly redirectUris: readonly string[];
}

export function toClient(record: ClientRecord): Client {
  const m = record.metadata;
  return Object.freeze({
    id: record.clientId,
    name: m.client_name ?? record.clientId,
    secretHash: record.secretHash,
    metadata: m,
    isPublic: m.token_endpoint_auth_method === 'none',
    authMethod: m.token_endpoint_auth_method,
    grantTypes: new Set(m.grant_types),
    allowedScopes: new Set(m.scope.split(' ')),
    redirectUris: [...m.redirect_uris],
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
  return client.redirectUris.includes(`http://${m[1]}${m[3] ?? ''}`);
}
