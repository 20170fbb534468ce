// The small subcommands: `salvo ping` (one request, shown in detail), `salvo serve` (the
// embedded target until Ctrl-C) and `salvo demo` (target + quickstart run with the live view).
import { fileURLToPath } from 'node:url';
import { HttpClient, HttpError } from '../clients/http1/index.js';
import { EXIT } from '../errors.js';
import { startTargetServer, TARGET_ROUTES } from '../target/server.js';
import { FEATURE_ROUTES } from '../target/features.js';
import { PAGE_ROUTES } from '../target/pages.js';
import { startPeersFor } from './serve-peers.js';
import { pingOtherProtocol } from './ping-protocols.js';
import type { CliIo } from './main.js';
import { runCommand } from './run.js';

export async function pingCommand(
  url: string,
  opts: Record<string, unknown>,
  io: CliIo,
): Promise<number> {
  const other = await pingOtherProtocol(url, opts, io);
  if (other !== null) return other;
  const client = new HttpClient({
    timeoutMs: opts['timeout'] as number,
    tls: { rejectUnauthorized: opts['insecure'] !== true },
    followRedirects: (opts['follow'] as number | undefined) ?? 0,
  });
  const method = typeof opts['method'] === 'string' ? opts['method'].toUpperCase() : 'GET';
  try {
    const res = await client.request(method, url, {
      headers: opts['header'] as Record<string, string>,
      body: opts['data'] as string | undefined,
    });
    const t = res.timings;
    const lines = [
      `${method} ${res.url} → ${res.status} ${res.statusText}`,
      ...Object.entries(res.headers).map(([k, v]) => `  ${k}: ${v}`),
      '',
      `timings: dns ${t.dnsMs.toFixed(2)}ms  connect ${t.connectMs.toFixed(2)}ms  tls ${t.tlsMs.toFixed(2)}ms  ` +
        `first byte ${t.ttfbMs.toFixed(2)}ms  total ${t.totalMs.toFixed(2)}ms`,
      `body: ${res.body.byteLength} bytes`,
    ];
    if (res.body.byteLength > 0) {
      const preview = res.body.subarray(0, 1024).toString('utf8');
      lines.push(preview + (res.body.byteLength > 1024 ? '\n…' : ''));
    }
    io.stdout.write(`${lines.join('\n')}\n`);
    return res.status < 400 ? EXIT.ok : EXIT.runFailed;
  } catch (error) {
    if (error instanceof HttpError) {
      io.stderr.write(`salvo ping: ${method} ${url} failed (${error.kind}): ${error.message}\n`);
      return EXIT.runFailed;
    }
    throw error;
  } finally {
    client.close();
  }
}

function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
}

export async function serveCommand(
  opts: { port: number; host: string; peers?: boolean },
  io: CliIo,
): Promise<number> {
  const server = await startTargetServer({ port: opts.port, host: opts.host });
  io.stdout.write(`salvo target listening on ${server.url}  (Ctrl-C to stop)\n`);
  for (const route of [...TARGET_ROUTES, ...FEATURE_ROUTES, ...PAGE_ROUTES])
    io.stdout.write(`  ${route.path.padEnd(16)} ${route.description}\n`);
  const peers = opts.peers === true ? await startPeersFor(server.port, opts.host, io) : undefined;
  await waitForSignal();
  await peers?.close();
  await server.close();
  io.stdout.write(`served ${server.requests} requests\n`);
  return EXIT.ok;
}

const QUICKSTART = fileURLToPath(new URL('../../../examples/quickstart.ts', import.meta.url));

export async function demoCommand(opts: Record<string, unknown>, io: CliIo): Promise<number> {
  const server = await startTargetServer({ port: 0, host: '127.0.0.1' });
  io.stderr.write(
    `demo: embedded target on ${server.url}; running examples/quickstart.ts against it\n`,
  );
  try {
    return await runCommand(
      QUICKSTART,
      { duration: opts['duration'], workers: opts['workers'], target: server.url, check: true },
      io,
    );
  } finally {
    await server.close();
  }
}
