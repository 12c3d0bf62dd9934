// The client authentication interface: one module per method (RFC 6749 §2.3, OIDC Core §9).
import type { ClientAuthMethodName } from '../config/schema.js';
import type { FormParams } from '../http/form.js';
import type { Client } from '../provider/client.js';
import type { Provider } from '../provider/provider.js';

/** What a token-side endpoint request carries that client authentication may read. */
export interface AuthInput {
  authorization: string | undefined;
  form: FormParams;
}

export interface PresentedCredentials {
  method: ClientAuthMethodName;
  clientId: string;
  secret?: string;
}

export interface ClientAuthenticator {
  readonly method: ClientAuthMethodName;
  /** This method's credentials if the request carries them; throws invalid_client when they are malformed. */
  extract(input: AuthInput): PresentedCredentials | undefined;
  /** Checks the credentials against the registered client; throws invalid_client. */
  verify(provider: Provider, client: Client, credentials: PresentedCredentials): void;
}
