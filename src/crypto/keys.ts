// Signing keys: the only module that sees private keys. Generates, stores, loads and signs with `jose` (RFC 7517, 7638).
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
import type { SigningAlg } from '../config/schema.js';
import type { KeyStore } from '../store/types.js';
import type { SecretBox } from './secret-box.js';

type CryptoKey = webcrypto.CryptoKey;

export interface PublicJwks {
  keys: JWK[];
}

interface LoadedKey {
  kid: string;
  alg: SigningAlg;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function generate(alg: SigningAlg): Promise<{ privateJwk: JWK; publicJwk: JWK }> {
  const pair =
    alg === 'RS256'
      ? await generateKeyPair('RS256', { modulusLength: 2048, extractable: true })
      : alg === 'ES256'
        ? await generateKeyPair('ES256', { extractable: true })
        : await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const privateJwk = await exportJWK(pair.privateKey);
  const publicJwk = await exportJWK(pair.publicKey);
  const kid = await calculateJwkThumbprint(publicJwk, 'sha256');
  return {
    privateJwk: { ...privateJwk, kid, alg, use: 'sig' },
    publicJwk: { ...publicJwk, kid, alg, use: 'sig' },
  };
}

/** Hash for `at_hash` / `c_hash` (OIDC Core §3.1.3.6): the hash of the JWS algorithm; SHA-512 for Ed25519. */
function halfHashAlgorithm(alg: SigningAlg): string {
  return alg === 'EdDSA' ? 'sha512' : 'sha256';
}

export class SigningKeys {
  private readonly active: LoadedKey;
  private readonly published: PublicJwks;

  private constructor(active: LoadedKey, published: PublicJwks) {
    this.active = active;
    this.published = published;
  }

  /**
   * Loads the provider's keys, generating one for `alg` on first start (or when `alg` changes; the older keys
   * stay published so tokens they signed still verify).
   */
  static async load(
    store: KeyStore,
    provider: string,
    alg: SigningAlg,
    box: SecretBox,
  ): Promise<SigningKeys> {
    let records = await store.listSigningKeys(provider);
    if (!records.some((r) => r.alg === alg)) {
      const { privateJwk, publicJwk } = await generate(alg);
      await store.ensureSigningKey(provider, {
        kid: String(publicJwk.kid),
        alg,
        // At rest the private key is encrypted under the provider's secret-encryption key.
        privateJwk: await box.encrypt(JSON.stringify(privateJwk)),
        publicJwk: JSON.stringify(publicJwk),
        createdAt: Math.floor(Date.now() / 1000),
      });
      records = await store.listSigningKeys(provider);
    }
    // The newest key of the configured algorithm signs.
    const record = records.filter((r) => r.alg === alg).at(-1);
    if (!record) throw new Error(`no ${alg} signing key for provider ${provider}`);
    let privateJwk: JWK;
    try {
      privateJwk = JSON.parse(await box.decrypt(record.privateJwk)) as JWK;
    } catch {
      throw new Error(
        `provider ${provider}: cannot decrypt signing key ${record.kid}; secretEncryptionKey differs from the one it was stored under`,
      );
    }
    const privateKey = (await importJWK(privateJwk, alg)) as CryptoKey;
    const active: LoadedKey = {
      kid: record.kid,
      alg,
      privateKey,
      publicJwk: JSON.parse(record.publicJwk) as JWK,
    };
    const published = { keys: records.map((r) => JSON.parse(r.publicJwk) as JWK).reverse() };
    return new SigningKeys(active, published);
  }

  get alg(): SigningAlg {
    return this.active.alg;
  }

  /** The public JWK Set (never a private member: `d`, `p`, `q`, `dp`, `dq`, `qi`, `k`). */
  get jwks(): PublicJwks {
    return this.published;
  }

  sign(payload: JWTPayload, typ: string): Promise<string> {
    return new SignJWT(payload)
      .setProtectedHeader({ alg: this.active.alg, kid: this.active.kid, typ })
      .sign(this.active.privateKey);
  }

  /** Left half of the hash of `value`, base64url: `at_hash` and `c_hash` (OIDC Core §3.1.3.6, §3.3.2.11). */
  halfHash(value: string): string {
    const digest = createHash(halfHashAlgorithm(this.active.alg)).update(value, 'ascii').digest();
    return digest.subarray(0, digest.length / 2).toString('base64url');
  }
}
