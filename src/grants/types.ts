// The grant interface: each grant type is one module exporting its name, its parameters and its handler (RFC 6749 §4, §6).
import type { GrantTypeName } from '../config/schema.js';
import type { FormParams } from '../http/form.js';
import type { Client } from '../provider/client.js';
import type { Provider } from '../provider/provider.js';

/** RFC 6749 §5.1 successful response, plus the OIDC id_token. */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token?: string;
  id_token?: string;
  scope: string;
}

export interface GrantContext {
  provider: Provider;
  /** Already authenticated, and allowed this grant type. */
  client: Client;
  /** Only the grant's own parameters survive to here. */
  params: FormParams;
  now: number;
}

export interface Grant {
  readonly grantType: GrantTypeName;
  /** Parameters the grant reads; every other one is dropped before `handle` runs. */
  readonly parameters: ReadonlySet<string>;
  /**
   * Validates the request (read-only), then issues and stores the tokens in one atomic store step
   * (fosite's validate/populate split).
   */
  handle(ctx: GrantContext): Promise<TokenResponse>;
}
