// A real nginx terminating TLS in front of two `gatehouse serve` processes on one store (issue 7 point 8; docs/nginx.conf).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { checkServerIdentity } from 'node:tls';
import * as oidc from 'openid-client';
import { makeCertificate } from '../helpers/certificate.js';
import { type RunningPostgres, startPostgres } from '../helpers/postgres.js';
import { freePorts, readmeSection, repoRoot, substitute, testedBlocks } from '../helpers/readme-recipes.js';
import { signIn, UserAgent } from '../helpers/user-agent.js';

/** Debian's nginx; never a downloaded one. `.ci/run` installs it when missing. */
const NGINX = '/usr/sbin/nginx';

/** Missing nginx skips this suite on a developer machine; in CI (CI=true) the suite runs and fails instead. */
const skip: string | false =
  !existsSync(NGINX) && process.env.CI !== 'true'
    ? `nginx not found at ${NGINX}: install Debian's package (apt-get install nginx) to run the proxy tests`
    : false;

const bin = join(repoRoot, 'bin', 'gatehouse.js');
const client = {
  id: 'web',
  secret: 'web-secret-0123456789abcdef-proxy',
  redirectUri: 'https://rp.example/cb',
};

/** One `gatehouse serve` child: its loopback URL and every line it printed (JSON request lines among them). */
interface Gatehouse {
  child: ChildProcess;
  url: string;
  lines: string[];
}

let dir: string;
let ca: Buffer;
let cert: string;
let key: string;
const originalFetch = globalThis.fetch;

/**
 * fetch over node:https trusting our test CA: Node 20's built-in fetch takes no CA without undici's Agent (not a
 * dependency). http URLs go to the built-in fetch. Redirects are never followed (every caller asks for `manual`).
 */
function fetchTrusting(trusted: Buffer): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    if (url.protocol !== 'https:') return originalFetch(input, init);
    const body = request.body ? Buffer.from(await request.arrayBuffer()) : undefined;
    return new Promise<Response>((resolve, reject) => {
      const req = https.request(
        url,
        {
          method: request.method,
          headers: Object.fromEntries(request.headers),
          ca: trusted,
          // A forged Host header must not change which name the certificate is checked against.
          checkServerIdentity: (_host, certificate) => checkServerIdentity(url.hostname, certificate),
          ...(init?.signal ? { signal: init.signal } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const headers = new Headers();
            for (const [name, value] of Object.entries(res.headers)) {
              for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value])
                headers.append(name, v);
            }
            const status = res.statusCode ?? 0;
            const empty = status === 204 || status === 304 || request.method === 'HEAD';
            resolve(new Response(empty ? null : Buffer.concat(chunks), { status, headers }));
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  };
}

/** Starts `gatehouse serve` on a free port and resolves once it prints its `listening on` line. */
async function startGatehouse(config: string, env: Record<string, string>): Promise<Gatehouse> {
  const child = spawn(process.execPath, [bin, 'serve', '--config', config], {
    // Port 0: each process picks a free one, from the environment as the README's deployment does.
    env: { ...process.env, WEB_SECRET: client.secret, PORT: '0', ...env },
  });
  const lines: string[] = [];
  let partial = '';
  const collect = (d: Buffer) => {
    const parts = (partial + String(d)).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line: ${lines.join('\n')}`)), 30000);
    child.once('exit', (code) => reject(new Error(`gatehouse exited (${code}): ${lines.join('\n')}`)));
    child.stdout.on('data', () => {
      const m = /listening on (http:\/\/\S+)/.exec(lines.join('\n'));
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    });
  });
  return { child, url, lines };
}

/** Waits until nginx answers over TLS (it has no "ready" line). */
async function waitForNginx(nginx: ChildProcess, origin: string, log: () => string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (nginx.exitCode !== null) throw new Error(`nginx exited: ${log()}`);
    try {
      await fetch(`${origin}/healthz`);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`nginx did not answer: ${log()}`);
}

function stop(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

/** The access log lines nginx wrote (docs/nginx.conf's `gatehouse` format: paths and upstream, no query). */
function accessLog(folder: string): string[] {
  const file = join(folder, 'access.log');
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

/** The JSON request lines a Gatehouse process logged. */
function requestPaths(g: Gatehouse): string[] {
  const out: string[] = [];
  for (const line of g.lines) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { msg?: string; path?: string };
    if (entry.msg === 'request' && entry.path) out.push(entry.path);
  }
  return out;
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-proxy-'));
  // nginx workers drop to `nobody` when started as root: they must reach each suite's temp paths below.
  chmodSync(dir, 0o755);
  ({ cert, key, ca } = makeCertificate(dir));
  // The helpers' UserAgent calls the global fetch. `node --test` runs each file in its own process, so this swap
  // reaches this file only; `after` puts the original back.
  globalThis.fetch = fetchTrusting(ca);
});

after(() => {
  globalThis.fetch = originalFetch;
  rmSync(dir, { recursive: true, force: true });
});

test('the README quotes docs/nginx.conf exactly', () => {
  const quoted = testedBlocks(readmeSection('Deployment')).get('nginx');
  assert.equal(quoted, readFileSync(join(repoRoot, 'docs', 'nginx.conf'), 'utf8').trimEnd());
});

/** The suite for one store both processes share: a SQLite file (WAL), or a PostgreSQL database. */
function proxySuite(driver: 'sqlite' | 'postgres'): void {
  describe(`nginx with TLS in front of two Gatehouse processes on ${driver} (docs/nginx.conf)`, {
    skip,
  }, () => {
    let folder: string;
    let postgres: RunningPostgres | undefined;
    let nginx: ChildProcess | undefined;
    let nginxLog = '';
    const processes: Gatehouse[] = [];
    let publicOrigin: string;
    let issuer: string;

    before(async () => {
      folder = join(dir, driver);
      mkdirSync(folder, { mode: 0o755 });
      const [nginxPort] = await freePorts(1);
      publicOrigin = `https://127.0.0.1:${nginxPort}`;
      issuer = `${publicOrigin}/oidc/endpoint/default`;

      const env: Record<string, string> = {};
      let storage = `{ driver: sqlite, path: ${join(folder, 'gatehouse.db')} }`;
      if (driver === 'postgres') {
        postgres = await startPostgres();
        env.DATABASE_URL = await postgres.createDatabase();
        storage = '{ driver: postgres, url: "${DATABASE_URL}" }';
      }
      // Both processes share one configuration and one store; neither knows about the other.
      const config = join(folder, 'gatehouse.yaml');
      writeFileSync(
        config,
        `server: { host: 127.0.0.1, port: "\${PORT}", publicUrl: "${publicOrigin}", trustProxy: 1 }
storage: ${storage}
providers:
  - name: default
    clients:
      - client_id: ${client.id}
        client_secret: \${WEB_SECRET}
        redirect_uris: [${client.redirectUri}]
        grant_types: [authorization_code, refresh_token]
        scope: openid profile email offline_access
    users:
      - username: alice
        password: alice-password
        claims: { name: Alice Example, email: alice@example.com }
`,
      );
      // One after the other: the first start makes the store's keys and secrets, the second finds them.
      processes.push(await startGatehouse(config, env));
      processes.push(await startGatehouse(config, env));
      const [a, b] = processes as [Gatehouse, Gatehouse];

      const site = substitute(readFileSync(join(repoRoot, 'docs', 'nginx.conf'), 'utf8'), [
        ['server 127.0.0.1:8081;', `server ${new URL(a.url).host};`],
        ['server 127.0.0.1:8082;', `server ${new URL(b.url).host};`],
        ['listen 443 ssl;', `listen 127.0.0.1:${nginxPort} ssl;`],
        ['/etc/ssl/gatehouse/cert.pem', cert],
        ['/etc/ssl/gatehouse/key.pem', key],
        ['/var/log/nginx/gatehouse.access.log', join(folder, 'access.log')],
      ]);
      writeFileSync(join(folder, 'gatehouse.conf'), site);
      // What Debian's /etc/nginx/nginx.conf provides around a conf.d file, with every path in our folder.
      writeFileSync(
        join(folder, 'nginx.conf'),
        `daemon off;
worker_processes 1;
pid ${join(folder, 'nginx.pid')};
error_log ${join(folder, 'error.log')} warn;
events { worker_connections 64; }
http {
    client_body_temp_path ${join(folder, 'client_body')};
    proxy_temp_path ${join(folder, 'proxy')};
    fastcgi_temp_path ${join(folder, 'fastcgi')};
    uwsgi_temp_path ${join(folder, 'uwsgi')};
    scgi_temp_path ${join(folder, 'scgi')};
    access_log off;
    include ${join(folder, 'gatehouse.conf')};
}
`,
      );
      const started = spawn(NGINX, [
        '-p',
        folder,
        '-c',
        join(folder, 'nginx.conf'),
        '-e',
        join(folder, 'error.log'),
      ]);
      nginx = started;
      started.stderr.on('data', (d) => {
        nginxLog += d;
      });
      await waitForNginx(started, publicOrigin, () => nginxLog);
    });

    after(async () => {
      if (nginx) await stop(nginx, 'SIGTERM');
      await Promise.all(processes.map((g) => stop(g.child, 'SIGTERM')));
      await postgres?.stop();
    });

    test('discovery through nginx names the https issuer, whatever Host or X-Forwarded-* the client sends', async () => {
      for (const headers of [{}, { host: 'evil.example', 'x-forwarded-proto': 'http' }] as Record<
        string,
        string
      >[]) {
        const res = await fetch(`${issuer}/.well-known/openid-configuration`, { headers });
        assert.equal(res.status, 200);
        const doc = (await res.json()) as Record<string, string>;
        assert.equal(doc.issuer, issuer);
        assert.equal(doc.token_endpoint, `${issuer}/token`);
        assert.equal(doc.jwks_uri, `${issuer}/jwk`);
      }
      // Plain http to the TLS port is refused by nginx, never answered by Gatehouse.
      const plain = await originalFetch(`${publicOrigin.replace('https:', 'http:')}/healthz`);
      assert.equal(plain.status, 400);
    });

    test('the login page through nginx sets __Host- cookies that are Secure, with HSTS', async () => {
      const ua = new UserAgent();
      const start = await ua.get(
        `${issuer}/authorize?${new URLSearchParams({
          response_type: 'code',
          client_id: client.id,
          redirect_uri: client.redirectUri,
          scope: 'openid',
          state: 's',
        })}`,
      );
      assert.equal(start.status, 303);
      const interaction = start.headers.get('location') ?? '';
      assert.ok(interaction.startsWith(`${issuer}/interaction/`), interaction);
      assert.match(start.headers.get('strict-transport-security') ?? '', /max-age=\d+/);
      const cookies = start.headers.getSetCookie();
      assert.ok(cookies.length > 0);
      for (const c of cookies) {
        assert.match(c, /^__Host-/);
        assert.match(c, /; Secure/i);
        assert.match(c, /; HttpOnly/i);
        assert.doesNotMatch(c, /; Domain=/i);
      }
      const page = await ua.get(interaction);
      assert.equal(page.status, 200);
      assert.match(page.body, /name="password"/);
      assert.equal(page.headers.get('cache-control'), 'no-store');
    });

    test("openid-client's code flow through nginx, its requests alternating between the processes", async () => {
      const fetchWithCa = fetchTrusting(ca);
      const config = await oidc.discovery(
        new URL(issuer),
        client.id,
        client.secret,
        oidc.ClientSecretBasic(client.secret),
        { [oidc.customFetch]: fetchWithCa },
      );
      config[oidc.customFetch] = fetchWithCa;
      const logged = accessLog(folder).length;
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const nonce = oidc.randomNonce();
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: client.redirectUri,
        scope: 'openid profile email offline_access',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      });
      const callback = await signIn(new UserAgent(), url.href);
      assert.equal(callback.searchParams.get('iss'), issuer);
      const tokens = await oidc.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: verifier,
        expectedState: state,
        expectedNonce: nonce,
      });
      const claims = tokens.claims();
      assert.equal(claims?.iss, issuer);
      const info = await oidc.fetchUserInfo(config, tokens.access_token, claims?.sub as string);
      assert.equal(info.email, 'alice@example.com');
      assert.ok(tokens.refresh_token);
      const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token);
      assert.ok(refreshed.access_token);
      const again = await oidc.fetchUserInfo(config, refreshed.access_token, claims?.sub as string);
      assert.equal(again.name, 'Alice Example');

      // nginx's log (in request order): round-robin without sticky sessions sent each step to the other
      // process, so the login form was shown by one process and accepted by the other, the code made by one
      // redeemed by the other, and so on.
      const flow = accessLog(folder)
        .slice(logged)
        .map((line) => {
          const m = /"(\w+) (\S+)" (\d+) \d+ upstream=(\S+) /.exec(line);
          assert.ok(m, line);
          return { method: m[1], path: m[2] ?? '', status: Number(m[3]), upstream: m[4] ?? '' };
        });
      const upstreams = processes.map((g) => new URL(g.url).host);
      assert.ok(flow.length >= 8, JSON.stringify(flow));
      for (const step of flow) assert.ok(upstreams.includes(step.upstream), JSON.stringify(step));
      for (let i = 1; i < flow.length; i++)
        assert.notEqual(flow[i]?.upstream, flow[i - 1]?.upstream, JSON.stringify(flow));
      for (const path of ['/interaction/', '/token', '/userinfo'])
        assert.ok(flow.some((s) => s.path.includes(path)));
      // And the processes' own logs agree: each served part of the flow (a token or UserInfo request among it).
      for (const g of processes) {
        const served = requestPaths(g);
        assert.ok(
          served.some((p) => p.endsWith('/token') || p.endsWith('/userinfo')),
          `${g.url} served no token or UserInfo request`,
        );
        assert.ok(served.some((p) => p.includes('/interaction/')));
      }
    });
  });
}

proxySuite('sqlite');
proxySuite('postgres');
