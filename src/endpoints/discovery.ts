// Discovery metadata (OpenID Connect Discovery 1.0 §3, RFC 8414 §2): exactly what this build supports.
import type { FastifyInstance } from 'fastify';
import { displayValues } from '../authorization/oidc-parameters.js';
import { supportedAuthMethods } from '../client-auth/authenticate.js';
import { asymmetricAlgs, hmacAlgs, jwtBearerGrantType, responseTypes } from '../config/schema.js';
import { supportedSigningAlgs } from '../crypto/keys.js';
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
    // OIDC RP-Initiated Logout 1.0 §2.1; Back-Channel Logout 1.0 §2.1: logout tokens always carry sid.
    end_session_endpoint: `${issuer}/end_session`,
    backchannel_logout_supported: true,
    backchannel_logout_session_supported: true,
    // RFC 8414 §2, OIDC Discovery §3: only where dynamic registration is on.
    ...(provider.settings.registration === undefined
      ? {}
      : { registration_endpoint: `${issuer}/registration` }),
    scopes_supported: ['openid', 'profile', 'email', 'address', 'phone', 'offline_access'],
    response_types_supported: [...responseTypes],
    response_modes_supported: ['query', 'fragment', 'form_post'],
    // The JWT bearer grant only works once some issuer is trusted; implicit is served by the authorization endpoint.
    grant_types_supported: [
      ...[...grants.keys()].filter(
        (g) => g !== jwtBearerGrantType || provider.settings.jwtBearer.issuers.length > 0,
      ),
      'implicit',
    ],
    // OIDC Core §8: pairwise per client (subject_type), computed in src/subjects/subject.ts.
    subject_types_supported: ['public', 'pairwise'],
    // RS256 first (Discovery §3), then every algorithm a client may choose (id_token_signed_response_alg).
    id_token_signing_alg_values_supported: [...supportedSigningAlgs],
    // OIDC Core §5.3.2: per client, userinfo_signed_response_alg. Never `none` (checklist I1).
    userinfo_signing_alg_values_supported: [...supportedSigningAlgs],
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
    // OIDC Core §5.5: the claims parameter; §2, §3.1.2.1: acr values, display values.
    claims_parameter_supported: true,
    acr_values_supported: [...provider.settings.acrValues],
    display_values_supported: [...displayValues],
    // OIDC Core §6, RFC 9101: request objects by value and by reference (any https URL, through the SSRF guard);
    // `none` only for clients that registered it as their request_object_signing_alg.
    request_parameter_supported: true,
    request_uri_parameter_supported: true,
    require_request_uri_registration: true,
    request_object_signing_alg_values_supported: [
      'RS256',
      ...[...asymmetricAlgs, ...hmacAlgs].filter((a) => a !== 'RS256'),
      'none',
    ],
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
