// `salvo ping` for every protocol besides HTTP/1.1: h2:// (https with ALPN h2) and h2c://
// (clear-text HTTP/2), ws:// and wss://, grpc:// and grpcs:// (channel readiness), tcp:// and
// tls:// (connect; with -d, send and show what comes back), udp:// (send -d or "ping", show the
// reply), smtp:// and ftp:// (in ping-mail.ts). Each prints what it measured and returns the
// exit code; http(s):// is left to ping.
// Imported: the global `performance` is a lazy accessor in Node 20 (a getter call per use).
import { performance } from 'node:perf_hooks';
import { InvalidArgumentError } from 'commander';
import { ClientError } from '../clients/client.js';
import { Http2Client } from '../clients/http2/index.js';
import { TcpClient, UdpClient } from '../clients/socket/index.js';
import { WsClient } from '../clients/websocket/index.js';
import { EXIT, describeError } from '../errors.js';
import { pingFtp, pingSmtp } from './ping-mail.js';
import type { CliIo } from './main.js';

export const PING_SCHEMES = [
  'http',
  'https',
  'h2',
  'h2c',
  'ws',
  'wss',
  'grpc',
  'grpcs',
  'tcp',
  'tls',
  'udp',
  'smtp',
  'smtps',
  'ftp',
  'ftps',
];
const PREVIEW_BYTES = 1024;

/** The `ping <url>` argument: an absolute URL with one of PING_SCHEMES. */
export function pingUrlOption(raw: string): string {
  // host:port without a scheme means HTTP, as curl assumes.
  const value = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw.trim()) ? raw.trim() : `http://${raw.trim()}`;
  let url: URL;
  try {
    url = new URL(value);
  } catch (error) {
    throw new InvalidArgumentError(
      `expected a URL with a scheme among ${PING_SCHEMES.join(', ')}, e.g. http://127.0.0.1:8080 or ws://127.0.0.1:8082/ (${describeError(error)}).`,
    );
  }
  const scheme = url.protocol.replace(':', '');
  if (!PING_SCHEMES.includes(scheme)) {
    throw new InvalidArgumentError(
      `the scheme must be one of ${PING_SCHEMES.join(', ')}, not ${scheme}.`,
    );
  }
  return value;
}

function preview(data: Buffer): string {
  const text = data.subarray(0, PREVIEW_BYTES).toString('utf8');
  return text + (data.length > PREVIEW_BYTES ? '\n…' : '');
}

function ms(n: number): string {
  return `${n.toFixed(2)}ms`;
}

async function pingHttp2(
  url: URL,
  opts: Record<string, unknown>,
  io: CliIo,
  timeoutMs: number,
): Promise<number> {
  const target = new URL(url.href.replace(/^h2c:/, 'http:').replace(/^h2:/, 'https:'));
  const client = new Http2Client({
    timeoutMs,
    tls: { rejectUnauthorized: opts['insecure'] !== true },
  });
  const method = typeof opts['method'] === 'string' ? opts['method'].toUpperCase() : 'GET';
  try {
    const res = await client.request(method, target.href, {
      headers: opts['header'] as Record<string, string> | undefined,
      body: opts['data'] as string | undefined,
    });
    const t = res.timings;
    const lines = [
      `${method} ${res.url} → ${res.status} (${res.protocol})`,
      ...Object.entries(res.headers).map(([k, v]) => `  ${k}: ${v}`),
      '',
      `timings: connect ${ms(t.connectMs)}  tls ${ms(t.tlsMs)}  first byte ${ms(t.ttfbMs)}  total ${ms(t.totalMs)}`,
      `body: ${res.bodyBytes} bytes`,
    ];
    if (res.bodyBytes > 0) lines.push(preview(res.decoded));
    io.stdout.write(`${lines.join('\n')}\n`);
    return res.status < 400 ? EXIT.ok : EXIT.runFailed;
  } finally {
    client.close();
  }
}

async function pingWs(
  url: URL,
  opts: Record<string, unknown>,
  io: CliIo,
  timeoutMs: number,
): Promise<number> {
  const client = new WsClient({ baseUrl: undefined, headers: {}, timeoutMs });
  try {
    const conn = await client.connect(url.href, {
      headers: opts['header'] as Record<string, string> | undefined,
      tls: { rejectUnauthorized: opts['insecure'] !== true },
    });
    const lines = [
      `connected to ${url.href} in ${ms(conn.connectMs)}${conn.protocol ? ` (subprotocol ${conn.protocol})` : ''}`,
    ];
    if (typeof opts['data'] === 'string') {
      const reply = await conn.request(opts['data'], { timeoutMs });
      lines.push(
        `reply after ${ms(reply.roundTripMs)} (${reply.data.length} bytes):`,
        preview(reply.data),
      );
    }
    const closed = await conn.close(1000);
    lines.push(`closed with code ${closed.code}`);
    io.stdout.write(`${lines.join('\n')}\n`);
    return EXIT.ok;
  } finally {
    client.close();
  }
}

async function pingGrpc(
  url: URL,
  opts: Record<string, unknown>,
  io: CliIo,
  timeoutMs: number,
): Promise<number> {
  const grpc = await import('@grpc/grpc-js');
  const address = `${url.hostname}:${url.port || (url.protocol === 'grpcs:' ? '443' : '80')}`;
  const credentials =
    url.protocol === 'grpcs:' ? grpc.credentials.createSsl() : grpc.credentials.createInsecure();
  const client = new grpc.Client(address, credentials);
  const start = performance.now();
  try {
    await new Promise<void>((resolve, reject) => {
      client.waitForReady(new Date(Date.now() + timeoutMs), (error) =>
        error ? reject(error) : resolve(),
      );
    });
    void opts;
    io.stdout.write(`gRPC channel to ${address} ready in ${ms(performance.now() - start)}\n`);
    return EXIT.ok;
  } catch (error) {
    throw new ClientError(
      'grpc',
      'grpc_unavailable',
      error instanceof Error ? error.message : String(error),
      address,
    );
  } finally {
    client.close();
  }
}

async function pingTcp(
  url: URL,
  opts: Record<string, unknown>,
  io: CliIo,
  timeoutMs: number,
): Promise<number> {
  const client = new TcpClient({ baseUrl: undefined, timeoutMs });
  try {
    const conn = await client.connect(
      url.href,
      url.protocol === 'tls:' ? { tls: { rejectUnauthorized: opts['insecure'] !== true } } : {},
    );
    const lines = [
      `connected to ${url.host}${url.protocol === 'tls:' ? ' (TLS)' : ''} in ${ms(conn.connectMs)}`,
    ];
    if (typeof opts['data'] === 'string') {
      const reply = await conn.request(opts['data'], { timeoutMs: Math.min(timeoutMs, 2000) });
      lines.push(
        `reply after ${ms(reply.waitMs)} (${reply.data.length} bytes):`,
        preview(reply.data),
      );
    }
    await conn.close();
    io.stdout.write(`${lines.join('\n')}\n`);
    return EXIT.ok;
  } finally {
    client.close();
  }
}

async function pingUdp(
  url: URL,
  opts: Record<string, unknown>,
  io: CliIo,
  timeoutMs: number,
): Promise<number> {
  const client = new UdpClient({ baseUrl: undefined, timeoutMs });
  try {
    const sock = await client.socket(url.href);
    const data = typeof opts['data'] === 'string' ? opts['data'] : 'ping';
    const reply = await sock.request(data, { timeoutMs });
    io.stdout.write(
      `reply from ${url.host} after ${ms(reply.waitMs)} (${reply.data.length} bytes):\n${preview(reply.data)}\n`,
    );
    return EXIT.ok;
  } finally {
    client.close();
  }
}

/** Pings `url` if its scheme is not http(s); null leaves it to the HTTP/1.1 ping. */
export async function pingOtherProtocol(
  url: string,
  opts: Record<string, unknown>,
  io: CliIo,
): Promise<number | null> {
  const parsed = new URL(url);
  const timeoutMs = (opts['timeout'] as number | undefined) ?? 10_000;
  const run = {
    'h2:': pingHttp2,
    'h2c:': pingHttp2,
    'ws:': pingWs,
    'wss:': pingWs,
    'grpc:': pingGrpc,
    'grpcs:': pingGrpc,
    'tcp:': pingTcp,
    'tls:': pingTcp,
    'udp:': pingUdp,
    'smtp:': pingSmtp,
    'smtps:': pingSmtp,
    'ftp:': pingFtp,
    'ftps:': pingFtp,
  }[parsed.protocol];
  if (run === undefined) return null;
  try {
    return await run(parsed, opts, io, timeoutMs);
  } catch (error) {
    if (error instanceof ClientError) {
      io.stderr.write(`salvo ping: ${url} failed (${error.kind}): ${error.message}\n`);
      return EXIT.runFailed;
    }
    throw error;
  }
}
