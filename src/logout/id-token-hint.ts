// The id_token_hint of a logout request (OIDC RP-Initiated Logout 1.0 §2): one of our own ID tokens, expired or not.
import { compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { signingAlgs } from '../config/schema.js';
import { OAuthError } from '../errors/oauth-error.js';
import type { Client } from '../provider/client.js';
import type { Provider } from '../provider/provider.js';

export interface IdTokenHint {
  /** The client the ID token was issued to (its `aud`). */
  client: Client;
  /** The `sub` as that client saw it (pairwise or public). */
  sub: string;
  /** The provider session it was issued in, when it names one. */
  sid: string | undefined;
}

const badHint = (detail: string) =>
  new OAuthError('invalid_request', 'The id_token_hint is not a valid ID token issued by this provider', {
    detail,
  });

/** OIDC Core §2: `aud` may be an array; `azp` then names the client it was issued to. */
function audienceOf(payload: Record<string, unknown>): string | undefined {
  const { aud, azp } = payload;
  if (typeof aud === 'string') return aud;
  if (!Array.isArray(aud) || !aud.every((a) => typeof a === 'string')) return undefined;
  if (typeof azp === 'string' && aud.includes(azp)) return azp;
  return aud.length === 1 ? (aud[0] as string) : undefined;
}

/**
 * RP-Initiated Logout §2: "the OP MUST validate that it was the issuer of the ID Token" and SHOULD accept expired
 * ones. So: the signature must verify against our own published keys (an `alg: none` or foreign signature fails
 * here), `iss` must be ours, and `exp` is not checked; how old a hint may be is bounded by key retirement instead.
 * Only ID tokens count (RFC 8725 §3.11): an access token (`at+jwt`) or a logout token (`logout+jwt`) is refused by its
 * `typ`; a signed UserInfo response, also `typ: JWT` with iss, aud, sub and exp, by lacking what every ID token of
 * ours has and it never does: `auth_time`, and `azp` naming the client (src/tokens/id-token.ts).
 */
export async function verifyIdTokenHint(provider: Provider, hint: string): Promise<IdTokenHint> {
  let payload: Record<string, unknown>;
  try {
    const keys = createLocalJWKSet(provider.keys.jwks as JSONWebKeySet);
    const verified = await compactVerify(hint, keys, { algorithms: [...signingAlgs] });
    const typ = verified.protectedHeader.typ;
    if (typ !== undefined && typ.toUpperCase() !== 'JWT') throw new Error(`typ ${typ}`);
    const parsed: unknown = JSON.parse(new TextDecoder().decode(verified.payload));
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('payload');
    payload = parsed as Record<string, unknown>;
  } catch (err) {
    throw badHint(`id_token_hint does not verify: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (payload.iss !== provider.issuer) throw badHint('id_token_hint from another issuer');
  if (typeof payload.sub !== 'string') throw badHint('id_token_hint without sub');
  const clientId = audienceOf(payload);
  if (typeof payload.auth_time !== 'number')
    throw badHint('id_token_hint without auth_time: not an ID token');
  if (clientId === undefined || payload.azp !== clientId)
    throw badHint('id_token_hint without azp naming its client: not an ID token');
  const client = await provider.findClient(clientId);
  if (!client) throw badHint(`id_token_hint for an unknown client ${clientId}`);
  return { client, sub: payload.sub, sid: typeof payload.sid === 'string' ? payload.sid : undefined };
}
