// Shared check of a client assertion (RFC 7523 §3, OIDC Core §9): iss = sub = client_id, aud = issuer, single-use jti.
import type { JWTVerifyGetKey } from 'jose';
import { AssertionError, verifyAssertion } from '../crypto/assertion.js';
import type { Client } from '../provider/client.js';
import type { Provider } from '../provider/provider.js';
import { clientAuthFailed } from './errors.js';
import type { PresentedCredentials } from './types.js';

export async function verifyClientAssertion(
  provider: Provider,
  client: Client,
  credentials: PresentedCredentials,
  key: Uint8Array | JWTVerifyGetKey,
  now: number,
): Promise<void> {
  let verified: Awaited<ReturnType<typeof verifyAssertion>>;
  try {
    verified = await verifyAssertion(credentials.assertion ?? '', {
      key,
      algorithms: client.assertionAlgs,
      issuer: client.id,
      subject: client.id,
      // The issuer identifier as the single audience: the 2025 audience-injection fix (rfc7523bis §4).
      audiences: [provider.issuer],
      audienceMustBeString: true,
      now,
      maxLifetime: provider.settings.maxAssertionLifetime,
    });
  } catch (err) {
    if (err instanceof AssertionError)
      throw clientAuthFailed('assertion', `client assertion: ${err.message}`);
    throw err;
  }
  if (
    !(await provider.store.useJti(
      provider.name,
      `client-assertion:${client.id}`,
      verified.jti,
      now,
      verified.replayUntil,
    ))
  )
    throw clientAuthFailed('assertion', 'client assertion replayed');
}
