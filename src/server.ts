// Starts and stops a Gatehouse server: store, providers, HTTP app, periodic cleanup.
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { workerSettings } from './cluster/share.js';
import { type Config, ConfigError } from './config/load.js';
import { keyReloadIntervalMs } from './crypto/keys.js';
import { openPasswordPool } from './crypto/password.js';
import { registerRoutes } from './endpoints/routes.js';
import { buildApp } from './http/app.js';
import { Metrics } from './http/metrics.js';
import { createProvider, type Provider } from './provider/provider.js';
import { StoreUnavailableError } from './store/errors.js';
import { openStore } from './store/open.js';
import type { Store } from './store/types.js';
import { checkConfiguredSectors } from './subjects/configured-sectors.js';
import { type Clock, systemClock } from './util/clock.js';

export interface ServerOptions {
  clock?: Clock;
  logStream?: NodeJS.WritableStream;
  /** Store to use instead of opening the configured one (tests that share one). */
  store?: Store;
  /**
   * This process is one of this many cluster workers (`server.workers`, src/cluster/): its in-memory flood buckets
   * take a 1/N share of the configured rates, so the documented limits hold for the whole server.
   */
  workers?: number;
  /** Where requests are counted and /metrics reads from (a cluster worker's answers for every worker). */
  metrics?: Metrics;
}

export interface RunningServer {
  app: FastifyInstance;
  store: Store;
  providers: Provider[];
  /** The base URL the server listens on (not the public URL). */
  listenUrl: string;
  close(): Promise<void>;
}

/**
 * How often expired rows are swept. Often, so each sweep is small: it deletes in short indexed batches and yields
 * between them, so requests are never stalled behind it (issue 7 point 6).
 */
const cleanupIntervalMs = 60 * 1000;

export async function startServer(config: Config, options: ServerOptions = {}): Promise<RunningServer> {
  const clock = options.clock ?? systemClock;
  // Sector documents are fetched before anything else: a bad one stops the start like any configuration error.
  const sectorProblems = await checkConfiguredSectors(config);
  if (sectorProblems.length > 0) throw new ConfigError(sectorProblems);
  const store = options.store ?? (await openStore(config.storage, clock));
  // argon2's worker threads (issue 8 point 5), before the providers: they hash configured passwords through it.
  const passwords = await openPasswordPool({
    workers: config.server.passwordWorkers,
    queue: config.server.passwordQueue,
  }).catch(async (err: unknown) => {
    if (!options.store) await store.close();
    throw err;
  });
  try {
    const providers: Provider[] = [];
    for (const settings of config.providers) {
      providers.push(
        await createProvider(workerSettings(settings, options.workers ?? 1), {
          store,
          clock,
          secureCookies: config.secureCookies,
          publicUrl: config.publicUrl,
          allowPrivateNetworkFetch: config.server.allowPrivateNetworkFetch,
        }),
      );
    }
    const metrics = options.metrics ?? new Metrics();
    const tls = config.server.tls;
    const app = buildApp({
      config,
      store,
      providers,
      metrics,
      ...(options.logStream ? { logStream: options.logStream } : {}),
      ...(tls ? { https: { cert: readFileSync(tls.cert), key: readFileSync(tls.key) } } : {}),
      registerRoutes: (a) => registerRoutes(a, providers, store, metrics),
    });
    for (const p of config.providers) {
      if (
        p.secretEncryptionKey === undefined &&
        p.clients.some((c) => c.token_endpoint_auth_method === 'client_secret_jwt')
      )
        app.log.warn(
          { provider: p.name },
          'client_secret_jwt secrets are encrypted with a key kept in the same database; set secretEncryptionKey from the environment',
        );
    }
    // Every accepted TCP connection, TLS handshakes included, so the shutdown deadline can cut them all.
    const sockets = new Set<Socket>();
    app.server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    await app.listen({ host: config.server.host, port: config.server.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.server.port;
    const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
    const listenUrl = `${tls ? 'https' : 'http'}://${host}:${port}`;

    let sweeping = false;
    const cleanup = setInterval(() => {
      // A sweep still running (a large backlog) is not joined by a second one.
      if (sweeping) return;
      sweeping = true;
      store
        .deleteExpired(clock.now())
        .catch((err: unknown) =>
          err instanceof StoreUnavailableError
            ? app.log.warn({ detail: err.message }, 'cleanup skipped: store unavailable')
            : app.log.error({ err }, 'cleanup failed'),
        )
        .finally(() => {
          sweeping = false;
        });
    }, cleanupIntervalMs);
    cleanup.unref();
    // Key rotation (`gatehouse keys rotate`, maybe from another process): sign with the newest key within seconds.
    const keyReload = setInterval(() => {
      for (const p of providers)
        p.keys
          .reload()
          .catch((err: unknown) =>
            err instanceof StoreUnavailableError
              ? app.log.warn(
                  { detail: err.message, provider: p.name },
                  'key reload skipped: store unavailable',
                )
              : app.log.error({ err, provider: p.name }, 'key reload failed'),
          );
    }, keyReloadIntervalMs);
    keyReload.unref();

    return {
      app,
      store,
      providers,
      listenUrl,
      async close() {
        clearInterval(cleanup);
        clearInterval(keyReload);
        // Finishes requests in flight, then closes the store they use. Whatever is still open at the deadline (a
        // client trickling its request, a keep-alive connection that has not gone idle) is cut, so a slow client
        // cannot hold the stop; the last second is left for closing the store within the setting.
        const shutdownMs = config.server.shutdownTimeoutSeconds * 1000;
        const deadline = setTimeout(
          () => {
            app.log.warn('shutdown deadline reached: closing the connections still open');
            app.server.closeAllConnections();
            // closeAllConnections knows only HTTP connections: a TLS connection still in its handshake is not one.
            for (const socket of sockets) socket.destroy();
          },
          Math.max(shutdownMs / 2, shutdownMs - 1000),
        );
        try {
          await app.close();
        } finally {
          clearTimeout(deadline);
        }
        await passwords.close();
        if (!options.store) await store.close();
      },
    };
  } catch (err) {
    await passwords.close();
    if (!options.store) await store.close();
    throw err;
  }
}
