// Opens the store the configuration names.
import type { Config } from '../config/load.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './types.js';

export function openStore(storage: Config['storage']): Store {
  switch (storage.driver) {
    case 'sqlite':
      return new SqliteStore({ path: storage.path });
  }
}
