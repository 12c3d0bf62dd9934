// Builds the Fastify application: infrastructure (parsers, headers, errors, logging), then each provider's routes.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import cookie from '@fastify/cookie';
import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify';
import pino from 'pino';
import type { Config } from '../config/load.js';
import { neverServedMethod, routableMethods } from '../endpoints/method-not-allowed.js';
import { OAuthError } from '../errors/oauth-error.js';
import type { Client } from '../provider/client.js';
import type { Provider } from '../provider/provider.js';
import type { Store } from '../store/types.js';
import { applyCors } from './cors.js';
import { logRequestFailure, sendJsonError, sendPageError, setPageHeaders, toOAuthError } from './errors.js';
import { declaresOtherCharset, decodeUtf8, FormSyntaxError, parseForm } from './form.js';
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

/**
 * How often Node looks for requests past their deadline. Its default (30 s) would let a 30 s limit run to 60 s; the
 * check walks only connections with a request in progress, so a second costs little.
 */
const connectionsCheckingIntervalMs = 1000;

/** A raw HTTP/1.1 answer that closes the connection, for what Node hands us as a socket rather than a request. */
function rawResponse(status: number, headers: Record<string, string>, body: string): string {
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${lines.join('')}Connection: close\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

function jsonRawResponse(
  status: number,
  error: string,
  description: string,
  extra: Record<string, string> = {},
) {
  return rawResponse(
    status,
    { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...extra },
    JSON.stringify({ error, error_description: description }),
  );
}

/** Writes the answer, then closes the socket even if the client keeps sending (a trickled body, a tunnel). */
function endSocket(socket: Socket, response: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(response, () => socket.destroy());
  // A client that never reads can keep end() from completing: the connection goes anyway.
  setTimeout(() => socket.destroy(), endGraceMs).unref();
}

/**
 * Which X-Forwarded-For entries to believe. Fastify 5.12 turns a hop count into "trust nothing" (it cannot check the
 * immediate peer), which would silently put every client behind a proxy on the proxy's address, and so on one set
 * of throttle counters: a hop count here trusts the peer and the next hops - 1 entries, as documented (only safe
 * when every request comes through the proxies). Addresses or CIDR ranges of the proxies are the stricter form.
 */
function proxyTrust(
  setting: boolean | number | readonly string[],
): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof setting === 'number') return (_address, hop) => hop < setting;
  return typeof setting === 'boolean' ? setting : [...setting];
}

/** How long an answer written to a refused connection may take to drain before the socket is destroyed. */
const endGraceMs = 1000;

/** The path of a request line (`METHOD /path HTTP/1.x`), when it is one. */
function requestLinePath(raw: unknown): string | undefined {
  if (!Buffer.isBuffer(raw)) return undefined;
  const m = /^[^\s]+ (\/[^\s]*) HTTP\/1\.[01]\r?\n/.exec(raw.subarray(0, 8192).toString('latin1'));
  return m?.[1];
}

/** Two Authorization headers: Node keeps only the first, so which one counts would be ours to guess (RFC 6750 §2). */
function repeatsAuthorization(rawHeaders: string[]): boolean {
  let seen = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]?.toLowerCase() === 'authorization') seen++;
  return seen > 1;
}

export function buildApp(options: AppOptions): FastifyInstance {
  const { config } = options;
  const requestTimeout = config.server.requestTimeoutSeconds * 1000;
  const keepAliveTimeout = config.server.keepAliveTimeoutSeconds * 1000;
  // Node's own limits on slow clients (issue 8 point 4), the same for HTTP and HTTPS: headers and body must all have
  // arrived within requestTimeout (else 408 and close); a TLS handshake gets no longer than that either.
  const serverOptions = {
    requestTimeout,
    headersTimeout: requestTimeout,
    keepAliveTimeout,
    connectionsCheckingInterval: connectionsCheckingIntervalMs,
  };
  const fastifyOptions: FastifyServerOptions & {
    http?: typeof serverOptions;
    https?: (typeof serverOptions & { cert: Buffer; key: Buffer; handshakeTimeout: number }) | null;
  } = {
    logger: {
      level: config.server.logLevel,
      stream: options.logStream ?? stdoutLog(),
    },
    // One line per request, written by the onResponse hook below, without query strings or bodies.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 64 * 1024,
    trustProxy: proxyTrust(config.server.trustProxy),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Fastify sets these on the server after creating it (its own defaults: no request timeout, 72 s keep-alive).
    requestTimeout,
    keepAliveTimeout,
    http: serverOptions,
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 200 },
    // Errors Fastify raises before routing (a path that is not valid percent-encoding) get our error shape too.
    frameworkErrors: (err, request, reply) => {
      const oauth = toOAuthError(err);
      request.oauthError = oauth;
      if (/\/(interaction\/|authorize|end_session)/.test(request.url)) sendPageError(reply, oauth);
      else sendJsonError(reply, oauth);
    },
    // Requests Node's HTTP parser refuses, or that ran out of time, never reach Fastify; answer them in our shape.
    clientErrorHandler: (err: NodeJS.ErrnoException & { rawPacket?: unknown }, socket: Socket) => {
      if (err.code === 'ECONNRESET' || socket.destroyed) return;
      // A TLS handshake that failed or ran out of time: there is no HTTP to answer in, and end() on a socket that
      // never became secure never completes (the connection would stay open and hold up SIGTERM). Drop it.
      if (err.code?.startsWith('ERR_TLS') || err.code?.startsWith('ERR_SSL')) {
        socket.destroy();
        return;
      }
      // Answered only if nothing of a response has gone out on this connection yet.
      const inProgress = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
      if (inProgress?.headersSent) {
        socket.destroy();
        return;
      }
      if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
        // No request line is logged for it (the request never completed): this one says who was cut off.
        app.log.info({ status: 408, ip: socket.remoteAddress }, 'request not received in time');
        endSocket(socket, jsonRawResponse(408, 'invalid_request', 'Request not received in time'));
        return;
      }
      if (err.code === 'HPE_INVALID_METHOD') {
        // A method llhttp does not know: 405 with the endpoint's Allow, like any other method it does not serve.
        const path = requestLinePath(err.rawPacket);
        if (path !== undefined) {
          answerUnroutable(socket, path);
          return;
        }
      }
      const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
      endSocket(
        socket,
        jsonRawResponse(
          tooLarge ? 431 : 400,
          'invalid_request',
          tooLarge ? 'Request headers too large' : 'Malformed HTTP request',
        ),
      );
    },
    ...(options.https
      ? { https: { ...options.https, ...serverOptions, handshakeTimeout: requestTimeout } }
      : {}),
  };
  const app = Fastify(fastifyOptions) as unknown as FastifyInstance;
  // Past the cap Node closes a new connection at once; those already open are still served.
  app.server.maxConnections = config.server.maxConnections;

  /**
   * What the router never sees (a CONNECT, a method llhttp refuses) is answered as the never-served method at the
   * same path: the endpoint's own 405 with its Allow, or the 404 of an unknown path; then the connection closes.
   */
  function answerUnroutable(socket: Socket, path: string): void {
    // The request line logged for it names the stand-in method; the address is the real client's.
    const remoteAddress = socket.remoteAddress ?? '127.0.0.1';
    app.inject({ method: neverServedMethod, url: path, remoteAddress }).then(
      (res) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(res.headers)) {
          if (value === undefined || /^(connection|content-length|transfer-encoding|keep-alive)$/i.test(name))
            continue;
          headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
        }
        endSocket(socket, rawResponse(res.statusCode, headers, res.body));
      },
      () => endSocket(socket, jsonRawResponse(400, 'invalid_request', 'Malformed HTTP request')),
    );
  }

  // Node hands CONNECT to this event and, with no listener, drops the socket without a word.
  app.server.on('connect', (request: { url?: string }, socket: Socket) => {
    const target = request.url ?? '';
    if (target.startsWith('/')) answerUnroutable(socket, target);
    // A tunnel to host:port: this server is no proxy, and that target serves no method at all.
    else
      endSocket(
        socket,
        jsonRawResponse(405, 'method_not_allowed', 'This server is not a proxy', { Allow: '' }),
      );
  });

  // Methods Fastify does not route by default (WebDAV, LINK, PURGE, ...), so each endpoint can answer them 405.
  const supported = new Set<string>(app.supportedMethods);
  for (const method of routableMethods) if (!supported.has(method)) app.addHttpMethod(method);

  app.decorateRequest('oauthError', undefined);
  app.decorateRequest('corsClient', undefined);
  app.register(cookie);

  // Only form bodies are parsed; anything else is refused before a handler sees it (415 → invalid_request).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(formTypes, { parseAs: 'buffer' }, (req, body, done) => {
    // Forms are UTF-8 (WHATWG URL §5.1); bytes declared as another charset would be read as something else.
    if (declaresOtherCharset(req.headers['content-type'])) {
      done(new OAuthError('invalid_request', 'Form bodies must be UTF-8'), undefined);
      return;
    }
    try {
      done(null, parseForm(decodeUtf8(body as Buffer)));
    } catch (err) {
      const e = err as Error & { statusCode?: number };
      if (err instanceof FormSyntaxError) e.statusCode = 400;
      done(e, undefined);
    }
  });

  // The hooks run on every request: callback style, since an async hook costs a promise and a microtask each.
  app.addHook('onRequest', (request, reply, done) => {
    const kind = request.routeOptions.config.kind;
    reply.header('X-Content-Type-Options', 'nosniff');
    if (config.secureCookies) reply.header('Strict-Transport-Security', 'max-age=31536000');
    if (kind === 'api' || kind === 'page') {
      reply.header('Cache-Control', 'no-store');
      reply.header('Pragma', 'no-cache');
    }
    if (kind === 'page') setPageHeaders(reply);
    if (repeatsAuthorization(request.raw.rawHeaders)) {
      done(new OAuthError('invalid_request', 'Only one Authorization header is allowed'));
      return;
    }
    done();
  });

  app.addHook('onSend', (request, reply, payload, done) => {
    applyCors(request, reply);
    done(null, payload);
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

  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    options.metrics.observeRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    const err = request.oauthError;
    request.log.info(
      {
        method: request.method,
        path: loggedPath(request.url),
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
        ip: request.ip,
        ...(err ? { error: err.code, detail: clip(err.detail ?? err.description) } : {}),
      },
      'request',
    );
    done();
  });

  options.registerRoutes(app);
  return app;
}

/**
 * Standard output, written asynchronously: a synchronous write per log line costs a system call on the request's
 * path (issue 9 point 4). Lines written while one write is in flight go out together in the next, whole lines of at
 * most PIPE_BUF (4096) bytes per write, so the lines of several workers sharing one pipe never interleave mid-line.
 * What is buffered is written at a normal exit; the chunk in flight at that moment, or everything buffered when the
 * process is killed, can be lost. Past maxBufferedLog bytes (stdout not being read) lines are dropped rather than
 * held in memory. One stream per process, however many apps it builds.
 */
let stdoutStream: pino.DestinationStream | undefined;
const maxBufferedLog = 16 * 1024 * 1024;
function stdoutLog(): pino.DestinationStream {
  if (stdoutStream === undefined) {
    const stream = pino.destination({ dest: 1, sync: false, maxLength: maxBufferedLog, maxWrite: 4096 });
    process.once('exit', () => {
      try {
        stream.flushSync();
      } catch {}
    });
    stdoutStream = stream;
  }
  return stdoutStream;
}

/** Longest path or error detail a log line keeps: a request cannot make the log grow by what it sends. */
const maxLogged = 256;

function clip(text: string): string {
  return text.length > maxLogged ? `${text.slice(0, maxLogged)}…` : text;
}

/**
 * The path alone: no query and no fragment (Node accepts `#` in a request target), since either may carry a token,
 * a code or a hint.
 */
function loggedPath(url: string): string {
  const end = url.search(/[?#]/);
  return clip(end === -1 ? url : url.slice(0, end));
}
