// Chaos on real processes: `salvo cluster up --restart` (1 gate, 3 managers, 3 one-core workers,
// TLS), jobs submitted back to back from two clients with `salvo submit --watch --timeout 40s`
// while a random gate, manager or worker is killed with SIGKILL every 10 s (and restarted by
// `cluster up`). At the end every acknowledged job has ended with a final status, its watch exited
// with the code of that status, its results (when the gate that ran it lived to write them)
// validate, and where no worker was lost under it the merged request total equals what the
// workers counted. A job whose gate was killed is taken back by the restarted gate and resumed
// (its watch reconnects and follows it); one that cannot be resumed ends failed, once, with the
// reason. `npm test` runs it for 60 s;
// `npm run chaos` for 10 minutes (SALVO_CHAOS_MS), writing its figures to bench/results/chaos.json.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startTargetServer, type TargetServer } from '../../src/target/server.js';
import { ROOT, fixture, readResults, runCli, schemaErrors, tempDir } from '../support/cli.js';
import {
  clusterNodes,
  countedByWorkers,
  ONE_DC_RESTARTING,
  startLocalCluster,
  submitWatchArgs,
  stopLocalCluster,
  type LocalCluster,
} from '../support/local-cluster.js';

const CHAOS_MS = Number(process.env['SALVO_CHAOS_MS'] ?? 60_000);
const KILL_EVERY_MS = 10_000;
const LANES = 2;

const dir = tempDir('salvo-cluster-chaos-');
let cluster: LocalCluster | undefined;
let target: TargetServer;

interface Submitted {
  job: string | null;
  code: number | null;
  out: string;
  output: string;
}

before(async () => {
  target = await startTargetServer({ port: 0, host: '127.0.0.1' });
  cluster = await startLocalCluster(dir, ONE_DC_RESTARTING);
});

after(async () => {
  await stopLocalCluster(cluster);
  await target.close();
});

void test(
  `jobs submitted for ${CHAOS_MS / 1000} s while a gate, manager or worker is killed every 10 s all end once, with a valid result`,
  { timeout: CHAOS_MS + 600_000 },
  async () => {
    assert.ok(cluster, 'the cluster is up');
    const c = cluster;
    const client = c.client;
    const end = Date.now() + CHAOS_MS;
    const submitted: Submitted[] = [];
    const kills: string[] = [];
    const problems: string[] = [];
    const statuses: Record<string, number> = {};
    let exact = 0;
    let withoutResults = 0;
    let n = 0;
    /** Checks a job as soon as its watch ends (an ended job's record expires after a while). */
    const check = async (s: Submitted): Promise<void> => {
      if (s.job === null) return;
      // The gate may be down (killed, being restarted) just now: ask again for up to 60 s.
      let status = await runCli(['status', s.job, ...client, '--json'], { cwd: dir });
      for (let i = 0; status.code !== 0 && i < 30; i++) {
        await new Promise((r) => setTimeout(r, 2_000));
        status = await runCli(['status', s.job, ...client, '--json'], { cwd: dir });
      }
      if (status.code !== 0) {
        problems.push(`${s.job}: status exited ${status.code}: ${status.stderr}`);
        return;
      }
      const view = JSON.parse(status.stdout) as { status: string };
      statuses[view.status] = (statuses[view.status] ?? 0) + 1;
      if (!['completed', 'failed', 'cancelled'].includes(view.status)) {
        problems.push(`${s.job} did not end: ${view.status}`);
      }
      if (s.code !== (view.status === 'completed' ? 0 : 4)) {
        problems.push(`${s.job} ${view.status} but its watch exited ${s.code}: ${s.output}`);
      }
      if (/ended failed without results/.test(s.output)) {
        // Its gate died and the job could not be resumed: it ended by the ledger, without results.
        withoutResults++;
        if (view.status !== 'failed') problems.push(`${s.job}: no results but ${view.status}`);
        return;
      }
      if (!existsSync(s.out)) {
        problems.push(`${s.job} ${view.status}: its watch wrote no results: ${s.output}`);
        return;
      }
      const results = readResults(s.out);
      const invalid = schemaErrors(results);
      if (invalid.length > 0) problems.push(`${s.job}: results invalid: ${invalid.join('; ')}`);
      const notes = results.run.notes.join('\n');
      if (view.status === 'completed' && !/was lost/.test(notes)) {
        const merged = results.workflows[0]!.totals.count;
        const counted = countedByWorkers(c, s.job);
        if (merged !== counted) {
          problems.push(`${s.job}: merged ${merged} requests, the workers counted ${counted}`);
        }
        exact++;
      }
    };
    const lane = async (): Promise<void> => {
      while (Date.now() < end) {
        const out = join(dir, `job-${++n}.json`);
        const r = await runCli(
          submitWatchArgs(fixture('chaos-job.ts'), client, target.url, out, ['--timeout', '40s']),
          { cwd: dir, timeoutMs: 300_000 },
        );
        const job = /job (job-\S+) accepted/.exec(r.stdout)?.[1] ?? null;
        const s = { job, code: r.code, out, output: r.stdout + r.stderr };
        submitted.push(s);
        await check(s);
      }
    };
    const killer = async (): Promise<void> => {
      while (Date.now() < end - KILL_EVERY_MS / 2) {
        await new Promise((r) => setTimeout(r, KILL_EVERY_MS));
        const victims = clusterNodes(c).filter((x) => x.pid !== null);
        const v = victims[Math.floor(Math.random() * victims.length)];
        if (v?.pid == null) continue;
        try {
          process.kill(v.pid, 'SIGKILL');
          kills.push(v.id);
        } catch (error) {
          // It died on its own meanwhile (and is being restarted): nothing to kill.
          kills.push(`${v.id} (already gone: ${(error as Error).message})`);
        }
      }
    };
    await Promise.all([...Array.from({ length: LANES }, lane), killer()]);

    const acknowledged = submitted.filter((s) => s.job !== null);
    assert.ok(acknowledged.length >= LANES, `jobs were accepted: ${JSON.stringify(submitted)}`);
    assert.deepEqual(problems, [], 'every acknowledged job ended once, correctly');
    const figures = {
      date: new Date().toISOString().slice(0, 10),
      chaosMs: CHAOS_MS,
      submitted: submitted.length,
      acknowledged: acknowledged.length,
      statuses,
      exactTotalsChecked: exact,
      endedWithoutResults: withoutResults,
      kills: kills.length,
      killed: kills,
    };
    console.log(JSON.stringify(figures));
    if (process.env['SALVO_CHAOS_RESULTS'] !== undefined) {
      const file = join(ROOT, process.env['SALVO_CHAOS_RESULTS']);
      mkdirSync(join(file, '..'), { recursive: true });
      writeFileSync(file, `${JSON.stringify(figures, null, 2)}\n`);
    }
  },
);
