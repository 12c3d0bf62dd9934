// `server.workers` (issue 9 point 3): `gatehouse serve` with 2 worker processes on one port sharing the store, on
// SQLite or PostgreSQL (GATEHOUSE_TEST_STORE): both serve, a code crosses workers, /metrics covers both, a killed
// worker is replaced, the flood buckets are shared out, SIGTERM stops everything with status 0.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { rateShare } from '../../src/cluster/share.js';
import { defaultPasswordWorkers, serverSchema } from '../../src/config/schema.js';
import { alice, demoClient, type TestStorage, testStorage } from '../helpers/server.js';
import { basic, pkcePair, signIn, UserAgent } from '../helpers/user-agent.js';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'gatehouse.js');
let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-workers-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const machine = {
  client_id: 'machine',
  client_secret: 'machine-secret-0123456789abcdef',
  grant_types: ['client_credentials'],
  scope: 'api:read',
};

/** A port free now: the public URL (issuer, redirects) must name the port the workers listen on. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return typeof address === 'object' && address ? address.port : 0;
}

function configFile(name: string, storage: TestStorage, server: Record<string, unknown>, extra = ''): string {
  const file = join(dir, `${name}.yaml`);
  // JSON is YAML: each block as a flow mapping.
  writeFileSync(
    file,
    `server: ${JSON.stringify({ host: '127.0.0.1', port: 0, ...server })}
storage: ${JSON.stringify(storage)}
providers:
  - name: default
    clients: ${JSON.stringify([demoClient, machine])}
    users: ${JSON.stringify([alice])}
${extra}`,
  );
  return file;
}

interface Cluster {
  child: ChildProcess;
  url: string;
  issuer: string;
  /** Every line the command wrote (stdout and stderr), the workers' JSON log lines among them. */
  lines: string[];
  exited: Promise<number | null>;
}

async function startCluster(file: string): Promise<Cluster> {
  const child = spawn(process.execPath, [bin, 'serve', '--config', file], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let partial = '';
  const collect = (d: Buffer) => {
    const parts = (partial + String(d)).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line: ${lines.join('\n')}`)), 60_000);
    void exited.then((code) => reject(new Error(`gatehouse exited (${code}): ${lines.join('\n')}`)));
    child.stdout?.on('data', () => {
      const m = /gatehouse listening on (http:\/\/\S+)/.exec(lines.join('\n'));
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    });
  });
  return { child, url, issuer: `${url}/oidc/endpoint/default`, lines, exited };
}

async function stopCluster(c: Cluster): Promise<number | null> {
  if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGTERM');
  return c.exited;
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request over `agent` (a pinned keep-alive connection), or over a connection of its own (closed after). */
function request(
  url: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    agent?: http.Agent;
    timeoutMs?: number;
  } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: options.method ?? 'GET', headers: options.headers ?? {}, agent: options.agent ?? false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    // A connection handed to a worker that is being killed must fail the test, not hang it.
    req.setTimeout(options.timeoutMs ?? 10_000, () => req.destroy(new Error(`no answer from ${url}`)));
    req.end(options.body);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The process that wrote the request log line of `path` (paths made unique by the caller), once it is written. */
async function servedBy(c: Cluster, path: string): Promise<number> {
  for (let i = 0; i < 200; i++) {
    for (const line of c.lines) {
      if (!line.startsWith('{') || !line.includes(path)) continue;
      const entry = JSON.parse(line) as { path?: string; pid?: number };
      if (entry.path === path && typeof entry.pid === 'number') return entry.pid;
    }
    await sleep(50);
  }
  throw new Error(`no log line for ${path}`);
}

/** A GET of a path of its own (a 404) on `agent`'s connection: which worker holds that connection. */
async function probe(c: Cluster, agent?: http.Agent, timeoutMs?: number): Promise<number> {
  const path = `/probe-${randomUUID()}`;
  const res = await request(`${c.url}${path}`, {
    ...(agent ? { agent } : {}),
    ...(timeoutMs ? { timeoutMs } : {}),
  });
  assert.equal(res.status, 404);
  return servedBy(c, path);
}

/** A keep-alive connection held by a worker other than `not`: probed connection after connection (round-robin). */
async function connectionNotOn(c: Cluster, not: number): Promise<{ agent: http.Agent; pid: number }> {
  for (let i = 0; i < 20; i++) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const pid = await probe(c, agent);
    if (pid !== not) return { agent, pid };
    agent.destroy();
  }
  throw new Error(`every connection went to ${not}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The value of a /metrics sample line, 0 when absent. */
function sample(text: string, line: string): number {
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? 0 : Number(found.slice(line.length + 1));
}

describe('server.workers settings', () => {
  test('a positive integer or auto; passwordWorkers defaults to a share of the cores', () => {
    assert.equal(serverSchema.parse({}).workers, 1);
    assert.equal(serverSchema.parse({ workers: '3' }).workers, 3);
    assert.ok(serverSchema.parse({ workers: 'auto' }).workers >= 1);
    assert.throws(() => serverSchema.parse({ workers: 0 }));
    assert.throws(() => serverSchema.parse({ workers: 'many' }));
    // One process keeps today's default: the cores but one.
    assert.equal(defaultPasswordWorkers(1, 9), 8);
    assert.equal(defaultPasswordWorkers(2, 9), 4);
    assert.equal(defaultPasswordWorkers(4, 2), 1);
    assert.equal(serverSchema.parse({ workers: 2, passwordWorkers: 3 }).passwordWorkers, 3);
  });

  test('each worker takes 1/N of a flood bucket: the rate exactly, the burst rounded up', () => {
    assert.deepEqual(rateShare({ perSecond: 30, burst: 300 }, 2), { perSecond: 15, burst: 150 });
    assert.deepEqual(rateShare({ perSecond: 2, burst: 5 }, 4), { perSecond: 0.5, burst: 2 });
    assert.deepEqual(rateShare({ perSecond: 1, burst: 1 }, 3), { perSecond: 1 / 3, burst: 1 });
  });

  test('a bad configuration fails before any worker starts, with the key path', async () => {
    const file = configFile('bad', await testStorage(join(dir, 'bad')), { workers: 2, port: 'x' });
    const r = spawnSync(process.execPath, [bin, 'serve', '--config', file], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /server\.port/);
    assert.doesNotMatch(r.stdout, /listening on/);
  });

  test('a port in use stops the start with status 1', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const file = configFile('inuse', await testStorage(join(dir, 'inuse')), { workers: 2, port });
      const child = spawn(process.execPath, [bin, 'serve', '--config', file], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      child.stderr.on('data', (d) => {
        err += d;
      });
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      assert.equal(code, 1, err);
      assert.match(err, /cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\)/);
    } finally {
      blocker.close();
    }
  });
});

describe('gatehouse serve with server.workers: 2', () => {
  let c: Cluster;
  before(async () => {
    const file = configFile(
      'two',
      await testStorage(join(dir, 'two')),
      { workers: 2, port: await freePort() },
      // Registration's bucket: 4 for the whole server, refilled too slowly to matter during the test.
      '    registration: {}\n    throttle: { requests: { registration: { perSecond: 0.001, burst: 4 } } }\n',
    );
    c = await startCluster(file);
  });
  after(async () => {
    if (c) await stopCluster(c);
  });

  test('one "listening on" line, and both workers serve the port (the primary serves nothing)', async () => {
    assert.equal(c.lines.filter((l) => l.includes('gatehouse listening on')).length, 1);
    const pids = new Set<number>();
    for (let i = 0; i < 6; i++) pids.add(await probe(c));
    assert.equal(pids.size, 2, `served by ${[...pids].join(', ')}`);
    assert.ok(!pids.has(c.child.pid as number), 'the primary serves no request');
  });

  test('a code issued by one worker is exchanged at the other (one store)', async () => {
    const ua = new UserAgent();
    const redirectUri = demoClient.redirect_uris[0] as string;
    const authorize = (challenge: string) =>
      `${c.issuer}/authorize?${new URLSearchParams({
        response_type: 'code',
        client_id: demoClient.client_id,
        redirect_uri: redirectUri,
        scope: 'openid',
        state: 'st',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      })}`;
    // Signed in and consented once, so the next authorization request is answered with a code in one request.
    await signIn(ua, authorize(pkcePair().challenge));
    const issuing = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const issuer = await probe(c, issuing);
    const exchanging = await connectionNotOn(c, issuer);
    try {
      const pkce = pkcePair();
      const issued = await request(authorize(pkce.challenge), {
        agent: issuing,
        headers: { cookie: ua.cookieHeader() },
      });
      assert.equal(issued.status, 303, issued.body);
      const code = new URL(issued.headers.location ?? '').searchParams.get('code');
      assert.ok(code, issued.headers.location);
      const body = new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: redirectUri,
        code_verifier: pkce.verifier,
      }).toString();
      const exchanged = await request(`${c.issuer}/token`, {
        method: 'POST',
        agent: exchanging.agent,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: basic(demoClient.client_id, demoClient.client_secret),
        },
        body,
      });
      assert.equal(exchanged.status, 200, exchanged.body);
      assert.ok((JSON.parse(exchanged.body) as { id_token?: string }).id_token);
      // Both connections stayed with their workers: the issue and the exchange were on two processes.
      assert.equal(await probe(c, issuing), issuer);
      assert.equal(await probe(c, exchanging.agent), exchanging.pid);
    } finally {
      issuing.destroy();
      exchanging.agent.destroy();
    }
  });

  test('/metrics answers for every worker', async () => {
    const route =
      'gatehouse_http_requests_total{method="POST",route="/oidc/endpoint/default/token",status="200"}';
    const before = sample((await request(`${c.url}/metrics`)).body, route);
    const from = c.lines.length;
    for (let i = 0; i < 4; i++) {
      const res = await request(`${c.issuer}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: basic(machine.client_id, machine.client_secret),
        },
        body: 'grant_type=client_credentials&scope=api%3Aread',
      });
      assert.equal(res.status, 200, res.body);
    }
    // Each on a connection of its own, so round-robin gave both workers some.
    const served = () => {
      const pids: number[] = [];
      for (const line of c.lines.slice(from)) {
        if (!line.includes('"/oidc/endpoint/default/token"')) continue;
        pids.push((JSON.parse(line) as { pid: number }).pid);
      }
      return pids;
    };
    for (let i = 0; i < 100 && served().length < 4; i++) await sleep(50);
    assert.equal(new Set(served()).size, 2);
    // Whichever worker answers /metrics, every worker's requests are in it.
    for (let i = 0; i < 2; i++) {
      const res = await request(`${c.url}/metrics`);
      assert.equal(res.status, 200);
      assert.equal(sample(res.body, route) - before, 4, res.body.slice(0, 2000));
    }
  });

  test('the flood buckets are shared out: the whole server allows the configured burst', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const res = await request(`${c.issuer}/registration`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      statuses.push(res.status);
    }
    assert.equal(statuses.filter((s) => s !== 429).length, 4, statuses.join(' '));
  });

  test('a killed worker is replaced and the port keeps answering', async () => {
    const before = new Set<number>();
    for (let i = 0; i < 4; i++) before.add(await probe(c));
    const [victim] = [...before];
    assert.ok(victim !== undefined);
    process.kill(victim, 'SIGKILL');
    // Until the replacement listens, the other worker answers; then the new process shares the port.
    let replacement: number | undefined;
    for (let i = 0; i < 100 && replacement === undefined; i++) {
      // A connection handed over in the instant the victim dies is lost with it (node:cluster); the next one is not.
      const pid = await probe(c, undefined, 2000).catch(() => undefined);
      if (pid !== undefined && !before.has(pid)) replacement = pid;
      else await sleep(100);
    }
    assert.ok(replacement !== undefined, c.lines.slice(-20).join('\n'));
    assert.equal(alive(victim), false);
    for (let i = 0; i < 4; i++) assert.equal((await request(`${c.url}/healthz`)).status, 200);
    assert.ok(c.lines.some((l) => l.includes('a worker exited; replacing it')));
  });

  test('SIGTERM stops every worker and the command exits 0', async () => {
    const pids = new Set<number>();
    for (let i = 0; i < 4; i++) pids.add(await probe(c));
    assert.equal(pids.size, 2);
    assert.equal(await stopCluster(c), 0, c.lines.slice(-20).join('\n'));
    for (const pid of pids) assert.equal(alive(pid), false, `worker ${pid} still running`);
    await assert.rejects(request(`${c.url}/healthz`));
  });
});
