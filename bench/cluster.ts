// Distributed jobs on this machine, as ratios from one run (issue 9): the same closed-model
// workflow through `salvo run --workers 2` and through a 1-DC cluster of 2 one-core workers
// (`salvo cluster up`, every node its own process on loopback, TLS on) against the same target
// process; the latency from `job.submit` to the first datacenter accepting the job's dispatch;
// and jobs per second submitted through three gates and run to their end. Everything shares the
// machine's cores with the nodes, as it would for a user trying `salvo cluster up`.
// Writes bench/results/cluster.json. Not part of npm test.
//   npm run bench:cluster [-- --duration 10 --vus 50 --latency-jobs 20 --storm-jobs 60]

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { ChildProcess } from 'node:child_process';
import { JobClient } from '../src/cli/job-client.js';
import { bundleWorkflow, importWorkflows } from '../src/engine/loader.js';
import { buildPlan } from '../src/engine/plan.js';
import { planSpecOf } from '../src/run/plan-spec.js';
import type { RunResults } from '../src/stats/types.js';
import { describeMachine } from './lib/machine.js';
import { killAll, run, startChild, stop } from './lib/proc.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'salvo.js');
const CLOSED = join(ROOT, 'bench', 'workflows', 'closed.ts');
const READY_TIMEOUT_MS = 180_000;
/** Clients the storm of jobs comes from (each well inside a gate's per-client burst). */
const STORM_CLIENTS = 6;
/** How often the latency loop asks for the job's status. */
const POLL_MS = 10;

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

function requestsPerSecond(results: RunResults): number {
  const w = results.workflows.find((x) => x.name === 'closed');
  if (!w) throw new Error('no closed workflow in the results');
  return w.totals.count / Math.max(0.001, w.durationMs / 1000);
}

async function waitOutput(child: ChildProcess, pattern: RegExp, what: string): Promise<string> {
  let seen = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${what} not ready in time:\n${seen}`)),
      READY_TIMEOUT_MS,
    );
    const on = (d: Buffer): void => {
      seen += d.toString('utf8');
      if (pattern.test(seen)) {
        clearTimeout(timer);
        resolve(seen);
      }
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', on);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}):\n${seen}`));
    });
  });
}

interface Cluster {
  child: ChildProcess;
  gates: string[];
  client: string[];
  certsDir: string;
}

async function clusterUp(dir: string, shape: string[]): Promise<Cluster> {
  const child = startChild(process.execPath, [BIN, 'cluster', 'up', ...shape, '--dir', dir]);
  const out = await waitOutput(child, /Ctrl-C stops the cluster/, 'salvo cluster up');
  const gates = [...out.matchAll(/gate-\d+\s+\S+\s+(\S+:\d+)/g)].map((m) => m[1] ?? '');
  const certsDir = join(dir, 'certs');
  return {
    child,
    gates,
    certsDir,
    client: ['--gate', gates.join(','), '--certs-dir', certsDir, '--client', 'you'],
  };
}

async function submitOne(
  client: JobClient,
  plan: unknown,
  bundle: { hash: string; source: string; file: string },
): Promise<string> {
  const accepted = (await client.request(
    {
      t: 'job.submit',
      bundle: { hash: bundle.hash, sizeBytes: Buffer.byteLength(bundle.source), file: bundle.file },
      source: bundle.source,
      plan,
    },
    'job.accepted',
  )) as unknown as { job: string };
  return accepted.job;
}

async function jobView(
  client: JobClient,
  job: string,
): Promise<{ status: string; dcs: Record<string, string> }> {
  const reply = (await client.request({ t: 'job.status', job }, 'job.view')) as unknown as {
    view: { status: string; dcs: Record<string, string> };
  };
  return reply.view;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '10' },
      vus: { type: 'string', default: '50' },
      'latency-jobs': { type: 'string', default: '20' },
      'storm-jobs': { type: 'string', default: '60' },
    },
  });
  const duration = Number(values.duration);
  const vus = Number(values.vus);
  const latencyJobs = Number(values['latency-jobs']);
  const stormJobs = Number(values['storm-jobs']);
  const work = mkdtempSync(join(tmpdir(), 'salvo-bench-cluster-'));
  process.env['SALVO_CACHE_DIR'] = join(work, 'cache');
  const env = { ...process.env, SALVO_CACHE_DIR: join(work, 'cache'), NO_COLOR: '1' };
  const target = startChild(process.execPath, [BIN, 'serve', '--port', '0'], { env });
  try {
    const banner = await waitOutput(target, /listening on (\S+)/, 'salvo serve');
    const url = /listening on (\S+)/.exec(banner)?.[1] ?? '';
    const load = ['--vus', String(vus), '--duration', `${duration}s`, '--target', url, '-q'];

    // 1. The same workflow locally on 2 threads, then on a 1-DC cluster of 2 one-core workers.
    console.log(`salvo run --workers 2 (${vus} VUs, ${duration}s)…`);
    const localOut = join(work, 'local.json');
    const local = await run(
      process.execPath,
      [BIN, 'run', CLOSED, '--workers', '2', ...load, '--out', localOut],
      duration * 1000 + 120_000,
      { env },
    );
    if (local.code !== 0) throw new Error(`salvo run failed (${local.code}): ${local.stderr}`);
    const localRps = requestsPerSecond(JSON.parse(readFileSync(localOut, 'utf8')) as RunResults);

    console.log('salvo cluster up: 1 DC, 1 gate, 1 manager, 2 one-core workers…');
    const small = await clusterUp(join(work, 'small'), [
      ...['--dcs', '1', '--gates', '1', '--managers', '1', '--workers', '2', '--cores', '1'],
    ]);
    let clusterRps = 0;
    try {
      const clusterOut = join(work, 'cluster.json');
      const submitted = await run(
        process.execPath,
        [BIN, 'submit', CLOSED, ...small.client, ...load, '--watch', '--out', clusterOut],
        duration * 1000 + 180_000,
        { env },
      );
      if (submitted.code !== 0)
        throw new Error(`salvo submit failed (${submitted.code}): ${submitted.stderr}`);
      clusterRps = requestsPerSecond(JSON.parse(readFileSync(clusterOut, 'utf8')) as RunResults);
    } finally {
      await stop(small.child);
    }

    // 2 and 3: a 3-gate cluster: submit → first dispatch accepted; jobs/s through 3 gates.
    console.log('salvo cluster up: 1 DC, 3 gates, 3 managers, 2 one-core workers…');
    const big = await clusterUp(join(work, 'big'), [
      ...['--dcs', '1', '--gates', '3', '--managers', '3', '--workers', '2', '--cores', '1'],
    ]);
    const latencies: number[] = [];
    let stormSeconds = 0;
    let stormDone = 0;
    try {
      const tiny = join(work, 'tiny.ts');
      writeFileSync(
        tiny,
        [
          "import { workflow, sharedIterations } from 'salvo';",
          "export default workflow('tiny', { executor: sharedIterations({ vus: 1, iterations: 1 }) })",
          "  .step('home', ({ http }) => http.get('/'));",
          '',
        ].join('\n'),
      );
      const built = await bundleWorkflow(tiny);
      const spec = planSpecOf(buildPlan(await importWorkflows(built), {}));
      spec.baseUrl = url;
      const bundle = { hash: built.hash, source: readFileSync(built.path, 'utf8'), file: tiny };
      // The storm comes from several users (a gate limits each client to its own rate), spread
      // over the three gates: STORM_CLIENTS client certificates made for the bench.
      const names = ['you'];
      for (let i = 1; i < STORM_CLIENTS; i++) {
        const name = `storm-${i}`;
        const made = await run(
          process.execPath,
          [
            BIN,
            'certs',
            'create-client',
            '--certs-dir',
            big.certsDir,
            '--ca-key',
            join(work, 'big', 'ca.key'),
            '--name',
            name,
          ],
          60_000,
          { env },
        );
        if (made.code !== 0) throw new Error(`salvo certs create-client failed: ${made.stderr}`);
        names.push(name);
      }
      const clients = await Promise.all(
        names.map((client, i) =>
          JobClient.open(
            { gate: big.gates[i % big.gates.length] ?? '', certsDir: big.certsDir, client },
            (ms) => new Promise((r) => setTimeout(r, ms)),
          ),
        ),
      );
      try {
        // A client sees only its own jobs, so the submitting client polls; the clients take turns
        // (each job from the next one) so that none runs out of its burst. The figure is thus at
        // most POLL_MS above the true latency.
        for (let i = 0; i < latencyJobs; i++) {
          const client = clients[i % clients.length]!;
          const started = performance.now();
          const job = await submitOne(client, spec, bundle);
          for (;;) {
            const view = await jobView(client, job);
            if (Object.values(view.dcs).some((s) => s !== 'pending')) break;
            await new Promise((r) => setTimeout(r, POLL_MS));
          }
          latencies.push(performance.now() - started);
        }
        await new Promise((r) => setTimeout(r, 3_000)); // every client's bucket refills
        console.log(
          `${stormJobs} jobs from ${clients.length} clients through ${big.gates.length} gates…`,
        );
        const stormStart = performance.now();
        const jobs = await Promise.all(
          Array.from({ length: stormJobs }, (_, i) =>
            submitOne(clients[i % clients.length]!, spec, bundle).then((job) => ({
              job,
              client: clients[i % clients.length]!,
            })),
          ),
        );
        const pending = new Set(jobs);
        while (pending.size > 0) {
          for (const j of [...pending]) {
            const view = await jobView(j.client, j.job);
            if (['completed', 'failed', 'cancelled'].includes(view.status)) {
              pending.delete(j);
              if (view.status === 'completed') stormDone++;
            }
          }
          if (performance.now() - stormStart > 600_000) throw new Error('storm did not end');
          await new Promise((r) => setTimeout(r, 50));
        }
        stormSeconds = (performance.now() - stormStart) / 1000;
      } finally {
        await Promise.all(clients.map((c) => c.close()));
      }
    } finally {
      await stop(big.child);
    }

    latencies.sort((a, b) => a - b);
    const figures = {
      date: new Date().toISOString(),
      machine: describeMachine(ROOT),
      load: { vus, durationSeconds: duration },
      localRps: Math.round(localRps),
      clusterRps: Math.round(clusterRps),
      clusterOverLocal: Math.round((clusterRps / localRps) * 100) / 100,
      goalClusterOverLocal: 0.9,
      submitToDispatchMs: {
        jobs: latencies.length,
        p50: Math.round(percentile(latencies, 50) * 10) / 10,
        p99: Math.round(percentile(latencies, 99) * 10) / 10,
        max: Math.round((latencies.at(-1) ?? 0) * 10) / 10,
      },
      storm: {
        gates: big.gates.length,
        jobs: stormJobs,
        completed: stormDone,
        jobsPerSecond: Math.round((stormJobs / stormSeconds) * 10) / 10,
      },
    };
    console.log('');
    console.log('| figure | value |');
    console.log('| --- | ---: |');
    console.log(`| salvo run --workers 2, req/s | ${figures.localRps} |`);
    console.log(`| 1-DC cluster, 2 one-core workers, req/s | ${figures.clusterRps} |`);
    console.log(`| cluster / local (goal ≥ 0.9) | ${figures.clusterOverLocal} |`);
    console.log(
      `| submit → first DC accepted, p50 / p99 ms (${latencies.length} jobs) | ${figures.submitToDispatchMs.p50} / ${figures.submitToDispatchMs.p99} |`,
    );
    console.log(
      `| jobs/s through ${figures.storm.gates} gates, submitted and run to the end (${stormJobs} jobs, ${stormDone} completed) | ${figures.storm.jobsPerSecond} |`,
    );
    const outDir = join(ROOT, 'bench', 'results');
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'cluster.json'), `${JSON.stringify(figures, null, 2)}\n`);
  } finally {
    await stop(target);
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  killAll();
  process.exitCode = 1;
});
