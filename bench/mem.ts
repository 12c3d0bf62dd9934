// Where Gatehouse's memory goes (issue 9 point 2, server RSS ≤ 150 MB under load): one server started as the bench
// starts it, its RSS idle and under a short pinned load, and a breakdown from inside (V8 heap, external, threads).
//
//   node --import tsx bench/mem.ts [--entry bin|source|dist] [--src DIR] [--dist DIR] [--workers N] [--node-flag F]...
//                                  [--scenario none|client-credentials|code-rs256|browser-flow] [--seconds S] [--connections C] [--settle S] [--log-level L]
//
// --entry source: the sources in --src (default src/) through tsx's loader, as bin/gatehouse.js did before the build (a loader thread and
// esbuild); dist: the compiled build in --dist (default dist/, from `tsc -p tsconfig.build.json`); bin: whatever
// bin/gatehouse.js picks. The server is pinned to the bench's server core, the load to its load core (bench/pin.ts).
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { storageSchema } from '../src/config/schema.js';
import { sha256 } from '../src/crypto/hash.js';
import { randomToken } from '../src/crypto/random.js';
import { openStore } from '../src/store/open.js';
import { runFlows } from './browser-flow.js';
import { basicAuth, benchClient, benchUser } from './fixtures.js';
import { runLoad } from './load.js';
import { discover, freePort, rssMiB, sampleRss, startPinned, stopChild } from './target.js';

const root = resolve(import.meta.dirname, '..');

const { values: args } = parseArgs({
  options: {
    entry: { type: 'string', default: 'bin' },
    src: { type: 'string', default: join(root, 'src') },
    dist: { type: 'string', default: join(root, 'dist') },
    workers: { type: 'string' },
    'node-flag': { type: 'string', multiple: true, default: [] },
    scenario: { type: 'string', default: 'code-rs256' },
    seconds: { type: 'string', default: '8' },
    connections: { type: 'string', default: '50' },
    settle: { type: 'string', default: '7' },
    'log-level': { type: 'string', default: 'info' },
  },
});

/** What the server reports from inside when sent SIGUSR2: loaded with --import, plain JavaScript, no loader. */
const probeSource = `
import { writeFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
const gc = { count: 0, ms: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gc.count++;
    gc.ms += e.duration;
  }
}).observe({ entryTypes: ['gc'] });
// The largest value of each figure since the last probe, sampled every 100 ms: what a peak of RSS is made of.
let peak = {};
setInterval(() => {
  for (const [k, v] of Object.entries(process.memoryUsage())) peak[k] = Math.max(peak[k] ?? 0, v);
}, 100).unref();
process.on('SIGUSR2', () => {
  const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, s.space_size]));
  writeFileSync(process.env.MEM_PROBE_FILE, JSON.stringify({ ...process.memoryUsage(), spaces, gc, peak }));
  peak = {};
});
`;

interface Probe {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  spaces: Record<string, number>;
  /** The largest of each process.memoryUsage() figure since the previous probe. */
  peak: Record<string, number>;
  /** Garbage collections since start and their total pause (main thread). */
  gc: { count: number; ms: number };
}

interface Rollup {
  rss: number;
  anonymous: number;
  file: number;
  threads: number;
}

const mib = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;

function rollup(pid: number): Rollup {
  const smaps = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(smaps)?.[1] ?? 0);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = kb('Rss') / 1024;
  const anonymous = kb('Anonymous') / 1024;
  return {
    rss: Math.round(rss * 10) / 10,
    anonymous: Math.round(anonymous * 10) / 10,
    file: Math.round((rss - anonymous) * 10) / 10,
    threads: Number(/Threads:\s+(\d+)/.exec(status)?.[1] ?? 0),
  };
}

/** The server's CPU time so far in microseconds (user + system, every thread), from /proc/PID/stat. */
function cpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1e6) / 100;
}

async function probe(pid: number, file: string): Promise<Probe> {
  rmSync(file, { force: true });
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 250; i++) {
    await new Promise((r) => setTimeout(r, 20));
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as Probe;
    } catch {
      // Not written yet.
    }
  }
  throw new Error('the server did not answer the memory probe');
}

function summary(p: Probe): Record<string, number> {
  return {
    heapTotal: mib(p.heapTotal),
    heapUsed: mib(p.heapUsed),
    newSpace: mib(p.spaces.new_space ?? 0),
    oldSpace: mib(p.spaces.old_space ?? 0),
    codeSpace: mib(p.spaces.code_space ?? 0),
    external: mib(p.external),
    arrayBuffers: mib(p.arrayBuffers),
  };
}

function entryArgs(): string[] {
  const run = (cli: string, register: boolean) =>
    `${register ? "import { register } from 'tsx/esm/api'; register(); " : ''}` +
    `const { main } = await import(${JSON.stringify(cli)}); process.exitCode = await main(process.argv.slice(1));`;
  switch (args.entry) {
    case 'bin':
      return [join(root, 'bin', 'gatehouse.js')];
    // The code of the former bin/gatehouse.js, run from the project root so `tsx/esm/api` resolves.
    case 'source':
      return ['--input-type=module', '-e', run(join(resolve(args.src), 'cli.ts'), true)];
    case 'dist':
      return ['--input-type=module', '-e', run(join(resolve(args.dist), 'cli.js'), false)];
    default:
      throw new Error(`--entry ${args.entry}: bin, source or dist`);
  }
}

async function mintCodes(dbPath: string, n: number): Promise<string[]> {
  const store = await openStore(storageSchema.parse({ driver: 'sqlite', path: dbPath }));
  try {
    const user = await store.findUserByUsername('bench', benchUser.username);
    if (!user) throw new Error('the bench user is missing');
    const now = Math.floor(Date.now() / 1000);
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const value = randomToken();
      await store.insertCode('bench', {
        codeHash: sha256(value),
        grantId: randomUUID(),
        clientId: benchClient.id,
        userId: user.id,
        redirectUri: benchClient.redirectUri,
        scope: ['openid', 'email'],
        nonce: 'n',
        codeChallenge: undefined,
        resource: [],
        authTime: now,
        details: {},
        expiresAt: now + 600,
        consumedAt: undefined,
      });
      out.push(value);
    }
    return out;
  } finally {
    await store.close();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-mem-'));
const dbPath = join(dir, 'bench.db');
const port = await freePort();
const config = {
  server: {
    host: '127.0.0.1',
    port,
    logLevel: args['log-level'],
    ...(args.workers !== undefined ? { passwordWorkers: Number(args.workers) } : {}),
  },
  storage: { driver: 'sqlite', path: dbPath },
  providers: [
    {
      name: 'bench',
      signingAlg: 'RS256',
      clients: [
        {
          client_id: benchClient.id,
          client_secret: benchClient.secret,
          token_endpoint_auth_method: 'client_secret_basic',
          redirect_uris: [benchClient.redirectUri],
          grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
          scope: 'openid profile email offline_access',
        },
      ],
      users: [{ ...benchUser }],
    },
  ],
};
const configFile = join(dir, 'bench.yaml');
writeFileSync(configFile, JSON.stringify(config, null, 2));
const probeFile = join(dir, 'probe.mjs');
writeFileSync(probeFile, probeSource);
const probeOut = join(dir, 'probe.json');

const { child, found } = await startPinned(
  [...args['node-flag'], '--import', probeFile, ...entryArgs(), 'serve', '--config', configFile],
  { NODE_ENV: 'production', MEM_PROBE_FILE: probeOut },
  (line) => /listening on (http:\/\/\S+)/.exec(line)?.[1],
);
const pid = child.pid as number;
const report: Record<string, unknown> = {
  entry: args.entry,
  workers: args.workers ?? 'default',
  nodeFlags: args['node-flag'].join(' '),
};
try {
  const issuer = `${found}/oidc/endpoint/bench`;
  const discovery = await fetch(`${issuer}/.well-known/openid-configuration`);
  if (discovery.status !== 200) throw new Error(`discovery answered ${discovery.status}`);
  await discovery.arrayBuffer();
  // Past the password pool's idle stop (5 s), so idle is the state a quiet server stays in.
  await new Promise((r) => setTimeout(r, Number(args.settle) * 1000));
  report.idle = { ...rollup(pid), ...summary(await probe(pid, probeOut)) };

  if (args.scenario !== 'none') {
    const seconds = Number(args.seconds);
    const code = args.scenario === 'code-rs256';
    const browser = args.scenario === 'browser-flow';
    const tokensFile = join(dir, 'tokens.json');
    if (code) writeFileSync(tokensFile, JSON.stringify(await mintCodes(dbPath, 2500 * seconds)));
    const redirect = encodeURIComponent(benchClient.redirectUri);
    const gcBefore = (await probe(pid, probeOut)).gc;
    const cpuBefore = cpuMicros(pid);
    const peak = sampleRss(pid);
    const result = browser
      ? await runFlows({ endpoints: await discover(issuer), connections: 10, seconds }, join(dir, 'job.json'))
      : await runLoad(
          {
            url: found,
            method: 'POST',
            path: new URL(`${issuer}/token`).pathname,
            headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth },
            body: code
              ? `grant_type=authorization_code&code={token}&redirect_uri=${redirect}`
              : 'grant_type=client_credentials',
            connections: Number(args.connections),
            seconds,
            tokensFile: code ? tokensFile : undefined,
            reuseTokens: false,
          },
          join(dir, 'job.json'),
        );
    const cpu = cpuMicros(pid) - cpuBefore;
    const loaded = await probe(pid, probeOut);
    report.load = {
      scenario: args.scenario,
      peakRss: Math.round(peak() * 10) / 10,
      ...rollup(pid),
      ...summary(loaded),
      rps: Math.round(result.rps),
      p99: result.p99,
      non2xx: result.non2xx + result.errors + result.exhausted,
      cpuMicrosPerRequest: Math.round(cpu / Math.max(1, result.ok)),
      peakHeapTotal: mib(loaded.peak.heapTotal ?? 0),
      peakExternal: mib(loaded.peak.external ?? 0),
      peakArrayBuffers: mib(loaded.peak.arrayBuffers ?? 0),
      gcs: loaded.gc.count - gcBefore.count,
      gcMicrosPerRequest: Math.round(((loaded.gc.ms - gcBefore.ms) * 1000) / Math.max(1, result.ok)),
    };
    await new Promise((r) => setTimeout(r, 2000));
    report.after = { rss: Math.round(rssMiB(pid) * 10) / 10 };
  }
} finally {
  await stopChild(child);
  rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(`${JSON.stringify(report)}\n`);
