// Pairwise subject identifiers (OIDC Core §8.1, OIDC Registration §5): one `sub` per sector, the same everywhere it
// leaves the server, stable across restarts; sector_identifier_uri documents checked at start.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLocalJWKSet, decodeJwt, type JSONWebKeySet, jwtVerify } from 'jose';
import { buildConfig, ConfigError } from '../../src/config/load.js';
import { startServer } from '../../src/server.js';
import { checkSectorIdentifier, SectorIdentifierError } from '../../src/subjects/sector.js';
import { isSubjectOf, subjectFor } from '../../src/subjects/subject.js';
import { ManualClock } from '../../src/util/clock.js';
import { alice, startTestServer, type TestServer, testStorage } from '../helpers/server.js';
import { basic, obtainCode, postForm, UserAgent } from '../helpers/user-agent.js';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'gatehouse.js');
const secret = 'pairwise-secret-0123456789abcdef';

/** Serves sector_identifier_uri documents on loopback (allowed with allowPrivateNetworkFetch, as in tests). */
let sectors: Server;
let sectorBase: string;
const documents: Record<string, string> = {
  '/good': JSON.stringify(['https://c.example/cb', 'https://d.example/cb', 'https://elsewhere.example/x']),
  // oidcc-registration-sector-bad lists only this.
  '/bad': JSON.stringify(['https://example.com/op']),
  '/object': JSON.stringify({ redirect_uris: ['https://c.example/cb'] }),
};

const client = (id: string, redirectUris: string[], extra: Record<string, unknown> = {}) => ({
  client_id: id,
  client_secret: secret,
  redirect_uris: redirectUris,
  scope: 'openid email',
  ...extra,
});

function clients() {
  return [
    client('pw-a', ['https://a.example/cb'], { subject_type: 'pairwise' }),
    // Same host, so the same sector: the same sub as pw-a.
    client('pw-a2', ['https://a.example/other'], { subject_type: 'pairwise' }),
    client('pw-b', ['https://b.example/cb'], { subject_type: 'pairwise', access_token_format: 'jwt' }),
    client('pw-s', ['https://c.example/cb', 'https://d.example/cb'], {
      subject_type: 'pairwise',
      sector_identifier_uri: `${sectorBase}/good`,
    }),
    client('pub', ['https://pub.example/cb']),
  ];
}

let t: TestServer;
const ua = new UserAgent();

before(async () => {
  sectors = createServer((req, res) => {
    const body = documents[req.url ?? ''];
    if (body === undefined) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  });
  await new Promise<void>((resolve) => sectors.listen(0, '127.0.0.1', resolve));
  sectorBase = `http://127.0.0.1:${(sectors.address() as AddressInfo).port}`;
  t = await startTestServer({
    server: { allowPrivateNetworkFetch: true },
    providers: [{ name: 'default', clients: clients(), users: [alice] }],
  });
});
after(async () => {
  await t.close();
  sectors.close();
});

interface Seen {
  idToken: string;
  userinfo: string;
  introspection: string | undefined;
  username: unknown;
  accessToken: string;
}

/** One code flow for `clientId`, and the `sub` as each of the ID token, UserInfo and introspection say it. */
async function subjectsFor(clientId: string, redirectUri: string): Promise<Seen> {
  const code = await obtainCode(t.issuer, { clientId, redirectUri, scope: 'openid email', ua });
  const auth = { authorization: basic(clientId, secret) };
  const res = await postForm(
    `${t.issuer}/token`,
    { grant_type: 'authorization_code', code, redirect_uri: redirectUri },
    auth,
  );
  assert.equal(res.status, 200, JSON.stringify(res.json));
  const jwks = createLocalJWKSet((await (await fetch(`${t.issuer}/jwk`)).json()) as JSONWebKeySet);
  const { payload } = await jwtVerify(res.json.id_token as string, jwks, {
    issuer: t.issuer,
    audience: clientId,
  });
  const accessToken = res.json.access_token as string;
  const info = (await (
    await fetch(`${t.issuer}/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } })
  ).json()) as { sub: string };
  const introspected = await postForm(`${t.issuer}/introspect`, { token: accessToken }, auth);
  assert.equal(introspected.json.active, true);
  return {
    idToken: payload.sub as string,
    userinfo: info.sub,
    introspection: introspected.json.sub as string | undefined,
    username: introspected.json.username,
    accessToken,
  };
}

describe('pairwise subjects', () => {
  const subs = new Map<string, Seen>();

  test('ID token, UserInfo and introspection agree on the sub, per client', async () => {
    for (const [id, uri] of [
      ['pw-a', 'https://a.example/cb'],
      ['pw-a2', 'https://a.example/other'],
      ['pw-b', 'https://b.example/cb'],
      ['pw-s', 'https://d.example/cb'],
      ['pub', 'https://pub.example/cb'],
    ] as const) {
      const seen = await subjectsFor(id, uri);
      assert.equal(seen.userinfo, seen.idToken, `${id}: UserInfo sub`);
      assert.equal(seen.introspection, seen.idToken, `${id}: introspection sub`);
      subs.set(id, seen);
    }
    // RFC 9068 §2.2: a JWT access token names the user by the same sub.
    const pwB = subs.get('pw-b') as Seen;
    assert.equal(decodeJwt(pwB.accessToken).sub, pwB.idToken);
  });

  test('different sectors get different subs, one sector the same; public clients get the user id', async () => {
    const sub = (id: string) => subs.get(id)?.idToken;
    const user = await t.server.store.findUserByUsername('default', 'alice');
    assert.ok(user);
    assert.equal(sub('pub'), user.id);
    assert.equal(subs.get('pub')?.username, 'alice');
    assert.equal(sub('pw-a'), sub('pw-a2'), 'redirect URIs on one host are one sector');
    const pairwise = ['pw-a', 'pw-b', 'pw-s'].map(sub);
    assert.equal(new Set([...pairwise, user.id]).size, 4, 'no two sectors (nor the user id) alike');
    for (const s of pairwise) assert.match(s ?? '', /^[A-Za-z0-9_-]{43}$/);
    // The introspection answer does not hand a pairwise client's resource server a linkable username.
    assert.equal(subs.get('pw-a')?.username, undefined);
  });

  test('pairwise subs are stable across a restart (the salt is kept in the store)', async () => {
    await t.restart();
    const again = await subjectsFor('pw-a', 'https://a.example/cb');
    assert.equal(again.idToken, subs.get('pw-a')?.idToken);
    const s = await subjectsFor('pw-s', 'https://c.example/cb');
    assert.equal(s.idToken, subs.get('pw-s')?.idToken, 'every redirect URI of a sector gives one sub');
  });
});

describe('sector_identifier_uri (oidcc-registration-sector-uri / -sector-bad, checklist G2)', () => {
  const policy = { allowPrivateNetworks: true, timeoutMs: 2000, maxBytes: 64 * 1024 };

  test('checkSectorIdentifier: a document listing every redirect URI gives its host; others are refused', async () => {
    assert.equal(
      await checkSectorIdentifier(`${sectorBase}/good`, ['https://c.example/cb'], policy),
      '127.0.0.1',
    );
    for (const [path, pattern] of [
      ['/bad', /does not list https:\/\/c\.example\/cb/],
      ['/object', /JSON array/],
      ['/missing', /could not be fetched/],
    ] as const) {
      await assert.rejects(
        checkSectorIdentifier(`${sectorBase}${path}`, ['https://c.example/cb'], policy),
        (err: unknown) => err instanceof SectorIdentifierError && pattern.test(err.message),
        path,
      );
    }
    // The SSRF guard applies: loopback and http are refused unless private-network fetches are allowed.
    await assert.rejects(
      checkSectorIdentifier(`${sectorBase}/good`, ['https://c.example/cb'], {
        ...policy,
        allowPrivateNetworks: false,
      }),
      SectorIdentifierError,
    );
  });

  test('a bad sector document stops the start with a configuration error at its key path', async () => {
    const config = buildConfig({
      server: { host: '127.0.0.1', port: 0, allowPrivateNetworkFetch: true },
      storage: await testStorage(join(t.dir, 'bad-sector')),
      providers: [
        {
          name: 'p',
          clients: [
            client('ok', ['https://c.example/cb'], { sector_identifier_uri: `${sectorBase}/good` }),
            client('bad', ['https://c.example/cb'], {
              subject_type: 'pairwise',
              sector_identifier_uri: `${sectorBase}/bad`,
            }),
          ],
        },
      ],
    });
    await assert.rejects(
      startServer(config, { clock: new ManualClock() }),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.problems.length === 1 &&
        err.problems[0]?.path === 'providers[0].clients[1].sector_identifier_uri',
    );
  });

  test('gatehouse check fetches sector documents too', async () => {
    const file = join(t.dir, 'bad-sector.json');
    writeFileSync(
      file,
      JSON.stringify({
        server: { allowPrivateNetworkFetch: true },
        storage: await testStorage(join(t.dir, 'check')),
        providers: [
          {
            name: 'p',
            clients: [
              client('bad', ['https://c.example/cb'], {
                subject_type: 'pairwise',
                sector_identifier_uri: `${sectorBase}/bad`,
              }),
            ],
          },
        ],
      }),
    );
    // Asynchronously: the sector server runs in this very process.
    const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [bin, 'check', '--config', file],
        { timeout: 60_000 },
        (err, stdout, stderr) =>
          resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
      );
    });
    assert.equal(r.status, 1, r.stdout);
    assert.match(r.stderr, /providers\[0\]\.clients\[0\]\.sector_identifier_uri: .*does not list/);
  });

  test('OIDC Core §8.1: a pairwise client on several hosts needs a sector_identifier_uri, which must be https', () => {
    const problems = (extra: Record<string, unknown>, allowPrivateNetworkFetch = false) => {
      try {
        buildConfig({
          server: { allowPrivateNetworkFetch },
          providers: [
            {
              name: 'p',
              clients: [client('x', ['https://a.example/cb', 'https://b.example/cb'], extra)],
            },
          ],
        });
        return [];
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        return err.problems.map((p) => p.path);
      }
    };
    assert.deepEqual(problems({ subject_type: 'pairwise' }), [
      'providers[0].clients[0].sector_identifier_uri',
    ]);
    assert.deepEqual(problems({ subject_type: 'public' }), []);
    assert.deepEqual(
      problems({ subject_type: 'pairwise', sector_identifier_uri: 'http://sector.example/s' }),
      ['providers[0].clients[0].sector_identifier_uri'],
    );
    assert.deepEqual(
      problems({ subject_type: 'pairwise', sector_identifier_uri: 'https://sector.example/s' }),
      [],
    );
  });
});

describe('subjectFor and isSubjectOf (the one place sub is computed)', () => {
  const pairwise = {
    metadata: { subject_type: 'pairwise' as const, redirect_uris: ['https://a.example/cb'] },
  };
  const sameSector = {
    metadata: { subject_type: 'pairwise' as const, redirect_uris: ['https://a.example:8443/x'] },
  };
  const viaUri = {
    metadata: {
      subject_type: 'pairwise' as const,
      sector_identifier_uri: 'https://a.example/sector.json',
      redirect_uris: ['https://b.example/cb', 'https://c.example/cb'],
    },
  };
  const publicClient = { metadata: { redirect_uris: ['https://a.example/cb'] } };
  const ctx = { pairwiseSalt: 'salt-0123456789abcdef0123456789abcdef' };

  test('the sector is the host; the salt changes every pairwise sub; public is the user id', () => {
    const sub = subjectFor(ctx, pairwise, 'u1');
    assert.equal(subjectFor(ctx, sameSector, 'u1'), sub, 'the port is not part of the sector');
    assert.equal(subjectFor(ctx, viaUri, 'u1'), sub, 'the sector_identifier_uri host is the sector');
    assert.notEqual(subjectFor(ctx, pairwise, 'u2'), sub);
    assert.notEqual(subjectFor({ pairwiseSalt: `${ctx.pairwiseSalt}x` }, pairwise, 'u1'), sub);
    assert.equal(subjectFor(ctx, publicClient, 'u1'), 'u1');
  });

  test('isSubjectOf checks an id_token_hint sub against the user at hand', () => {
    const sub = subjectFor(ctx, pairwise, 'u1');
    assert.equal(isSubjectOf(ctx, pairwise, sub, 'u1'), true);
    assert.equal(isSubjectOf(ctx, pairwise, 'u1', 'u1'), false, 'the raw user id is not the pairwise sub');
    assert.equal(isSubjectOf(ctx, pairwise, sub, 'u2'), false);
    assert.equal(isSubjectOf(ctx, publicClient, 'u1', 'u1'), true);
  });
});
