// Signatures and keys: per-client ID token and UserInfo algorithms, the JWK Set, and `gatehouse keys rotate` / `list`
// against a running server (OIDC Core §10.1.1, §5.3.2; checklist I1, J1, J2; conformance modules named per test).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, type JWK, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { buildConfig, ConfigError } from '../../src/config/load.js';
import { SigningKeys } from '../../src/crypto/keys.js';
import { SecretBox } from '../../src/crypto/secret-box.js';
import { ManualClock } from '../../src/util/clock.js';
import {
  alice,
  openTestStore,
  queryTestDatabase,
  startTestServer,
  type TestServer,
  testStorage,
} from '../helpers/server.js';
import { basic, obtainCode, postForm, signIn, UserAgent } from '../helpers/user-agent.js';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'gatehouse.js');

const secret = 'keys-test-secret-0123456789abcdef';
/** One client per signing choice; all share the test's browser session, so one login serves every flow. */
const client = (id: string, extra: Record<string, unknown> = {}) => ({
  client_id: id,
  client_secret: secret,
  redirect_uris: [`https://${id}.example/cb`],
  scope: 'openid profile email',
  ...extra,
});
const clients = [
  client('plain', { access_token_format: 'jwt' }),
  client('es', { id_token_signed_response_alg: 'ES256' }),
  client('ps', { id_token_signed_response_alg: 'PS256' }),
  client('es384', { id_token_signed_response_alg: 'ES384' }),
  client('signed-info', { userinfo_signed_response_alg: 'RS256' }),
  client('ed-info', { userinfo_signed_response_alg: 'EdDSA' }),
];
const providers = [{ name: 'default', clients, users: [alice] }];

let t: TestServer;
const ua = new UserAgent();

before(async () => {
  t = await startTestServer({ providers });
});
after(() => t.close());

async function jwks(): Promise<{ keys: JWK[] }> {
  const res = await fetch(`${t.issuer}/jwk`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^application\/jwk-set\+json/);
  return (await res.json()) as { keys: JWK[] };
}

/** The code flow with openid-client as the RP, checking signatures (non-repudiation) against /jwk. */
async function rpFlow(clientId: string, metadata: Partial<oidc.ClientMetadata> = {}) {
  const config = await oidc.discovery(
    new URL(t.issuer),
    clientId,
    { client_secret: secret, ...metadata },
    oidc.ClientSecretBasic(secret),
    { execute: [oidc.allowInsecureRequests, oidc.enableNonRepudiationChecks] },
  );
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: `https://${clientId}.example/cb`,
    scope: 'openid email',
    state: 'st',
    nonce,
  });
  const callback = await signIn(ua, url.href);
  const tokens = await oidc.authorizationCodeGrant(config, callback, {
    expectedState: 'st',
    expectedNonce: nonce,
  });
  return { config, tokens, idToken: tokens.id_token as string };
}

/** A code redeemed by hand: the raw token response. */
async function tokensFor(clientId: string): Promise<Record<string, unknown>> {
  const redirectUri = `https://${clientId}.example/cb`;
  const code = await obtainCode(t.issuer, { clientId, redirectUri, scope: 'openid email', ua });
  const res = await postForm(
    `${t.issuer}/token`,
    { grant_type: 'authorization_code', code, redirect_uri: redirectUri },
    { authorization: basic(clientId, secret) },
  );
  assert.equal(res.status, 200, JSON.stringify(res.json));
  return res.json;
}

function runCli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('signing algorithms and the JWK Set', () => {
  test('discovery: RS256 first and never none; pairwise offered; signed UserInfo offered', async () => {
    const doc = (await (await fetch(`${t.issuer}/.well-known/openid-configuration`)).json()) as Record<
      string,
      string[]
    >;
    for (const field of ['id_token_signing_alg_values_supported', 'userinfo_signing_alg_values_supported']) {
      const algs = doc[field] ?? [];
      assert.equal(algs[0], 'RS256', field);
      assert.ok(!algs.includes('none'), field);
      for (const alg of ['ES256', 'PS256', 'ES384', 'EdDSA'])
        assert.ok(algs.includes(alg), `${field} ${alg}`);
    }
    assert.deepEqual(doc.subject_types_supported, ['public', 'pairwise']);
  });

  test('JWKS (checklist J1; conformance section 1): public keys only, every kid unique, a key per algorithm in use', async () => {
    const set = await jwks();
    const kids = set.keys.map((k) => k.kid);
    assert.ok(kids.every((k) => typeof k === 'string' && k !== ''));
    assert.equal(new Set(kids).size, kids.length, 'no duplicate kid');
    const triples = set.keys.map((k) => `${k.kid}|${k.alg}|${k.kty}|${k.use}`);
    assert.equal(new Set(triples).size, triples.length);
    for (const k of set.keys) {
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'])
        assert.ok(!(member in k), `${k.kid} ${member}`);
      assert.equal(k.use, 'sig');
    }
    const algs = set.keys.map((k) => k.alg).sort();
    // RS256 always; the others because a client names them.
    assert.deepEqual(algs, ['ES256', 'ES384', 'EdDSA', 'PS256', 'RS256']);
    assert.equal(set.keys[0]?.alg, 'RS256', 'the default algorithm leads');
    assert.equal(set.keys.find((k) => k.alg === 'EdDSA')?.crv, 'Ed25519');
    assert.equal(set.keys.find((k) => k.alg === 'ES384')?.crv, 'P-384');
  });

  test('oidcc-idtoken-signature: without id_token_signed_response_alg the ID token is RS256 with a kid; a JWT access token too', async () => {
    const { idToken, tokens } = await rpFlow('plain');
    const header = decodeProtectedHeader(idToken);
    assert.equal(header.alg, 'RS256');
    const rsKid = (await jwks()).keys.find((k) => k.alg === 'RS256')?.kid;
    assert.equal(header.kid, rsKid);
    const at = decodeProtectedHeader(tokens.access_token);
    assert.equal(at.typ, 'at+jwt');
    assert.equal(at.kid, rsKid);
  });

  for (const alg of ['ES256', 'PS256'] as const) {
    test(`oidcc-idtoken-rs256 and per client: id_token_signed_response_alg ${alg} verifies against /jwk with its kid`, async () => {
      const id = alg === 'ES256' ? 'es' : 'ps';
      // openid-client checks the alg against the registered one and the signature against jwks_uri.
      const { idToken } = await rpFlow(id, { id_token_signed_response_alg: alg });
      const header = decodeProtectedHeader(idToken);
      assert.equal(header.alg, alg);
      const set = await jwks();
      const key = set.keys.find((k) => k.kid === header.kid);
      assert.equal(key?.alg, alg);
      assert.equal(key?.kty, alg === 'ES256' ? 'EC' : 'RSA');
      const { payload } = await jwtVerify(idToken, createLocalJWKSet(set), {
        issuer: t.issuer,
        audience: id,
        algorithms: [alg],
      });
      assert.equal(typeof payload.sub, 'string');
    });
  }

  test('at_hash uses the hash of the signing algorithm (SHA-384 for ES384; OIDC Core §3.1.3.6)', async () => {
    const res = await tokensFor('es384');
    const idToken = res.id_token as string;
    const { payload, protectedHeader } = await jwtVerify(idToken, createLocalJWKSet(await jwks()), {
      issuer: t.issuer,
      audience: 'es384',
    });
    assert.equal(protectedHeader.alg, 'ES384');
    const digest = createHash('sha384')
      .update(res.access_token as string)
      .digest();
    assert.equal(payload.at_hash, digest.subarray(0, 24).toString('base64url'));
  });

  test('oidcc-userinfo-rs256: UserInfo as application/jwt, RS256, iss and aud, no nonce, same sub as the ID token', async () => {
    const { config, tokens, idToken } = await rpFlow('signed-info', {
      userinfo_signed_response_alg: 'RS256',
    });
    const { sub } = (await jwtVerify(idToken, createLocalJWKSet(await jwks()))).payload;
    const res = await fetch(`${t.issuer}/userinfo`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/jwt/);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const jwt = await res.text();
    const { payload, protectedHeader } = await jwtVerify(jwt, createLocalJWKSet(await jwks()), {
      issuer: t.issuer,
      audience: 'signed-info',
    });
    assert.equal(protectedHeader.alg, 'RS256');
    assert.ok(protectedHeader.kid);
    assert.equal(payload.sub, sub);
    assert.equal(payload.email, alice.claims.email);
    assert.equal(payload.nonce, undefined);
    // openid-client reads the signed answer too (and checks its signature: non-repudiation on).
    const info = await oidc.fetchUserInfo(config, tokens.access_token, sub as string);
    assert.equal(info.email, alice.claims.email);
  });

  test('signed UserInfo with another algorithm (EdDSA); a client without one gets JSON', async () => {
    const signed = await tokensFor('ed-info');
    const res = await fetch(`${t.issuer}/userinfo`, {
      headers: { authorization: `Bearer ${signed.access_token}` },
    });
    assert.match(res.headers.get('content-type') ?? '', /^application\/jwt/);
    const { protectedHeader } = await jwtVerify(await res.text(), createLocalJWKSet(await jwks()), {
      issuer: t.issuer,
      audience: 'ed-info',
    });
    assert.equal(protectedHeader.alg, 'EdDSA');
    const plain = await tokensFor('es');
    const json = await fetch(`${t.issuer}/userinfo`, {
      headers: { authorization: `Bearer ${plain.access_token}` },
    });
    assert.match(json.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(((await json.json()) as { email: string }).email, alice.claims.email);
  });

  test('checklist I1: a client asking for unsigned (none) ID tokens or UserInfo is a configuration error by key path', () => {
    const attempt = (extra: Record<string, unknown>) => {
      try {
        buildConfig({ providers: [{ name: 'p', clients: [client('x', extra)] }] });
      } catch (err) {
        if (err instanceof ConfigError) return err.problems.map((p) => p.path);
        throw err;
      }
      return [];
    };
    assert.deepEqual(attempt({ id_token_signed_response_alg: 'none' }), [
      'providers[0].clients[0].id_token_signed_response_alg',
    ]);
    assert.deepEqual(attempt({ userinfo_signed_response_alg: 'none' }), [
      'providers[0].clients[0].userinfo_signed_response_alg',
    ]);
  });
});

describe('key rotation with the gatehouse command (oidcc-server-rotate-keys, checklist J2)', () => {
  let configFile: string;
  let oldKid: string;
  let newKid: string;
  let oldIdToken: string;

  before(async () => {
    // The file the operator would point the command at: the same store and provider as the running server.
    configFile = join(t.dir, 'keys.json');
    writeFileSync(configFile, JSON.stringify({ storage: await testStorage(t.dir), providers }));
  });

  test('keys rotate prints a new kid; within 10 s the server signs with it, both kids published; old tokens verify', async () => {
    const before = await jwks();
    const oldKey = before.keys.find((k) => k.alg === 'RS256') as JWK;
    oldKid = oldKey.kid as string;
    oldIdToken = (await tokensFor('plain')).id_token as string;
    assert.equal(decodeProtectedHeader(oldIdToken).kid, oldKid);

    const r = runCli(['keys', 'rotate', '--config', configFile, '--provider', 'default']);
    assert.equal(r.status, 0, r.stderr);
    newKid = r.stdout.trim();
    assert.match(newKid, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(newKid, oldKid);

    // Running processes reload the key list every few seconds.
    let set = await jwks();
    for (let i = 0; i < 50 && !set.keys.some((k) => k.kid === newKid); i++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      set = await jwks();
    }
    const newKey = set.keys.find((k) => k.kid === newKid);
    assert.ok(newKey, 'new key published within the reload interval');
    assert.equal(newKey.alg, 'RS256');
    assert.notEqual(newKey.n, oldKey.n, 'a new key, not the old one renamed');
    assert.ok(
      set.keys.some((k) => k.kid === oldKid),
      'old key still published',
    );
    assert.equal(set.keys[0]?.kid, newKid, 'the signing key leads');
    assert.equal(new Set(set.keys.map((k) => k.kid)).size, set.keys.length);

    const fresh = (await tokensFor('plain')).id_token as string;
    assert.equal(decodeProtectedHeader(fresh).kid, newKid);
    // A relying party that refetches the set still verifies what the old key signed.
    const local = createLocalJWKSet(set);
    await jwtVerify(oldIdToken, local, { issuer: t.issuer, audience: 'plain' });
    await jwtVerify(fresh, local, { issuer: t.issuer, audience: 'plain' });
    // Other algorithms keep their keys.
    const es = await tokensFor('es');
    assert.equal(decodeProtectedHeader(es.id_token as string).alg, 'ES256');
  });

  test('a superseded key leaves /jwk once the longest token lifetime has passed', async () => {
    // The server's clock moves; tokens live an hour here (the longest lifetime of provider and clients).
    t.clock.advance(3000);
    assert.ok(
      (await jwks()).keys.some((k) => k.kid === oldKid),
      'still published while its tokens may be valid',
    );
    t.clock.advance(600 + 120);
    const set = await jwks();
    assert.ok(!set.keys.some((k) => k.kid === oldKid), 'old key retired');
    assert.ok(set.keys.some((k) => k.kid === newKid));
    assert.equal(set.keys.length, 5);
  });

  test('keys list shows signing, published only and retired', async () => {
    const list = () => {
      const r = runCli(['keys', 'list', '--config', configFile, '--provider', 'default']);
      assert.equal(r.status, 0, r.stderr);
      return r.stdout;
    };
    const row = (out: string, kid: string) => out.split('\n').find((l) => l.includes(kid)) ?? '';
    const first = list();
    assert.match(first.split('\n')[0] ?? '', /KID\s+ALG\s+CREATED\s+STATE/);
    assert.match(row(first, newKid), /\bRS256\b.*\bsigning\b/);
    assert.match(row(first, oldKid), /\bRS256\b.*\bpublished only\b/);
    assert.match(row(first, newKid), /\s-$/, 'a signing key has no retire time');
    assert.equal(first.match(/\bsigning\b/g)?.length, 5, 'one signing key per algorithm in use');
    assert.doesNotMatch(first, /"d"|private/);

    // The command reads the real clock: put the old key's retire time in the past, as if its tokens had expired.
    await queryTestDatabase(t.config.storage, 'UPDATE signing_keys SET retire_at = ? WHERE kid = ?', [
      Math.floor(Date.now() / 1000) - 1,
      oldKid,
    ]);
    assert.match(row(list(), oldKid), /\bretired\b/);
  });

  test('keys rotate refuses an unknown provider or algorithm', () => {
    const noProvider = runCli(['keys', 'rotate', '--config', configFile, '--provider', 'nope']);
    assert.equal(noProvider.status, 2);
    const badAlg = runCli([
      'keys',
      'rotate',
      '--config',
      configFile,
      '--provider',
      'default',
      '--alg',
      'none',
    ]);
    assert.equal(badAlg.status, 2);
    assert.match(badAlg.stderr, /RS256/);
  });

  test('keys rotate refuses to store a key the servers could not decrypt (another secretEncryptionKey)', async () => {
    const file = join(t.dir, 'other-key.json');
    writeFileSync(
      file,
      JSON.stringify({
        storage: await testStorage(t.dir),
        providers: [{ ...providers[0], secretEncryptionKey: 'another-key-0123456789abcdef0123456789' }],
      }),
    );
    const before = (await jwks()).keys.length;
    const r = runCli(['keys', 'rotate', '--config', file, '--provider', 'default']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /cannot decrypt signing key/);
    const [count] = await queryTestDatabase(t.config.storage, 'SELECT count(*) AS n FROM signing_keys');
    assert.equal(Number(count?.n), before + 1, 'nothing stored: the published keys plus the retired one');
  });
});

describe('SigningKeys', () => {
  test('a key for an algorithm first used after start is generated once, stored and published', async () => {
    // A store of its own on the driver under test: SQLite, or PostgreSQL with GATEHOUSE_TEST_STORE=postgres.
    const store = await openTestStore(join(t.dir, 'signing-keys'));
    const options = {
      store,
      provider: 'p',
      defaultAlg: 'RS256' as const,
      box: new SecretBox('box-key-0123456789abcdef0123456789ab'),
      clock: new ManualClock(),
    };
    const keys = await SigningKeys.load(options, []);
    assert.deepEqual(
      keys.jwks.keys.map((k) => k.alg),
      ['RS256'],
    );
    // Two requests at once (a newly registered client's first tokens) make one key, not two.
    const [a, b] = await Promise.all([
      keys.sign({ x: 1 }, 'JWT', 'ES512'),
      keys.sign({ x: 2 }, 'JWT', 'ES512'),
    ]);
    assert.equal(decodeProtectedHeader(a).kid, decodeProtectedHeader(b).kid);
    assert.equal(decodeProtectedHeader(a).alg, 'ES512');
    assert.equal((await store.listSigningKeys('p')).length, 2);
    await jwtVerify(a, createLocalJWKSet(keys.jwks));
    // Another process (a second SigningKeys on the same store) uses that same key once it reloads.
    const other = await SigningKeys.load(options, ['ES512']);
    assert.equal(
      decodeProtectedHeader(await other.sign({}, 'JWT', 'ES512')).kid,
      decodeProtectedHeader(a).kid,
    );
    await store.close();
  });
});
