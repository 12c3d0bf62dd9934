// The store contract: every Store implementation (SQLite now, PostgreSQL next) must pass this same suite.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import type {
  AccessTokenRecord,
  IssuedTokens,
  RefreshTokenRecord,
  Store,
  ThrottleCounter,
} from '../../src/store/types.js';

const now = 1_800_000_000;

function access(grantId: string, hash: string = randomUUID()): AccessTokenRecord {
  return {
    tokenHash: hash,
    grantId,
    clientId: 'c',
    userId: 'u',
    scope: ['openid', 'email'],
    audience: [],
    refreshHash: undefined,
    details: {},
    issuedAt: now,
    expiresAt: now + 3600,
    revokedAt: undefined,
  };
}

function refresh(grantId: string, hash: string = randomUUID(), parentHash?: string): RefreshTokenRecord {
  return {
    tokenHash: hash,
    grantId,
    clientId: 'c',
    userId: 'u',
    scope: ['openid', 'offline_access'],
    audience: ['https://api.example'],
    authTime: now - 10,
    details: { sid: 's1', acr: 'a' },
    issuedAt: now,
    parentHash,
    expiresAt: now + 86400,
    idleExpiresAt: now + 3600,
    consumedAt: undefined,
    revokedAt: undefined,
  };
}

function tokens(grantId: string, withRefresh = true, parentHash?: string): IssuedTokens {
  const refreshToken = withRefresh ? refresh(grantId, randomUUID(), parentHash) : undefined;
  return { accessToken: { ...access(grantId), refreshHash: refreshToken?.tokenHash }, refreshToken };
}

export function storeContract(name: string, open: () => Promise<Store>): void {
  describe(`store contract: ${name}`, () => {
    test('codes: redeem once; a second redeem revokes what the first issued', async () => {
      const store = await open();
      const grantId = randomUUID();
      await store.insertCode('p', {
        codeHash: 'code1',
        grantId,
        clientId: 'c',
        userId: 'u',
        redirectUri: 'https://rp/cb',
        scope: ['openid'],
        nonce: 'n',
        codeChallenge: undefined,
        resource: ['https://api.example'],
        authTime: now,
        details: { claims: { id_token: { email: { essential: true } } } },
        expiresAt: now + 60,
        consumedAt: undefined,
      });
      const found = await store.findCode('p', 'code1');
      assert.equal(found?.nonce, 'n');
      assert.equal(found?.codeChallenge, undefined);
      assert.deepEqual(found?.scope, ['openid']);
      assert.deepEqual(found?.resource, ['https://api.example']);
      assert.equal(await store.findCode('other-provider', 'code1'), undefined);
      const first = tokens(grantId);
      assert.equal(await store.redeemCode('p', 'code1', now, first), 'redeemed');
      assert.ok(await store.findAccessToken('p', first.accessToken.tokenHash));
      assert.equal(await store.redeemCode('p', 'code1', now + 1, tokens(grantId)), 'replayed');
      assert.equal((await store.findAccessToken('p', first.accessToken.tokenHash))?.revokedAt, now + 1);
      assert.equal(
        (await store.findRefreshToken('p', first.refreshToken?.tokenHash ?? ''))?.revokedAt,
        now + 1,
      );
      assert.equal(await store.redeemCode('p', 'nope', now, tokens(grantId)), 'missing');
      await store.close();
    });

    test('refresh tokens: rotate once; reuse revokes the grant; in-place refresh extends the idle limit', async () => {
      const store = await open();
      const grantId = randomUUID();
      const start = tokens(grantId);
      await store.insertTokens('p', start);
      const rt = start.refreshToken as RefreshTokenRecord;
      const next = tokens(grantId, true, rt.tokenHash);
      assert.equal(await store.rotateRefreshToken('p', rt.tokenHash, now + 5, next, 0), 'rotated');
      const consumed = await store.findRefreshToken('p', rt.tokenHash);
      assert.equal(consumed?.consumedAt, now + 5);
      assert.deepEqual(consumed?.audience, ['https://api.example']);
      assert.equal(
        (await store.findRefreshToken('p', next.refreshToken?.tokenHash ?? ''))?.parentHash,
        rt.tokenHash,
      );
      assert.equal(await store.rotateRefreshToken('p', rt.tokenHash, now + 5, tokens(grantId), 0), 'reused');
      assert.equal(
        (await store.findRefreshToken('p', next.refreshToken?.tokenHash ?? ''))?.revokedAt,
        now + 5,
      );
      assert.equal((await store.findAccessToken('p', next.accessToken.tokenHash))?.revokedAt, now + 5);
      assert.equal(await store.rotateRefreshToken('p', 'missing', now, tokens(grantId), 0), 'missing');

      const g2 = randomUUID();
      const other = tokens(g2);
      await store.insertTokens('p', other);
      const hash = other.refreshToken?.tokenHash as string;
      assert.equal(await store.refreshInPlace('p', hash, now + 999, tokens(g2, false)), true);
      assert.equal((await store.findRefreshToken('p', hash))?.idleExpiresAt, now + 999);
      await store.revokeGrant('p', g2, now + 7);
      assert.equal(await store.refreshInPlace('p', hash, now + 1000, tokens(g2, false)), false);
      await store.close();
    });

    test('refresh grace period: a retry replaces the unused successor; after the successor is used it is reuse', async () => {
      const store = await open();
      const grantId = randomUUID();
      const start = tokens(grantId);
      await store.insertTokens('p', start);
      const rt1 = start.refreshToken?.tokenHash as string;
      const a = tokens(grantId, true, rt1);
      assert.equal(await store.rotateRefreshToken('p', rt1, now, a, 10), 'rotated');
      const b = tokens(grantId, true, rt1);
      assert.equal(await store.rotateRefreshToken('p', rt1, now + 3, b, 10), 'rotated', 'retry within grace');
      assert.equal((await store.findRefreshToken('p', a.refreshToken?.tokenHash ?? ''))?.revokedAt, now + 3);
      assert.equal((await store.findAccessToken('p', a.accessToken.tokenHash))?.revokedAt, now + 3);
      assert.equal((await store.findAccessToken('p', b.accessToken.tokenHash))?.revokedAt, undefined);
      assert.equal(
        (await store.findRefreshToken('p', b.refreshToken?.tokenHash ?? ''))?.revokedAt,
        undefined,
      );
      const rt2 = b.refreshToken?.tokenHash as string;
      assert.equal(
        await store.rotateRefreshToken('p', rt2, now + 4, tokens(grantId, true, rt2), 10),
        'rotated',
      );
      // rt1's successor has now been used: presenting rt1 again is reuse, even inside the grace period.
      assert.equal(
        await store.rotateRefreshToken('p', rt1, now + 5, tokens(grantId, true, rt1), 10),
        'reused',
      );
      const g2 = randomUUID();
      const s2 = tokens(g2);
      await store.insertTokens('p', s2);
      const h = s2.refreshToken?.tokenHash as string;
      assert.equal(await store.rotateRefreshToken('p', h, now, tokens(g2, true, h), 10), 'rotated');
      assert.equal(
        await store.rotateRefreshToken('p', h, now + 11, tokens(g2, true, h), 10),
        'reused',
        'after grace',
      );
      await store.close();
    });

    test('jti: single use until it expires; namespaces and providers are apart', async () => {
      const store = await open();
      assert.equal(await store.useJti('p', 'client-assertion:c', 'j1', now, now + 60), true);
      assert.equal(await store.useJti('p', 'client-assertion:c', 'j1', now + 1, now + 61), false);
      assert.equal(await store.useJti('p', 'client-assertion:d', 'j1', now, now + 60), true);
      assert.equal(await store.useJti('q', 'client-assertion:c', 'j1', now, now + 60), true);
      const results = await Promise.all(
        Array.from({ length: 10 }, () => store.useJti('p', 'race', 'j2', now, now + 60)),
      );
      assert.equal(results.filter(Boolean).length, 1);
      // Once expired, the value may be seen again (and its row is reclaimed).
      assert.equal(await store.useJti('p', 'client-assertion:c', 'j1', now + 100, now + 160), true);
      await store.close();
    });

    test('revoking one access token leaves the rest of its grant', async () => {
      const store = await open();
      const grantId = randomUUID();
      const t1 = tokens(grantId);
      const t2 = tokens(grantId, false);
      await store.insertTokens('p', t1);
      await store.insertTokens('p', t2);
      await store.revokeAccessToken('p', t1.accessToken.tokenHash, now + 1);
      assert.equal((await store.findAccessToken('p', t1.accessToken.tokenHash))?.revokedAt, now + 1);
      assert.equal((await store.findAccessToken('p', t2.accessToken.tokenHash))?.revokedAt, undefined);
      assert.equal(
        (await store.findRefreshToken('p', t1.refreshToken?.tokenHash ?? ''))?.revokedAt,
        undefined,
      );
      // A client_credentials token has no user.
      await store.insertTokens('p', {
        accessToken: { ...access(randomUUID(), 'cc'), userId: undefined },
        refreshToken: undefined,
      });
      assert.equal((await store.findAccessToken('p', 'cc'))?.userId, undefined);
      await store.close();
    });

    test('signing keys: the first key of an algorithm wins; another algorithm adds one', async () => {
      const store = await open();
      const key = (kid: string, alg: string) => ({
        kid,
        alg,
        privateJwk: '{}',
        publicJwk: '{}',
        createdAt: now,
        retireAt: undefined,
      });
      await Promise.all([
        store.ensureSigningKey('p', key('a', 'RS256')),
        store.ensureSigningKey('p', key('b', 'RS256')),
      ]);
      await store.ensureSigningKey('p', key('c', 'ES256'));
      const kids = (await store.listSigningKeys('p')).map((k) => `${k.alg}:${k.kid}`);
      assert.equal(kids.filter((k) => k.startsWith('RS256')).length, 1);
      assert.ok(kids.includes('ES256:c'));
      assert.deepEqual(await store.listSigningKeys('q'), []);
      await store.close();
    });

    test('signing keys: rotation supersedes the signing key of that algorithm only, in one step', async () => {
      const store = await open();
      const key = (kid: string, alg: string, createdAt = now) => ({
        kid,
        alg,
        privateJwk: `{"${kid}":1}`,
        publicJwk: `{"kid":"${kid}"}`,
        createdAt,
        retireAt: undefined,
      });
      await store.ensureSigningKey('p', key('r1', 'RS256'));
      await store.ensureSigningKey('p', key('e1', 'ES256'));
      await store.rotateSigningKey('p', key('r2', 'RS256', now + 10), now + 4000);
      const byKid = new Map((await store.listSigningKeys('p')).map((k) => [k.kid, k]));
      assert.equal(byKid.get('r1')?.retireAt, now + 4000);
      assert.equal(byKid.get('r2')?.retireAt, undefined);
      assert.equal(byKid.get('r2')?.privateJwk, '{"r2":1}');
      assert.equal(byKid.get('e1')?.retireAt, undefined, 'another algorithm is untouched');
      // A second rotation keeps the first retire time and supersedes only the key that was signing.
      await store.rotateSigningKey('p', key('r3', 'RS256', now + 20), now + 5000);
      const again = new Map((await store.listSigningKeys('p')).map((k) => [k.kid, k.retireAt]));
      assert.deepEqual(
        [again.get('r1'), again.get('r2'), again.get('r3')],
        [now + 4000, now + 5000, undefined],
      );
      // With a signing key of the algorithm present, ensure adds nothing; listing is oldest first.
      await store.ensureSigningKey('p', key('r4', 'RS256'));
      const kids = (await store.listSigningKeys('p')).filter((k) => k.alg === 'RS256').map((k) => k.kid);
      assert.deepEqual(kids, ['r1', 'r2', 'r3']);
      assert.deepEqual(await store.listSigningKeys('q'), []);
      await store.close();
    });

    test('users removed from the configuration are deleted with their sessions', async () => {
      const store = await open();
      const a = await store.upsertUser('p', { id: undefined, username: 'a', passwordHash: 'h', claims: {} });
      await store.upsertUser('p', { id: undefined, username: 'b', passwordHash: 'h', claims: {} });
      await store.createSession('p', {
        idHash: 'sa',
        sid: 'sid-a',
        userId: a.id,
        authTime: now,
        expiresAt: now + 60,
      });
      const aTokens = { ...tokens(randomUUID()) };
      aTokens.accessToken.userId = a.id;
      if (aTokens.refreshToken) aTokens.refreshToken.userId = a.id;
      await store.insertTokens('p', aTokens);
      await store.deleteConfigUsersExcept('p', ['b']);
      assert.equal(await store.findUserByUsername('p', 'a'), undefined);
      assert.equal(await store.getSession('p', 'sa'), undefined);
      assert.ok((await store.findAccessToken('p', aTokens.accessToken.tokenHash))?.revokedAt);
      assert.ok((await store.findRefreshToken('p', aTokens.refreshToken?.tokenHash ?? ''))?.revokedAt);
      assert.ok(await store.findUserByUsername('p', 'b'));
      await store.close();
    });

    test("a changed password ends the user's sessions and tokens; an unchanged one keeps them", async () => {
      const store = await open();
      const u = await store.upsertUser('p', { id: undefined, username: 'c', passwordHash: 'h1', claims: {} });
      await store.createSession('p', {
        idHash: 'sc',
        sid: 'sid-c',
        userId: u.id,
        authTime: now,
        expiresAt: now + 60,
      });
      const t = tokens(randomUUID());
      t.accessToken.userId = u.id;
      if (t.refreshToken) t.refreshToken.userId = u.id;
      await store.insertTokens('p', t);
      await store.upsertUser('p', { id: undefined, username: 'c', passwordHash: 'h1', claims: { x: 1 } });
      assert.ok(await store.getSession('p', 'sc'));
      assert.equal((await store.findAccessToken('p', t.accessToken.tokenHash))?.revokedAt, undefined);
      await store.upsertUser('p', { id: undefined, username: 'c', passwordHash: 'h2', claims: {} });
      assert.equal(await store.getSession('p', 'sc'), undefined);
      assert.ok((await store.findAccessToken('p', t.accessToken.tokenHash))?.revokedAt);
      assert.ok((await store.findRefreshToken('p', t.refreshToken?.tokenHash ?? ''))?.revokedAt);
      await store.close();
    });

    test('used codes outlive their expiry by a day, so a late replay is still recognised', async () => {
      const store = await open();
      const code = {
        codeHash: 'late',
        grantId: randomUUID(),
        clientId: 'c',
        userId: 'u',
        redirectUri: 'https://rp/cb',
        scope: ['openid'],
        nonce: undefined,
        codeChallenge: undefined,
        resource: [],
        authTime: now,
        details: { claims: { id_token: { email: { essential: true } } } },
        expiresAt: now + 60,
        consumedAt: undefined,
      };
      await store.insertCode('p', code);
      await store.deleteExpired(now + 3600);
      assert.ok(await store.findCode('p', 'late'));
      await store.deleteExpired(now + 60 + 86401);
      assert.equal(await store.findCode('p', 'late'), undefined);
      await store.close();
    });

    test('secrets: the first value stored wins', async () => {
      const store = await open();
      assert.equal(await store.getOrCreateSecret('p', 'k', 'one'), 'one');
      assert.equal(await store.getOrCreateSecret('p', 'k', 'two'), 'one');
      assert.equal(await store.getOrCreateSecret('q', 'k', 'three'), 'three');
      await store.close();
    });

    test('users keep their id across updates; clients from config are replaced, registered ones kept', async () => {
      const store = await open();
      const u1 = await store.upsertUser('p', {
        id: undefined,
        username: 'alice',
        passwordHash: 'h1',
        claims: { a: 1 },
      });
      const u2 = await store.upsertUser('p', {
        id: undefined,
        username: 'alice',
        passwordHash: 'h2',
        claims: { a: 2 },
      });
      assert.equal(u1.id, u2.id);
      assert.deepEqual((await store.getUser('p', u1.id))?.claims, { a: 2 });
      assert.equal(await store.findUserByUsername('q', 'alice'), undefined);

      const meta = {
        client_id: 'x',
        redirect_uris: [],
        grant_types: ['authorization_code' as const],
        response_types: ['code' as const],
        token_endpoint_auth_method: 'none' as const,
        scope: 'openid',
        application_type: 'web' as const,
        allowed_resources: [],
        post_logout_redirect_uris: [],
        introspect_any_token: false,
      };
      await store.replaceConfigClients(
        'p',
        [
          {
            clientId: 'x',
            secretHash: undefined,
            secretEncrypted: undefined,
            metadata: meta,
            source: 'config',
          },
          {
            clientId: 'y',
            secretHash: 'h',
            secretEncrypted: 'jwe',
            metadata: { ...meta, client_id: 'y' },
            source: 'config',
          },
        ],
        now,
      );
      assert.equal((await store.listClients('p')).find((c) => c.clientId === 'y')?.secretEncrypted, 'jwe');
      await store.replaceConfigClients(
        'p',
        [
          {
            clientId: 'x',
            secretHash: undefined,
            secretEncrypted: undefined,
            metadata: meta,
            source: 'config',
          },
        ],
        now,
      );
      assert.deepEqual(
        (await store.listClients('p')).map((c) => c.clientId),
        ['x'],
      );
      await store.close();
    });

    test('sessions and consents round-trip; expired rows are removed', async () => {
      const store = await open();
      await store.createSession('p', {
        idHash: 's1',
        sid: 'sid-1',
        userId: 'u',
        authTime: now,
        expiresAt: now + 10,
      });
      assert.equal((await store.getSession('p', 's1'))?.userId, 'u');
      await store.putConsent('p', 'u', 'c', ['openid', 'email'], now);
      assert.deepEqual(await store.getConsent('p', 'u', 'c'), ['openid', 'email']);
      assert.equal(await store.getConsent('p', 'u', 'other'), undefined);

      await store.insertTokens('p', tokens(randomUUID()));
      assert.ok((await store.deleteExpired(now + 100_000)) >= 3);
      assert.equal(await store.getSession('p', 's1'), undefined);
      await store.deleteSession('p', 's1');
      await store.close();
    });
  });

  describe(`store contract: ${name}: logout (sessions and their grants)`, () => {
    test('a session keeps its sid; ending it revokes its grants, consumes their codes and names their clients', async () => {
      const store = await open();
      await store.createSession('p', {
        idHash: 'lh',
        sid: 'sid-l',
        userId: 'u',
        authTime: now,
        expiresAt: now + 60,
      });
      assert.equal((await store.getSession('p', 'lh'))?.sid, 'sid-l');
      const [g1, g2, g3, other] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
      const t1 = tokens(g1);
      const t2 = { ...tokens(g2, false) };
      t2.accessToken.clientId = 'c2';
      const tOther = tokens(other);
      await store.insertTokens('p', t1);
      await store.insertTokens('p', t2);
      await store.insertTokens('p', tOther);
      // g3 has a code not redeemed yet.
      await store.insertCode('p', {
        codeHash: 'logout-code',
        grantId: g3,
        clientId: 'c',
        userId: 'u',
        redirectUri: 'https://rp/cb',
        scope: ['openid'],
        nonce: undefined,
        codeChallenge: undefined,
        resource: [],
        authTime: now,
        details: { sid: 'sid-l' },
        expiresAt: now + 60,
        consumedAt: undefined,
      });
      await store.addSessionGrant('p', { sid: 'sid-l', grantId: g1, clientId: 'c', expiresAt: now + 60 });
      await store.addSessionGrant('p', { sid: 'sid-l', grantId: g1, clientId: 'c', expiresAt: now + 60 });
      await store.addSessionGrant('p', { sid: 'sid-l', grantId: g2, clientId: 'c2', expiresAt: now + 60 });
      await store.addSessionGrant('p', { sid: 'sid-l', grantId: g3, clientId: 'c', expiresAt: now + 60 });
      // Same sid in another provider: untouched.
      await store.addSessionGrant('q', { sid: 'sid-l', grantId: other, clientId: 'c', expiresAt: now + 60 });

      assert.equal(await store.endSession('q', 'lh', now + 5), undefined, 'sessions belong to one provider');
      const ended = await store.endSession('p', 'lh', now + 5);
      assert.equal(ended?.sid, 'sid-l');
      assert.equal(ended?.userId, 'u');
      assert.deepEqual([...(ended?.clientIds ?? [])].sort(), ['c', 'c2']);
      assert.equal(await store.getSession('p', 'lh'), undefined);
      assert.equal((await store.findAccessToken('p', t1.accessToken.tokenHash))?.revokedAt, now + 5);
      assert.equal((await store.findRefreshToken('p', t1.refreshToken?.tokenHash ?? ''))?.revokedAt, now + 5);
      assert.equal((await store.findAccessToken('p', t2.accessToken.tokenHash))?.revokedAt, now + 5);
      assert.equal((await store.findAccessToken('p', tOther.accessToken.tokenHash))?.revokedAt, undefined);
      assert.equal((await store.findCode('p', 'logout-code'))?.consumedAt, now + 5);
      // A late redemption of that code is a replay and issues nothing.
      assert.equal(await store.redeemCode('p', 'logout-code', now + 6, tokens(g3)), 'replayed');
      // Ending it again: nothing left, and concurrent ends report one winner.
      assert.equal(await store.endSession('p', 'lh', now + 7), undefined);
      await store.createSession('p', {
        idHash: 'lh2',
        sid: 'sid-2',
        userId: 'u',
        authTime: now,
        expiresAt: now + 60,
      });
      const both = await Promise.all([store.endSession('p', 'lh2', now), store.endSession('p', 'lh2', now)]);
      assert.equal(both.filter((e) => e !== undefined).length, 1);
      await store.close();
    });

    test('session grants last as long as their session, a re-login under the same sid included', async () => {
      const store = await open();
      const session = (idHash: string, sid: string, expiresAt: number) =>
        store.createSession('p', { idHash, sid, userId: 'u', authTime: now, expiresAt });
      const [gx, gy] = [randomUUID(), randomUUID()];
      const [tx, ty] = [tokens(gx), tokens(gy)];
      await store.insertTokens('p', tx);
      await store.insertTokens('p', ty);
      await session('lx', 'sid-x', now + 10);
      await store.addSessionGrant('p', { sid: 'sid-x', grantId: gx, clientId: 'c', expiresAt: now + 10 });
      await session('ly', 'sid-y', now + 10);
      await store.addSessionGrant('p', { sid: 'sid-y', grantId: gy, clientId: 'c', expiresAt: now + 10 });
      // sid-x goes on in a new session (the same user logged in again); sid-y just expires.
      await session('lx2', 'sid-x', now + 99);
      assert.ok((await store.deleteExpired(now + 20)) >= 3);
      assert.deepEqual((await store.endSession('p', 'lx2', now + 21))?.clientIds, ['c']);
      assert.equal((await store.findAccessToken('p', tx.accessToken.tokenHash))?.revokedAt, now + 21);
      // A later session with sid-y would not reach the expired one's grants.
      await session('ly2', 'sid-y', now + 99);
      assert.deepEqual((await store.endSession('p', 'ly2', now + 22))?.clientIds, []);
      assert.equal((await store.findAccessToken('p', ty.accessToken.tokenHash))?.revokedAt, undefined);
      await store.close();
    });
  });
  describe(`store contract: ${name}: claims request`, () => {
    test('access tokens keep their grant details (the claims request UserInfo answers)', async () => {
      const store = await open();
      const grantId = randomUUID();
      const details = {
        acr: 'urn:x:acr',
        claims: {
          userinfo: { name: { essential: true }, email: null },
          id_token: { acr: { values: ['a'] } },
        },
      };
      const t = tokens(grantId);
      await store.insertTokens('p', { ...t, accessToken: { ...t.accessToken, details } });
      assert.deepEqual((await store.findAccessToken('p', t.accessToken.tokenHash))?.details, details);
      const bare = tokens(randomUUID(), false);
      await store.insertTokens('p', bare);
      assert.deepEqual((await store.findAccessToken('p', bare.accessToken.tokenHash))?.details, {});
      await store.close();
    });
  });
  describe(`store contract: ${name}: registered clients (RFC 7591/7592)`, () => {
    const meta = (clientId: string) => ({
      client_id: clientId,
      redirect_uris: ['https://rp.example/cb'],
      grant_types: ['authorization_code' as const],
      response_types: ['code' as const],
      scope: 'openid',
      application_type: 'web' as const,
      allowed_resources: [],
      post_logout_redirect_uris: [],
      introspect_any_token: false,
    });
    const registered = (clientId: string) => ({
      clientId,
      secretHash: 'hmac',
      secretEncrypted: undefined,
      metadata: meta(clientId),
      source: 'registration' as const,
      registration: { accessTokenHash: 'rat-hash', issuedAt: now },
    });

    test('insert, read, update and delete a registered client; each change moves the version', async () => {
      const store = await open();
      const v0 = await store.registeredClientsVersion('p');
      await store.insertRegisteredClient('p', registered('r1'));
      const v1 = await store.registeredClientsVersion('p');
      assert.notEqual(v1, v0);
      const got = await store.getRegisteredClient('p', 'r1');
      assert.equal(got?.registration.accessTokenHash, 'rat-hash');
      assert.equal(got?.registration.issuedAt, now);
      assert.equal(got?.secretHash, 'hmac');
      assert.equal((await store.findClient('p', 'r1'))?.source, 'registration');
      assert.equal(await store.getRegisteredClient('q', 'r1'), undefined, 'providers are apart');
      await assert.rejects(store.insertRegisteredClient('p', registered('r1')), 'a taken client_id fails');

      const changed = { ...registered('r1'), metadata: { ...meta('r1'), client_name: 'New' } };
      assert.equal(await store.updateRegisteredClient('p', changed), true);
      assert.equal((await store.getRegisteredClient('p', 'r1'))?.metadata.client_name, 'New');
      assert.equal(
        (await store.getRegisteredClient('p', 'r1'))?.registration.accessTokenHash,
        'rat-hash',
        'an update keeps the registration',
      );
      const v2 = await store.registeredClientsVersion('p');
      assert.notEqual(v2, v1);
      assert.equal(await store.updateRegisteredClient('p', registered('nope')), false);

      assert.equal(await store.deleteRegisteredClient('p', 'r1', now), true);
      assert.equal(await store.getRegisteredClient('p', 'r1'), undefined);
      assert.equal(await store.findClient('p', 'r1'), undefined);
      assert.notEqual(await store.registeredClientsVersion('p'), v2);
      assert.equal(await store.deleteRegisteredClient('p', 'r1', now), false);
      await store.close();
    });

    test('configured clients are never read, changed or deleted as registered ones; a restart keeps registered ones', async () => {
      const store = await open();
      const configured = { ...registered('cfg'), source: 'config' as const };
      await store.replaceConfigClients('p', [configured], now);
      await store.insertRegisteredClient('p', registered('r2'));
      assert.equal(await store.getRegisteredClient('p', 'cfg'), undefined);
      assert.equal((await store.findClient('p', 'cfg'))?.source, 'config');
      assert.equal(await store.updateRegisteredClient('p', { ...configured, source: 'registration' }), false);
      assert.equal(await store.deleteRegisteredClient('p', 'cfg', now), false);
      assert.ok(await store.findClient('p', 'cfg'));
      // A start with another configuration replaces configured clients only.
      await store.replaceConfigClients('p', [], now);
      assert.deepEqual(
        (await store.listClients('p')).map((c) => c.clientId),
        ['r2'],
      );
      await store.close();
    });

    test('deleting a registered client revokes its tokens, consumes its codes and forgets consents, in one step', async () => {
      const store = await open();
      await store.insertRegisteredClient('p', registered('c'));
      const grantId = randomUUID();
      const issued = tokens(grantId);
      await store.insertTokens('p', issued);
      const other = tokens(randomUUID());
      await store.insertTokens('p', {
        accessToken: { ...other.accessToken, clientId: 'someone-else' },
        refreshToken: undefined,
      });
      await store.insertCode('p', {
        codeHash: 'reg-code',
        grantId: randomUUID(),
        clientId: 'c',
        userId: 'u',
        redirectUri: 'https://rp.example/cb',
        scope: ['openid'],
        nonce: undefined,
        codeChallenge: undefined,
        resource: [],
        authTime: now,
        details: {},
        expiresAt: now + 60,
        consumedAt: undefined,
      });
      await store.putConsent('p', 'u', 'c', ['openid'], now);
      assert.equal(await store.deleteRegisteredClient('p', 'c', now + 5), true);
      assert.equal((await store.findAccessToken('p', issued.accessToken.tokenHash))?.revokedAt, now + 5);
      assert.equal(
        (await store.findRefreshToken('p', issued.refreshToken?.tokenHash as string))?.revokedAt,
        now + 5,
      );
      assert.equal((await store.findCode('p', 'reg-code'))?.consumedAt, now + 5);
      assert.equal(await store.getConsent('p', 'u', 'c'), undefined);
      assert.equal(
        (await store.findAccessToken('p', other.accessToken.tokenHash))?.revokedAt,
        undefined,
        "another client's tokens stay",
      );
      await store.close();
    });
  });

  describe(`store contract: ${name}: clients taken out of the configuration; consents merged (issue 8 point 6)`, () => {
    const configured = (clientId: string) => ({
      clientId,
      secretHash: 'hmac',
      secretEncrypted: undefined,
      metadata: {
        client_id: clientId,
        redirect_uris: ['https://rp.example/cb'],
        grant_types: ['authorization_code' as const, 'refresh_token' as const],
        response_types: ['code' as const],
        scope: 'openid',
        application_type: 'web' as const,
        allowed_resources: [],
        post_logout_redirect_uris: [],
        introspect_any_token: false,
      },
      source: 'config' as const,
    });

    test('a configured client left out at the next start loses its tokens, codes and consents; others keep theirs', async () => {
      const store = await open();
      await store.replaceConfigClients('p', [configured('c'), configured('stays')], now);
      const issued = tokens(randomUUID());
      await store.insertTokens('p', issued);
      const kept = tokens(randomUUID());
      await store.insertTokens('p', {
        accessToken: { ...kept.accessToken, clientId: 'stays' },
        refreshToken: kept.refreshToken && { ...kept.refreshToken, clientId: 'stays' },
      });
      await store.insertCode('p', {
        codeHash: 'cfg-code',
        grantId: randomUUID(),
        clientId: 'c',
        userId: 'u',
        redirectUri: 'https://rp.example/cb',
        scope: ['openid'],
        nonce: undefined,
        codeChallenge: undefined,
        resource: [],
        authTime: now,
        details: {},
        expiresAt: now + 60,
        consumedAt: undefined,
      });
      await store.putConsent('p', 'u', 'c', ['openid'], now);
      await store.putConsent('p', 'u', 'stays', ['openid'], now);

      await store.replaceConfigClients('p', [configured('stays')], now + 7);
      assert.equal(await store.findClient('p', 'c'), undefined);
      assert.equal((await store.findAccessToken('p', issued.accessToken.tokenHash))?.revokedAt, now + 7);
      assert.equal(
        (await store.findRefreshToken('p', issued.refreshToken?.tokenHash as string))?.revokedAt,
        now + 7,
      );
      assert.equal((await store.findCode('p', 'cfg-code'))?.consumedAt, now + 7);
      assert.equal(await store.getConsent('p', 'u', 'c'), undefined);
      assert.equal((await store.findAccessToken('p', kept.accessToken.tokenHash))?.revokedAt, undefined);
      assert.equal(
        (await store.findRefreshToken('p', kept.refreshToken?.tokenHash as string))?.revokedAt,
        undefined,
      );
      assert.deepEqual(await store.getConsent('p', 'u', 'stays'), ['openid']);
      await store.close();
    });

    test('mergeConsent creates, then adds without losing or repeating what was stored', async () => {
      const store = await open();
      await store.mergeConsent('p', 'u', 'c', ['openid', 'email', 'openid'], now);
      assert.deepEqual(await store.getConsent('p', 'u', 'c'), ['openid', 'email']);
      await store.mergeConsent('p', 'u', 'c', ['profile', 'email'], now + 1);
      assert.deepEqual(await store.getConsent('p', 'u', 'c'), ['openid', 'email', 'profile']);
      assert.equal(await store.getConsent('p', 'u', 'other'), undefined);
      await store.close();
    });

    test('concurrent consent merges all stay remembered', async () => {
      const store = await open();
      const items = Array.from({ length: 24 }, (_, i) => `scope-${i}`);
      // A first consent for each of two users being raced on from nothing, and then on top of a stored one.
      await Promise.all(items.map((item) => store.mergeConsent('p', 'u', 'c', ['openid', item], now)));
      await store.putConsent('p', 'v', 'c', ['openid'], now);
      await Promise.all(items.map((item) => store.mergeConsent('p', 'v', 'c', [item], now)));
      for (const user of ['u', 'v']) {
        const stored = await store.getConsent('p', user, 'c');
        assert.deepEqual([...(stored ?? [])].sort(), ['openid', ...items].sort(), `user ${user}`);
      }
      await store.close();
    });
  });

  describe(`store contract: ${name}: throttle counters (issue 8 points 1-2)`, () => {
    const counter = (key: string, limit: number, maxBlockSeconds = 10_000): ThrottleCounter => ({
      key,
      limit,
      windowSeconds: 100,
      maxBlockSeconds,
    });
    /** Exactly `n` attempts counted on `c` now: blocked at limit n, not at n + 1. */
    async function assertCount(store: Store, c: ThrottleCounter, at: number, n: number) {
      assert.deepEqual(await store.throttleState('p', [{ ...c, limit: n + 1 }], at), { blocked: false });
      if (n > 0) assert.equal((await store.throttleState('p', [{ ...c, limit: n }], at)).blocked, true);
    }

    test('a key admits up to its limit, then is blocked until its window ends; a blocked admit counts nothing', async () => {
      const store = await open();
      const a = counter('a', 3);
      const b = counter('b', 10);
      for (let i = 0; i < 3; i++)
        assert.deepEqual(await store.admitAttempt('p', [a, b], now + i), { blocked: false });
      assert.deepEqual(await store.admitAttempt('p', [a, b], now + 10), { blocked: true, retryAfter: 90 });
      await assertCount(store, b, now + 10, 3);
      assert.deepEqual(await store.throttleState('p', [b, a], now + 99), { blocked: true, retryAfter: 1 });
      // Another provider's counter of the same key is its own.
      assert.deepEqual(await store.admitAttempt('other-provider', [a], now + 10), { blocked: false });
      assert.deepEqual(await store.admitAttempt('p', [a, b], now + 100), { blocked: false });
      await store.close();
    });

    test('reaching the limit again in the next window doubles the block, up to the cap; a window under the limit forgets', async () => {
      const store = await open();
      const a = counter('a', 2, 350);
      const fill = async (at: number) => {
        for (let i = 0; i < 2; i++) assert.equal((await store.admitAttempt('p', [a], at)).blocked, false);
      };
      await fill(now);
      assert.deepEqual(await store.admitAttempt('p', [a], now), { blocked: true, retryAfter: 100 });
      await fill(now + 100);
      assert.deepEqual(await store.admitAttempt('p', [a], now + 100), { blocked: true, retryAfter: 200 });
      await fill(now + 300);
      // 400 s would be next; the cap is 350.
      assert.deepEqual(await store.admitAttempt('p', [a], now + 300), { blocked: true, retryAfter: 350 });
      // A window that ends under the limit resets the strikes: the next block is one window again.
      assert.equal((await store.admitAttempt('p', [a], now + 650)).blocked, false);
      await fill(now + 750);
      assert.deepEqual(await store.admitAttempt('p', [a], now + 750), { blocked: true, retryAfter: 100 });
      await store.close();
    });

    test('failures count even when blocked; reading counts nothing; a success clears one key and gives one attempt back', async () => {
      const store = await open();
      const account = counter('account', 2);
      const address = counter('address', 5);
      for (let i = 0; i < 3; i++) await store.recordFailure('p', [account, address], now);
      await assertCount(store, address, now, 3);
      for (let i = 0; i < 5; i++) await store.throttleState('p', [account, address], now);
      await assertCount(store, address, now, 3);
      assert.equal((await store.throttleState('p', [account], now)).blocked, true);
      await store.clearAttempts('p', ['account'], ['address']);
      await assertCount(store, account, now, 0);
      await assertCount(store, address, now, 2);
      // Giving back never goes below zero, and unknown keys are no error.
      for (let i = 0; i < 3; i++) await store.clearAttempts('p', ['nothing'], ['address', 'nothing']);
      await assertCount(store, address, now, 0);
      await store.close();
    });

    test('concurrent admits count exactly: with limit 25, 40 at once admit 25', async () => {
      const store = await open();
      const shared = counter('shared', 25);
      const verdicts = await Promise.all(
        Array.from({ length: 40 }, (_, i) => store.admitAttempt('p', [shared, counter(`own-${i}`, 5)], now)),
      );
      assert.equal(verdicts.filter((v) => !v.blocked).length, 25);
      await assertCount(store, shared, now, 25);
      await store.close();
    });

    test('expired counters are swept', async () => {
      const store = await open();
      const a = counter('a', 1);
      await store.admitAttempt('p', [a], now);
      assert.equal((await store.throttleState('p', [a], now + 50)).blocked, true);
      // At its limit, a counter is kept past its window for maxBlockSeconds, so a second block can double.
      assert.equal(await store.deleteExpired(now + 101), 0);
      assert.equal(await store.deleteExpired(now + 10_101), 1);
      await assertCount(store, a, now + 10_101, 0);
      await store.close();
    });
  });
}
