// Owns `salvo watch --dashboard` and `salvo submit --watch --dashboard`: the same live page as
// `salvo run --dashboard` (src/reporters/dashboard), fed from the windows the owner gate puts in
// the job's snapshots (the whole job and each datacenter), and at the end the same page written
// beside the results as one self-contained HTML file.
import { startDashboard } from '../reporters/dashboard/server.js';
import { JobWindowFeed } from '../reporters/dashboard/job-feed.js';
import { recordHandled } from '../handled-errors.js';
import type { RunResults } from '../stats/types.js';

export interface JobDashboard {
  readonly url: string;
  readonly htmlPath: string;
  /** The `windows` of one job snapshot (untrusted; checked and de-duplicated here). */
  feed(windows: unknown): void;
  /** Shows the final results and writes the HTML report. */
  finish(results: RunResults): Promise<void>;
  close(): Promise<void>;
}

export async function startJobDashboard(options: {
  job: string;
  port: number;
  htmlPath: string;
}): Promise<JobDashboard> {
  const dashboard = await startDashboard({
    port: options.port,
    htmlPath: options.htmlPath,
    title: `salvo job ${options.job}`,
  });
  const windows = new JobWindowFeed();
  const reporter = dashboard.reporter;
  return {
    url: dashboard.url,
    htmlPath: dashboard.htmlPath,
    feed(raw) {
      const batch = windows.take(raw);
      if (batch.length > 0) void reporter.windows?.(batch);
    },
    async finish(results) {
      await reporter.final?.({
        results,
        series: results.series ?? [],
        labels: { job: options.job },
      });
    },
    async close() {
      try {
        await dashboard.close();
      } catch (error) {
        recordHandled('salvo watch: closing the dashboard', error);
      }
    },
  };
}
