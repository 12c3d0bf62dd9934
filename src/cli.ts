// The `gatehouse` command: `serve`, `check`, `keys rotate` and `keys list` (interface.md "Commands").
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runPrimary } from './cluster/primary.js';
import { type ClusterWorker, isClusterWorker, joinCluster } from './cluster/worker.js';
import { type Config, ConfigError, configWarnings, loadConfigFile } from './config/load.js';
import { isSigningAlg, supportedSigningAlgs } from './crypto/keys.js';
import { demoBanner } from './demo.js';
import { providerKeyStatuses, rotateProviderKey } from './provider/key-rotation.js';
import { startServer } from './server.js';
import { openStore } from './store/open.js';
import { checkConfiguredSectors } from './subjects/configured-sectors.js';
import { systemClock } from './util/clock.js';

const usage = `usage: gatehouse serve --config FILE
       gatehouse check --config FILE
       gatehouse keys rotate --config FILE --provider NAME [--alg ALG]
       gatehouse keys list --config FILE [--provider NAME]
       gatehouse dev                  (what npm start runs: config/dev.yaml, demo credentials printed)`;

/** The committed development configuration; only `dev` prints its demo credentials. */
const devConfig = fileURLToPath(new URL('../config/dev.yaml', import.meta.url));

function readConfig(file: string): Config | undefined {
  try {
    return loadConfigFile(file);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${file}: ${err.message}\n`);
      return undefined;
    }
    throw err;
  }
}

/** One line per warning, by key path, on stderr (values are never shown: most warnings are about secrets). */
function printWarnings(file: string, config: Config): void {
  for (const w of configWarnings(config)) process.stderr.write(`${file}: warning: ${w.path}: ${w.message}\n`);
}

/** The one line tests, scripts and the bench wait for (interface.md "Commands"), and the demo banner before it. */
function printListening(config: Config, listenUrl: string, demo: boolean): void {
  if (demo) process.stdout.write(demoBanner(config));
  process.stdout.write(`gatehouse listening on ${listenUrl} (public URL ${config.publicUrl})\n`);
}

async function serve(config: Config, demo: boolean): Promise<number> {
  // server.workers > 1: this process forks the workers and serves nothing; each worker runs this same command and
  // comes back here as a cluster worker, with the same configuration file (src/cluster/).
  const clustered = config.server.workers > 1;
  if (clustered && !isClusterWorker()) return runPrimary(config, (url) => printListening(config, url, demo));
  const worker = clustered ? joinCluster(config) : undefined;
  try {
    return await serveOne(config, demo, worker);
  } finally {
    worker?.leave();
  }
}

async function serveOne(config: Config, demo: boolean, worker: ClusterWorker | undefined): Promise<number> {
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer(config, worker?.serverOptions);
  } catch (err) {
    // A sector_identifier_uri document is checked at start: a bad one is reported like any configuration problem.
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      process.stderr.write(
        `gatehouse: cannot listen on ${config.server.host}:${config.server.port} (${code})\n`,
      );
      return 1;
    }
    throw err;
  }
  if (worker) worker.listening(server.listenUrl);
  else printListening(config, server.listenUrl, demo);
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      server.app.log.info({ signal }, 'shutting down');
      // A backstop past the shutdown deadline: should anything still hold the event loop (a store that does not
      // answer its close), the process exits anyway rather than linger. Unref'd: a clean stop is never delayed.
      setTimeout(
        () => {
          server.app.log.error('shutdown did not finish in time; exiting');
          process.exit(1);
        },
        config.server.shutdownTimeoutSeconds * 1000 + 2000,
      ).unref();
      server.close().then(
        () => resolve(0),
        (err: unknown) => {
          server.app.log.error({ err }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

/** `keys rotate`: a new signing key that every process serving the store signs with within 10 s; prints its kid. */
async function rotateKey(config: Config, providerName: string | undefined, alg: string | undefined) {
  const settings = config.providers.find((p) => p.name === providerName);
  if (!settings) {
    process.stderr.write(`gatehouse: --provider must name a configured provider\n${usage}\n`);
    return 2;
  }
  const chosen = alg ?? settings.signingAlg;
  if (!isSigningAlg(chosen)) {
    process.stderr.write(`gatehouse: --alg must be one of ${supportedSigningAlgs.join(', ')}\n`);
    return 2;
  }
  const store = await openStore(config.storage);
  try {
    process.stdout.write(`${await rotateProviderKey(settings, store, chosen, systemClock.now())}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`gatehouse: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await store.close();
  }
}

const isoTime = (t: number | undefined) => (t === undefined ? '-' : new Date(t * 1000).toISOString());

/** `keys list`: one row per key of each provider: kid, algorithm, created, state and when it leaves /jwk. */
async function listKeys(config: Config, providerName: string | undefined) {
  const providers = config.providers.filter((p) => providerName === undefined || p.name === providerName);
  if (providers.length === 0) {
    process.stderr.write(`gatehouse: no configured provider is named ${providerName}\n`);
    return 2;
  }
  const store = await openStore(config.storage);
  try {
    const rows = [['PROVIDER', 'KID', 'ALG', 'CREATED', 'STATE', 'UNPUBLISHED AT']];
    for (const p of providers)
      for (const k of await providerKeyStatuses(p, store, systemClock.now()))
        rows.push([p.name, k.kid, k.alg, isoTime(k.createdAt), k.state, isoTime(k.retireAt)]);
    const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
    for (const r of rows) {
      const line = r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ');
      process.stdout.write(`${line.trimEnd()}\n`);
    }
    return 0;
  } finally {
    await store.close();
  }
}

export async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        help: { type: 'boolean', short: 'h' },
        provider: { type: 'string' },
        alg: { type: 'string' },
      },
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${usage}\n`);
    return 2;
  }
  const [command, subcommand] = parsed.positionals;
  if (command === 'dev') {
    const config = readConfig(devConfig);
    // The dev configuration's demo secret is short on purpose (and public): said, never refused.
    if (config && !isClusterWorker()) printWarnings('config/dev.yaml', config);
    return config ? serve(config, true) : 1;
  }
  const file = parsed.values.config;
  const keysCommand = command === 'keys' && (subcommand === 'rotate' || subcommand === 'list');
  if (
    parsed.values.help ||
    (command !== 'serve' && command !== 'check' && !keysCommand) ||
    typeof file !== 'string'
  ) {
    process.stderr.write(`${usage}\n`);
    return parsed.values.help ? 0 : 2;
  }
  const config = readConfig(file);
  if (!config) return 1;
  const { provider, alg } = parsed.values;
  if (keysCommand) {
    const name = typeof provider === 'string' ? provider : undefined;
    return subcommand === 'rotate'
      ? rotateKey(config, name, typeof alg === 'string' ? alg : undefined)
      : listKeys(config, name);
  }
  if (command === 'check') {
    // Fetched documents are part of the configuration: a bad sector_identifier_uri fails the check too.
    const problems = await checkConfiguredSectors(config);
    if (problems.length > 0) {
      process.stderr.write(`${file}: ${new ConfigError(problems).message}\n`);
      return 1;
    }
    // Weak but allowed (short secrets): named by key path; the file is still valid, so the exit status stays 0.
    printWarnings(file, config);
    process.stdout.write(
      `${file}: OK (${config.providers.length} provider(s), public URL ${config.publicUrl})\n`,
    );
    return 0;
  }
  // `serve` never prints a secret, a token or a code (interface.md).
  return serve(config, false);
}
