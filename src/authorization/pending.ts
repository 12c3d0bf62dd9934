// A pending authorization sealed into its interaction URL (JWE dir + A256GCM, RFC 7516), so an anonymous caller leaves no store row (issue 8 point 3).
import { CompactEncrypt, compactDecrypt } from 'jose';
import type { Provider } from '../provider/provider.js';
import type { AuthorizationRequest, EpochSeconds } from '../store/types.js';

/** An authorization request waiting for a login or a consent. Nothing of it is stored until it completes. */
export interface PendingAuthorization {
  /** Random; completion and denial spend it once in the replay store (namespace `interaction`). */
  id: string;
  /** Hash of the browser-binding cookie that started it: another browser cannot use the URL. */
  bindingHash: string;
  request: AuthorizationRequest;
  /** The session it may use: logged into during it (resealed after the login), or brought to a consent-only one. */
  sessionIdHash: string | undefined;
  /** A session whose login is at least this recent was logged into during this authorization. */
  createdAt: EpochSeconds;
  expiresAt: EpochSeconds;
}

/** The query parameter of the interaction URL that carries the sealed value. */
export const pendingParameter = 'pending';

/** Bumped when the sealed shape changes, so an older process's value is refused rather than misread. */
const version = 1;

interface Sealed {
  v: number;
  id: string;
  bh: string;
  sid?: string;
  iat: number;
  exp: number;
  req: AuthorizationRequest;
}

const keys = new WeakMap<Provider, Uint8Array>();

/**
 * A key for this one purpose, derived from the provider's cookie key (generated once per provider and shared through
 * the store, so every process opens what any process sealed): HMAC under it of a label no other use of `mac` takes.
 */
function keyOf(provider: Provider): Uint8Array {
  let key = keys.get(provider);
  if (key === undefined) {
    key = new Uint8Array(
      Buffer.from(provider.mac(`key:pending-authorization:${provider.name}`), 'base64url'),
    );
    keys.set(provider, key);
  }
  return key;
}

export async function sealPending(provider: Provider, p: PendingAuthorization): Promise<string> {
  const body: Sealed = {
    v: version,
    id: p.id,
    bh: p.bindingHash,
    ...(p.sessionIdHash === undefined ? {} : { sid: p.sessionIdHash }),
    iat: p.createdAt,
    exp: p.expiresAt,
    req: p.request,
  };
  return new CompactEncrypt(new TextEncoder().encode(JSON.stringify(body)))
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
    .encrypt(keyOf(provider));
}

/**
 * The pending authorization, or undefined when the value was not sealed by this provider, was changed, or has
 * expired: all the same to the caller ("expired or already used"), and never an exception.
 */
export async function openPending(
  provider: Provider,
  sealed: string,
): Promise<PendingAuthorization | undefined> {
  let body: Sealed;
  try {
    const { plaintext } = await compactDecrypt(sealed, keyOf(provider), {
      keyManagementAlgorithms: ['dir'],
      contentEncryptionAlgorithms: ['A256GCM'],
    });
    body = JSON.parse(new TextDecoder().decode(plaintext)) as Sealed;
  } catch {
    return undefined;
  }
  // Authenticated by our key, so the shape is ours; the version guards against a value from an older release.
  if (body.v !== version || typeof body.exp !== 'number' || body.exp <= provider.clock.now())
    return undefined;
  return {
    id: body.id,
    bindingHash: body.bh,
    request: body.req,
    sessionIdHash: body.sid,
    createdAt: body.iat,
    expiresAt: body.exp,
  };
}

/** Where the browser goes for the login and consent pages of this pending authorization. */
export function pendingUrl(provider: Provider, id: string, sealed: string): string {
  return `${provider.issuer}/interaction/${id}?${pendingParameter}=${sealed}`;
}

/**
 * Completion or denial, once: the replay store records the id until the value itself expires. Only a browser that
 * has authenticated gets this far, so only those write.
 */
export function spendPending(provider: Provider, p: PendingAuthorization): Promise<boolean> {
  return provider.store.useJti(provider.name, 'interaction', p.id, provider.clock.now(), p.expiresAt);
}

/**
 * Whether it was completed or denied already, for a page shown to a signed-in browser. The replay store has no read,
 * so this records the id with an expiry of now: a live row answers false; otherwise the row written is already
 * expired, never blocks the real completion (which takes it over) and is swept.
 */
export async function pendingSpent(provider: Provider, p: PendingAuthorization): Promise<boolean> {
  const now = provider.clock.now();
  return !(await provider.store.useJti(provider.name, 'interaction', p.id, now, now));
}
