// Builds authorization responses: code or error, with state and iss (RFC 6749 §4.1.2, RFC 9207 §2).
import type { OAuthError } from '../errors/oauth-error.js';
import type { Provider } from '../provider/provider.js';
import type { RedirectTarget } from './errors.js';

function build(provider: Provider, target: RedirectTarget, params: Record<string, string>): string {
  const url = new URL(target.redirectUri);
  for (const [k, v] of Object.entries(params)) url.searchParams.append(k, v);
  if (target.state !== undefined) url.searchParams.append('state', target.state);
  url.searchParams.append('iss', provider.issuer);
  return url.href;
}

export function successRedirect(provider: Provider, target: RedirectTarget, code: string): string {
  return build(provider, target, { code });
}

export function errorRedirect(provider: Provider, target: RedirectTarget, error: OAuthError): string {
  return build(provider, target, { error: error.code, error_description: error.description });
}
