// `npm run bench`: authorization-code exchanges per second at the token endpoint of a separate server process
// (RS256 ID token, durable SQLite store), with latency percentiles and the server's memory. Prints figures; asserts nothing.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256 } from '../src/crypto/hash.js';
import { randomToken } from '../src/crypto/random.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';

const total = Number(process.env.BENCH_REQUESTS ?? 20000);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 32);
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
const db = join(dir, 'bench.db');
const configFile = join(dir, 'bench.yaml');
writeFileSync(
  configFile,
  `server: { host: 127.0.0.1, port: 0, logLevel: warn }
storage: { driver: sqlite, path: ${db} }
providers:
  - name: bench
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
for (let i = 0; i < total; i++) {
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
const url = new URL(`${issuer}/token`);

function exchange(code: string): Promise<number> {
  const body = `grant_type=authorization_code&code=${code}&redirect_uri=${encodeURIComponent('https://rp.example/cb')}`;
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
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

const latencies: number[] = [];
let failures = 0;
let next = 0;
const started = process.hrtime.bigint();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < codes.length) {
      const code = codes[next++] as string;
      const t0 = process.hrtime.bigint();
      const status = await exchange(code);
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (status !== 200) failures++;
    }
  }),
);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
latencies.sort((a, b) => a - b);
const pct = (p: number) =>
  (latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0).toFixed(2);
const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))?.[1] ?? 0);

console.log(
  `authorization_code exchanges (RS256 ID token, SQLite WAL), one server process, ${concurrency} connections`,
);
console.log(`  requests      ${total} (${failures} not 200)`);
console.log(`  throughput    ${(total / seconds).toFixed(0)} req/s`);
console.log(`  latency ms    p50 ${pct(0.5)}  p90 ${pct(0.9)}  p99 ${pct(0.99)}`);
console.log(`  server RSS    ${(rssKb / 1024).toFixed(0)} MiB`);

agent.destroy();
server.kill('SIGTERM');
await new Promise((r) => server.on('exit', r));
rmSync(dir, { recursive: true, force: true });
