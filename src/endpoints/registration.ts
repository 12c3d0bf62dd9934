// Dynamic client registration (RFC 7591 §3) at /registration and client configuration (RFC 7592 §2) at
// /registration/{client_id}; routed only when the provider has `registration` (interface.md "URLs").
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { OAuthError } from '../errors/oauth-error.js';
import { declaresOtherCharset } from '../http/form.js';
import type { Provider } from '../provider/provider.js';
import { authorizeManagement, checkInitialAccessToken } from '../registration/access.js';
import { deleteClient, readClient, registerClient, updateClient } from '../registration/operations.js';
import { methodNotAllowed } from './method-not-allowed.js';

/** Client metadata is small; an inline jwks of a few keys fits many times over. */
const bodyLimit = 64 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** RFC 7591 §3.1: the body is a JSON object (RFC 8259 §8.1: UTF-8). Syntax errors are the client's: 400. */
function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(utf8.decode(body));
  } catch {
    throw new OAuthError('invalid_request', 'The request body is not valid JSON (UTF-8)');
  }
}

/**
 * Only these routes read JSON: the parsers live in this encapsulated scope, so the form-only parsing of every
 * other endpoint (src/http/app.ts) stays as it is. Any other content type is refused before the handler.
 */
function jsonBodies(scope: FastifyInstance): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit }, (request, body, done) => {
    // RFC 8259 §8.1: JSON between systems is UTF-8; a body declared as another charset is refused, as forms are.
    if (declaresOtherCharset(request.headers['content-type'])) {
      done(new OAuthError('invalid_request', 'JSON bodies must be UTF-8'), undefined);
      return;
    }
    try {
      done(null, parseJson(body as Buffer));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_request, _body, done) => {
    done(new OAuthError('invalid_request', 'Send the client metadata as application/json'), undefined);
  });
}

function clientIdParam(request: FastifyRequest): string {
  return (request.params as { clientId: string }).clientId;
}

function sendJson(reply: FastifyReply, status: number, body: Record<string, unknown>): FastifyReply {
  return reply.code(status).type('application/json').send(body);
}

export function registerRegistration(app: FastifyInstance, provider: Provider): void {
  // Absent `registration`: the endpoint does not exist (404) and discovery does not name it.
  if (provider.settings.registration === undefined) return;
  const url = `${provider.basePath}/registration`;
  const clientUrl = `${url}/:clientId`;
  // `api`: Cache-Control no-store and Pragma no-cache on every answer, errors as RFC 7591 §3.2.2 JSON.
  const config = { kind: 'api' as const };

  app.register(async (scope) => {
    jsonBodies(scope);

    // RFC 7591 §3.1: register; 201 with the client information (§3.2.1).
    scope.post(url, { config }, async (request, reply) => {
      checkInitialAccessToken(provider, request.headers.authorization);
      const now = provider.clock.now();
      const information = await registerClient(provider, request.body, now);
      return sendJson(reply, 201, information);
    });

    // RFC 7592 §2.1: read.
    scope.get(clientUrl, { config }, async (request, reply) => {
      const { record, token } = await authorizeManagement(
        provider,
        clientIdParam(request),
        request.headers.authorization,
      );
      return sendJson(reply, 200, readClient(provider, record, token));
    });

    // RFC 7592 §2.2: replace the metadata.
    scope.put(clientUrl, { config }, async (request, reply) => {
      const { record, token } = await authorizeManagement(
        provider,
        clientIdParam(request),
        request.headers.authorization,
      );
      return sendJson(reply, 200, await updateClient(provider, record, token, request.body));
    });

    // RFC 7592 §2.3: unregister; 204, and the client's tokens stop working.
    scope.delete(clientUrl, { config }, async (request, reply) => {
      const { record } = await authorizeManagement(
        provider,
        clientIdParam(request),
        request.headers.authorization,
      );
      await deleteClient(provider, record.clientId, provider.clock.now());
      return reply.code(204).send();
    });

    methodNotAllowed(scope, url, ['POST'], 'api');
    methodNotAllowed(scope, clientUrl, ['GET', 'PUT', 'DELETE'], 'api');
  });
}
