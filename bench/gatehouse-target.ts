// Gatehouse as a bench target (issue 9 point 1): `bin/gatehouse.js serve` with a generated config on the server
// core, durable SQLite (default synchronous) or PostgreSQL; codes and tokens minted through the store API.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { storageSchema } from '../src/config/schema.js';
import { sha256 } from '../src/crypto/hash.js';
import { randomToken } from '../src/crypto/random.js';
import { openStore } from '../src/store/open.js';
import type { IssuedTokens, Store } from '../src/store/types.js';
import { benchClient, benchUser } from './fixtures.js';
import { serverCore } from './pin.js';
import {
  type Alg,
  discover,
  freePort,
  type MintKind,
  startPinned,
  stopChild,
  type Target,
} from './target.js';

export interface GatehouseOptions {
  alg: Alg;
  /** Undefined: SQLite in a fresh temporary folder. */
  postgresUrl: string | undefined;
  /** server.workers (default 1). */
  workers?: number;
  /** Pinned to the server core (default); false: unpinned, every core (the workers measurement). */
  pinned?: boolean;
}

/** BENCH_PROFILE_DIR: the server writes a V8 CPU profile there when it stops (for finding where time goes). */
function profileArgs(): string[] {
  const dir = process.env.BENCH_PROFILE_DIR;
  return dir ? ['--cpu-prof', '--cpu-prof-dir', dir] : [];
}

export async function startGatehouse(options: GatehouseOptions): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
  const storage =
    options.postgresUrl === undefined
      ? { driver: 'sqlite' as const, path: join(dir, 'bench.db') }
      : { driver: 'postgres' as const, url: options.postgresUrl };
  const config = {
    // The default log level (info) unless BENCH_LOG_LEVEL says otherwise: what a deployment runs with.
    server: {
      host: '127.0.0.1',
      port: await freePort(),
      logLevel: process.env.BENCH_LOG_LEVEL ?? 'info',
      workers: options.workers ?? 1,
    },
    storage,
    providers: [
      {
        name: 'bench',
        signingAlg: options.alg,
        clients: [
          {
            client_id: benchClient.id,
            client_secret: benchClient.secret,
            token_endpoint_auth_method: 'client_secret_basic',
            redirect_uris: [benchClient.redirectUri],
            grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
            scope: 'openid profile email offline_access',
          },
        ],
        users: [
          {
            username: benchUser.username,
            password: benchUser.password,
            sub: benchUser.sub,
            claims: benchUser.claims,
          },
        ],
      },
    ],
  };
  const configFile = join(dir, 'bench.yaml');
  // JSON is YAML.
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const bin = fileURLToPath(new URL('../bin/gatehouse.js', import.meta.url));
  const { child, found } = await startPinned(
    [...profileArgs(), bin, 'serve', '--config', configFile],
    { NODE_ENV: 'production' },
    (line) => /listening on (http:\/\/\S+)/.exec(line)?.[1],
    options.pinned === false ? null : serverCore,
  );
  if (child.pid === undefined) throw new Error('gatehouse has no pid');
  const issuer = `${found}/oidc/endpoint/bench`;
  let store: Store | undefined;
  try {
    store = await openStore(storageSchema.parse(storage));
    const user = await store.findUserByUsername('bench', benchUser.username);
    if (!user) throw new Error('the bench user is missing from the store');
    const opened = store;
    return {
      label: 'gatehouse',
      issuer,
      pid: child.pid,
      endpoints: await discover(issuer),
      mint: (kind, n) => mintGatehouse(opened, user.id, kind, n),
      async stop() {
        await stopChild(child);
        await opened.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await stopChild(child);
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Rows as the authorization endpoint (codes) or a code exchange (refresh and access tokens) would have written them. */
async function mintGatehouse(store: Store, userId: string, kind: MintKind, n: number): Promise<string[]> {
  const now = Math.floor(Date.now() / 1000);
  const one = async (): Promise<string> => {
    const value = randomToken();
    const grantId = randomUUID();
    if (kind === 'code') {
      await store.insertCode('bench', {
        codeHash: sha256(value),
        grantId,
        clientId: benchClient.id,
        userId,
        redirectUri: benchClient.redirectUri,
        scope: ['openid', 'email'],
        nonce: 'n',
        codeChallenge: undefined,
        resource: [],
        authTime: now,
        details: {},
        expiresAt: now + 600,
        consumedAt: undefined,
      });
      return value;
    }
    const refresh = kind === 'refresh';
    const scope = refresh ? ['openid', 'email', 'offline_access'] : ['openid', 'email'];
    const refreshHash = refresh ? sha256(value) : undefined;
    const tokens: IssuedTokens = {
      accessToken: {
        tokenHash: refresh ? sha256(randomToken()) : sha256(value),
        grantId,
        clientId: benchClient.id,
        userId,
        scope,
        audience: [],
        refreshHash,
        details: {},
        issuedAt: now,
        expiresAt: now + 3600,
        revokedAt: undefined,
      },
      refreshToken:
        refreshHash === undefined
          ? undefined
          : {
              tokenHash: refreshHash,
              grantId,
              clientId: benchClient.id,
              userId,
              scope,
              audience: [],
              authTime: now,
              details: {},
              issuedAt: now,
              parentHash: undefined,
              expiresAt: now + 14 * 86400,
              idleExpiresAt: now + 7 * 86400,
              consumedAt: undefined,
              revokedAt: undefined,
            },
    };
    await store.insertTokens('bench', tokens);
    return value;
  };
  const out: string[] = [];
  // Batches of concurrent inserts: PostgreSQL's pool works in parallel; SQLite's are synchronous anyway.
  for (let done = 0; done < n; done += 50) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(50, n - done) }, one))));
  }
  return out;
}
