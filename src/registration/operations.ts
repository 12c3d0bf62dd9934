// Registering, reading, updating and deleting a client (RFC 7591 §3, RFC 7592 §2), independent of HTTP: validate the
// metadata first, then one store step through the client registry, which every process sharing the store sees.
import { constantTimeEqual, sha256 } from '../crypto/hash.js';
import { isSigningAlg } from '../crypto/keys.js';
import { randomToken } from '../crypto/random.js';
import { OAuthError } from '../errors/oauth-error.js';
import type { Provider } from '../provider/provider.js';
import type { ClientMetadata, ClientRecord, EpochSeconds, RegisteredClientRecord } from '../store/types.js';
import { checkSectorIdentifier, SectorIdentifierError, sectorFetchPolicy } from '../subjects/sector.js';
import { invalidToken } from './access.js';
import { resolvesToPrivateAddress } from './fetch-targets.js';
import {
  type MetadataPolicy,
  parseRegistration,
  publicMetadata,
  registrableInput,
  usesSecret,
} from './metadata.js';

/** The JSON a client information response carries (RFC 7591 §3.2.1, RFC 7592 §3). */
export type ClientInformation = Record<string, unknown>;

function policy(provider: Provider): MetadataPolicy {
  return {
    jwtBearerTrusted: provider.settings.jwtBearer.issuers.length > 0,
    allowPrivateNetworkFetch: provider.fetchPolicy.allowPrivateNetworks,
  };
}

/** RFC 7592 §3: where the client manages its registration; the client_id is server-made base64url, safe in a path. */
export function registrationClientUri(provider: Provider, clientId: string): string {
  return `${provider.issuer}/registration/${encodeURIComponent(clientId)}`;
}

function information(
  provider: Provider,
  record: ClientRecord,
  issuedAt: EpochSeconds,
  registrationAccessToken: string,
  newSecret: string | undefined,
): ClientInformation {
  return {
    client_id: record.clientId,
    // RFC 7591 §3.2.1: a secret is shown once, when issued; only its keyed hash is kept (security checklist C4).
    ...(newSecret === undefined ? {} : { client_secret: newSecret }),
    client_id_issued_at: issuedAt,
    // REQUIRED when the client has a secret; 0: it does not expire.
    ...(record.secretHash === undefined ? {} : { client_secret_expires_at: 0 }),
    ...publicMetadata(record.metadata),
    registration_access_token: registrationAccessToken,
    registration_client_uri: registrationClientUri(provider, record.clientId),
  };
}

/**
 * The checks that need the network: a sector_identifier_uri document must list every redirect URI (OIDC Registration
 * §5), and the URLs the provider fetches or posts to later must not resolve to private addresses (checklist G2).
 */
async function checkRemoteMetadata(provider: Provider, metadata: ClientMetadata): Promise<void> {
  const allowPrivate = provider.fetchPolicy.allowPrivateNetworks;
  if (!allowPrivate) {
    const later: [string, string][] = [
      ...(metadata.request_uris ?? []).map((u, i): [string, string] => [`request_uris[${i}]`, u]),
    ];
    for (const key of ['jwks_uri', 'backchannel_logout_uri'] as const) {
      const value = metadata[key];
      if (value !== undefined) later.push([key, value]);
    }
    for (const [field, url] of later) {
      if (await resolvesToPrivateAddress(url))
        throw new OAuthError(
          'invalid_client_metadata',
          `${field}: must not point to a private or loopback address`,
        );
    }
  }
  if (metadata.sector_identifier_uri !== undefined) {
    try {
      await checkSectorIdentifier(
        metadata.sector_identifier_uri,
        metadata.redirect_uris,
        sectorFetchPolicy(allowPrivate),
      );
    } catch (err) {
      if (!(err instanceof SectorIdentifierError)) throw err;
      throw new OAuthError('invalid_client_metadata', `sector_identifier_uri: ${err.message}`);
    }
  }
}

/**
 * A key for each algorithm the client will have things signed with, before it gets its credentials: its first ID
 * token then verifies against a JWK Set that already publishes the key (other processes reload within seconds).
 */
async function ensureSigningKeys(provider: Provider, metadata: ClientMetadata): Promise<void> {
  for (const alg of [metadata.id_token_signed_response_alg, metadata.userinfo_signed_response_alg])
    if (isSigningAlg(alg)) await provider.keys.ensure(alg);
}

/** RFC 7591 §3.1-3.2: a new client with a server-assigned client_id, secret and registration access token. */
export async function registerClient(
  provider: Provider,
  body: unknown,
  now: EpochSeconds,
): Promise<ClientInformation> {
  const input = registrableInput(body);
  const clientId = randomToken(16);
  const metadata = parseRegistration(input, clientId, usesSecret, policy(provider));
  await checkRemoteMetadata(provider, metadata);
  await ensureSigningKeys(provider, metadata);
  // Security checklist C4: 32 random bytes (43 characters), kept only as a keyed hash (and encrypted for
  // client_secret_jwt, which needs the secret itself as its HMAC key).
  const secret = usesSecret(metadata.token_endpoint_auth_method) ? randomToken(32) : undefined;
  const registrationAccessToken = randomToken(32);
  const record: RegisteredClientRecord = {
    clientId,
    ...(await provider.clients.sealSecret(secret, metadata.token_endpoint_auth_method)),
    metadata,
    source: 'registration',
    registration: { accessTokenHash: sha256(registrationAccessToken), issuedAt: now },
  };
  await provider.clients.insert(record);
  return information(provider, record, now, registrationAccessToken, secret);
}

/** RFC 7592 §2.1: the current registration. The secret is not shown again: only its hash is kept. */
export function readClient(
  provider: Provider,
  record: RegisteredClientRecord,
  token: string,
): ClientInformation {
  return information(provider, record, record.registration.issuedAt, token, undefined);
}

/**
 * RFC 7592 §2.2: the request replaces the metadata (omitted fields fall back to their defaults). It names the
 * client's own client_id, and a client_secret only if it is the current one. The secret is kept unless the new
 * authentication method needs one the provider does not hold (none before, or client_secret_jwt, which needs the
 * secret itself): then a new one is issued and shown once.
 */
export async function updateClient(
  provider: Provider,
  current: RegisteredClientRecord,
  token: string,
  body: unknown,
): Promise<ClientInformation> {
  const input = registrableInput(body);
  const named = body as Record<string, unknown>;
  if (named.client_id !== current.clientId)
    throw new OAuthError('invalid_request', "client_id must be included and be this client's own");
  const presentedSecret = named.client_secret;
  if (presentedSecret !== undefined && presentedSecret !== null) {
    const matches =
      typeof presentedSecret === 'string' &&
      current.secretHash !== undefined &&
      constantTimeEqual(provider.hashClientSecret(presentedSecret), current.secretHash);
    if (!matches)
      throw new OAuthError(
        'invalid_request',
        'client_secret does not match; a client cannot choose its secret',
      );
  }
  const keepsSecret = (method: string) =>
    current.secretHash !== undefined &&
    (method !== 'client_secret_jwt' || current.secretEncrypted !== undefined);
  const metadata = parseRegistration(input, current.clientId, usesSecret, policy(provider));
  await checkRemoteMetadata(provider, metadata);
  await ensureSigningKeys(provider, metadata);
  const method = metadata.token_endpoint_auth_method ?? 'client_secret_basic';
  let newSecret: string | undefined;
  let sealed: Pick<ClientRecord, 'secretHash' | 'secretEncrypted'>;
  if (!usesSecret(metadata.token_endpoint_auth_method)) {
    sealed = { secretHash: undefined, secretEncrypted: undefined };
  } else if (keepsSecret(method)) {
    sealed = {
      secretHash: current.secretHash,
      // The plaintext is kept (encrypted) only while client_secret_jwt needs it (security checklist C4).
      secretEncrypted: method === 'client_secret_jwt' ? current.secretEncrypted : undefined,
    };
  } else {
    newSecret = randomToken(32);
    sealed = await provider.clients.sealSecret(newSecret, method);
  }
  const record: RegisteredClientRecord = { ...current, ...sealed, metadata };
  const updated = await provider.clients.update(record);
  // Deleted meanwhile (RFC 7592 §2.2: a client that does not exist gets 401).
  if (!updated) throw invalidToken(provider, true, 'client deleted during the update');
  return information(provider, record, current.registration.issuedAt, token, newSecret);
}

/** RFC 7592 §2.3: the client is gone, and so are its tokens, codes and consents. */
export async function deleteClient(provider: Provider, clientId: string, now: EpochSeconds): Promise<void> {
  await provider.clients.delete(clientId, now);
}
