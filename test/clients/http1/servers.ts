// Test-only servers on 127.0.0.1 for the HTTP/1.1 client tests: a raw TCP server that writes
// exact bytes (so responses can be split anywhere) and small node:http/https helpers.
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface RawRequest {
  /** Request head as text (request line + headers). */
  head: string;
  body: Buffer;
  /** 0 for the first request on this socket. */
  indexOnSocket: number;
  /** 0 for the first connection to the server. */
  connection: number;
}

export interface RawServer {
  url: string;
  port: number;
  /** Connections accepted so far. */
  connections: number;
  requests: RawRequest[];
  close(): Promise<void>;
}

/**
 * A TCP server that parses requests (head + content-length body) and hands each to
 * `onRequest`, which writes whatever bytes it likes to the socket.
 */
export async function rawServer(
  onRequest: (socket: net.Socket, req: RawRequest) => void,
): Promise<RawServer> {
  const sockets = new Set<net.Socket>();
  const state: RawServer = {
    url: '',
    port: 0,
    connections: 0,
    requests: [],
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = net.createServer((socket) => {
    socket.unref(); // a failing test must not keep the process alive
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => sockets.delete(socket));
    const connection = state.connections++;
    let pending = Buffer.alloc(0);
    let index = 0;
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const end = pending.indexOf('\r\n\r\n');
        if (end === -1) return;
        const head = pending.toString('latin1', 0, end);
        const m = /\r\ncontent-length: *(\d+)/i.exec(head);
        const length = m?.[1] === undefined ? 0 : Number(m[1]);
        if (pending.length < end + 4 + length) return;
        const req: RawRequest = {
          head,
          body: pending.subarray(end + 4, end + 4 + length),
          indexOnSocket: index++,
          connection,
        };
        pending = pending.subarray(end + 4 + length);
        state.requests.push(req);
        onRequest(socket, req);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  const address = server.address() as net.AddressInfo;
  state.port = address.port;
  state.url = `http://127.0.0.1:${address.port}`;
  return state;
}

/** Writes `parts` one after another with a macrotask between them (separate reads). */
export function writeSlowly(
  socket: net.Socket,
  parts: (string | Buffer)[],
  then?: () => void,
): void {
  socket.setNoDelay(true);
  let i = 0;
  const next = (): void => {
    if (socket.destroyed) return;
    const part = parts[i++];
    if (part === undefined) {
      then?.();
      return;
    }
    socket.write(part, () => setTimeout(next, 2));
  };
  next();
}

export interface HttpTestServer {
  url: string;
  port: number;
  connections: number;
  close(): Promise<void>;
}

/** A node:http (or https, given `tls`) server on an ephemeral port. */
export async function nodeServer(
  handler: http.RequestListener,
  create: (handler: http.RequestListener) => http.Server = (h) => http.createServer(h),
  scheme = 'http',
): Promise<HttpTestServer> {
  const server = create(handler);
  const state: HttpTestServer = {
    url: '',
    port: 0,
    connections: 0,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  server.on('connection', (socket: net.Socket) => {
    socket.unref(); // a failing test must not keep the process alive
    state.connections++;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  const address = server.address() as net.AddressInfo;
  state.port = address.port;
  state.url = `${scheme}://127.0.0.1:${address.port}`;
  return state;
}

/** Reads a request body to a string. */
export function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Reads a file under test/fixtures, from the sources or from the compiled dist/ tree. */
export function fixture(relative: string): Buffer {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'test', 'fixtures', relative);
    if (existsSync(candidate)) return readFileSync(candidate);
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`fixture ${relative} not found`);
    dir = parent;
  }
}
