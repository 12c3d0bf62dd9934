// Test harness: a real Gatehouse server on a loopback port, with its own SQLite file and captured log lines.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { buildConfig, type Config } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { type RunningServer, startServer } from '../../src/server.js';
import { ManualClock } from '../../src/util/clock.js';

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
  /** Stops the server and starts a new one on the same database file and port. */
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
    storage: { driver: 'sqlite', path: join(dir, 'gatehouse.db') },
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
    },
  };
  return t;
}
