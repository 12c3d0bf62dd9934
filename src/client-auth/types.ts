// The client authentication interface: one module per method (RFC 6749 §2.3, RFC 7523 §2.2, OIDC Core §9).
import type { ClientAuthMethodName } from '../config/schema.js';
import type { FormParams } from '../http/form.js';
import type { Client } from '../provider/client.js';
import type { Provider } from '../provider/provider.js';

/** What a token-side endpoint request carries that client authentication may read. */
export interface AuthInput {
  authorization: string | undefined;
  form: FormParams;
}

/** Where in the request a method's credentials travel. */
export type Carrier = 'basic' | 'post' | 'assertion' | 'client_id';

export interface PresentedCredentials {
  carrier: Carrier;
  clientId: string;
  secret?: string;
  assertion?: string;
}

export interface ClientAuthenticator {
  readonly method: ClientAuthMethodName;
  readonly carrier: Carrier;
  /** Checks the credentials against the registered client; throws invalid_client. */
  verify(provider: Provider, client: Client, credentials: PresentedCredentials, now: number): Promise<void>;
}
