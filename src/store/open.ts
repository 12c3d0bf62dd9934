// Opens the store the configuration names (interface.md `storage`): SQLite, or PostgreSQL for several processes.
import type { Config } from '../config/load.js';
import type { Clock } from '../util/clock.js';
import { PostgresStore } from './postgres/postgres-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './types.js';

/** Async because PostgreSQL connects and migrates before the store is usable; a failure there stops the start. */
export async function openStore(storage: Config['storage'], clock?: Clock): Promise<Store> {
  switch (storage.driver) {
    case 'sqlite': {
      const store = new SqliteStore({ path: storage.path, synchronous: storage.synchronous });
      try {
        await store.startBackgroundCheckpoints();
      } catch (err) {
        await store.close();
        throw err;
      }
      return store;
    }
    case 'postgres':
      // The schema makes url required for postgres; this only narrows the type.
      if (storage.url === undefined) throw new Error('storage.url is required for driver postgres');
      return PostgresStore.open({
        url: storage.url,
        poolSize: storage.poolSize,
        statementTimeoutMs: storage.statementTimeoutMs,
        ...(clock ? { now: () => clock.now() } : {}),
      });
  }
}
