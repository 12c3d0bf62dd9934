// The SQLite store against the store contract, on a real file.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { storeContract } from './contract.js';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-store-'));
let n = 0;
storeContract('sqlite', async () => new SqliteStore({ path: join(dir, `store-${n++}.db`) }));
