// Resource indicators (RFC 8707 §2): which resource servers a token is for, within what the client may ask.
import { isResourceUri } from '../config/load.js';
import { OAuthError } from '../errors/oauth-error.js';
import type { FormParams } from '../http/form.js';
import type { Client } from '../provider/client.js';

const invalidTarget = (description: string) => new OAuthError('invalid_target', description);

/**
 * The audience for a token: the `resource` values asked for, each an absolute URI without a fragment and within
 * `granted` (the grant's resources, or the client's allowed ones when the grant named none). No `resource`
 * means the grant's own resources.
 */
export function requestedAudience(
  params: FormParams,
  client: Client,
  grantResources: readonly string[],
): string[] {
  const asked = [...new Set(params.getAll('resource'))];
  if (asked.length === 0) return [...grantResources];
  const granted = grantResources.length > 0 ? new Set(grantResources) : client.allowedResources;
  for (const r of asked) {
    if (!isResourceUri(r)) throw invalidTarget('resource must be an absolute URI without a fragment');
    if (!granted.has(r)) throw invalidTarget('The client may not ask for this resource');
  }
  return asked;
}
