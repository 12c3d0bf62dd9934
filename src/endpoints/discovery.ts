// Discovery metadata (OpenID Connect Discovery 1.0 §3, RFC 8414 §2): exactly what this build supports.
import type { FastifyInstance } from 'fastify';
import { supportedAuthMethods } from '../client-auth/authenticate.js';
import { asymmetricAlgs, hmacAlgs, jwtBearerGrantType } from '../config/schema.js';
import { grants } from '../grants/registry.js';
import { corsRoute } from '../http/cors.js';
import type { Provider } from '../provider/provider.js';
import { supportedClaims } from '../tokens/claims.js';
import { methodNotAllowed } from './method-not-allowed.js';

const assertionAlgs = [...asymmetricAlgs, ...hmacAlgs];

export function discoveryDocument(provider: Provider): Record<string, unknown> {
  const { issuer } = provider;
  return {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    userinfo_endpoint: `${issuer}/userinfo`,
    jwks_uri: `${issuer}/jwk`,
    revocation_endpoint: `${issuer}/revoke`,
    introspection_endpoint: `${issuer}/introspect`,
    scopes_supported: ['openid', 'profile', 'email', 'address', 'phone', 'offline_access'],
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    // The JWT bearer grant only works once some issuer is trusted.
    grant_types_supported: [...grants.keys()].filter(
      (g) => g !== jwtBearerGrantType || provider.settings.jwtBearer.issuers.length > 0,
    ),
    subject_types_supported: ['public'],
    // What ID tokens are signed with now; older keys stay in the JWK Set only to verify what they signed.
    id_token_signing_alg_values_supported: [provider.keys.alg],
    token_endpoint_auth_methods_supported: supportedAuthMethods,
    token_endpoint_auth_signing_alg_values_supported: assertionAlgs,
    revocation_endpoint_auth_methods_supported: supportedAuthMethods,
    revocation_endpoint_auth_signing_alg_values_supported: assertionAlgs,
    // RFC 7662 §2.1: introspection callers must really authenticate, so `none` is not offered.
    introspection_endpoint_auth_methods_supported: supportedAuthMethods.filter((m) => m !== 'none'),
    introspection_endpoint_auth_signing_alg_values_supported: assertionAlgs,
    claims_supported: supportedClaims,
    code_challenge_methods_supported: ['S256'],
    prompt_values_supported: ['none', 'login', 'consent', 'select_account'],
    // RFC 9207 §3: iss is in every authorization response.
    authorization_response_iss_parameter_supported: true,
    claims_parameter_supported: false,
    request_parameter_supported: false,
    // Its default is true (Discovery §3), so it has to be said.
    request_uri_parameter_supported: false,
  };
}

export function registerDiscovery(app: FastifyInstance, provider: Provider): void {
  // Built once: the issuer comes from configuration, never from the Host header (RFC 9700 §4.13).
  const body = JSON.stringify(discoveryDocument(provider));
  const url = `${provider.basePath}/.well-known/openid-configuration`;
  app.get(url, { config: { kind: 'public', cors: provider.corsOrigins } }, async (_request, reply) =>
    reply.type('application/json').header('Cache-Control', 'public, max-age=300').send(body),
  );
  corsRoute(app, url, provider, ['GET']);
  methodNotAllowed(app, url, ['GET', 'OPTIONS'], 'public');
}
