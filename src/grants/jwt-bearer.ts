// JWT bearer grant (RFC 7523 §2.1, §3): a JWT from a trusted issuer, about one of the provider's users, buys an access token.
import { decodeJwt } from 'jose';
import { jwtBearerGrantType } from '../config/schema.js';
import { AssertionError, verifyAssertion } from '../crypto/assertion.js';
import { invalidGrant, invalidRequest, unauthorizedClient } from '../errors/oauth-error.js';
import { issueAccessOnly } from './access-only.js';
import { clientScope } from './client-credentials.js';
import type { Grant, GrantContext, TokenResponse } from './types.js';

const rejected = (detail: string) => invalidGrant('The assertion is not acceptable', { detail });

function claimedIssuer(jwt: string): string {
  try {
    const iss = decodeJwt(jwt).iss;
    if (typeof iss === 'string') return iss;
  } catch {
    // Falls through to the error below.
  }
  throw rejected('assertion is not a JWT with iss');
}

async function handle(ctx: GrantContext): Promise<TokenResponse> {
  const { provider, client, now } = ctx;
  const assertion = ctx.params.present('assertion');
  if (assertion === undefined) throw invalidRequest('assertion is required');
  // Only a client that can prove who it is may trade an assertion for tokens (config refuses public clients too).
  if (client.isPublic) throw unauthorizedClient('The JWT bearer grant is for confidential clients');
  const iss = claimedIssuer(assertion);
  const trusted = provider.settings.jwtBearer.issuers.find((i) => i.issuer === iss);
  if (!trusted) throw rejected(`untrusted issuer ${iss.slice(0, 200)}`);

  let payload: Awaited<ReturnType<typeof verifyAssertion>>;
  try {
    payload = await verifyAssertion(assertion, {
      key: provider.keySets.resolver(trusted),
      algorithms: trusted.algorithms,
      issuer: trusted.issuer,
      subject: undefined,
      // RFC 7523 §3: aud identifies the authorization server; its token endpoint URL is accepted too.
      audiences: [provider.issuer, `${provider.issuer}/token`],
      audienceMustBeString: false,
      now,
      maxLifetime: provider.settings.maxAssertionLifetime,
    });
  } catch (err) {
    if (err instanceof AssertionError) throw rejected(err.message);
    throw err;
  }
  // RFC 7523 §3: the server may keep used jti values to refuse replays; we must.
  if (
    !(await provider.store.useJti(provider.name, `jwt-bearer:${iss}`, payload.jti, now, payload.replayUntil))
  )
    throw rejected('assertion replayed');
  const sub = String(payload.sub);
  const user = await provider.store.findUserByUsername(provider.name, sub);
  if (!user) throw rejected('subject is not a user of this provider');

  const scope = clientScope(ctx.params.present('scope'), client, true).filter((s) => s !== 'offline_access');
  return issueAccessOnly(ctx, user.id, scope);
}

export const jwtBearerGrant: Grant = {
  grantType: jwtBearerGrantType,
  parameters: new Set(['assertion', 'scope', 'resource']),
  handle,
};
