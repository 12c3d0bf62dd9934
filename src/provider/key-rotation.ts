// Signing key rotation as `gatehouse keys rotate` and `keys list` run it (interface.md "Commands"): how long a
// superseded key stays published (OIDC Core §10.1.1, checklist J2) and each key's state.
import type { ProviderSettings } from '../config/load.js';
import type { SigningAlg } from '../config/schema.js';
import { type KeyStatus, keyReloadIntervalMs, keyStatuses, SigningKeys } from '../crypto/keys.js';
import type { ClientMetadata, EpochSeconds, Store } from '../store/types.js';
import { providerSecretBox } from './provider.js';

/** Relying parties accept tokens a little past `exp` (clock skew); the old key stays that much longer. */
const clockSkewAllowance = 60;

/**
 * Seconds a superseded key stays published: until every token it could have signed has expired. Running processes
 * may sign with it until their next reload, then tokens live at most the longest ID token or JWT access token
 * lifetime of the provider and of any client (configured or registered).
 */
export function publishWindow(
  settings: Pick<ProviderSettings, 'lifetimes'>,
  clients: readonly ClientMetadata[],
): number {
  const lifetimes = [
    settings.lifetimes.accessToken,
    settings.lifetimes.idToken,
    ...clients.flatMap((c) => [c.access_token_lifetime ?? 0, c.id_token_lifetime ?? 0]),
  ];
  return Math.max(...lifetimes) + 2 * Math.ceil(keyReloadIntervalMs / 1000) + clockSkewAllowance;
}

/** Adds a new signing key for `alg` (default: the provider's signingAlg) and returns its kid. */
export async function rotateProviderKey(
  settings: ProviderSettings,
  store: Store,
  alg: SigningAlg,
  now: EpochSeconds,
): Promise<string> {
  const box = await providerSecretBox(settings, store);
  const stored = (await store.listClients(settings.name)).map((r) => r.metadata);
  const window = publishWindow(settings, [...settings.clients, ...stored]);
  return SigningKeys.rotate(store, settings.name, alg, box, now, now + window);
}

/** Every key of the provider with its state at `now`, oldest first. */
export async function providerKeyStatuses(
  settings: Pick<ProviderSettings, 'name'>,
  store: Store,
  now: EpochSeconds,
): Promise<KeyStatus[]> {
  return keyStatuses(await store.listSigningKeys(settings.name), now);
}
