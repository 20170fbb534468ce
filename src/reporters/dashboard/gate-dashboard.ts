// `salvo gate --dashboard-port P`: the gate's own dashboard, opt-in and on loopback by default.
// `/` lists the jobs this gate owns (and the last ones it owned), `/jobs/<id>/` is the same live
// page as `salvo watch --dashboard`, fed by a reporter the gate adds to each job it owns (so the
// job's whole-job and per-DC windows, then its final results). Bounded: MAX_GATE_DASHBOARD_JOBS
// pages, the oldest finished one (else the oldest) dropped for a new job.
import { escapeHtml } from './page.js';
import type { Reporter } from '../types.js';
import { createLivePage, type LivePage } from './live.js';
import { listenDashboard, type DashboardServer } from './server.js';

/** Job pages one gate keeps. */
export const MAX_GATE_DASHBOARD_JOBS = 32;

export interface GateDashboard {
  readonly url: string;
  /** The reporter that feeds `job`'s page (the gate adds it to the job's reporters). */
  reporterFor(job: string, file: string): Reporter;
  close(): Promise<void>;
}

const JOB_PATH = /^\/jobs\/([A-Za-z0-9._-]{1,128})(\/.*)?$/;

function indexPage(gate: string, jobs: ReadonlyMap<string, LivePage>): string {
  const rows = [...jobs]
    .reverse()
    .map(
      ([job, page]) =>
        `<tr data-job="${escapeHtml(job)}"><td><a href="jobs/${encodeURIComponent(job)}/">${escapeHtml(job)}</a></td><td>${escapeHtml(page.title)}</td><td>${page.finished ? 'finished' : 'running'}</td></tr>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>salvo gate ${escapeHtml(gate)}</title>
<style>body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1d2330}td,th{padding:4px 12px;text-align:left;border-bottom:1px solid #e4e7ec}</style></head>
<body><h1>salvo gate ${escapeHtml(gate)}: jobs it owns</h1>
${rows === '' ? '<p>No jobs yet.</p>' : `<table><thead><tr><th>job</th><th>file</th><th>state</th></tr></thead><tbody>${rows}</tbody></table>`}
</body></html>
`;
}

export async function startGateDashboard(options: {
  gate: string;
  port: number;
  host?: string;
}): Promise<GateDashboard> {
  const pages = new Map<string, LivePage>();
  const route = (
    path: string,
    req: Parameters<LivePage['handle']>[1],
    res: Parameters<LivePage['handle']>[2],
  ): boolean => {
    if (path === '/') {
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
      });
      res.end(indexPage(options.gate, pages));
      return true;
    }
    const m = JOB_PATH.exec(path);
    const page = m === null ? undefined : pages.get(m[1] ?? '');
    if (m === null || page === undefined) return false;
    if (m[2] === undefined) {
      // The page's script asks for `events` relative to its own address: it needs the slash.
      res.writeHead(301, { location: `${path}/` }).end();
      return true;
    }
    return page.handle(m[2], req, res);
  };
  const server: DashboardServer = await listenDashboard(
    { port: options.port, ...(options.host !== undefined ? { host: options.host } : {}) },
    route,
    () => {
      for (const page of pages.values()) page.endStreams();
    },
  );
  const evictOne = (): void => {
    let victim: string | undefined;
    for (const [job, page] of pages) {
      if (page.finished) {
        victim = job;
        break;
      }
    }
    victim ??= pages.keys().next().value;
    if (victim === undefined) return;
    pages.get(victim)?.endStreams();
    pages.delete(victim);
  };
  return {
    url: server.url,
    reporterFor(job, file) {
      // A job this gate owns again (it moved away and back) starts a fresh page.
      pages.get(job)?.endStreams();
      pages.delete(job);
      if (pages.size >= MAX_GATE_DASHBOARD_JOBS) evictOne();
      const page = createLivePage({ title: `salvo job ${job} (${file})`, name: 'gate-dashboard' });
      pages.set(job, page);
      return page.reporter;
    },
    close: () => server.close(),
  };
}
