// JWT signing with node:crypto.sign and a pre-imported KeyObject: the JWS Compact Serialization (RFC 7515 §7.1) of
// a JWT (RFC 7519 §7.1) with the RFC 7518 §3.3-3.5 / RFC 8037 §3.1 signature parameters. Only keys.ts uses it.
import {
  constants,
  createPrivateKey,
  type JsonWebKey,
  type KeyObject,
  type SignKeyObjectInput,
  sign,
} from 'node:crypto';
import type { JWK, JWTPayload } from 'jose';
import type { SigningAlg } from '../config/schema.js';

// Not hand-rolled crypto: node's OpenSSL does the signature, exactly the primitive WebCrypto (and so jose) calls.
// What this file writes is the serialization (three base64url parts joined by dots) and the parameters RFC 7518
// fixes per algorithm. Key generation, JWK import/export and every verification stay with jose.

/**
 * The algorithms signed here: those the micro-bench (bench/sign-micro.ts, ADR 0007) shows cheaper through
 * node:crypto than through jose's WebCrypto path on one core, in CPU per signature (today all: the same OpenSSL
 * signature with less around it). An algorithm taken out of this set signs through jose's `SignJWT` again.
 */
export const nodeSignedAlgs: ReadonlySet<SigningAlg> = new Set<SigningAlg>([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
]);

/** The digest `crypto.sign` takes for `alg`; null for EdDSA, whose hash is part of the scheme (RFC 8032). */
function digestOf(alg: SigningAlg): string | null {
  if (alg === 'EdDSA') return null;
  return `sha${alg.slice(2)}`;
}

/** Signing options for `alg`: RFC 7518 §3.3 (RSASSA-PKCS1-v1_5), §3.5 (PSS), §3.4 (ECDSA), RFC 8037 (EdDSA). */
function signOptions(alg: SigningAlg, key: KeyObject): KeyObject | SignKeyObjectInput {
  if (alg.startsWith('PS'))
    // §3.5: MGF1 with the same hash, salt as long as the hash output.
    return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(2)) / 8 };
  // §3.4: the JWS signature is R || S, each the curve's size, not DER.
  if (alg.startsWith('ES')) return { key, dsaEncoding: 'ieee-p1363' };
  return key;
}

/** The curve of each ECDSA algorithm (RFC 7518 §3.4), in OpenSSL's names. */
const curves: Partial<Record<SigningAlg, string>> = {
  ES256: 'prime256v1',
  ES384: 'secp384r1',
  ES512: 'secp521r1',
};

/**
 * The checks jose makes when it signs: the key's type fits the algorithm, RSA keys have at least 2048 bits
 * (RFC 7518 §3.3, §3.5), ECDSA keys are on the algorithm's curve, EdDSA is Ed25519 (the only curve keys.ts makes).
 */
function assertKeyFits(alg: SigningAlg, key: KeyObject): void {
  const details = key.asymmetricKeyDetails ?? {};
  const fits =
    alg === 'EdDSA'
      ? key.asymmetricKeyType === 'ed25519'
      : alg.startsWith('ES')
        ? key.asymmetricKeyType === 'ec' && details.namedCurve === curves[alg]
        : key.asymmetricKeyType === 'rsa' && (details.modulusLength ?? 0) >= 2048;
  if (!fits) throw new TypeError(`signing key does not fit ${alg}`);
}

/**
 * jose's own checks on a claims set before it serializes one (a plain object; `iat`, `nbf`, `exp` finite when
 * numbers), so a payload jose would refuse is refused here too rather than signed with `null` in it.
 */
function assertClaimsSet(payload: JWTPayload): void {
  const proto: unknown = typeof payload === 'object' && payload !== null ? Object.getPrototypeOf(payload) : 0;
  if (proto !== Object.prototype && proto !== null) throw new TypeError('JWT Claims Set MUST be an object');
  for (const claim of ['iat', 'nbf', 'exp'] as const) {
    const value = payload[claim];
    if (typeof value === 'number' && !Number.isFinite(value))
      throw new TypeError(`"${claim}" claim must be a finite number`);
  }
}

/** One signing key, imported once, signing JWTs synchronously with a protected header built once per `typ`. */
export class NodeJwtSigner {
  private readonly key: KeyObject;
  private readonly digest: string | null;
  private readonly options: KeyObject | SignKeyObjectInput;
  /**
   * `base64url(header) + '.'` per typ: the header is {alg, kid, typ} in that order, as SignJWT serialized it. The
   * typs are the callers' constants (JWT, at+jwt, logout+jwt), so the map stays a handful of entries.
   */
  private readonly headers = new Map<string, string>();

  constructor(
    privateJwk: JWK,
    readonly alg: SigningAlg,
    readonly kid: string,
  ) {
    this.key = createPrivateKey({ key: privateJwk as JsonWebKey, format: 'jwk' });
    assertKeyFits(alg, this.key);
    this.digest = digestOf(alg);
    this.options = signOptions(alg, this.key);
  }

  /** The compact JWS of `payload` (RFC 7515 §7.1): header.payload.signature, each base64url without padding. */
  sign(payload: JWTPayload, typ: string): string {
    assertClaimsSet(payload);
    let header = this.headers.get(typ);
    if (header === undefined) {
      header = `${Buffer.from(JSON.stringify({ alg: this.alg, kid: this.kid, typ })).toString('base64url')}.`;
      this.headers.set(typ, header);
    }
    const input = header + Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `${input}.${sign(this.digest, Buffer.from(input), this.options).toString('base64url')}`;
  }
}
