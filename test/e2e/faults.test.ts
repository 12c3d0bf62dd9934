// Faults (issue 7 point 5): a store that cannot answer gives 503 with Retry-After and recovers without a restart; a
// process killed with SIGKILL loses no token it returned.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { buildConfig } from '../../src/config/load.js';
import { type RunningServer, startServer } from '../../src/server.js';
import { StoreUnavailableError } from '../../src/store/errors.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { translateSqliteError } from '../../src/store/sqlite/unavailable.js';
import { ManualClock } from '../../src/util/clock.js';
import { call } from '../helpers/http.js';
import { alice, demoClient, testStorage } from '../helpers/server.js';
import { authorizeUrl, basic, pkcePair } from '../helpers/user-agent.js';

const machine = {
  client_id: 'machine',
  client_secret: 'machine-secret-0123456789abcdef',
  grant_types: ['client_credentials' as const],
  scope: 'api:read',
};

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-faults-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function tokenRequest(baseUrl: string): Promise<Response> {
  return fetch(`${baseUrl}/oidc/endpoint/default/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: basic(machine.client_id, machine.client_secret),
    },
    body: 'grant_type=client_credentials&scope=api%3Aread',
  });
}

// SQLite on either GATEHOUSE_TEST_STORE: it holds SQLite's write lock (PostgreSQL stopped: postgres.test.ts).
describe('a store that cannot answer', () => {
  let server: RunningServer;
  let store: SqliteStore;
  let locker: Database.Database;
  let issuer: string;
  const logs: string[] = [];

  before(async () => {
    const path = join(dir, 'locked.db');
    // A short busy timeout, so a held lock turns into StoreUnavailableError quickly (the default waits 5 s).
    store = new SqliteStore({ path, busyTimeoutMs: 150 });
    const logStream = new Writable({
      write(chunk, _enc, cb) {
        logs.push(...String(chunk).split('\n').filter(Boolean));
        cb();
      },
    });
    const document = {
      server: { host: '127.0.0.1', port: 0 },
      storage: { driver: 'sqlite' as const, path },
      providers: [{ name: 'default', clients: [machine, demoClient], users: [alice] }],
    };
    const clock = new ManualClock();
    const first = await startServer(buildConfig(document), { store, clock, logStream });
    const port = Number(new URL(first.listenUrl).port);
    await first.close();
    const config = buildConfig({ ...document, server: { ...document.server, port } });
    server = await startServer(config, { store, clock, logStream });
    issuer = `${config.publicUrl}/oidc/endpoint/default`;
    locker = new Database(path);
  });
  after(async () => {
    if (locker.inTransaction) locker.exec('ROLLBACK');
    locker.close();
    await server.close();
    await store.close();
  });

  const authorizeRequest = () =>
    call(
      authorizeUrl(issuer, {
        response_type: 'code',
        client_id: demoClient.client_id,
        redirect_uri: demoClient.redirect_uris[0] as string,
        scope: 'openid',
        state: 's',
        code_challenge: pkcePair().challenge,
        code_challenge_method: 'S256',
      }),
    );

  test('answers 503 temporarily_unavailable with Retry-After while locked, and recovers when the lock goes', async () => {
    assert.equal((await tokenRequest(server.listenUrl)).status, 200);
    assert.equal((await call(`${server.listenUrl}/healthz`)).status, 200);

    // Another connection takes the write lock and keeps it past the store's busy timeout.
    locker.exec('BEGIN EXCLUSIVE');
    const token = await tokenRequest(server.listenUrl);
    const body = (await token.json()) as Record<string, unknown>;
    assert.equal(token.status, 503);
    assert.equal(body.error, 'temporarily_unavailable');
    assert.match(token.headers.get('retry-after') ?? '', /^\d+$/);
    assert.equal(token.headers.get('cache-control'), 'no-store');

    const page = await authorizeRequest();
    assert.equal(page.status, 503, 'the authorization endpoint answers with a page, not a redirect');
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(page.headers.get('retry-after') ?? '', /^\d+$/);
    assert.match(page.text, /temporarily/i);
    assert.doesNotMatch(page.text, /SQLITE|\bat \S+:\d+/);

    const health = await call(`${server.listenUrl}/healthz`);
    assert.equal(health.status, 503);
    assert.equal(health.json.status, 'unavailable');

    // The lock goes: the same process answers again, no restart.
    locker.exec('ROLLBACK');
    assert.equal((await tokenRequest(server.listenUrl)).status, 200);
    assert.equal((await authorizeRequest()).status, 303);
    assert.equal((await call(`${server.listenUrl}/healthz`)).status, 200);

    const lines = logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(
      lines.some((l) => l.level === 40 && l.msg === 'store unavailable'),
      'a warning names the condition',
    );
    assert.equal(
      lines.filter((l) => typeof l.level === 'number' && l.level >= 50).length,
      0,
      'no error-level (fault) lines: unavailability is not a bug',
    );
    const text = logs.join('\n');
    assert.doesNotMatch(text, /\n\s+at /, 'no stack traces');
    assert.doesNotMatch(text, new RegExp(machine.client_secret));
  });
});

// SQLite's own error codes and file: nothing here touches PostgreSQL (its errors: test/store/postgres.test.ts).
describe('SQLite failures the store reports as unavailable', () => {
  test('lock, I/O, full-disk and open failures become StoreUnavailableError; other errors stay as they are', () => {
    for (const code of [
      'SQLITE_BUSY',
      'SQLITE_BUSY_SNAPSHOT',
      'SQLITE_IOERR_WRITE',
      'SQLITE_FULL',
      'SQLITE_CANTOPEN',
    ])
      assert.ok(
        translateSqliteError(Object.assign(new Error('x'), { code })) instanceof StoreUnavailableError,
        code,
      );
    const constraint = Object.assign(new Error('x'), { code: 'SQLITE_CONSTRAINT_PRIMARYKEY' });
    assert.equal(translateSqliteError(constraint), constraint);
    // A path that cannot be opened as a database (here, a folder).
    assert.throws(() => new SqliteStore({ path: dir }), StoreUnavailableError);
  });
});

// The hang is a wrapper around the store, alike for either driver: SQLite on either GATEHOUSE_TEST_STORE.
describe('a store that hangs', () => {
  test('/healthz answers 503 after its short deadline instead of hanging with the store', async () => {
    const path = join(dir, 'hanging.db');
    const real = new SqliteStore({ path });
    // A database that stopped answering (a network partition to PostgreSQL): ping never settles.
    const hanging = new Proxy(real, {
      get: (target, name, receiver) =>
        name === 'ping' ? () => new Promise<void>(() => undefined) : Reflect.get(target, name, receiver),
    });
    const server = await startServer(
      buildConfig({
        server: { host: '127.0.0.1', port: 0 },
        storage: { driver: 'sqlite', path },
        providers: [{ name: 'default', clients: [machine], users: [] }],
      }),
      { store: hanging, logStream: new Writable({ write: (_c, _e, cb) => cb() }) },
    );
    try {
      const health = await call(`${server.listenUrl}/healthz`);
      assert.equal(health.status, 503);
      assert.match(health.headers.get('retry-after') ?? '', /^\d+$/);
    } finally {
      await server.close();
      await real.close();
    }
  });
});

describe('SIGKILL', () => {
  const bin = join(import.meta.dirname, '..', '..', 'bin', 'gatehouse.js');
  let configFile: string;
  const children: ChildProcess[] = [];

  before(async () => {
    configFile = join(dir, 'kill.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        server: { host: '127.0.0.1', port: 0 },
        // The store under test: a SQLite file, or PostgreSQL with GATEHOUSE_TEST_STORE=postgres.
        storage: await testStorage(join(dir, 'kill')),
        providers: [{ name: 'default', clients: [machine], users: [] }],
      }),
    );
  });
  after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  async function serve(): Promise<{ child: ChildProcess; url: string }> {
    const child = spawn(process.execPath, [bin, 'serve', '--config', configFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    child.stderr?.on('data', (d) => {
      out += d;
    });
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line: ${out}`)), 20000);
      child.stdout?.on('data', (d) => {
        out += d;
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1] as string);
        }
      });
      child.on('exit', () => reject(new Error(`exited: ${out}`)));
    });
    return { child, url };
  }

  test('every token returned before a SIGKILL mid-load is still active after a restart', async () => {
    const first = await serve();
    const issued: string[] = [];
    let killed = false;
    let inFlight = 0;
    let inFlightAtKill = 0;
    const exited = new Promise((resolve) => first.child.on('exit', resolve));
    // Eight clients keep requesting; the process dies under them once forty tokens have been returned.
    const worker = async () => {
      while (!killed) {
        inFlight++;
        try {
          const res = await tokenRequest(first.url);
          const json = (await res.json()) as { access_token?: string };
          if (res.status === 200 && json.access_token) issued.push(json.access_token);
        } catch {
          // In flight at the kill: never answered, so nothing was promised.
        }
        inFlight--;
        if (issued.length >= 40 && !killed) {
          killed = true;
          inFlightAtKill = inFlight;
          first.child.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    await exited;
    assert.equal(first.child.signalCode, 'SIGKILL');
    assert.ok(issued.length >= 40);
    assert.ok(inFlightAtKill > 0, 'killed with requests in flight');

    const second = await serve();
    try {
      for (const token of issued) {
        const res = await fetch(`${second.url}/oidc/endpoint/default/introspect`, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: basic(machine.client_id, machine.client_secret),
          },
          body: new URLSearchParams({ token }).toString(),
        });
        assert.equal(res.status, 200);
        assert.equal(((await res.json()) as { active: boolean }).active, true, 'a returned token survives');
      }
    } finally {
      const done = new Promise((resolve) => second.child.on('exit', resolve));
      second.child.kill('SIGTERM');
      await done;
    }
  });
});
