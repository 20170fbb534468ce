// One live dashboard page: the state a run's (or a job's) page shows, kept from the windows and
// the final report it gets as a reporter, and its HTTP routes under any base path: the page,
// its data as JSON and server-sent events (each window as it is sampled, then the final
// results). Windows labelled with a datacenter (a cluster job) are kept per DC for the page's
// DC section. Bounded: MAX_SERIES_POINTS per series, MAX_DC_GROUPS DCs, MAX_CLIENTS streams.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import type { RunResults, SeriesWindow } from '../../stats/types.js';
import { MAX_DC_GROUPS } from '../dc-groups.js';
import { MAX_SERIES_POINTS } from '../sampler.js';
import type { Reporter, ReportWindow } from '../types.js';
import { embedJson, renderPage, type PageData } from './page.js';

/** Event-stream clients of one page at once; more are refused (503) so a stray tab loop costs nothing. */
export const MAX_CLIENTS = 32;

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

export interface LivePage {
  readonly reporter: Reporter;
  readonly title: string;
  /** True once the final results arrived. */
  readonly finished: boolean;
  /**
   * Answers `path` (relative to the page's base: `/`, `/data`, `/events`); false when it is
   * none of those (the caller answers 404).
   */
  readonly handle: (path: string, req: IncomingMessage, res: ServerResponse) => boolean;
  /** Ends every event stream. */
  readonly endStreams: () => void;
}

/**
 * A live page. `htmlPath`: where the final report writes the page as one HTML file (none: not
 * written). `onClose`: the reporter's close (after the final report, or when it is stopped).
 */
export function createLivePage(options: {
  title: string;
  /** The reporter's name (default `dashboard`). */
  name?: string;
  htmlPath?: string;
  /** Title from the run's start (`salvo run FILE`); by default the title stays. */
  titleOf?: (file: string) => string;
  onClose?: () => Promise<void>;
}): LivePage {
  const series: SeriesWindow[] = [];
  const dcSeries: Record<string, SeriesWindow[]> = {};
  let results: RunResults | null = null;
  let title = options.title;
  const clients = new Set<ServerResponse>();
  const data = (): PageData => ({ mode: 'live', title, results, series, dcSeries });
  const send = (event: string, payload: unknown): void => {
    const frame = `event: ${event}\ndata: ${embedJson(payload)}\n\n`;
    for (const res of clients) res.write(frame);
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
  const endStreams = (): void => {
    for (const res of clients) res.end();
    clients.clear();
  };

  const handle = (path: string, req: IncomingMessage, res: ServerResponse): boolean => {
    if (path === '/') {
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
        return true;
      }
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-store',
        connection: 'keep-alive',
      });
      res.write('retry: 2000\n\n');
      for (const w of series) res.write(`event: window\ndata: ${embedJson(w)}\n\n`);
      for (const [dc, points] of Object.entries(dcSeries)) {
        for (const w of points) {
          res.write(`event: dc-window\ndata: ${embedJson({ dc, window: w })}\n\n`);
        }
      }
      if (results) res.write(`event: final\ndata: ${embedJson({ results, series })}\n\n`);
      clients.add(res);
      req.on('close', () => clients.delete(res));
    } else {
      return false;
    }
    return true;
  };

  const reporter: Reporter = {
    name: options.name ?? 'dashboard',
    start(start) {
      if (options.titleOf) title = options.titleOf(start.file);
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
      if (options.htmlPath === undefined) return;
      // The results carry each DC's kept series (a job from an older gate: the streamed ones).
      const hasDcSeries = Object.values(results.distributed?.dcs ?? {}).some(
        (d) => d.series !== undefined,
      );
      const page: PageData = { mode: 'report', title, results, series };
      if (!hasDcSeries) page.dcSeries = dcSeries;
      if (report.breakdown) page.breakdown = report.breakdown;
      await writeReportHtml(options.htmlPath, page);
    },
    ...(options.onClose !== undefined ? { close: options.onClose } : {}),
  };
  return {
    reporter,
    get title() {
      return title;
    },
    get finished() {
      return results !== null;
    },
    handle,
    endStreams,
  };
}
