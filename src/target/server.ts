// The embedded target server behind `salvo serve` and `salvo demo`: a small node:http app with
// predictable routes to aim load at. Owns only its own listener and sockets; never part of a run.
import http from 'node:http';
import { OptionError } from '../errors.js';
import { featureRoute } from './features.js';
import { pageRoute } from './pages.js';
import { recordHandled } from '../handled-errors.js';

/** Largest `/bytes/:n`. */
export const MAX_BYTES_RESPONSE = 10 * 1024 * 1024;
/** Largest `/delay/:ms`. */
export const MAX_DELAY_MS = 60_000;
/** Largest request body `/echo` reads back. */
export const MAX_ECHO_BODY_BYTES = 1024 * 1024;
/** Idle keep-alive sockets stay open this long (above common client/LB idle timeouts). */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;
/** A request's head must arrive within this (must exceed the keep-alive timeout). */
export const HEADERS_TIMEOUT_MS = 66_000;
/** A whole request must complete within this (must exceed MAX_DELAY_MS). */
export const REQUEST_TIMEOUT_MS = 120_000;

export interface TargetRoute {
  method: string;
  path: string;
  description: string;
}

export const TARGET_ROUTES: readonly TargetRoute[] = [
  { method: 'GET', path: '/', description: '200 "ok" as text/plain' },
  {
    method: 'ANY',
    path: '/echo',
    description: '200 JSON {method, url, headers, body} of the request',
  },
  { method: 'GET', path: '/json', description: '200 a small fixed JSON document' },
  {
    method: 'GET',
    path: '/bytes/:n',
    description: `n bytes of application/octet-stream (0 ≤ n ≤ ${MAX_BYTES_RESPONSE})`,
  },
  {
    method: 'GET',
    path: '/delay/:ms',
    description: `200 after ms milliseconds (0 ≤ ms ≤ ${MAX_DELAY_MS})`,
  },
  {
    method: 'POST',
    path: '/login',
    description: '200 JSON {token} for a JSON body {user}',
  },
  {
    method: 'POST',
    path: '/orders',
    description: "201 JSON {id, items} with 'authorization: Bearer <token from /login>', else 401",
  },
  {
    method: 'GET',
    path: '/status/:code',
    description: 'that status (100–599; 1xx informational then 200; 204/304 without body)',
  },
];

/** The `/json` document. */
export const TARGET_JSON = {
  service: 'salvo-target',
  version: 1,
  ok: true,
  items: [
    { id: 1, name: 'alpha', price: 9.99, tags: ['a', 'first'] },
    { id: 2, name: 'beta', price: 19.5, tags: ['b'] },
    { id: 3, name: 'gamma', price: 0, tags: [] },
  ],
} as const;

export interface TargetServerOptions {
  /** 0 picks a free port. Default 8080. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
}

export interface TargetServer {
  readonly url: string;
  readonly port: number;
  /** Requests received so far (still readable after close). */
  readonly requests: number;
  close(): Promise<void>;
}

const JSON_BODY = Buffer.from(JSON.stringify(TARGET_JSON));
const PATTERN = Buffer.alloc(64 * 1024, 'salvo-target-bytes/');
const INTEGER = /^\d{1,9}$/;

function helpText(): string {
  const width = Math.max(...TARGET_ROUTES.map((r) => `${r.method} ${r.path}`.length));
  const lines = TARGET_ROUTES.map(
    (r) => `  ${`${r.method} ${r.path}`.padEnd(width)}  ${r.description}`,
  );
  return `routes:\n${lines.join('\n')}\n`;
}

function send(
  res: http.ServerResponse,
  status: number,
  body: string | Buffer,
  contentType = 'text/plain; charset=utf-8',
): void {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, { 'content-type': contentType, 'content-length': bytes.length });
  res.end(bytes);
}

function badRequest(res: http.ServerResponse, message: string): void {
  send(res, 400, `${message}\n`);
}

/** Writes n bytes of PATTERN, respecting backpressure. */
function sendBytes(res: http.ServerResponse, n: number): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': n });
  let left = n;
  const pump = (): void => {
    while (left > 0) {
      const size = Math.min(left, PATTERN.length);
      left -= size;
      if (!res.write(size === PATTERN.length ? PATTERN : PATTERN.subarray(0, size))) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  pump();
}

function sendStatus(res: http.ServerResponse, code: number): void {
  const reason = http.STATUS_CODES[code] ?? 'Unknown';
  if (code < 200) {
    if (code === 101) {
      badRequest(res, '101 Switching Protocols cannot be sent without a protocol upgrade');
      return;
    }
    // A 1xx is never a final response: send it as an informational response, then a 200.
    if (!res.headersSent && res.socket !== null) {
      res.socket.write(`HTTP/1.1 ${code} ${reason}\r\n\r\n`);
    }
    send(res, 200, `informational ${code} ${reason} sent before this final response\n`);
    return;
  }
  if (code === 204 || code === 304) {
    res.writeHead(code);
    res.end();
    return;
  }
  send(res, code, `${code} ${reason}\n`);
}

/** Reads a request body of at most MAX_ECHO_BODY_BYTES (413 past that), then calls `done`. */
function readBody(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  done: (body: string) => void,
): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_ECHO_BODY_BYTES) {
      if (!tooLarge) {
        tooLarge = true;
        chunks.length = 0;
        res.setHeader('connection', 'close');
        send(
          res,
          413,
          `${req.url ?? ''} reads at most ${MAX_ECHO_BODY_BYTES} bytes of request body\n`,
        );
      }
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (!tooLarge) done(Buffer.concat(chunks, size).toString('utf8'));
  });
}

function echo(req: http.IncomingMessage, res: http.ServerResponse): void {
  readBody(req, res, (body) => {
    const doc = { method: req.method, url: req.url, headers: req.headers, body };
    send(res, 200, JSON.stringify(doc), 'application/json');
  });
}

function parseJsonObject(body: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch (error) {
    recordHandled('target: a body that is not JSON (answered 400)', error);
    return null;
  }
}

const TOKEN_PREFIX = 'salvo-demo-';

/** POST /login {user} → {token}; POST /orders with that token as a bearer → 201 {id, items}. */
function shop(
  path: '/login' | '/orders',
  req: http.IncomingMessage,
  res: http.ServerResponse,
): void {
  if (req.method !== 'POST') {
    res.setHeader('allow', 'POST');
    send(res, 405, `${path} answers POST\n`);
    return;
  }
  readBody(req, res, (body) => {
    const doc = parseJsonObject(body);
    if (path === '/login') {
      const user = doc?.['user'];
      if (typeof user !== 'string' || user === '') {
        badRequest(res, '/login needs a JSON body {"user": "<name>"}');
        return;
      }
      const token = `${TOKEN_PREFIX}${Buffer.from(user).toString('base64url')}`;
      send(res, 200, JSON.stringify({ token }), 'application/json');
      return;
    }
    const auth = req.headers.authorization ?? '';
    if (!auth.startsWith(`Bearer ${TOKEN_PREFIX}`)) {
      send(
        res,
        401,
        "/orders needs 'authorization: Bearer <token>' with a token from POST /login\n",
      );
      return;
    }
    const id = ++orderCount;
    send(res, 201, JSON.stringify({ id, items: doc?.['items'] ?? null }), 'application/json');
  });
}

let orderCount = 0;

/** Answers one request (also used by the HTTP/2 peer in peers.ts, in compatibility mode). */
export function route(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  if (featureRoute(path, req, res)) return;
  if (pageRoute(path, req, res)) return;
  if (path === '/echo') {
    echo(req, res);
    return;
  }
  if (path === '/login' || path === '/orders') {
    shop(path, req, res);
    return;
  }
  const method = req.method ?? 'GET';
  const parts = path.split('/');
  const known =
    path === '/' ||
    path === '/json' ||
    (parts.length === 3 && ['bytes', 'delay', 'status'].includes(parts[1] ?? ''));
  if (!known) {
    send(res, 404, `no route for ${method} ${path}\n\n${helpText()}`);
    return;
  }
  if (method !== 'GET' && method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    send(res, 405, `${path} answers GET and HEAD; /echo answers any method\n`);
    return;
  }
  if (path === '/') {
    send(res, 200, 'ok');
    return;
  }
  if (path === '/json') {
    send(res, 200, JSON_BODY, 'application/json');
    return;
  }
  const arg = parts[2] ?? '';
  const n = INTEGER.test(arg) ? Number(arg) : NaN;
  switch (parts[1]) {
    case 'bytes':
      if (!(n <= MAX_BYTES_RESPONSE)) {
        badRequest(
          res,
          `/bytes/:n needs an integer n from 0 to ${MAX_BYTES_RESPONSE}, got ${JSON.stringify(arg)}`,
        );
        return;
      }
      sendBytes(res, n);
      return;
    case 'delay': {
      if (!(n <= MAX_DELAY_MS)) {
        badRequest(
          res,
          `/delay/:ms needs an integer ms from 0 to ${MAX_DELAY_MS}, got ${JSON.stringify(arg)}`,
        );
        return;
      }
      const timer = setTimeout(() => send(res, 200, `delayed ${n} ms\n`), n);
      res.once('close', () => clearTimeout(timer));
      return;
    }
    default:
      if (!(n >= 100 && n <= 599)) {
        badRequest(
          res,
          `/status/:code needs an integer code from 100 to 599, got ${JSON.stringify(arg)}`,
        );
        return;
      }
      sendStatus(res, n);
  }
}

/** Starts the target on host:port; rejects with OptionError if it cannot listen there. */
export async function startTargetServer(options: TargetServerOptions = {}): Promise<TargetServer> {
  const port = options.port ?? 8080;
  const host = options.host ?? '127.0.0.1';
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new OptionError(`port must be an integer from 0 to 65535, got ${String(port)}`);
  }
  let requests = 0;
  const server = http.createServer({ noDelay: true }, (req, res) => {
    requests++;
    route(req, res);
  });
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.maxRequestsPerSocket = 0;

  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => {
      reject(new OptionError(`cannot listen on ${host}:${port}: ${error.message}`));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (error) => {
    process.stderr.write(`salvo target: ${error.message}\n`);
  });
  const address = server.address();
  const actualPort = typeof address === 'object' && address !== null ? address.port : port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${urlHost}:${actualPort}`,
    port: actualPort,
    get requests() {
      return requests;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
