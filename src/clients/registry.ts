// The provider's clients as the endpoints see them (RFC 7591 §2, RFC 7592): configured ones fixed at start, registered
// ones cached from the store and kept current across every process sharing it, and the CORS origins of them all.
import type { ProviderConfig } from '../config/schema.js';
import type { SecretBox } from '../crypto/secret-box.js';
import { type Client, toClient } from '../provider/client.js';
import type { ClientRecord, ClientStore, EpochSeconds, RegisteredClientRecord } from '../store/types.js';
import type { Clock } from '../util/clock.js';

/**
 * Registered clients changed by another process are seen within this many seconds: a lookup after that reads the
 * store's version counter (one small query) and reloads the registered clients when it moved.
 */
export const registeredClientsRecheckSeconds = 2;

export interface ClientRegistryDeps {
  provider: string;
  store: ClientStore;
  clock: Clock;
  settings: Pick<ProviderConfig, 'lifetimes' | 'accessTokenFormat' | 'refreshTokenRotation'>;
  /** Decrypts client_secret_jwt secrets (and encrypts new ones). */
  box: SecretBox;
  /** HMAC of a client secret as it is stored. */
  hashClientSecret(secret: string): string;
}

/**
 * The stored form of a client secret: its keyed hash (ADR 0002), plus the secret encrypted when client_secret_jwt
 * needs it as an HMAC key (OIDC Core §16.19; security checklist C4).
 */
export async function sealClientSecret(
  deps: Pick<ClientRegistryDeps, 'box' | 'hashClientSecret'>,
  secret: string | undefined,
  method: string | undefined,
): Promise<Pick<ClientRecord, 'secretHash' | 'secretEncrypted'>> {
  if (secret === undefined) return { secretHash: undefined, secretEncrypted: undefined };
  return {
    secretHash: deps.hashClientSecret(secret),
    secretEncrypted: method === 'client_secret_jwt' ? await deps.box.encrypt(secret) : undefined,
  };
}

interface Cached {
  record: ClientRecord;
  client: Client;
}

/** Whether two records would make the same Client (so a reload keeps the built one and its decrypted key). */
function sameRecord(a: ClientRecord, b: ClientRecord): boolean {
  return (
    a.secretHash === b.secretHash &&
    a.secretEncrypted === b.secretEncrypted &&
    JSON.stringify(a.metadata) === JSON.stringify(b.metadata)
  );
}

export class ClientRegistry {
  private readonly d: ClientRegistryDeps;
  private readonly configured = new Map<string, Client>();
  private registered = new Map<string, Cached>();
  /** Mutated in place: routes hold this very set for their CORS preflights. */
  private readonly origins = new Set<string>();
  private version = -1;
  private checkedAt = Number.NEGATIVE_INFINITY;
  private pending: Promise<void> | undefined;
  /** Counts this process's own inserts, updates and deletes, so a reload that raced one is not applied. */
  private localChanges = 0;

  private constructor(deps: ClientRegistryDeps) {
    this.d = deps;
  }

  /** Loads every client of the provider from the store (after the configured ones were written there). */
  static async load(deps: ClientRegistryDeps): Promise<ClientRegistry> {
    const registry = new ClientRegistry(deps);
    const version = await deps.store.registeredClientsVersion(deps.provider);
    for (const record of await deps.store.listClients(deps.provider)) {
      const client = await registry.build(record);
      if (record.source === 'config') registry.configured.set(record.clientId, client);
      else registry.registered.set(record.clientId, { record, client });
    }
    registry.version = version;
    registry.checkedAt = deps.clock.now();
    registry.recomputeOrigins();
    return registry;
  }

  /** Every origin some client allows, for CORS preflights (answered without the store). */
  get corsOrigins(): ReadonlySet<string> {
    return this.origins;
  }

  /**
   * From memory only: configured clients, and registered ones as of the last check. Request paths use `find`,
   * which also sees a client registered a moment ago through another process.
   */
  get(clientId: string): Client | undefined {
    const configured = this.configured.get(clientId);
    if (configured) return configured;
    // Keeps the memory view current for callers that cannot wait; a failed check is retried by the next `find`.
    this.recheckIfDue().catch(() => undefined);
    return this.registered.get(clientId)?.client;
  }

  /** Every client known here (memory only). */
  all(): Client[] {
    return [...this.configured.values(), ...[...this.registered.values()].map((c) => c.client)];
  }

  async find(clientId: string): Promise<Client | undefined> {
    const configured = this.configured.get(clientId);
    if (configured) return configured;
    await this.recheckIfDue();
    const cached = this.registered.get(clientId);
    if (cached) return cached.client;
    // Not known here: maybe registered through another process since the last check.
    const record = await this.d.store.findClient(this.d.provider, clientId);
    if (record?.source !== 'registration') return undefined;
    return this.remember(record);
  }

  /** The stored form of a client secret (see sealClientSecret). */
  sealSecret(
    secret: string | undefined,
    method: string | undefined,
  ): Promise<Pick<ClientRecord, 'secretHash' | 'secretEncrypted'>> {
    return sealClientSecret(this.d, secret, method);
  }

  async insert(record: RegisteredClientRecord): Promise<Client> {
    await this.d.store.insertRegisteredClient(this.d.provider, record);
    return this.remember(record);
  }

  /** Undefined when no registered client has this id (any more). */
  async update(record: ClientRecord): Promise<Client | undefined> {
    if (!(await this.d.store.updateRegisteredClient(this.d.provider, record))) {
      this.forget(record.clientId);
      return undefined;
    }
    return this.remember(record);
  }

  async delete(clientId: string, now: EpochSeconds): Promise<boolean> {
    const deleted = await this.d.store.deleteRegisteredClient(this.d.provider, clientId, now);
    this.forget(clientId);
    return deleted;
  }

  private async build(record: ClientRecord): Promise<Client> {
    const hmacKey = record.secretEncrypted
      ? new TextEncoder().encode(await this.d.box.decrypt(record.secretEncrypted))
      : undefined;
    return toClient(record, this.d.settings, hmacKey);
  }

  private async remember(record: ClientRecord): Promise<Client> {
    this.localChanges++;
    const client = await this.build(record);
    this.registered.set(record.clientId, { record, client });
    this.recomputeOrigins();
    return client;
  }

  private forget(clientId: string): void {
    this.localChanges++;
    if (this.registered.delete(clientId)) this.recomputeOrigins();
  }

  private recomputeOrigins(): void {
    const next = new Set<string>();
    for (const c of this.configured.values()) for (const o of c.corsOrigins) next.add(o);
    for (const { client } of this.registered.values()) for (const o of client.corsOrigins) next.add(o);
    // Cleared and refilled without an await in between: no request sees a partial set.
    this.origins.clear();
    for (const o of next) this.origins.add(o);
  }

  /** One check at a time; callers during a check wait for it. */
  private recheckIfDue(): Promise<void> {
    if (this.d.clock.now() - this.checkedAt < registeredClientsRecheckSeconds) return Promise.resolve();
    this.pending ??= this.recheck().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async recheck(): Promise<void> {
    const changesBefore = this.localChanges;
    const version = await this.d.store.registeredClientsVersion(this.d.provider);
    this.checkedAt = this.d.clock.now();
    if (version === this.version) return;
    const next = new Map<string, Cached>();
    for (const record of await this.d.store.listClients(this.d.provider)) {
      if (record.source !== 'registration') continue;
      const old = this.registered.get(record.clientId);
      next.set(
        record.clientId,
        old && sameRecord(old.record, record) ? old : { record, client: await this.build(record) },
      );
    }
    if (this.localChanges !== changesBefore) {
      // A local change landed while reading: this snapshot may predate it (and revive a deleted client). Keep the
      // local view and read again at the next lookup.
      this.checkedAt = Number.NEGATIVE_INFINITY;
      return;
    }
    this.registered = next;
    this.version = version;
    this.recomputeOrigins();
  }
}
