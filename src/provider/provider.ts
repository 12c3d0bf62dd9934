// One provider's runtime: its settings, keys, clients and store, built once at start and passed to every endpoint.
import { ClientRegistry, sealClientSecret } from '../clients/registry.js';
import type { ProviderSettings } from '../config/load.js';
import { hmacSha256 } from '../crypto/hash.js';
import { KeySets } from '../crypto/key-sets.js';
import { isSigningAlg, SigningKeys } from '../crypto/keys.js';
import { hashPassword, verifyPassword } from '../crypto/password.js';
import { randomToken } from '../crypto/random.js';
import { SecretBox } from '../crypto/secret-box.js';
import type { FetchPolicy } from '../net/fetch-json.js';
import type { ClientMetadata, ClientRecord, KeyStore, Store } from '../store/types.js';
import type { Clock } from '../util/clock.js';
import type { Client } from './client.js';

export interface Provider {
  readonly name: string;
  /** Issuer identifier, also the base URL of every endpoint. */
  readonly issuer: string;
  readonly basePath: string;
  readonly settings: ProviderSettings;
  readonly store: Store;
  readonly keys: SigningKeys;
  readonly clock: Clock;
  /** Cookies are `Secure` and `__Host-` prefixed when the public URL is https. */
  readonly secureCookies: boolean;
  /** Origin of the public URL, for the Origin check on form posts. */
  readonly publicOrigin: string;
  /**
   * From memory only: configured clients and registered ones as of the last check (within seconds). Request paths
   * use findClient, which also sees a client another process registered a moment ago.
   */
  getClient(clientId: string): Client | undefined;
  /** A configured or registered client; a registered one not yet seen here is read from the store. */
  findClient(clientId: string): Promise<Client | undefined>;
  /** Every client of the provider; dynamic registration (RFC 7591/7592) adds, changes and removes through it. */
  readonly clients: ClientRegistry;
  /** Every origin some client allows, for CORS preflights (answered without the store); kept current. */
  readonly corsOrigins: ReadonlySet<string>;
  /** Public keys of clients (private_key_jwt) and trusted JWT issuers, cached. */
  readonly keySets: KeySets;
  /** The SSRF guard's settings for every URL the provider fetches (jwks_uri, request_uri ...; RFC 9700 §4.15). */
  readonly fetchPolicy: FetchPolicy;
  /** HMAC of a client secret as it is stored. */
  hashClientSecret(secret: string): string;
  /** HMAC under the provider's cookie key: signs cookies and derives CSRF tokens. */
  mac(value: string): string;
  /** Salt of pairwise subject identifiers (OIDC Core §8.1): configured, or generated once and kept in the store. */
  readonly pairwiseSalt: string;
}

export interface ProviderDeps {
  store: Store;
  clock: Clock;
  secureCookies: boolean;
  publicUrl: string;
  allowPrivateNetworkFetch: boolean;
}

/** Config users become store users; a password already hashed for the same value is kept, not rehashed. */
async function syncUsers(settings: ProviderSettings, store: Store): Promise<void> {
  await store.deleteConfigUsersExcept(
    settings.name,
    settings.users.map((u) => u.username),
  );
  for (const user of settings.users) {
    const existing = await store.findUserByUsername(settings.name, user.username);
    let passwordHash = user.password_hash;
    if (passwordHash === undefined) {
      const password = user.password ?? '';
      passwordHash =
        existing && (await verifyPassword(existing.passwordHash, password))
          ? existing.passwordHash
          : await hashPassword(password);
    }
    await store.upsertUser(settings.name, {
      id: user.sub,
      username: user.username,
      passwordHash,
      claims: { ...user.claims },
    });
  }
}

/**
 * The box that encrypts what the store keeps secret (private signing keys, client_secret_jwt secrets): under the
 * configured secretEncryptionKey, or one generated once and kept in the store. `gatehouse keys rotate` uses it too.
 */
export async function providerSecretBox(
  settings: Pick<ProviderSettings, 'name' | 'secretEncryptionKey'>,
  store: KeyStore,
): Promise<SecretBox> {
  return new SecretBox(
    settings.secretEncryptionKey ??
      (await store.getOrCreateSecret(settings.name, 'secret-encryption', randomToken())),
  );
}

/** Algorithms some client asks its ID tokens or UserInfo responses to be signed with: each needs a key at start. */
function clientSigningAlgs(clients: Iterable<ClientMetadata>) {
  return [...clients]
    .flatMap((m) => [m.id_token_signed_response_alg, m.userinfo_signed_response_alg])
    .filter(isSigningAlg);
}

export async function createProvider(settings: ProviderSettings, deps: ProviderDeps): Promise<Provider> {
  const { store } = deps;
  const secretKey =
    settings.clientSecretHashKey ??
    (await store.getOrCreateSecret(settings.name, 'client-secret-hmac', randomToken()));
  const cookieKey = await store.getOrCreateSecret(settings.name, 'cookie-hmac', randomToken());
  const hashClientSecret = (secret: string) => hmacSha256(secretKey, secret);
  const box = await providerSecretBox(settings, store);

  const clientDeps = { provider: settings.name, store, clock: deps.clock, settings, box, hashClientSecret };
  const records: ClientRecord[] = [];
  for (const { client_secret, ...metadata } of settings.clients) {
    records.push({
      clientId: metadata.client_id,
      ...(await sealClientSecret(clientDeps, client_secret, metadata.token_endpoint_auth_method)),
      metadata,
      source: 'config',
    });
  }
  // A client taken out of the file loses its tokens and codes here, in the same step (issue 8 point 6).
  await store.replaceConfigClients(settings.name, records, deps.clock.now());
  // Configured clients, and those registered through /registration (RFC 7591) by any process sharing the store.
  const clientRegistry = await ClientRegistry.load(clientDeps);
  const clients = new Map(clientRegistry.all().map((c) => [c.id, c]));

  await syncUsers(settings, store);
  // RS256 always (OIDC Discovery §3 lists it), the default, and every algorithm a client names.
  const keys = await SigningKeys.load(
    { store, provider: settings.name, defaultAlg: settings.signingAlg, box, clock: deps.clock },
    ['RS256', ...clientSigningAlgs([...clients.values()].map((c) => c.metadata))],
  );
  const pairwiseSalt =
    settings.pairwiseSalt ?? (await store.getOrCreateSecret(settings.name, 'pairwise-salt', randomToken()));

  const fetchPolicy: FetchPolicy = Object.freeze({
    allowPrivateNetworks: deps.allowPrivateNetworkFetch,
    timeoutMs: 3000,
    maxBytes: 64 * 1024,
  });
  return Object.freeze({
    name: settings.name,
    issuer: settings.issuer,
    basePath: settings.basePath,
    settings,
    store,
    keys,
    clock: deps.clock,
    secureCookies: deps.secureCookies,
    publicOrigin: new URL(deps.publicUrl).origin,
    getClient: (clientId: string) => clientRegistry.get(clientId),
    findClient: (clientId: string) => clientRegistry.find(clientId),
    clients: clientRegistry,
    corsOrigins: clientRegistry.corsOrigins,
    keySets: new KeySets(fetchPolicy),
    fetchPolicy,
    hashClientSecret,
    mac: (value: string) => hmacSha256(cookieKey, value),
    pairwiseSalt,
  });
}
