// One provider's runtime: its settings, keys, clients and store, built once at start and passed to every endpoint.
import type { ProviderSettings } from '../config/load.js';
import { hmacSha256 } from '../crypto/hash.js';
import { KeySets } from '../crypto/key-sets.js';
import { SigningKeys } from '../crypto/keys.js';
import { hashPassword, verifyPassword } from '../crypto/password.js';
import { randomToken } from '../crypto/random.js';
import { SecretBox } from '../crypto/secret-box.js';
import type { ClientRecord, Store } from '../store/types.js';
import type { Clock } from '../util/clock.js';
import { type Client, toClient } from './client.js';

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
  getClient(clientId: string): Client | undefined;
  /** Every origin some client allows, for CORS preflights (answered without the store). */
  readonly corsOrigins: ReadonlySet<string>;
  /** Public keys of clients (private_key_jwt) and trusted JWT issuers, cached. */
  readonly keySets: KeySets;
  /** HMAC of a client secret as it is stored. */
  hashClientSecret(secret: string): string;
  /** HMAC under the provider's cookie key: signs cookies and derives CSRF tokens. */
  mac(value: string): string;
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

export async function createProvider(settings: ProviderSettings, deps: ProviderDeps): Promise<Provider> {
  const { store } = deps;
  const secretKey =
    settings.clientSecretHashKey ??
    (await store.getOrCreateSecret(settings.name, 'client-secret-hmac', randomToken()));
  const cookieKey = await store.getOrCreateSecret(settings.name, 'cookie-hmac', randomToken());
  const hashClientSecret = (secret: string) => hmacSha256(secretKey, secret);
  const box = new SecretBox(
    settings.secretEncryptionKey ??
      (await store.getOrCreateSecret(settings.name, 'secret-encryption', randomToken())),
  );

  const records: ClientRecord[] = [];
  for (const { client_secret, ...metadata } of settings.clients) {
    const needsKey =
      metadata.token_endpoint_auth_method === 'client_secret_jwt' && client_secret !== undefined;
    records.push({
      clientId: metadata.client_id,
      secretHash: client_secret === undefined ? undefined : hashClientSecret(client_secret),
      secretEncrypted: needsKey ? await box.encrypt(client_secret) : undefined,
      metadata,
      source: 'config',
    });
  }
  await store.replaceConfigClients(settings.name, records);
  const clients = new Map<string, Client>();
  for (const r of await store.listClients(settings.name)) {
    const hmacKey = r.secretEncrypted
      ? new TextEncoder().encode(await box.decrypt(r.secretEncrypted))
      : undefined;
    clients.set(r.clientId, toClient(r, settings, hmacKey));
  }
  const corsOrigins = new Set([...clients.values()].flatMap((c) => [...c.corsOrigins]));

  await syncUsers(settings, store);
  const keys = await SigningKeys.load(store, settings.name, settings.signingAlg, box);

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
    getClient: (clientId: string) => clients.get(clientId),
    corsOrigins,
    keySets: new KeySets({
      allowPrivateNetworks: deps.allowPrivateNetworkFetch,
      timeoutMs: 3000,
      maxBytes: 64 * 1024,
    }),
    hashClientSecret,
    mac: (value: string) => hmacSha256(cookieKey, value),
  });
}
