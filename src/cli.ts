// The `gatehouse` command: `serve` and `check` (interface.md "Commands").
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type Config, ConfigError, loadConfigFile } from './config/load.js';
import { demoBanner } from './demo.js';
import { startServer } from './server.js';

const usage = `usage: gatehouse serve --config FILE
       gatehouse check --config FILE
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

async function serve(config: Config, demo: boolean): Promise<number> {
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer(config);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      process.stderr.write(
        `gatehouse: cannot listen on ${config.server.host}:${config.server.port} (${code})\n`,
      );
      return 1;
    }
    throw err;
  }
  if (demo) process.stdout.write(demoBanner(config));
  process.stdout.write(`gatehouse listening on ${server.listenUrl} (public URL ${config.publicUrl})\n`);
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      server.app.log.info({ signal }, 'shutting down');
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

export async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${usage}\n`);
    return 2;
  }
  const [command] = parsed.positionals;
  if (command === 'dev') {
    const config = readConfig(devConfig);
    return config ? serve(config, true) : 1;
  }
  const file = parsed.values.config;
  if (parsed.values.help || (command !== 'serve' && command !== 'check') || typeof file !== 'string') {
    process.stderr.write(`${usage}\n`);
    return parsed.values.help ? 0 : 2;
  }
  const config = readConfig(file);
  if (!config) return 1;
  if (command === 'check') {
    process.stdout.write(
      `${file}: OK (${config.providers.length} provider(s), public URL ${config.publicUrl})\n`,
    );
    return 0;
  }
  // `serve` never prints a secret, a token or a code (interface.md).
  return serve(config, false);
}
