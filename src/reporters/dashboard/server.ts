// `salvo run --dashboard`: an HTTP server on loopback serving one live page (live.ts). It is a
// reporter like any other, so it cannot slow or fail the run; at the end it writes the same
// page, data embedded, as one self-contained HTML file. Also the listening shell the gate's
// dashboard (gate-dashboard.ts) shares.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SalvoError, describeError } from '../../errors.js';
import type { Reporter } from '../types.js';
import { createLivePage } from './live.js';

export { writeReportHtml } from './live.js';

export interface Dashboard {
  url: string;
  htmlPath: string;
  reporter: Reporter;
  close(): Promise<void>;
}

export interface DashboardServer {
  /** `http://host:port/`. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Listens on `host:port` (127.0.0.1 by default; 0 picks a free port) and hands each GET to
 * `route` with its path; a request `route` does not answer gets 404, a method other than GET 405.
 * `flag` names the option that sets the port, for the error when it is taken.
 */
export async function listenDashboard(
  options: { port: number; host?: string; flag?: string },
  route: (path: string, req: IncomingMessage, res: ServerResponse) => boolean,
  onClose: () => void = () => undefined,
): Promise<DashboardServer> {
  const host = options.host ?? '127.0.0.1';
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
    } else if (path === '/favicon.ico') {
      res.writeHead(204).end();
    } else if (!route(path, req, res)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new SalvoError(
          'E_USAGE',
          `the dashboard cannot listen on ${host}:${options.port}: ${error.code === 'EADDRINUSE' ? `the port is in use; pick another with ${options.flag ?? '--dashboard-port'} (0 picks a free one)` : describeError(error)}`,
        ),
      ),
    );
    server.listen(options.port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${address.port}/`,
    async close() {
      onClose();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export async function startDashboard(options: {
  port: number;
  host?: string;
  htmlPath: string;
  title?: string;
}): Promise<Dashboard> {
  // The page's reporter closes the server (after the final report); it listens only below.
  let closeServer = (): Promise<void> => Promise.resolve();
  const close = (): Promise<void> => closeServer();
  const page = createLivePage({
    title: options.title ?? 'salvo run',
    htmlPath: options.htmlPath,
    ...(options.title === undefined ? { titleOf: (file: string) => `salvo run ${file}` } : {}),
    onClose: close,
  });
  const server = await listenDashboard(options, page.handle, page.endStreams);
  closeServer = () => server.close();
  return { url: server.url, htmlPath: options.htmlPath, reporter: page.reporter, close };
}
