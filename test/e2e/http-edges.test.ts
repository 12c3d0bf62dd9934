// HTTP edges (issue 8 point 8): 405 with Allow for every method an endpoint does not serve, CONNECT and methods
// Node's parser refuses included; two Authorization headers and a form charset other than UTF-8 are invalid_request.
import assert from 'node:assert/strict';
import { METHODS } from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { call } from '../helpers/http.js';
import { defaultProvider, demoClient, startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer;
before(async () => {
  // Every method at /registration in parallel is a burst its request rate would otherwise answer 429.
  const requests = { registration: { perSecond: 1000, burst: 1000 } };
  t = await startTestServer({
    providers: [{ ...defaultProvider(), registration: {}, throttle: { requests } }],
  });
});
after(() => t.close());

interface RawReply {
  status: number;
  headers: Map<string, string>;
  body: string;
}

/** One request as raw bytes on its own connection (any method, even one no client library sends), read to close. */
function raw(method: string, path: string, extraHeaders = '', body = ''): Promise<RawReply> {
  const { hostname, port } = new URL(t.baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port) }, () =>
      socket.write(
        `${method} ${path} HTTP/1.1\r\nHost: ${hostname}\r\nConnection: close\r\n${extraHeaders}\r\n${body}`,
      ),
    );
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (d) => {
      text += d;
    });
    socket.on('error', reject);
    socket.on('close', () => {
      const end = text.indexOf('\r\n\r\n');
      const [statusLine = '', ...lines] = text.slice(0, end === -1 ? text.length : end).split('\r\n');
      const headers = new Map<string, string>();
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
      }
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine)?.[1] ?? 0),
        headers,
        body: end === -1 ? '' : text.slice(end + 4),
      });
    });
  });
}

const allowOf = (r: RawReply) =>
  (r.headers.get('allow') ?? '')
    .split(',')
    .map((m) => m.trim())
    .filter((m) => m !== '')
    .sort();

const base = '/oidc/endpoint/default';
/** Every endpoint path of a provider and what it serves (HEAD where Fastify answers it for GET). */
const endpoints: { path: string; serves: string[]; page?: boolean }[] = [
  { path: `${base}/token`, serves: ['POST', 'OPTIONS'] },
  { path: `${base}/introspect`, serves: ['POST', 'OPTIONS'] },
  { path: `${base}/revoke`, serves: ['POST', 'OPTIONS'] },
  { path: `${base}/userinfo`, serves: ['GET', 'HEAD', 'POST', 'OPTIONS'] },
  { path: `${base}/authorize`, serves: ['GET', 'POST'], page: true },
  { path: `${base}/interaction/x`, serves: ['GET', 'POST'], page: true },
  { path: `${base}/end_session`, serves: ['GET', 'POST'], page: true },
  { path: `${base}/registration`, serves: ['POST'] },
  { path: `${base}/registration/some-client`, serves: ['GET', 'HEAD', 'PUT', 'DELETE'] },
  { path: `${base}/jwk`, serves: ['GET', 'HEAD', 'OPTIONS'] },
  { path: `${base}/.well-known/openid-configuration`, serves: ['GET', 'HEAD', 'OPTIONS'] },
  { path: '/healthz', serves: ['GET', 'HEAD'] },
  { path: '/metrics', serves: ['GET', 'HEAD'] },
];

/** Methods llhttp itself refuses (HPE_INVALID_METHOD): they never become a request object. */
const unknownMethods = ['FOO', 'BREW', 'XYZZY'];

describe('405 with Allow for every method an endpoint does not serve', () => {
  for (const { path, serves, page } of endpoints) {
    test(`${path}: every other method of http.METHODS, CONNECT and unknown methods → 405, Allow: ${serves.join(', ')}`, async () => {
      const refused = [...METHODS, ...unknownMethods].filter((m) => !serves.includes(m));
      const replies = await Promise.all(refused.map((m) => raw(m, path)));
      refused.forEach((method, i) => {
        const r = replies[i] as RawReply;
        assert.equal(r.status, 405, `${method} ${path}`);
        assert.deepEqual(allowOf(r), [...serves].sort(), `${method} ${path}`);
        if (method === 'HEAD') return;
        // The endpoint's own error shape: an HTML page for the browser endpoints, JSON for the others.
        if (page) {
          assert.match(r.headers.get('content-type') ?? '', /^text\/html/, `${method} ${path}`);
          assert.equal(r.headers.get('x-frame-options'), 'DENY', `${method} ${path}`);
        } else assert.equal(JSON.parse(r.body).error, 'method_not_allowed', `${method} ${path}`);
      });
    });
  }

  test('CONNECT is answered, then the connection closes', async () => {
    const r = await raw('CONNECT', `${base}/token`);
    assert.equal(r.status, 405);
    assert.equal(r.headers.get('connection'), 'close');
    // A tunnel request (authority form): this server is no proxy; 405 with an empty Allow (no method serves it).
    const tunnel = await raw('CONNECT', 'example.com:443');
    assert.equal(tunnel.status, 405);
    assert.equal(tunnel.headers.get('allow'), '');
    assert.equal(JSON.parse(tunnel.body).error, 'method_not_allowed');
  });

  test('unknown paths stay 404, whatever the method', async () => {
    for (const method of ['GET', 'PROPFIND', 'TRACE', 'CONNECT', 'FOO']) {
      const r = await raw(method, `${base}/nope`);
      assert.equal(r.status, 404, method);
      assert.equal(JSON.parse(r.body).error, 'not_found', method);
    }
  });

  test('a body the endpoint would never read does not turn the 405 into a 415', async () => {
    const r = await raw(
      'POST',
      `${base}/jwk`,
      'Content-Type: application/xml\r\nContent-Length: 7\r\n',
      '<a></a>',
    );
    assert.equal(r.status, 405);
    assert.deepEqual(allowOf(r), ['GET', 'HEAD', 'OPTIONS']);
    const propfind = await call(`${t.baseUrl}${base}/token`, {
      method: 'PROPFIND',
      headers: { 'content-type': 'application/xml' },
      body: '<propfind xmlns="DAV:"/>',
    });
    assert.equal(propfind.status, 405);
    assert.equal(propfind.headers.get('allow'), 'POST, OPTIONS');
  });
});

const basic = `Basic ${Buffer.from(`${demoClient.client_id}:${demoClient.client_secret}`).toString('base64')}`;

describe('two Authorization headers', () => {
  test('are invalid_request at the token-side endpoints and UserInfo; one is served', async () => {
    const form = 'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n';
    const one = await raw('POST', `${base}/introspect`, `Authorization: ${basic}\r\n${form}`, 'token=x');
    assert.equal(one.status, 200, one.body);
    for (const path of ['introspect', 'revoke', 'token']) {
      const twice = `Authorization: ${basic}\r\nauthorization: ${basic}\r\n${form}`;
      const r = await raw('POST', `${base}/${path}`, twice, 'token=x');
      assert.equal(r.status, 400, path);
      assert.equal(JSON.parse(r.body).error, 'invalid_request', path);
    }
    const userinfo = await raw(
      'GET',
      `${base}/userinfo`,
      'Authorization: Bearer a\r\nAuthorization: Bearer b\r\n',
    );
    assert.equal(userinfo.status, 400);
    assert.equal(JSON.parse(userinfo.body).error, 'invalid_request');
  });
});

describe('form charset', () => {
  async function introspect(contentType: string) {
    return call(`${t.baseUrl}${base}/introspect`, {
      method: 'POST',
      headers: { 'content-type': contentType, authorization: basic },
      body: 'token=abc',
    });
  }

  test('a charset other than UTF-8 is invalid_request', async () => {
    for (const charset of ['iso-8859-1', 'windows-1252', 'utf-16', '"latin1"']) {
      const r = await introspect(`application/x-www-form-urlencoded; charset=${charset}`);
      assert.equal(r.status, 400, charset);
      assert.equal(r.json.error, 'invalid_request', charset);
    }
  });

  test('UTF-8, in any case or quoted, or no charset at all, is served', async () => {
    for (const type of [
      'application/x-www-form-urlencoded',
      'application/x-www-form-urlencoded; charset=utf-8',
      'application/x-www-form-urlencoded; charset=UTF-8',
      'application/x-www-form-urlencoded;charset="utf-8"',
    ]) {
      const r = await introspect(type);
      assert.equal(r.status, 200, type);
      assert.equal(r.json.active, false, type);
    }
  });
});
