// `salvo run --dashboard`: an HTTP server on loopback serving the live page, its data as JSON,
// and server-sent events (each window as it is sampled, then the final results). It is a
// reporter like any other, so it cannot slow or fail the run; at the end it writes the same
// page, data embedded, as one self-contained HTML file. Windows labelled with a datacenter
// (`salvo watch --dashboard` on a cluster job) are kept per DC for the page's DC section.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { SalvoError, describeError } from '../../errors.js';
import type { RunResults, SeriesWindow } from '../../stats/types.js';
import { MAX_SERIES_POINTS } from '../sampler.js';
import { MAX_DC_GROUPS } from '../dc-groups.js';
import type { Reporter, ReportWindow } from '../types.js';
import { embedJson, renderPage, type PageData } from './page.js';

/** Event-stream clients at once; more are refused (503) so a stray tab loop costs nothing. */
const MAX_CLIENTS = 32;

export interface Dashboard {
  url: string;
  htmlPath: string;
  reporter: Reporter;
  close(): Promise<void>;
}

const stripLabels = (w: SeriesWindow & { labels?: unknown }): SeriesWindow => {
  const { labels, ...rest } = w;
  void labels;
  return rest;
};

export async function writeReportHtml(path: string, data: PageData): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, renderPage(data));
  await rename(temp, path);
}

export async function startDashboard(options: {
  port: number;
  host?: string;
  htmlPath: string;
  title?: string;
}): Promise<Dashboard> {
  const series: SeriesWindow[] = [];
  const dcSeries: Record<string, SeriesWindow[]> = {};
  let results: RunResults | null = null;
  let title = options.title ?? 'salvo run';
  const clients = new Set<ServerResponse>();
  const data = (): PageData => ({ mode: 'live', title, results, series, dcSeries });
  const send = (event: string, payload: unknown): void => {
    const frame = `event: ${event}\ndata: ${embedJson(payload)}\n\n`;
    for (const res of clients) res.write(frame);
  };

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
    } else if (path === '/') {
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
      });
      res.end(renderPage(data()));
    } else if (path === '/data') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(embedJson(data()));
    } else if (path === '/events') {
      if (clients.size >= MAX_CLIENTS) {
        res.writeHead(503).end('too many dashboard clients\n');
        return;
      }
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-store',
        connection: 'keep-alive',
      });
      res.write('retry: 2000\n\n');
      for (const w of series) res.write(`event: window\ndata: ${embedJson(w)}\n\n`);
      for (const [dc, points] of Object.entries(dcSeries)) {
        for (const w of points)
          res.write(`event: dc-window\ndata: ${embedJson({ dc, window: w })}\n\n`);
      }
      if (results) res.write(`event: final\ndata: ${embedJson({ results, series })}\n\n`);
      clients.add(res);
      req.on('close', () => clients.delete(res));
    } else if (path === '/favicon.ico') {
      res.writeHead(204).end();
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new SalvoError(
          'E_USAGE',
          `the dashboard cannot listen on ${options.host ?? '127.0.0.1'}:${options.port}: ${error.code === 'EADDRINUSE' ? 'the port is in use; pick another with --dashboard-port (0 picks a free one)' : describeError(error)}`,
        ),
      ),
    );
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const close = async (): Promise<void> => {
    for (const res of clients) res.end();
    clients.clear();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };

  const addDcWindow = (dc: string, w: ReportWindow): void => {
    let points = dcSeries[dc];
    if (points === undefined) {
      if (Object.keys(dcSeries).length >= MAX_DC_GROUPS) return;
      points = dcSeries[dc] = [];
    }
    const point = stripLabels(w);
    points.push(point);
    if (points.length > MAX_SERIES_POINTS) points.shift();
    send('dc-window', { dc, window: point });
  };

  const reporter: Reporter = {
    name: 'dashboard',
    start(start) {
      title = `salvo run ${start.file}`;
    },
    windows(batch) {
      for (const w of batch) {
        const dc = w.labels['dc'];
        if (dc !== undefined && dc !== '*') {
          addDcWindow(dc, w);
          continue;
        }
        const point = stripLabels(w);
        series.push(point);
        if (series.length > MAX_SERIES_POINTS) series.shift();
        send('window', point);
      }
    },
    async final(report) {
      results = report.results;
      const finalSeries = report.series.map(stripLabels);
      series.splice(0, series.length, ...finalSeries);
      send('final', { results, series });
      // The results carry each DC's kept series (a job from an older gate: the streamed ones).
      const hasDcSeries = Object.values(results.distributed?.dcs ?? {}).some(
        (d) => d.series !== undefined,
      );
      const page: PageData = { mode: 'report', title, results, series };
      if (!hasDcSeries) page.dcSeries = dcSeries;
      if (report.breakdown) page.breakdown = report.breakdown;
      await writeReportHtml(options.htmlPath, page);
    },
    close,
  };
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${address.port}/`,
    htmlPath: options.htmlPath,
    reporter,
    close,
  };
}
