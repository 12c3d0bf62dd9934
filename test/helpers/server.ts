// Test harness: a real Gatehouse server on loopback, on SQLite or PostgreSQL (GATEHOUSE_TEST_STORE), with its log lines.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { buildConfig, type Config } from '../../src/config/load.js';
import { type ConfigInput, storageSchema } from '../../src/config/schema.js';
import { type RunningServer, startServer } from '../../src/server.js';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/types.js';
import { ManualClock } from '../../src/util/clock.js';
import { type RunningPostgres, startPostgres } from './postgres.js';

/** Which store the e2e tests run on: SQLite unless GATEHOUSE_TEST_STORE=postgres (`npm run test:postgres`). */
export const testStoreDriver: 'sqlite' | 'postgres' =
  process.env.GATEHOUSE_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';

/** A storage block of either driver, as a test writes it into a config file or passes it to buildConfig. */
export type TestStorage = { driver: 'sqlite'; path: string } | { driver: 'postgres'; url: string };

// One PostgreSQL server per test process (node:test runs each file in a process of its own), started on first use;
// one database per data folder, so a restart or a second server on the same `dir` sees the same data, as it does
// with the SQLite file in that folder.
let postgres: Promise<RunningPostgres> | undefined;
const databases = new Map<string, Promise<string>>();
/** Test servers on PostgreSQL not yet closed: the cluster outlives them all. */
let openServers = 0;
let finishing = false;

async function stopPostgres(): Promise<void> {
  if (postgres === undefined) return;
  const running = postgres;
  postgres = undefined;
  databases.clear();
  await (await running).stop();
}

// Registered at import, so on the root test, where it runs before the test file's own root `after` hooks (in the
// order registered): it stops the cluster at once only if no test server is still open; otherwise the last
// `close()` does. Stopped, its child process no longer keeps this process alive.
after(async () => {
  finishing = true;
  if (openServers === 0) await stopPostgres();
});

/**
 * The storage block for the data folder `dir` on the store the tests run on: its SQLite file `gatehouse.db`, or its
 * own PostgreSQL database (the same one for every call with the same `dir`). Tests that write a config file for the
 * CLI or a second server, or open the store themselves (`openStore`), take it from here instead of naming a file.
 */
export async function testStorage(dir: string): Promise<TestStorage> {
  if (testStoreDriver === 'sqlite') return { driver: 'sqlite', path: join(dir, 'gatehouse.db') };
  let url = databases.get(dir);
  if (url === undefined) {
    postgres ??= startPostgres();
    const server = postgres;
    url = server.then((s) => s.createDatabase());
    databases.set(dir, url);
  }
  return { driver: 'postgres', url: await url };
}

export const demoClient = {
  client_id: 'web',
  client_secret: 'web-secret-0123456789abcdef',
  // As interface.md's example: a named method is the only one accepted (without it, basic or post would be).
  token_endpoint_auth_method: 'client_secret_basic' as const,
  redirect_uris: ['https://rp.example/cb'],
  grant_types: ['authorization_code', 'refresh_token'] as ('authorization_code' | 'refresh_token')[],
  scope: 'openid profile email address phone offline_access',
};

export const publicClient = {
  client_id: 'spa',
  token_endpoint_auth_method: 'none' as const,
  redirect_uris: ['https://spa.example/cb'],
  grant_types: ['authorization_code', 'refresh_token'] as ('authorization_code' | 'refresh_token')[],
  scope: 'openid profile email offline_access',
};

export const postClient = {
  client_id: 'poster',
  client_secret: 'poster-secret-0123456789abcdef',
  token_endpoint_auth_method: 'client_secret_post' as const,
  redirect_uris: ['https://poster.example/cb'],
  scope: 'openid email',
};

export const alice = {
  username: 'alice',
  password: 'alice-password',
  claims: {
    name: 'Alice Example',
    email: 'alice@example.com',
    email_verified: true,
    phone_number: '+1 555 0100',
    address: { country: 'NL' },
  },
};

export const bob = { username: 'bob', password: 'bob-password', claims: { name: 'Bob' } };

export function defaultProvider(name = 'default'): NonNullable<ConfigInput['providers']>[number] {
  return { name, clients: [demoClient, publicClient, postClient], users: [alice, bob] };
}

export interface TestServer {
  server: RunningServer;
  config: Config;
  baseUrl: string;
  issuer: string;
  /** Every JSON log line the server wrote. */
  logs: string[];
  clock: ManualClock;
  dir: string;
  issuerOf(provider: string): string;
  /** Stops the server and starts a new one on the same database (file or PostgreSQL database) and port. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export interface TestServerOptions {
  providers?: ConfigInput['providers'];
  /** Extra top-level config (merged over the defaults). */
  server?: ConfigInput['server'];
  /** Keep the data folder (for restart tests that build a second server themselves). */
  dir?: string;
}

/** Opens the store of the data folder `dir` (see testStorage) directly, for tests of parts below the server. */
export async function openTestStore(dir: string): Promise<Store> {
  return openStore(storageSchema.parse(await testStorage(dir)));
}

/**
 * Runs one SQL statement on a test's database, for what no store method does (backdating a row, reading what is kept
 * at rest). `?` placeholders on both drivers; answers the rows (none for a statement that returns none). PostgreSQL
 * answers bigint and count(*) as strings: compare through Number().
 */
export async function queryTestDatabase(
  storage: Config['storage'] | TestStorage,
  sql: string,
  params: unknown[] = [],
): Promise<Record<string, unknown>[]> {
  if (storage.driver === 'sqlite') {
    const db = new Database(storage.path);
    try {
      const statement = db.prepare(sql);
      if (statement.reader) return statement.all(...params) as Record<string, unknown>[];
      statement.run(...params);
      return [];
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: storage.url });
  await client.connect();
  try {
    let n = 0;
    const { rows } = await client.query(
      sql.replace(/\?/g, () => `$${++n}`),
      params,
    );
    return rows as Record<string, unknown>[];
  } finally {
    await client.end();
  }
}

/**
 * Everything a test's database keeps at rest, as text, to show a secret is not in it: SQLite's file and its WAL as
 * bytes (freed pages included), or every row of every table of the PostgreSQL database.
 */
export async function databaseText(storage: Config['storage'] | TestStorage): Promise<string> {
  if (storage.driver === 'sqlite') {
    const file = storage.path;
    return ['', '-wal']
      .map((suffix) => {
        try {
          return readFileSync(`${file}${suffix}`).toString('latin1');
        } catch {
          return '';
        }
      })
      .join('');
  }
  const tables = await queryTestDatabase(
    storage,
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
  );
  const parts: string[] = [];
  for (const { table_name } of tables) {
    // Every column's value as the driver returns it (all text or numbers: the schema has no binary column); the
    // name comes from the catalog, quoted as an identifier.
    const name = `"${String(table_name).replaceAll('"', '""')}"`;
    for (const row of await queryTestDatabase(storage, `SELECT * FROM ${name}`))
      parts.push(Object.values(row).map(String).join('\t'));
  }
  return parts.join('\n');
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'gatehouse-test-'));
  const logs: string[] = [];
  const logStream = new Writable({
    write(chunk, _enc, cb) {
      logs.push(
        ...String(chunk)
          .split('\n')
          .filter((l) => l !== ''),
      );
      cb();
    },
  });
  const clock = new ManualClock();
  const document = {
    server: { host: '127.0.0.1', port: 0, ...options.server },
    storage: await testStorage(dir),
    providers: options.providers ?? [defaultProvider()],
  };
  let config = buildConfig(document);
  let server = await startServer(config, { clock, logStream });
  // Port 0 picks a free port; the public URL has to name the real one.
  const port = Number(new URL(server.listenUrl).port);
  if (options.server?.publicUrl === undefined) {
    await server.close();
    config = buildConfig({ ...document, server: { ...document.server, port } });
    server = await startServer(config, { clock, logStream });
  }
  // Counted once it is up (a start that failed leaves nothing to close), uncounted at its first close.
  let counted = false;
  const t: TestServer = {
    server,
    config,
    baseUrl: server.listenUrl,
    issuer: `${config.publicUrl}/oidc/endpoint/${config.providers[0]?.name}`,
    logs,
    clock,
    dir,
    issuerOf: (provider) => `${config.publicUrl}/oidc/endpoint/${provider}`,
    async restart() {
      await t.server.close();
      t.server = await startServer(config, { clock, logStream });
    },
    async close() {
      await t.server.close();
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
      if (counted) {
        counted = false;
        if (--openServers === 0 && finishing) await stopPostgres();
      }
    },
  };
  if (document.storage.driver === 'postgres') {
    counted = true;
    openServers++;
  }
  return t;
}
