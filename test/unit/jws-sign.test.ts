// JWT signing through node:crypto (src/crypto/jws-sign.ts, ADR 0007): tokens verify with jose against the published
// JWK Set for every signing algorithm, with the header and payload SignJWT produced (RFC 7515 §7.1, RFC 7518 §3).
import assert from 'node:assert/strict';
import { constants, generateKeyPairSync, verify as nodeVerify } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  compactVerify,
  createLocalJWKSet,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from 'jose';
import { type SigningAlg, signingAlgs } from '../../src/config/schema.js';
import { NodeJwtSigner, nodeSignedAlgs } from '../../src/crypto/jws-sign.js';
import { SigningKeys } from '../../src/crypto/keys.js';
import { SecretBox } from '../../src/crypto/secret-box.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { ManualClock } from '../../src/util/clock.js';

const provider = 'default';

/** An ID token's claims, with the kinds of values one carries (nested object, array, non-ASCII text). */
function payload(): JWTPayload {
  return {
    iss: 'https://op.example',
    sub: 'alice',
    aud: ['client-a', 'client-b'],
    exp: 2_000_000_600,
    iat: 2_000_000_000,
    nonce: 'n-0S6_WzA2Mj',
    name: 'Zoë Ünïcødé ✓',
    address: { country: 'FR' },
    email_verified: true,
  };
}

const b64json = (part: string): unknown => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
const rawHeader = (jwt: string): string => Buffer.from(jwt.split('.')[0] ?? '', 'base64url').toString('utf8');

/** `jwt` with one byte of part `index` (1 payload, 2 signature) changed, still valid base64url. */
function tamper(jwt: string, index: 1 | 2): string {
  const parts = jwt.split('.');
  const bytes = Buffer.from(parts[index] ?? '', 'base64url');
  bytes[Math.floor(bytes.length / 2)] ^= 0x01;
  parts[index] = bytes.toString('base64url');
  return parts.join('.');
}

async function rejects(p: Promise<unknown>): Promise<void> {
  await assert.rejects(p, (err: Error) => /signature verification failed/.test(err.message));
}

describe('SigningKeys signs through node:crypto', () => {
  const clock = new ManualClock();
  const box = new SecretBox('jws-sign-test-secret-encryption-key');
  let store: SqliteStore;
  let keys: SigningKeys;

  before(async () => {
    store = new SqliteStore({ path: ':memory:' });
    keys = await SigningKeys.load({ store, provider, defaultAlg: 'RS256', box, clock }, signingAlgs);
  });
  after(() => store.close());

  test('every signing algorithm is signed through node:crypto', () => {
    // The micro-bench found node:crypto faster for each; this pins the list the ADR records.
    assert.deepEqual([...nodeSignedAlgs].sort(), [...signingAlgs].sort());
  });

  for (const alg of signingAlgs) {
    describe(alg, () => {
      let jwt: string;
      let kid: string;
      before(async () => {
        jwt = await keys.sign(payload(), 'JWT', alg);
        kid = String(keys.jwks.keys.find((k) => k.alg === alg)?.kid);
      });

      test('verifies with jwtVerify and compactVerify against the published JWK', async () => {
        const { payload: got, protectedHeader } = await jwtVerify(jwt, createLocalJWKSet(keys.jwks), {
          algorithms: [alg],
          currentDate: new Date(2_000_000_100 * 1000),
        });
        assert.deepEqual(got, payload());
        assert.deepEqual(protectedHeader, { alg, kid, typ: 'JWT' });
        const jwk = keys.jwks.keys.find((k) => k.kid === kid) as JWK;
        const { payload: bytes } = await compactVerify(jwt, await importJWK(jwk, alg), { algorithms: [alg] });
        assert.equal(Buffer.from(bytes).toString('utf8'), JSON.stringify(payload()));
      });

      test('header is {alg, kid, typ} in that order, as SignJWT wrote it', () => {
        assert.equal(rawHeader(jwt), JSON.stringify({ alg, kid, typ: 'JWT' }));
        // Another typ gets its own header, not the first one's.
        return keys.sign(payload(), 'logout+jwt', alg).then((other) => {
          assert.equal(rawHeader(other), JSON.stringify({ alg, kid, typ: 'logout+jwt' }));
          assert.equal(rawHeader(jwt), JSON.stringify({ alg, kid, typ: 'JWT' }));
        });
      });

      test('payload round-trips exactly', () => {
        const [, body] = jwt.split('.');
        assert.equal(Buffer.from(body ?? '', 'base64url').toString('utf8'), JSON.stringify(payload()));
        assert.deepEqual(b64json(body ?? ''), payload());
        assert.equal(jwt.split('.').length, 3);
        assert.doesNotMatch(jwt, /[=+/]/);
      });

      test('one byte changed in the payload or the signature fails verification', async () => {
        const jwks = createLocalJWKSet(keys.jwks);
        const options = { algorithms: [alg], currentDate: new Date(2_000_000_100 * 1000) };
        await rejects(jwtVerify(tamper(jwt, 1), jwks, options));
        await rejects(jwtVerify(tamper(jwt, 2), jwks, options));
        const jwk = await importJWK(keys.jwks.keys.find((k) => k.kid === kid) as JWK, alg);
        await rejects(compactVerify(tamper(jwt, 1), jwk));
        await rejects(compactVerify(tamper(jwt, 2), jwk));
      });
    });
  }

  test('signs without WebCrypto: no thread-pool hand-off per token', async (t) => {
    const subtle = globalThis.crypto.subtle;
    t.mock.method(subtle, 'sign', () => Promise.reject(new Error('WebCrypto sign called')));
    for (const alg of nodeSignedAlgs) {
      const jwt = await keys.sign(payload(), 'JWT', alg);
      assert.equal(decodeProtectedHeader(jwt).alg, alg);
    }
  });

  test('a rotated key signs with its new kid; tokens of the old one still verify', async () => {
    for (const alg of ['RS256', 'ES256', 'PS256', 'EdDSA'] as const) {
      const old = await keys.sign(payload(), 'JWT', alg);
      const oldKid = decodeProtectedHeader(old).kid;
      const now = clock.now();
      const newKid = await SigningKeys.rotate(store, provider, alg, box, now, now + 3600);
      assert.notEqual(newKid, oldKid);
      await keys.reload();
      const jwt = await keys.sign(payload(), 'JWT', alg);
      assert.equal(rawHeader(jwt), JSON.stringify({ alg, kid: newKid, typ: 'JWT' }));
      const jwks = createLocalJWKSet(keys.jwks);
      const options = { algorithms: [alg], currentDate: new Date(2_000_000_100 * 1000) };
      assert.equal((await jwtVerify(jwt, jwks, options)).protectedHeader.kid, newKid);
      assert.equal((await jwtVerify(old, jwks, options)).protectedHeader.kid, oldKid);
    }
  });

  test('a payload jose refuses is refused too, as a rejection', async () => {
    await assert.rejects(keys.sign({ ...payload(), exp: Number.NaN }, 'JWT'), /"exp" claim must be a finite/);
    await assert.rejects(keys.sign(new Date() as unknown as JWTPayload, 'JWT'), /MUST be an object/);
  });
});

describe('NodeJwtSigner', () => {
  async function privateJwk(alg: SigningAlg): Promise<JWK> {
    const pair =
      alg === 'EdDSA'
        ? await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
        : await generateKeyPair(alg, { extractable: true });
    return { ...(await exportJWK(pair.privateKey)), kid: 'k1', alg, use: 'sig' };
  }

  test('deterministic algorithms (RS*, EdDSA) give the very token SignJWT gives', async () => {
    for (const alg of ['RS256', 'RS384', 'RS512', 'EdDSA'] as const) {
      const jwk = await privateJwk(alg);
      const signer = new NodeJwtSigner(jwk, alg, 'k1');
      const jose = await new SignJWT(payload())
        .setProtectedHeader({ alg, kid: 'k1', typ: 'at+jwt' })
        .sign(await importJWK(jwk, alg));
      assert.equal(signer.sign(payload(), 'at+jwt'), jose);
    }
  });

  test('PS*: PSS salt as long as the hash (RFC 7518 §3.5)', async () => {
    for (const alg of ['PS256', 'PS384', 'PS512'] as const) {
      const jwk = await privateJwk(alg);
      const jwt = new NodeJwtSigner(jwk, alg, 'k1').sign(payload(), 'JWT');
      const [h, p, s] = jwt.split('.');
      const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
      const key = { key: pub, format: 'jwk' as const };
      const hash = Number(alg.slice(2)) / 8;
      const check = (saltLength: number) =>
        nodeVerify(
          `sha${alg.slice(2)}`,
          Buffer.from(`${h}.${p}`),
          { ...key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength },
          Buffer.from(s ?? '', 'base64url'),
        );
      assert.equal(check(hash), true);
      assert.equal(check(hash + 1), false);
    }
  });

  test('ES*: R || S of the curve size, not DER (RFC 7518 §3.4)', async () => {
    for (const [alg, size] of [
      ['ES256', 64],
      ['ES384', 96],
      ['ES512', 132],
    ] as const) {
      const jwt = new NodeJwtSigner(await privateJwk(alg), alg, 'k1').sign(payload(), 'JWT');
      assert.equal(Buffer.from(jwt.split('.')[2] ?? '', 'base64url').length, size);
    }
  });

  test('a key that does not fit the algorithm is refused at import', async () => {
    const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'jwk' });
    assert.throws(() => new NodeJwtSigner(rsa1024 as JWK, 'RS256', 'k'), /does not fit RS256/);
    const p256 = await privateJwk('ES256');
    assert.throws(() => new NodeJwtSigner(p256, 'ES384', 'k'), /does not fit ES384/);
    assert.throws(() => new NodeJwtSigner(p256, 'RS256', 'k'), /does not fit RS256/);
    const rsa = await privateJwk('RS256');
    assert.throws(() => new NodeJwtSigner(rsa, 'EdDSA', 'k'), /does not fit EdDSA/);
  });
});
