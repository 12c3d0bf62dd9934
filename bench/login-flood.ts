// `node --import tsx bench/login-flood.ts` (issue 8 point 5): authorization-code exchanges per second at a separate
// `gatehouse serve` process, alone and then during a flood of logins with the right password, with the ratio and the
// login rate reached. Prints figures; asserts nothing.
// Env: BENCH_SECONDS per phase (8), BENCH_CONCURRENCY token connections (16), BENCH_FLOOD login connections (20),
// BENCH_PASSWORD_WORKERS for server.passwordWorkers (default: the server's own), BENCH_CODES codes made (30000).
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { serverSchema } from '../src/config/schema.js';
import { sha256 } from '../src/crypto/hash.js';
import { randomToken } from '../src/crypto/random.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { authorizeUrl, UserAgent } from '../test/helpers/user-agent.js';

const phaseSeconds = Number(process.env.BENCH_SECONDS ?? 8);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);
const floodConnections = Number(process.env.BENCH_FLOOD ?? 20);
const workers = process.env.BENCH_PASSWORD_WORKERS;
const codeCount = Number(process.env.BENCH_CODES ?? 30000);

// The login pages redirect to the public URL, built from the configured port: a free one is chosen here, not 0.
const port = await new Promise<number>((resolve) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const address = probe.address();
    probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
  });
});
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
const db = join(dir, 'bench.db');
const configFile = join(dir, 'bench.yaml');
// The flood is legitimate traffic from one address: the per-address limits (/authorize's rate, login attempts, which
// count a login while its password is checked) are lifted so that it measures argon2, not the limiter.
writeFileSync(
  configFile,
  `server: { host: 127.0.0.1, port: ${port}, logLevel: warn${workers ? `, passwordWorkers: ${Number(workers)}` : ''} }
storage: { driver: sqlite, path: ${db} }
providers:
  - name: bench
    throttle:
      login: { perAccountAndAddress: 1000000, perAccount: 1000000, perAddress: 1000000 }
      requests: { authorize: { perSecond: 1000000, burst: 1000000 } }
    clients:
      - client_id: bench
        client_secret: bench-secret-0123456789abcdef
        redirect_uris: [https://rp.example/cb]
        scope: openid profile email
    users:
      - username: alice
        password: alice-password
`,
);

const server = spawn(process.execPath, ['bin/gatehouse.js', 'serve', '--config', configFile], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const base = await new Promise<string>((resolve, reject) => {
  let out = '';
  server.stdout.on('data', (d) => {
    out += d;
    const m = /listening on (http:\/\/\S+)/.exec(out);
    if (m) resolve(m[1] as string);
  });
  server.on('exit', (code) => reject(new Error(`server exited ${code}`)));
});
const issuer = `${base}/oidc/endpoint/bench`;

// Codes as the authorization endpoint would have stored them, written straight into the shared database.
const store = new SqliteStore({ path: db });
const user = await store.findUserByUsername('bench', 'alice');
if (!user) throw new Error('no user');
const now = Math.floor(Date.now() / 1000);
const codes: string[] = [];
for (let i = 0; i < codeCount; i++) {
  const code = randomToken();
  codes.push(code);
  await store.insertCode('bench', {
    codeHash: sha256(code),
    grantId: randomUUID(),
    clientId: 'bench',
    userId: user.id,
    redirectUri: 'https://rp.example/cb',
    scope: ['openid', 'email'],
    nonce: 'n',
    codeChallenge: undefined,
    resource: [],
    authTime: now,
    details: {},
    expiresAt: now + 600,
    consumedAt: undefined,
  });
}
await store.close();

const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const auth = `Basic ${Buffer.from('bench:bench-secret-0123456789abcdef').toString('base64')}`;
const tokenUrl = new URL(`${issuer}/token`);

function exchange(code: string): Promise<number> {
  const body = `grant_type=authorization_code&code=${code}&redirect_uri=${encodeURIComponent('https://rp.example/cb')}`;
  return new Promise((resolve, reject) => {
    const req = http.request(
      tokenUrl,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: auth,
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

interface Phase {
  requests: number;
  failures: number;
  seconds: number;
  latencies: number[];
}

let nextCode = 0;

/** Exchanges codes from `concurrency` connections for `seconds` (or until the codes run out). */
async function exchangePhase(seconds: number): Promise<Phase> {
  const latencies: number[] = [];
  let failures = 0;
  const started = process.hrtime.bigint();
  const end = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end && nextCode < codes.length) {
        const code = codes[nextCode++] as string;
        const t0 = process.hrtime.bigint();
        const status = await exchange(code);
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        if (status !== 200) failures++;
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    failures,
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
    latencies,
  };
}

const pct = (sorted: number[], p: number) =>
  (sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0).toFixed(2);

/** A fresh browser per login: authorization request, login page, the right password (303 when it worked). */
const loginUrl = authorizeUrl(issuer, {
  response_type: 'code',
  client_id: 'bench',
  redirect_uri: 'https://rp.example/cb',
  scope: 'openid',
  state: 'flood',
});
const origin = new URL(issuer).origin;
let flooding = true;
const flood = { ok: 0, other: new Map<number, number>(), latencies: [] as number[] };
async function floodLoop(): Promise<void> {
  while (flooding) {
    const ua = new UserAgent();
    const page = await ua.follow(loginUrl, origin);
    if (page.status !== 200 || !page.body.includes('name="password"')) {
      flood.other.set(page.status, (flood.other.get(page.status) ?? 0) + 1);
      continue;
    }
    const t0 = process.hrtime.bigint();
    const res = await ua.submit(page, { username: 'alice', password: 'alice-password' });
    flood.latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (res.status === 303) flood.ok++;
    else flood.other.set(res.status, (flood.other.get(res.status) ?? 0) + 1);
  }
}

await exchangePhase(1); // warm-up: JIT, connections, the store's caches
const alone = await exchangePhase(phaseSeconds);

const loops = Array.from({ length: floodConnections }, () => floodLoop());
await new Promise((r) => setTimeout(r, 1000)); // let the flood fill the password queue first
const floodOkBefore = flood.ok;
const floodLatenciesBefore = flood.latencies.length;
const during = await exchangePhase(phaseSeconds);
const loginsDuring = flood.ok - floodOkBefore;
const loginLatencies = flood.latencies.slice(floodLatenciesBefore).sort((a, b) => a - b);
flooding = false;
await Promise.all(loops);

const rate = (p: Phase) => p.requests / p.seconds;
const line = (name: string, p: Phase) =>
  `  ${name.padEnd(14)}${rate(p).toFixed(0).padStart(6)} req/s  p50 ${pct(p.latencies, 0.5)} ms  p99 ${pct(p.latencies, 0.99)} ms  (${p.requests} exchanges, ${p.failures} not 200)`;

console.log(
  `authorization_code exchanges (RS256 ID token, SQLite WAL), one server process, ${concurrency} connections, ` +
    `${availableParallelism()} cores, passwordWorkers ${workers ?? `${serverSchema.parse({}).passwordWorkers} (default)`}`,
);
console.log(line('alone', alone));
console.log(line('login flood', during));
console.log(`  ratio         ${(rate(during) / rate(alone)).toFixed(2)} of the rate alone`);
console.log(
  `  logins        ${(loginsDuring / during.seconds).toFixed(1)} /s during the flood (${floodConnections} connections, ` +
    `right password), POST p50 ${pct(loginLatencies, 0.5)} ms  p99 ${pct(loginLatencies, 0.99)} ms` +
    (flood.other.size > 0 ? `; other answers ${JSON.stringify(Object.fromEntries(flood.other))}` : ''),
);

agent.destroy();
server.kill('SIGTERM');
await new Promise((r) => server.on('exit', r));
rmSync(dir, { recursive: true, force: true });
