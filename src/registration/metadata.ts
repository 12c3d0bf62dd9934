// Client metadata of a registration request and response (RFC 7591 §2, §3.1, §3.2; RFC 7592 §2.2, §3; OIDC
// Registration §2): which names a registrant may set, parsing with the configuration's schema, the shared rules.
import { clientMetadataProblems, type MetadataProblem } from '../clients/metadata-rules.js';
import { formatPath } from '../config/load.js';
import { type ClientConfig, clientSchema } from '../config/schema.js';
import { OAuthError } from '../errors/oauth-error.js';
import type { ClientMetadata } from '../store/types.js';

/**
 * The metadata names a registrant may set: those of RFC 7591 §2, OIDC Registration §2 and the logout specs.
 * Everything else is ignored (RFC 7591 §2: "MUST ignore any client metadata ... it does not understand"), among it
 * client_id and client_secret (server-assigned, RFC 7591 §3.2.1; security checklist G1), the fields RFC 7592 §2.2
 * says not to send, and Gatehouse's own extensions (lifetimes, introspect_any_token ...), which are the operator's.
 */
export const registrableFields = [
  'redirect_uris',
  'post_logout_redirect_uris',
  'response_types',
  'grant_types',
  'application_type',
  'contacts',
  'client_name',
  'logo_uri',
  'client_uri',
  'policy_uri',
  'tos_uri',
  'jwks_uri',
  'jwks',
  'sector_identifier_uri',
  'subject_type',
  'id_token_signed_response_alg',
  'id_token_encrypted_response_alg',
  'id_token_encrypted_response_enc',
  'userinfo_signed_response_alg',
  'userinfo_encrypted_response_alg',
  'userinfo_encrypted_response_enc',
  'request_object_signing_alg',
  'request_object_encryption_alg',
  'request_object_encryption_enc',
  'token_endpoint_auth_method',
  'token_endpoint_auth_signing_alg',
  'default_max_age',
  'require_auth_time',
  'default_acr_values',
  'initiate_login_uri',
  'request_uris',
  'scope',
  'software_id',
  'software_version',
  'backchannel_logout_uri',
  'backchannel_logout_session_required',
  'frontchannel_logout_uri',
  'frontchannel_logout_session_required',
] as const satisfies readonly (keyof ClientConfig)[];

const registrable: ReadonlySet<string> = new Set(registrableFields);

/** The methods whose credential is a secret the provider issues (RFC 7591 §3.2.1). */
const secretMethods: ReadonlySet<string> = new Set([
  'client_secret_basic',
  'client_secret_post',
  'client_secret_jwt',
]);

/** Whether a client authenticating with `method` gets a secret (absent: client_secret_basic, RFC 7591 §2). */
export function usesSecret(method: string | undefined): boolean {
  return secretMethods.has(method ?? 'client_secret_basic');
}

/** The registrable members of a JSON request body; a null value means the field is absent (RFC 7592 §2.2). */
export function registrableInput(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new OAuthError(
      'invalid_client_metadata',
      'The request body must be a JSON object of client metadata',
    );
  const input: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    if (!registrable.has(key) || value === null) continue;
    // A control character (NUL included) would be dropped or kept differently by each reader of the value (the
    // WHATWG URL parser strips some, PostgreSQL text refuses NUL): refuse it rather than store an ambiguous value.
    if (holdsControlCharacter(value))
      throw new OAuthError(
        key === 'redirect_uris' ? 'invalid_redirect_uri' : 'invalid_client_metadata',
        `${key}: control characters are not allowed`,
      );
    input[key] = value;
  }
  return input;
}

function holdsControlCharacter(value: unknown): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  if (typeof value === 'string') return /[\u0000-\u001f\u007f]/.test(value);
  if (Array.isArray(value)) return value.some(holdsControlCharacter);
  if (value !== null && typeof value === 'object') return Object.values(value).some(holdsControlCharacter);
  return false;
}

function metadataError(problems: readonly MetadataProblem[]): OAuthError {
  // RFC 7591 §3.2.2: invalid_redirect_uri when a redirect URI is at fault, invalid_client_metadata otherwise.
  const code = problems.some((p) => p.code === 'invalid_redirect_uri')
    ? 'invalid_redirect_uri'
    : 'invalid_client_metadata';
  const description = problems.map((p) => `${formatPath(p.path) || '(body)'}: ${p.message}`).join('; ');
  return new OAuthError(code, description);
}

export interface MetadataPolicy {
  jwtBearerTrusted: boolean;
  allowPrivateNetworkFetch: boolean;
}

/**
 * Parses registrable metadata into a client, with the schema and rules configured clients get plus the stricter
 * registration ones. `hasSecret`: the provider issues (or keeps) a secret for it; its value is not needed here.
 */
export function parseRegistration(
  input: Record<string, unknown>,
  clientId: string,
  hasSecret: (method: string | undefined) => boolean,
  policy: MetadataPolicy,
): ClientMetadata {
  // RFC 7591 §2: an omitted token_endpoint_auth_method means client_secret_basic, and responses say so. It stays
  // absent in the store, where that lets client_secret_post work too (interface.md "Configuration file"): relying
  // party libraries that register without naming a method often then use post (openid-client does).
  const parsed = clientSchema.safeParse({ ...input, client_id: clientId });
  if (!parsed.success) {
    throw metadataError(
      parsed.error.issues.map((issue) => ({
        path: issue.path,
        message: issue.message,
        code: issue.path[0] === 'redirect_uris' ? 'invalid_redirect_uri' : 'invalid_client_metadata',
      })),
    );
  }
  const metadata = parsed.data;
  // The rules check that a secret method has a secret; the provider issues it, so a stand-in of the issued length
  // (43 characters, 32 bytes) takes its place.
  const candidate: ClientConfig = {
    ...metadata,
    client_secret: hasSecret(metadata.token_endpoint_auth_method) ? 'x'.repeat(43) : undefined,
  };

  const problems = clientMetadataProblems(candidate, { source: 'registration', ...policy });
  if (problems.length > 0) throw metadataError(problems);
  const { client_secret: _secret, ...stored } = metadata;
  return stored;
}

/**
 * The client's metadata as registration responses show it (RFC 7591 §3.2.1): the registrable names that are set,
 * with the authentication method spelled out.
 */
export function publicMetadata(metadata: ClientMetadata): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of registrableFields) {
    const value = metadata[key];
    if (value !== undefined) out[key] = value;
  }
  out.token_endpoint_auth_method = metadata.token_endpoint_auth_method ?? 'client_secret_basic';
  return out;
}
