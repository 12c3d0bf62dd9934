// The opening steps every client-authenticated endpoint shares (RFC 6749 §3.2, RFC 7009 §2.1, RFC 7662 §2.1).
import type { FastifyRequest } from 'fastify';
import { authenticateClient } from '../client-auth/authenticate.js';
import { invalidRequest } from '../errors/oauth-error.js';
import type { FormParams } from '../http/form.js';
import { rejectQueryParameters, requireForm } from '../http/oauth-request.js';
import type { Client } from '../provider/client.js';
import type { Provider } from '../provider/provider.js';
import { throttledClientAuth } from '../throttle/client-auth.js';

export interface ClientRequest {
  form: FormParams;
  client: Client;
  now: number;
}

/** A form POST without parameters in the URL, from an authenticated client, whose origins then decide CORS. */
export async function clientRequest(provider: Provider, request: FastifyRequest): Promise<ClientRequest> {
  rejectQueryParameters(request);
  const form = requireForm(request);
  const now = provider.clock.now();
  const input = { authorization: request.headers.authorization, form };
  // Issue 8 point 2: refused while this client or address is throttled; every invalid_client is counted.
  const client = await throttledClientAuth(provider, input, request.ip, () =>
    authenticateClient(provider, input, now),
  );
  request.corsClient = client;
  return { form, client, now };
}

/** The `token` parameter of revocation and introspection requests. */
export function tokenParam(form: FormParams): string {
  const value = form.present('token');
  if (value === undefined) throw invalidRequest('token is required');
  return value;
}
