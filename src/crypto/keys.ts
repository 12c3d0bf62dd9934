// Signing keys: the only module that sees private keys. One signing key per algorithm in use, rotation, the
// published JWK Set (RFC 7517, 7638; OIDC Core §10.1.1). `jose` generates, imports and exports keys; signatures go
// through node:crypto with a KeyObject imported once (jws-sign.ts, ADR 0007) where that is faster, else jose.
import { createHash, type webcrypto } from 'node:crypto';
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  type JWTPayload,
  SignJWT,
} from 'jose';
import { type SigningAlg, signingAlgs } from '../config/schema.js';
import type { EpochSeconds, KeyStore, SigningKeyRecord } from '../store/types.js';
import type { Clock } from '../util/clock.js';
import { NodeJwtSigner, nodeSignedAlgs } from './jws-sign.js';
import type { SecretBox } from './secret-box.js';

type CryptoKey = webcrypto.CryptoKey;

export interface PublicJwks {
  keys: JWK[];
}

interface LoadedKey {
  kid: string;
  alg: SigningAlg;
  /** node:crypto with the key and its headers prepared at load (nodeSignedAlgs), else jose's SignJWT on a CryptoKey. */
  signer: NodeJwtSigner | CryptoKey;
}

/** What `keys list` shows of a key (interface.md "Commands"): never the key material. */
export interface KeyStatus {
  kid: string;
  alg: string;
  createdAt: EpochSeconds;
  state: 'signing' | 'published only' | 'retired';
  /** When a superseded key leaves (or left) the JWK Set. */
  retireAt: EpochSeconds | undefined;
}

/**
 * Every algorithm Gatehouse can sign with, RS256 first: OIDC Discovery §3 requires RS256 in
 * id_token_signing_alg_values_supported, and a key for any other is generated the first time it is needed.
 */
export const supportedSigningAlgs: readonly SigningAlg[] = [
  'RS256',
  ...signingAlgs.filter((a) => a !== 'RS256'),
];

/**
 * Running processes read the key list this often, so a rotated key signs everywhere within 10 s
 * (interface.md "Commands") and a superseded one stops signing.
 */
export const keyReloadIntervalMs = 5000;

export function isSigningAlg(value: unknown): value is SigningAlg {
  return (signingAlgs as readonly unknown[]).includes(value);
}

/** RSA 2048 for RS and PS (RFC 7518 §3.3, §3.5), P-256/384/521 for ES256/384/512 (§3.4), Ed25519 for EdDSA (RFC 8037). */
async function generate(alg: SigningAlg): Promise<{ privateJwk: JWK; publicJwk: JWK }> {
  const pair =
    alg === 'EdDSA'
      ? await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
      : alg.startsWith('ES')
        ? await generateKeyPair(alg, { extractable: true })
        : await generateKeyPair(alg, { modulusLength: 2048, extractable: true });
  const privateJwk = await exportJWK(pair.privateKey);
  const publicJwk = await exportJWK(pair.publicKey);
  // RFC 7638 thumbprint: a kid that differs for every key, so two keys never share one.
  const kid = await calculateJwkThumbprint(publicJwk, 'sha256');
  return {
    privateJwk: { ...privateJwk, kid, alg, use: 'sig' },
    publicJwk: { ...publicJwk, kid, alg, use: 'sig' },
  };
}

/** A new key for `alg` as the store keeps it: the private JWK encrypted under the provider's secret-encryption key. */
async function newRecord(alg: SigningAlg, box: SecretBox, now: EpochSeconds): Promise<SigningKeyRecord> {
  const { privateJwk, publicJwk } = await generate(alg);
  return {
    kid: String(publicJwk.kid),
    alg,
    privateJwk: await box.encrypt(JSON.stringify(privateJwk)),
    publicJwk: JSON.stringify(publicJwk),
    createdAt: now,
    retireAt: undefined,
  };
}

async function importRecord(provider: string, record: SigningKeyRecord, box: SecretBox): Promise<LoadedKey> {
  if (!isSigningAlg(record.alg))
    throw new Error(`provider ${provider}: key ${record.kid} has alg ${record.alg}`);
  let privateJwk: JWK;
  try {
    privateJwk = JSON.parse(await box.decrypt(record.privateJwk)) as JWK;
  } catch {
    throw new Error(
      `provider ${provider}: cannot decrypt signing key ${record.kid}; secretEncryptionKey differs from the one it was stored under`,
    );
  }
  // jose imports every key, so a key that does not fit its algorithm fails here, at load, as it always has.
  const privateKey = (await importJWK(privateJwk, record.alg)) as CryptoKey;
  return {
    kid: record.kid,
    alg: record.alg,
    signer: nodeSignedAlgs.has(record.alg)
      ? new NodeJwtSigner(privateJwk, record.alg, record.kid)
      : privateKey,
  };
}

/** The key that signs for each algorithm: the one no newer key has superseded (the newest, should two be). */
function signingRecords(records: readonly SigningKeyRecord[]): Map<string, SigningKeyRecord> {
  const out = new Map<string, SigningKeyRecord>();
  for (const r of records) if (r.retireAt === undefined) out.set(r.alg, r);
  return out;
}

/** State of every key at `now`, oldest first: for `keys list`. */
export function keyStatuses(records: readonly SigningKeyRecord[], now: EpochSeconds): KeyStatus[] {
  const signing = new Set([...signingRecords(records).values()].map((r) => r.kid));
  return records.map((r) => ({
    kid: r.kid,
    alg: r.alg,
    createdAt: r.createdAt,
    retireAt: r.retireAt,
    state: signing.has(r.kid)
      ? 'signing'
      : r.retireAt === undefined || r.retireAt > now
        ? 'published only'
        : 'retired',
  }));
}

/** Hash for `at_hash` / `c_hash` (OIDC Core §3.1.3.6): the JWS algorithm's hash; SHA-512 for Ed25519. */
function halfHashAlgorithm(alg: SigningAlg): string {
  if (alg === 'EdDSA' || alg.endsWith('512')) return 'sha512';
  return alg.endsWith('384') ? 'sha384' : 'sha256';
}

export interface SigningKeysOptions {
  store: KeyStore;
  provider: string;
  /** The provider's signingAlg: what JWT access tokens, and ID tokens of clients that name none, are signed with. */
  defaultAlg: SigningAlg;
  box: SecretBox;
  clock: Clock;
}

export class SigningKeys {
  private readonly o: SigningKeysOptions;
  /** Private keys that sign now, by algorithm. */
  private signing = new Map<SigningAlg, LoadedKey>();
  private records: SigningKeyRecord[] = [];
  private published: PublicJwks = { keys: [] };
  private publishedBody = '{"keys":[]}';
  /** The next retire time of a published key: the JWK Set is rebuilt once the clock passes it. */
  private nextRetirement = Number.POSITIVE_INFINITY;
  /** Reloads run one after another, so an older listing never replaces a newer one. */
  private reloading: Promise<void> = Promise.resolve();
  private readonly generating = new Map<SigningAlg, Promise<void>>();

  private constructor(options: SigningKeysOptions) {
    this.o = options;
  }

  /**
   * Loads the provider's keys, first generating one for each algorithm in `algs` (and the default) that has none:
   * older keys stay published so tokens they signed still verify.
   */
  static async load(options: SigningKeysOptions, algs: Iterable<SigningAlg>): Promise<SigningKeys> {
    const keys = new SigningKeys(options);
    await keys.reload();
    for (const alg of new Set([options.defaultAlg, ...algs])) await keys.ensure(alg);
    return keys;
  }

  /**
   * `gatehouse keys rotate`: stores a new signing key for `alg` and schedules the retirement of the one it
   * replaces at `retireAt` (the longest token lifetime from now: OIDC Core §10.1.1). Running processes pick it up
   * at their next reload. Returns the new kid.
   */
  static async rotate(
    store: KeyStore,
    provider: string,
    alg: SigningAlg,
    box: SecretBox,
    now: EpochSeconds,
    retireAt: EpochSeconds,
  ): Promise<string> {
    // A key stored under another secretEncryptionKey could not be read by the servers: refuse before writing it.
    const current = [...signingRecords(await store.listSigningKeys(provider)).values()][0];
    if (current) await importRecord(provider, current, box);
    const record = await newRecord(alg, box, now);
    await store.rotateSigningKey(provider, record, retireAt);
    return record.kid;
  }

  /** The default algorithm. */
  get alg(): SigningAlg {
    return this.o.defaultAlg;
  }

  /** The public JWK Set (never a private member: `d`, `p`, `q`, `dp`, `dq`, `qi`, `k`) as of the clock's now. */
  get jwks(): PublicJwks {
    this.expireRetired();
    return this.published;
  }

  /** The JWK Set as JSON, built when the key list changes, not per request. */
  get jwksBody(): string {
    this.expireRetired();
    return this.publishedBody;
  }

  /** Signs with the signing key of `alg` (default: the provider's), generating that key if it is the first use. */
  async sign(payload: JWTPayload, typ: string, alg: SigningAlg = this.alg): Promise<string> {
    let key = this.signing.get(alg);
    if (!key) {
      await this.ensure(alg);
      key = this.signing.get(alg);
      if (!key) throw new Error(`provider ${this.o.provider}: no ${alg} signing key`);
    }
    // Synchronous on this thread (no pool hand-off); the caller still gets a promise, and a throw becomes a rejection.
    if (key.signer instanceof NodeJwtSigner) return key.signer.sign(payload, typ);
    return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, typ }).sign(key.signer);
  }

  /** Left half of the hash of `value`, base64url: `at_hash` and `c_hash` (OIDC Core §3.1.3.6, §3.3.2.11). */
  halfHash(value: string, alg: SigningAlg = this.alg): string {
    const digest = createHash(halfHashAlgorithm(alg)).update(value, 'ascii').digest();
    return digest.subarray(0, digest.length / 2).toString('base64url');
  }

  /**
   * Makes sure `alg` has a signing key, generating and storing one if not. Atomic in the store, so processes doing
   * this together end up using one key. Call it when a client starts using an algorithm (registration).
   */
  ensure(alg: SigningAlg): Promise<void> {
    if (this.signing.has(alg)) return Promise.resolve();
    let pending = this.generating.get(alg);
    if (!pending) {
      pending = (async () => {
        await this.o.store.ensureSigningKey(
          this.o.provider,
          await newRecord(alg, this.o.box, this.o.clock.now()),
        );
        await this.reload();
      })().finally(() => this.generating.delete(alg));
      this.generating.set(alg, pending);
    }
    return pending;
  }

  /**
   * Reads the key list again (one indexed query): a rotated key signs from now on and is published at once, a
   * superseded one is kept published until its retire time. Only keys not loaded yet are decrypted.
   */
  reload(): Promise<void> {
    const run = this.reloading.then(() => this.reloadNow());
    // A failed reload keeps the keys in use; the next one starts afresh.
    this.reloading = run.catch(() => undefined);
    return run;
  }

  private async reloadNow(): Promise<void> {
    const records = await this.o.store.listSigningKeys(this.o.provider);
    const signing = new Map<SigningAlg, LoadedKey>();
    for (const record of signingRecords(records).values()) {
      const loaded = [...this.signing.values()].find((k) => k.kid === record.kid);
      const key = loaded ?? (await importRecord(this.o.provider, record, this.o.box));
      signing.set(key.alg, key);
    }
    this.signing = signing;
    this.records = records;
    this.publish();
  }

  private expireRetired(): void {
    if (this.o.clock.now() >= this.nextRetirement) this.publish();
  }

  /** Signing keys first (the default algorithm's leading), then superseded keys still published, newest first. */
  private publish(): void {
    const now = this.o.clock.now();
    const signingKids = new Set([...this.signing.values()].map((k) => k.kid));
    const rank = (r: SigningKeyRecord) =>
      signingKids.has(r.kid) ? (r.alg === this.alg ? 0 : 1) : r.retireAt === undefined ? 2 : 3;
    const live = this.records
      .filter((r) => r.retireAt === undefined || r.retireAt > now)
      .reverse()
      .sort((a, b) => rank(a) - rank(b));
    this.published = { keys: live.map((r) => JSON.parse(r.publicJwk) as JWK) };
    this.publishedBody = JSON.stringify(this.published);
    this.nextRetirement = Math.min(
      Number.POSITIVE_INFINITY,
      ...live.map((r) => r.retireAt ?? Number.POSITIVE_INFINITY),
    );
  }
}
