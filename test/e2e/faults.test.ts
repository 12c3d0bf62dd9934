// Faults (issue 7 point 5, issue 8 point 9): a store that cannot answer gives 503 with Retry-After and recovers without
// a restart; a process killed with SIGKILL under load, three times over, loses no token it returned.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
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
import { authorizeUrl, basic, pkcePair, signIn, UserAgent } from '../helpers/user-agent.js';

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

  const authorizationUrl = () =>
    authorizeUrl(issuer, {
      response_type: 'code',
      client_id: demoClient.client_id,
      redirect_uri: demoClient.redirect_uris[0] as string,
      scope: 'openid',
      state: 's',
      code_challenge: pkcePair().challenge,
      code_challenge_method: 'S256',
    });
  // A signed-in browser: its /authorize reads the session from the store (an anonymous one may need no store at all,
  // its pending request travelling with the browser).
  const browser = new UserAgent();
  const authorizeRequest = () => call(authorizationUrl(), { headers: { cookie: browser.cookieHeader() } });

  test('answers 503 temporarily_unavailable with Retry-After while locked, and recovers when the lock goes', async () => {
    assert.ok((await signIn(browser, authorizationUrl())).searchParams.get('code'));
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
    // One fixed port for every process: the issuer, and with it the browser's session and codes, stay the same.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    writeFileSync(
      configFile,
      JSON.stringify({
        server: { host: '127.0.0.1', port },
        // The store under test: a SQLite file, or PostgreSQL with GATEHOUSE_TEST_STORE=postgres.
        storage: await testStorage(join(dir, 'kill')),
        providers: [
          {
            name: 'default',
            clients: [machine, demoClient],
            users: [alice],
            // The load sends /authorize faster than a browser would; its flood limit is not under test here.
            throttle: { requests: { authorize: { perSecond: 100_000, burst: 100_000 } } },
          },
        ],
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

  /** A token the server returned in a 200 answer, with the client it belongs to. */
  interface Returned {
    token: string;
    kind: 'access' | 'refresh';
    client: { client_id: string; client_secret: string };
  }

  const redirectUri = demoClient.redirect_uris[0] as string;
  const codeRequest = (issuer: string) =>
    authorizeUrl(issuer, {
      response_type: 'code',
      client_id: demoClient.client_id,
      redirect_uri: redirectUri,
      scope: 'openid offline_access',
      state: 's',
    });

  /** One code flow through the signed-in browser: a code from /authorize (consent remembered), then its exchange. */
  async function codeExchange(url: string, ua: UserAgent, returned: Returned[]): Promise<void> {
    const issuer = `${url}/oidc/endpoint/default`;
    const page = await ua.get(codeRequest(issuer));
    const location = page.headers.get('location');
    const code = location ? new URL(location).searchParams.get('code') : null;
    assert.ok(code, `a code straight from /authorize: ${page.status} ${location}`);
    const res = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basic(demoClient.client_id, demoClient.client_secret),
      },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: redirectUri,
      }).toString(),
    });
    const json = (await res.json()) as { access_token?: string; refresh_token?: string };
    assert.equal(res.status, 200, JSON.stringify(json));
    assert.ok(json.access_token && json.refresh_token);
    returned.push(
      { token: json.access_token, kind: 'access', client: demoClient },
      { token: json.refresh_token, kind: 'refresh', client: demoClient },
    );
  }

  async function clientCredentials(url: string, returned: Returned[]): Promise<void> {
    const res = await tokenRequest(url);
    const json = (await res.json()) as { access_token?: string };
    assert.equal(res.status, 200, JSON.stringify(json));
    assert.ok(json.access_token);
    returned.push({ token: json.access_token, kind: 'access', client: machine });
  }

  /**
   * Sixteen clients keep requesting tokens (code exchanges through a signed-in browser, and client_credentials); the
   * process dies under them once `quota` more tokens have been returned. Answers that never came promised nothing.
   */
  async function killUnderLoad(ua: UserAgent, returned: Returned[], quota: number): Promise<number> {
    const server = await serve();
    const exited = new Promise((resolve) => server.child.on('exit', resolve));
    const target = returned.length + quota;
    let killed = false;
    let inFlight = 0;
    let inFlightAtKill = 0;
    const worker = async (n: number) => {
      for (let i = 0; !killed; i++) {
        inFlight++;
        try {
          if ((n + i) % 2 === 0) await codeExchange(server.url, ua, returned);
          else await clientCredentials(server.url, returned);
        } catch (err) {
          // Refused or cut off by the kill; before it, every request must succeed.
          if (!killed) throw err;
        }
        inFlight--;
        if (returned.length >= target && !killed) {
          killed = true;
          inFlightAtKill = inFlight;
          server.child.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: 16 }, (_v, n) => worker(n)));
    await exited;
    assert.equal(server.child.signalCode, 'SIGKILL');
    return inFlightAtKill;
  }

  test('every token returned before each of three SIGKILLs under load is still active after a restart, and every refresh token refreshes once', async (ctx) => {
    const returned: Returned[] = [];
    // One sign-in (and consent) before the load: the session and the remembered consent live in the store, so the
    // browser gets codes straight from /authorize from every process, the restarted ones included.
    const ua = new UserAgent();
    {
      const first = await serve();
      const cb = await signIn(ua, codeRequest(`${first.url}/oidc/endpoint/default`));
      assert.ok(cb.searchParams.get('code'));
      const done = new Promise((resolve) => first.child.on('exit', resolve));
      first.child.kill('SIGTERM');
      await done;
    }
    for (let kill = 1; kill <= 3; kill++) {
      const inFlight = await killUnderLoad(ua, returned, 60);
      assert.ok(inFlight > 0, `kill ${kill}: killed with requests in flight`);
      ctx.diagnostic(
        `kill ${kill}: ${returned.length} tokens returned so far, ${inFlight} requests in flight`,
      );
    }
    const refresh = returned.filter((r) => r.kind === 'refresh');
    assert.ok(refresh.length >= 20, `${refresh.length} refresh tokens from code exchanges`);
    assert.ok(returned.length - refresh.length >= 60, 'access tokens');

    const last = await serve();
    const issuer = `${last.url}/oidc/endpoint/default`;
    try {
      const inactive: string[] = [];
      // Every token, eight at a time: introspection answers active for each.
      for (let i = 0; i < returned.length; i += 8) {
        await Promise.all(
          returned.slice(i, i + 8).map(async (r) => {
            const res = await fetch(`${issuer}/introspect`, {
              method: 'POST',
              headers: {
                'content-type': 'application/x-www-form-urlencoded',
                authorization: basic(r.client.client_id, r.client.client_secret),
              },
              body: new URLSearchParams({ token: r.token }).toString(),
            });
            assert.equal(res.status, 200);
            if (((await res.json()) as { active: boolean }).active !== true) inactive.push(r.kind);
          }),
        );
      }
      assert.deepEqual(inactive, [], `of ${returned.length} returned tokens, these were lost`);
      // And every refresh token still does its job, once.
      for (const r of refresh) {
        const res = await fetch(`${issuer}/token`, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: basic(demoClient.client_id, demoClient.client_secret),
          },
          body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: r.token }).toString(),
        });
        assert.equal(res.status, 200, `a returned refresh token refreshes: ${await res.text()}`);
      }
    } finally {
      const done = new Promise((resolve) => last.child.on('exit', resolve));
      last.child.kill('SIGTERM');
      await done;
    }
  });
});
