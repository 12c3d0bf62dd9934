// A raw HTTP/1.1 client for the fuzz test (issue 8 point 9): sends any method, target, header list and body bytes.
import { connect } from 'node:net';

export interface RawRequest {
  method: string;
  /** Request target, sent byte for byte (latin1): origin form, absolute form, `*` or anything else. */
  target: string;
  /** In order; a name may repeat. `host`, `connection` and the body framing are added unless present. */
  headers: [string, string][];
  body?: Buffer;
  /** Send the body with `Transfer-Encoding: chunked`, cut into pieces of this size, instead of Content-Length. */
  chunked?: number;
  /** Leave out the Host header (HTTP/1.1 requires it: the answer must be a 400, not a crash). */
  noHost?: boolean;
}

export type RawOutcome =
  | { kind: 'answer'; status: number; headers: Map<string, string>; body: string }
  /** The connection closed (or failed) before any byte of an answer. */
  | { kind: 'none'; reason: string }
  /** No answer within the deadline: the server stopped answering this request. */
  | { kind: 'timeout' };

function dechunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = data.indexOf('\r\n', at);
    if (eol === -1) break;
    const size = Number.parseInt(data.subarray(at, eol).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(data.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

function parse(raw: Buffer): RawOutcome {
  const sep = raw.indexOf('\r\n\r\n');
  const head = (sep === -1 ? raw : raw.subarray(0, sep)).toString('latin1');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const status = Number(statusLine.split(' ')[1]);
  if (!/^HTTP\/1\.[01] \d{3}/.test(statusLine) || !Number.isInteger(status))
    return { kind: 'none', reason: `not an HTTP answer: ${JSON.stringify(head.slice(0, 80))}` };
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon === -1) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
  }
  let body = sep === -1 ? Buffer.alloc(0) : raw.subarray(sep + 4);
  if ((headers.get('transfer-encoding') ?? '').includes('chunked')) body = dechunk(body);
  else if (headers.has('content-length')) body = body.subarray(0, Number(headers.get('content-length')));
  return { kind: 'answer', status, headers, body: body.toString('utf8') };
}

/** Sends one request on a fresh connection (`Connection: close`) and reads the answer until the server closes. */
export function sendRaw(baseUrl: string, req: RawRequest, timeoutMs = 20_000): Promise<RawOutcome> {
  const { hostname, port, host } = new URL(baseUrl);
  const names = new Set(req.headers.map(([k]) => k.toLowerCase()));
  const headers: [string, string][] = [];
  if (!req.noHost && !names.has('host')) headers.push(['host', host]);
  if (!names.has('connection')) headers.push(['connection', 'close']);
  headers.push(...req.headers);
  let body = req.body;
  if (body !== undefined) {
    if (req.chunked !== undefined && req.chunked > 0) {
      headers.push(['transfer-encoding', 'chunked']);
      const pieces: Buffer[] = [];
      for (let at = 0; at < body.length; at += req.chunked) {
        const piece = body.subarray(at, at + req.chunked);
        pieces.push(Buffer.from(`${piece.length.toString(16)}\r\n`, 'latin1'), piece, Buffer.from('\r\n'));
      }
      pieces.push(Buffer.from('0\r\n\r\n', 'latin1'));
      body = Buffer.concat(pieces);
    } else if (!names.has('content-length')) headers.push(['content-length', String(body.length)]);
  }
  const head = `${req.method} ${req.target} HTTP/1.1\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let failure = '';
    let settled = false;
    const socket = connect({ host: hostname, port: Number(port) });
    const finish = (outcome: RawOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ kind: 'timeout' }), timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    // The server may answer (413, 400) and close before it has read a large body: keep what arrived.
    socket.on('error', (err) => {
      failure = err.message;
    });
    socket.on('close', () =>
      finish(
        chunks.length === 0
          ? { kind: 'none', reason: failure || 'closed without an answer' }
          : parse(Buffer.concat(chunks)),
      ),
    );
    socket.on('connect', () => {
      socket.write(Buffer.from(head, 'latin1'));
      if (body !== undefined) socket.write(body);
    });
  });
}
