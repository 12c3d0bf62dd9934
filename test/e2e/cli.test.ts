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
      env: { ...process.env, DEMO_SECRET: 'secret-from-env-0123456789abcdef' },
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
      env: { ...process.env, DEMO_SECRET: 'secret-from-env-0123456789abcdef' },
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
      env: { ...process.env, DEMO_SECRET: 'secret-from-env-0123456789abcdef' },
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

describe('client secret lengths (issue 8 point 7)', () => {
  // Liberty's own example secret: 10 characters, from a provider that took anything.
  const liberty = 'gX1fBat3bV';
  // The second client's secret comes from SECOND_SECRET, as a deployment keeps it out of the file.
  const secrets = (storage: TestStorage, extra = '') => `
server: { host: 127.0.0.1, port: 0 }
storage: ${JSON.stringify(storage)}
providers:
  - name: default
${extra}    clients:
      - client_id: strong
        client_secret: strong-secret-0123456789abcdefghijk
        redirect_uris: [http://127.0.0.1:9000/callback]
      - client_id: migrated
        client_secret: \${SECOND_SECRET}
        redirect_uris: [http://127.0.0.1:9001/callback]
`;
  const run = (command: string, file: string, second: string) =>
    spawnSync(process.execPath, [bin, command, '--config', file], {
      env: { ...process.env, SECOND_SECRET: second },
      encoding: 'utf8',
      timeout: 30000,
    });

  test('serve and check refuse a secret shorter than clientSecretMinLength (default 16), by key path', async () => {
    const file = configFile('short.yaml', secrets(await testStorage(join(dir, 'short'))));
    for (const command of ['serve', 'check']) {
      const r = run(command, file, liberty);
      assert.equal(r.status, 1, `${command}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /providers\[0\]\.clients\[1\]\.client_secret: shorter than 16 characters/);
      assert.doesNotMatch(r.stderr, /providers\[0\]\.clients\[0\]/, 'the 35-character secret is fine');
      assert.doesNotMatch(r.stdout, /listening on/);
      assert.ok(!(r.stdout + r.stderr).includes(liberty), 'the secret is never printed');
    }
  });

  test('check warns by key path about a secret under 32 characters and still exits 0', async () => {
    const medium = 'medium-secret-0123456';
    const file = configFile('medium.yaml', secrets(await testStorage(join(dir, 'medium'))));
    const r = run('check', file, medium);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /OK/);
    assert.match(
      r.stderr,
      /warning: providers\[0\]\.clients\[1\]\.client_secret: shorter than 32 characters/,
    );
    assert.doesNotMatch(r.stderr, /clients\[0\]/);
    assert.ok(!(r.stdout + r.stderr).includes(medium), 'the secret is never printed');
  });

  test('a lowered minimum (8) lets a migrated secret serve; check flags it', async () => {
    const file = configFile(
      'lowered.yaml',
      secrets(await testStorage(join(dir, 'lowered')), '    clientSecretMinLength: 8\n'),
    );
    const checked = run('check', file, liberty);
    assert.equal(checked.status, 0, checked.stderr);
    assert.match(
      checked.stderr,
      /warning: providers\[0\]\.clients\[1\]\.client_secret: .*clientSecretMinLength is 8/,
    );
    assert.ok(!checked.stderr.includes(liberty));

    const child = spawn(process.execPath, [bin, 'serve', '--config', file], {
      env: { ...process.env, SECOND_SECRET: liberty },
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
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
    // The migrated client authenticates with its short secret.
    const res = await fetch(`${url}/oidc/endpoint/default/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`migrated:${liberty}`).toString('base64')}`,
      },
      body: 'grant_type=authorization_code&code=nothing&redirect_uri=http%3A%2F%2F127.0.0.1%3A9001%2Fcallback',
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: string }).error, 'invalid_grant', 'authenticated');
    child.kill('SIGTERM');
    assert.equal(await exited, 0, out);
    assert.ok(!out.includes(liberty), 'serve never prints the secret');
  });

  test('check warns about a short registration initialAccessToken', async () => {
    const file = configFile(
      'iat.yaml',
      `
server: { host: 127.0.0.1, port: 0 }
storage: ${JSON.stringify(await testStorage(join(dir, 'iat')))}
providers:
  - name: default
    registration: { initialAccessToken: initial-token-0123 }
`,
    );
    const r = run('check', file, '');
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stderr,
      /warning: providers\[0\]\.registration\.initialAccessToken: shorter than 32 characters/,
    );
    assert.ok(!r.stderr.includes('initial-token-0123'));
  });

  test('check of the dev configuration (npm start) warns about its demo secret and passes', () => {
    const r = spawnSync(
      process.execPath,
      [bin, 'check', '--config', join(import.meta.dirname, '..', '..', 'config', 'dev.yaml')],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stderr,
      /warning: providers\[0\]\.clients\[0\]\.client_secret: shorter than 32 characters/,
    );
    assert.doesNotMatch(r.stderr, /demo-secret/);
  });
});
