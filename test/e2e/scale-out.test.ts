// Three `gatehouse serve` processes on one PostgreSQL (issue 7 points 2, 3, 5): they start together and converge on
// one set of keys and secrets, a session made on one is good on the others, a code raced across all three is
// redeemed once and its replay revokes the tokens everywhere, and PostgreSQL stopped gives 503s that heal by
// themselves.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type RunningPostgres, startPostgres } from '../helpers/postgres.js';
import { freePorts, repoRoot } from '../helpers/readme-recipes.js';
import { authorizeUrl, basic, obtainCode, postForm, UserAgent } from '../helpers/user-agent.js';

const bin = join(repoRoot, 'bin', 'gatehouse.js');
const web = { id: 'web', secret: 'web-secret-0123456789abcdefghijkl', redirect: 'https://rp.example/cb' };

interface Process {
  child: ChildProcess;
  /** Where this process listens; every process publishes the same issuer. */
  base: string;
}

let folder: string;
let postgres: RunningPostgres;
const processes: Process[] = [];
let issuer: string;

const endpoint = (p: Process, path: string) => `${p.base}/oidc/endpoint/default${path}`;

function start(config: string, port: number, databaseUrl: string): Promise<Process> {
  const child = spawn(process.execPath, [bin, 'serve', '--config', config], {
    env: { ...process.env, PORT: String(port), DATABASE_URL: databaseUrl, WEB_SECRET: web.secret },
  });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line: ${out}`)), 30000);
    child.once('exit', (code) => reject(new Error(`gatehouse exited (${code}): ${out}`)));
    child.stdout.on('data', () => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, base: m[1] as string });
      }
    });
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

async function introspect(p: Process, token: string): Promise<boolean> {
  const res = await postForm(
    endpoint(p, '/introspect'),
    { token },
    { authorization: basic(web.id, web.secret) },
  );
  assert.equal(res.status, 200, JSON.stringify(res.json));
  return res.json.active === true;
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

before(async () => {
  folder = mkdtempSync(join(tmpdir(), 'gatehouse-scale-'));
  postgres = await startPostgres();
  const databaseUrl = await postgres.createDatabase();
  const ports = await freePorts(3);
  // One issuer for all: as behind a balancer, every process publishes the same public URL.
  const publicUrl = `http://127.0.0.1:${ports[0]}`;
  issuer = `${publicUrl}/oidc/endpoint/default`;
  const config = join(folder, 'gatehouse.yaml');
  writeFileSync(
    config,
    `server: { host: 127.0.0.1, port: "\${PORT}", publicUrl: "${publicUrl}", logLevel: warn }
storage: { driver: postgres, url: "\${DATABASE_URL}", statementTimeoutMs: 2000 }
providers:
  - name: default
    clients:
      - client_id: ${web.id}
        client_secret: \${WEB_SECRET}
        redirect_uris: [${web.redirect}]
        grant_types: [authorization_code, refresh_token]
        scope: openid email offline_access
      - client_id: pairwise
        client_secret: \${WEB_SECRET}
        subject_type: pairwise
        redirect_uris: [https://pairwise.example/cb]
        id_token_signed_response_alg: ES256
    users:
      - username: alice
        password: alice-password
        claims: { email: alice@example.com }
`,
  );
  // All three at once on an empty database: migrations, keys and secrets must converge (point 3).
  processes.push(...(await Promise.all(ports.map((port) => start(config, port, databaseUrl)))));
});

after(async () => {
  await Promise.all(processes.map((p) => stop(p.child)));
  await postgres?.stop();
  rmSync(folder, { recursive: true, force: true });
});

describe('three processes on one PostgreSQL', () => {
  test('started together, they publish one key per algorithm and agree on every secret', async () => {
    const sets = await Promise.all(
      processes.map(
        async (p) =>
          (await (await fetch(endpoint(p, '/jwk'))).json()) as { keys: { kid: string; alg: string }[] },
      ),
    );
    const kids = sets.map((s) => s.keys.map((k) => k.kid).sort());
    assert.deepEqual(kids[1], kids[0]);
    assert.deepEqual(kids[2], kids[0]);
    const algs = (sets[0]?.keys ?? []).map((k) => k.alg).sort();
    assert.deepEqual(algs, ['ES256', 'RS256'], 'one key per algorithm in use, not one per process');
  });

  test('a session made on one process is good on the others (one cookie key, shared sessions)', async () => {
    const ua = new UserAgent();
    await obtainCode(issuer, { clientId: web.id, redirectUri: web.redirect, scope: 'openid email', ua });
    for (const p of processes.slice(1)) {
      const page = await ua.get(
        authorizeUrl(endpoint(p, ''), {
          response_type: 'code',
          client_id: web.id,
          redirect_uri: web.redirect,
          scope: 'openid email',
          state: 's',
          prompt: 'none',
        }),
      );
      assert.equal(page.status, 303);
      const location = new URL(page.headers.get('location') ?? '');
      assert.ok(location.searchParams.get('code'), `no silent code from ${p.base}: ${location.href}`);
    }
  });

  test('20 redemptions of one code spread over the three processes: exactly one 200; its tokens die everywhere', async () => {
    const code = await obtainCode(issuer, {
      clientId: web.id,
      redirectUri: web.redirect,
      scope: 'openid email',
    });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        postForm(
          endpoint(processes[i % 3] as Process, '/token'),
          { grant_type: 'authorization_code', code, redirect_uri: web.redirect },
          { authorization: basic(web.id, web.secret) },
        ),
      ),
    );
    const won = results.filter((r) => r.status === 200);
    assert.equal(won.length, 1, results.map((r) => r.status).join(' '));
    for (const r of results.filter((x) => x.status !== 200)) assert.equal(r.json.error, 'invalid_grant');
    // The replays revoked the grant (RFC 6749 §4.1.2): the winner's token is inactive on every process.
    const token = won[0]?.json.access_token as string;
    for (const p of processes) assert.equal(await introspect(p, token), false, p.base);
  });

  test('a revocation on one process is seen by the others at once', async () => {
    const code = await obtainCode(issuer, {
      clientId: web.id,
      redirectUri: web.redirect,
      scope: 'openid email',
    });
    const [a, b, c] = processes as [Process, Process, Process];
    const res = await postForm(
      endpoint(a, '/token'),
      { grant_type: 'authorization_code', code, redirect_uri: web.redirect },
      { authorization: basic(web.id, web.secret) },
    );
    const token = res.json.access_token as string;
    assert.equal(await introspect(c, token), true);
    await postForm(endpoint(b, '/revoke'), { token }, { authorization: basic(web.id, web.secret) });
    assert.equal(await introspect(c, token), false);
  });

  test('PostgreSQL stopped: 503 with Retry-After (never a hang or a 500); back again: healed without a restart', async () => {
    const [a, b] = processes as [Process, Process];
    await postgres.pause();
    try {
      const health = await fetch(`${a.base}/healthz`);
      assert.equal(health.status, 503);
      // Looking the code up needs the database: the token endpoint answers 503 with Retry-After, as JSON.
      const res = await postForm(
        endpoint(b, '/token'),
        { grant_type: 'authorization_code', code: 'any-code', redirect_uri: web.redirect },
        { authorization: basic(web.id, web.secret) },
      );
      assert.equal(res.status, 503, JSON.stringify(res.json));
      assert.equal(res.json.error, 'temporarily_unavailable');
      assert.ok(Number(res.headers.get('retry-after')) > 0);
      const introspection = await fetch(endpoint(b, '/introspect'), {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: basic(web.id, web.secret),
        },
        body: 'token=whatever',
      });
      assert.equal(introspection.status, 503);
      assert.ok(Number(introspection.headers.get('retry-after')) > 0);
      assert.equal(introspection.headers.get('cache-control'), 'no-store');
    } finally {
      await postgres.resume();
    }
    for (const p of processes)
      await until(async () => (await fetch(`${p.base}/healthz`)).status === 200, `${p.base}/healthz`);
    const code = await obtainCode(issuer, {
      clientId: web.id,
      redirectUri: web.redirect,
      scope: 'openid email',
    });
    const res = await postForm(
      endpoint(b, '/token'),
      { grant_type: 'authorization_code', code, redirect_uri: web.redirect },
      { authorization: basic(web.id, web.secret) },
    );
    assert.equal(res.status, 200, JSON.stringify(res.json));
  });
});
