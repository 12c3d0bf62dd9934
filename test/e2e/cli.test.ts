// The `gatehouse` command as users run it: `check` exit codes and messages, `serve` start line and clean SIGTERM stop.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type TestStorage, testStorage } from '../helpers/server.js';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'gatehouse.js');
let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-cli-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function configFile(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

// The storage block is JSON, which YAML reads as a flow mapping: a SQLite file or a PostgreSQL URL (testStorage).
const good = (port: number, storage: TestStorage) => `
server: { host: 127.0.0.1, port: ${port} }
storage: ${JSON.stringify(storage)}
providers:
  - name: default
    clients:
      - client_id: demo
        client_secret: \${DEMO_SECRET}
        redirect_uris: [http://127.0.0.1:9000/callback]
    users:
      - username: alice
        password: alice-password
`;

describe('gatehouse check', () => {
  test('exits 0 on a valid file', async () => {
    const file = configFile('good.yaml', good(8080, await testStorage(join(dir, 'a'))));
    const r = spawnSync(process.execPath, [bin, 'check', '--config', file], {
      env: { ...process.env, DEMO_SECRET: 'secret-from-env' },
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /OK/);
    assert.doesNotMatch(r.stdout + r.stderr, /secret-from-env/);
  });

  test('prints every problem with its key path and exits non-zero', () => {
    const file = configFile(
      'bad.yaml',
      `server: { port: high }
providers:
  - name: default
    clients:
      - client_id: demo
        redirect_uris: [http://evil.example/cb]
        colour: red
`,
    );
    const r = spawnSync(process.execPath, [bin, 'check', '--config', file], { encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /server\.port/);
    assert.match(r.stderr, /providers\[0\]\.clients\[0\]\.colour: unknown key/);
  });

  test('a missing file or bad YAML is a clear error', () => {
    const r1 = spawnSync(process.execPath, [bin, 'check', '--config', join(dir, 'nope.yaml')], {
      encoding: 'utf8',
    });
    assert.notEqual(r1.status, 0);
    assert.match(r1.stderr, /cannot read/);
    const r2 = spawnSync(
      process.execPath,
      [bin, 'check', '--config', configFile('broken.yaml', 'a: [1, 2\n')],
      {
        encoding: 'utf8',
      },
    );
    assert.notEqual(r2.status, 0);
    assert.match(r2.stderr, /not valid YAML/);
  });
});

describe('gatehouse serve', () => {
  test('a port already in use is a one-line error and exit 1, not a stack trace', async () => {
    const { createServer } = await import('node:net');
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    const file = configFile('busy.yaml', good(port, await testStorage(join(dir, 'busy'))));
    const r = spawnSync(process.execPath, [bin, 'serve', '--config', file], {
      env: { ...process.env, DEMO_SECRET: 'secret-from-env' },
      encoding: 'utf8',
    });
    blocker.close();
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port} \\(EADDRINUSE\\)`));
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  test('prints "listening on", serves, and exits 0 on SIGTERM without printing secrets', async () => {
    const file = configFile('serve.yaml', good(0, await testStorage(join(dir, 'serve'))));
    const child = spawn(process.execPath, [bin, 'serve', '--config', file], {
      env: { ...process.env, DEMO_SECRET: 'secret-from-env' },
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line: ${out}`)), 20000);
      child.stdout.on('data', () => {
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1] as string);
        }
      });
    });
    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 200);
    const code = await new Promise<number | null>((resolve) => {
      child.on('exit', (c) => resolve(c));
      child.kill('SIGTERM');
    });
    assert.equal(code, 0, out);
    assert.doesNotMatch(out, /secret-from-env|alice-password/);
  });
});
