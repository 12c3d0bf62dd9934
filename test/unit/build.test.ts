// The compiled build (tsconfig.build.json → dist/, issue 9 point 2): bin/gatehouse.js runs it when it is current and
// serves from it, password worker included; a source newer than its build, or a missing output, means tsx instead.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

const root = join(import.meta.dirname, '..', '..');
let copy: string;
let config: string;

/** Runs `gatehouse serve` from the copy; answers which cli module ran (the marker line) and the discovery document. */
async function serveOnce(): Promise<{ ran: string; discovery: Record<string, unknown> }> {
  const child: ChildProcess = spawn(
    process.execPath,
    [join(copy, 'bin', 'gatehouse.js'), 'serve', '--config', config],
    {
      cwd: copy,
      env: { ...process.env, NODE_ENV: 'production' },
    },
  );
  let out = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line: ${out}`)), 60_000);
      const read = (d: Buffer) => {
        out += d;
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1] as string);
        }
      };
      child.stdout?.on('data', read);
      child.stderr?.on('data', read);
      child.once('exit', (code) => reject(new Error(`exited ${code} before listening: ${out}`)));
    });
    const res = await fetch(`${url}/oidc/endpoint/default/.well-known/openid-configuration`);
    assert.equal(res.status, 200);
    const discovery = (await res.json()) as Record<string, unknown>;
    const ran = /gatehouse-test-entry: (\S+)/.exec(out)?.[1];
    assert.ok(ran, `no entry marker in: ${out}`);
    return { ran, discovery };
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

before(() => {
  copy = mkdtempSync(join(tmpdir(), 'gatehouse-build-'));
  for (const p of ['src', 'bin', 'config', 'tsconfig.json', 'tsconfig.build.json', 'package.json'])
    cpSync(join(root, p), join(copy, p), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'), 'dir');
  // Which entry module ran, from the module itself (compiled into dist/ as well).
  appendFileSync(
    join(copy, 'src', 'cli.ts'),
    '\nprocess.stderr.write(`gatehouse-test-entry: ${new URL(import.meta.url).pathname}\\n`);\n',
  );
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const build = spawnSync(process.execPath, [tsc, '-p', join(copy, 'tsconfig.build.json')], {
    encoding: 'utf8',
  });
  assert.equal(build.status, 0, build.stdout + build.stderr);
  config = join(copy, 'serve.yaml');
  // A configured user: the server hashes its password at start, through the password worker of the build.
  writeFileSync(
    config,
    `server: { host: 127.0.0.1, port: 0 }
storage: { driver: sqlite, path: ${JSON.stringify(join(copy, 'gatehouse.db'))} }
providers:
  - name: default
    clients:
      - client_id: demo
        client_secret: demo-secret-0123456789abcdef-0123456789
        redirect_uris: [http://127.0.0.1:9000/callback]
    users:
      - username: alice
        password: alice-password
`,
  );
});

after(() => rmSync(copy, { recursive: true, force: true }));

describe('bin/gatehouse.js and the compiled build', () => {
  test('a current build is what runs: it starts, hashes through its password worker and serves discovery', async () => {
    const { ran, discovery } = await serveOnce();
    assert.equal(ran, join(copy, 'dist', 'cli.js'));
    assert.match(String(discovery.issuer), /\/oidc\/endpoint\/default$/);
  });

  test('a source edited after the build is run from src/ through tsx, never the stale build', async () => {
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(copy, 'src', 'util', 'clock.ts'), later, later);
    const { ran, discovery } = await serveOnce();
    assert.equal(ran, join(copy, 'src', 'cli.ts'));
    assert.match(String(discovery.issuer), /\/oidc\/endpoint\/default$/);
  });

  test('a build missing one of its files is not used', async () => {
    // The edited source back in the past and the build redone, so only the missing file makes it stale.
    const earlier = new Date(Date.now() - 60_000);
    utimesSync(join(copy, 'src', 'util', 'clock.ts'), earlier, earlier);
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const build = spawnSync(process.execPath, [tsc, '-p', join(copy, 'tsconfig.build.json')], {
      encoding: 'utf8',
    });
    assert.equal(build.status, 0, build.stdout + build.stderr);
    rmSync(join(copy, 'dist', 'crypto', 'password-worker.mjs'));
    const { ran } = await serveOnce();
    assert.equal(ran, join(copy, 'src', 'cli.ts'));
  });
});
