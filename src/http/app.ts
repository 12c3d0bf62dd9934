// Builds the Fastify application: infrastructure (parsers, headers, errors, logging), then each provider's routes.
import cookie from '@fastify/cookie';
import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify';
import type { Config } from '../config/load.js';
import type { OAuthError } from '../errors/oauth-error.js';
import type { Client } from '../provider/client.js';
import type { Provider } from '../provider/provider.js';
import type { Store } from '../store/types.js';
import { applyCors } from './cors.js';
import { logRequestFailure, sendJsonError, sendPageError, setPageHeaders, toOAuthError } from './errors.js';
import { decodeUtf8, FormSyntaxError, parseForm } from './form.js';
import type { Metrics } from './metrics.js';

/** How a route's responses are shaped: `api` JSON never cached, `page` HTML for browsers, `public` cacheable JSON. */
export type RouteKind = 'api' | 'page' | 'public';

declare module 'fastify' {
  interface FastifyContextConfig {
    kind?: RouteKind;
    /** Origins a browser may call this route from (CORS); absent: no CORS at all. */
    cors?: ReadonlySet<string>;
  }
  interface FastifyRequest {
    /** The error this request ended with, for the request log line. */
    oauthError: OAuthError | undefined;
    /** The authenticated client, once known: its own origins decide CORS from then on. */
    corsClient: Client | undefined;
  }
}

export interface AppOptions {
  config: Config;
  store: Store;
  providers: Provider[];
  metrics: Metrics;
  /** Where the JSON log lines go (default stdout). */
  logStream?: NodeJS.WritableStream;
  https?: { cert: Buffer; key: Buffer };
  registerRoutes: (app: FastifyInstance) => void;
}

const formTypes = ['application/x-www-form-urlencoded'];

export function buildApp(options: AppOptions): FastifyInstance {
  const { config } = options;
  const fastifyOptions: FastifyServerOptions & { https?: { cert: Buffer; key: Buffer } | null } = {
    logger: {
      level: config.server.logLevel,
      ...(options.logStream ? { stream: options.logStream } : {}),
    },
    // One line per request, written by the onResponse hook below, without query strings or bodies.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 64 * 1024,
    // Fastify accepts a hop count too; its type declaration lists only the other forms.
    trustProxy: config.server.trustProxy as boolean,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 200 },
    // Errors Fastify raises before routing (a path that is not valid percent-encoding) get our error shape too.
    frameworkErrors: (err, request, reply) => {
      const oauth = toOAuthError(err);
      request.oauthError = oauth;
      if (/\/(interaction\/|authorize|end_session)/.test(request.url)) sendPageError(reply, oauth);
      else sendJsonError(reply, oauth);
    },
    // Requests Node's HTTP parser refuses never reach Fastify; answer them in the same JSON shape.
    clientErrorHandler: (err: NodeJS.ErrnoException, socket: import('node:net').Socket) => {
      if (!socket.writable) return;
      const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
      const body = JSON.stringify({
        error: 'invalid_request',
        error_description: tooLarge ? 'Request headers too large' : 'Malformed HTTP request',
      });
      socket.end(
        `HTTP/1.1 ${tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\n` +
          'Content-Type: application/json\r\nCache-Control: no-store\r\nConnection: close\r\n' +
          `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    },
    ...(options.https ? { https: options.https } : {}),
  };
  const app = Fastify(fastifyOptions) as unknown as FastifyInstance;

  app.decorateRequest('oauthError', undefined);
  app.decorateRequest('corsClient', undefined);
  app.register(cookie);

  // Only form bodies are parsed; anything else is refused before a handler sees it (415 → invalid_request).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(formTypes, { parseAs: 'buffer' }, (_req, body, done) => {
    try {
      done(null, parseForm(decodeUtf8(body as Buffer)));
    } catch (err) {
      const e = err as Error & { statusCode?: number };
      if (err instanceof FormSyntaxError) e.statusCode = 400;
      done(e, undefined);
    }
  });

  app.addHook('onRequest', async (request, reply) => {
    const kind = request.routeOptions.config.kind;
    reply.header('X-Content-Type-Options', 'nosniff');
    if (config.secureCookies) reply.header('Strict-Transport-Security', 'max-age=31536000');
    if (kind === 'api' || kind === 'page') {
      reply.header('Cache-Control', 'no-store');
      reply.header('Pragma', 'no-cache');
    }
    if (kind === 'page') setPageHeaders(reply);
  });

  app.addHook('onSend', async (request, reply, payload) => {
    applyCors(request, reply);
    return payload;
  });

  app.setErrorHandler((err, request, reply) => {
    const oauth = toOAuthError(err);
    request.oauthError = oauth;
    logRequestFailure(request.log, err, oauth);
    if (request.routeOptions.config.kind === 'page') return sendPageError(reply, oauth);
    return sendJsonError(reply, oauth);
  });

  app.setNotFoundHandler((request, reply) => {
    reply.header('Cache-Control', 'no-store');
    reply
      .code(404)
      .type('application/json')
      .send({ error: 'not_found', error_description: 'No such endpoint' });
    request.oauthError = undefined;
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    options.metrics.observeRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    const err = request.oauthError;
    const q = request.url.indexOf('?');
    request.log.info(
      {
        method: request.method,
        path: q === -1 ? request.url : request.url.slice(0, q),
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
        ip: request.ip,
        ...(err ? { error: err.code, detail: err.detail ?? err.description } : {}),
      },
      'request',
    );
  });

  options.registerRoutes(app);
  return app;
}
