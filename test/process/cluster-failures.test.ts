// A job survives the loss of its nodes, on real processes: `salvo cluster up --restart` starts
// one datacenter (1 gate, 3 managers, 3 one-core workers) on loopback with TLS; while
// `salvo submit --watch` runs a 20 s workflow on two of the workers, one of them, then the
// DC's manager leader, is killed with SIGKILL. The job still completes with a result that
// validates; after a worker loss the part ran on the third worker for the time left, and
// after a leader loss every window the workers counted is in the result exactly once. Last, the
// job's owner gate is killed: `cluster up` restarts it, the restarted gate takes its job back (a
// higher fence) and replays it while the DC sends it every window again; the watch shows the
// handover (it reconnects and follows the job through the gate) and ends with the job completed,
// every window the workers counted in the result exactly once.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTargetServer, type TargetServer } from '../../src/target/server.js';
import {
  fixture,
  readResults,
  runCli,
  schemaErrors,
  startCli,
  tempDir,
  type CliProcess,
} from '../support/cli.js';
import {
  clusterNodes,
  countedByWorkers,
  ONE_DC_RESTARTING,
  logLines,
  startLocalCluster,
  submitWatchArgs,
  stopLocalCluster,
  type ClusterNode,
  type LocalCluster,
} from '../support/local-cluster.js';

const dir = tempDir('salvo-cluster-failures-');
let cluster: LocalCluster | undefined;
let target: TargetServer;

function local(): LocalCluster {
  assert.ok(cluster, 'the cluster is up');
  return cluster;
}

async function until<T>(what: string, probe: () => T | null, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== null) return v;
    assert.ok(Date.now() < deadline, `timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Workers running a part of the (only) job whose parts they log from `since` lines on. */
function workersRunning(since: Map<string, number>): ClusterNode[] {
  return clusterNodes(local()).filter(
    (n) =>
      n.role === 'worker' &&
      logLines(n)
        .slice(since.get(n.id) ?? 0)
        .some((l) => l.msg === 'worker: part started'),
  );
}

function lineCounts(): Map<string, number> {
  return new Map(clusterNodes(local()).map((n) => [n.id, logLines(n).length]));
}

function submit(out: string): CliProcess {
  return startCli(submitWatchArgs(fixture('steady.ts'), local().client, target.url, out), {
    cwd: dir,
  });
}

before(async () => {
  target = await startTargetServer({ port: 0, host: '127.0.0.1' });
  cluster = await startLocalCluster(dir, ONE_DC_RESTARTING);
});

after(async () => {
  await stopLocalCluster(cluster);
  await target.close();
});

describe('a job on a cluster of real processes loses a node', { timeout: 600_000 }, () => {
  void test('a worker killed with SIGKILL mid-run: its part runs on another worker for the time left and the job completes', async () => {
    const since = lineCounts();
    const out = join(dir, 'worker-killed.json');
    const run = submit(out);
    const [victim] = await until('two workers run the job', () => {
      const w = workersRunning(since);
      return w.length === 2 ? w : null;
    });
    await new Promise((r) => setTimeout(r, 3_000));
    assert.ok(victim?.pid, 'the worker has a pid');
    process.kill(victim.pid, 'SIGKILL');
    const result = await run.done;
    assert.equal(result.code, 0, result.stderr + result.stdout);
    const results = readResults(out);
    assert.deepEqual(schemaErrors(results), []);
    assert.equal(results.distributed?.dcs['dc1']?.status, 'completed');
    const notes = results.run.notes.join('\n');
    assert.match(notes, new RegExp(`worker '${victim.id}' was lost .*re-dispatched to 'worker-`));
    const replacement = workersRunning(since).filter((w) => w.id !== victim.id);
    assert.equal(replacement.length, 2, 'the third worker took the lost part');
    const total = results.workflows[0]!.totals.count;
    assert.ok(
      total > countedByWorkers(local(), null, since),
      'the requests the lost worker delivered before it died are in the result',
    );
  });

  void test('the manager leader killed with SIGKILL mid-run: a new leader takes the job over and every counted request is in the result once', async () => {
    const since = lineCounts();
    const out = join(dir, 'leader-killed.json');
    const run = submit(out);
    await until('two workers run the job', () => {
      const w = workersRunning(since);
      return w.length === 2 ? w : null;
    });
    await new Promise((r) => setTimeout(r, 3_000));
    const managers = clusterNodes(local()).filter((n) => n.role === 'manager');
    let leader: ClusterNode | null = null;
    let term = -1;
    for (const m of managers) {
      for (const l of logLines(m)) {
        if (l.msg === 'manager: leading the DC' && (l.term ?? 0) > term) {
          term = l.term ?? 0;
          leader = m;
        }
      }
    }
    assert.ok(leader?.pid, 'a manager leads the DC');
    process.kill(leader.pid, 'SIGKILL');
    const result = await run.done;
    assert.equal(result.code, 0, result.stderr + result.stdout);
    const results = readResults(out);
    assert.deepEqual(schemaErrors(results), []);
    assert.equal(results.distributed?.dcs['dc1']?.status, 'completed');
    const took = managers
      .filter((m) => m.id !== leader.id)
      .some((m) => logLines(m).some((l) => l.msg === "manager: took over the DC's running jobs"));
    assert.ok(took, 'another manager took the job over');
    assert.equal(results.workflows[0]!.totals.count, countedByWorkers(local(), null, since));
  });

  void test('the owner gate killed with SIGKILL mid-run: the restarted gate takes the job back and resumes it; the watch follows it there and ends with the job completed, every counted request in the result once', async () => {
    const since = lineCounts();
    const out = join(dir, 'gate-killed.json');
    const run = startCli(
      submitWatchArgs(fixture('steady.ts'), local().client, target.url, out, ['--timeout', '90s']),
      { cwd: dir },
    );
    await until('two workers run the job', () => {
      const w = workersRunning(since);
      return w.length === 2 ? w : null;
    });
    await new Promise((r) => setTimeout(r, 3_000));
    const gate = clusterNodes(local()).find((n) => n.role === 'gate');
    assert.ok(gate?.pid, 'the gate has a pid');
    process.kill(gate.pid, 'SIGKILL');
    const result = await run.done;
    const output = result.stdout + result.stderr;
    const job = /job (job-\S+) accepted/.exec(output)?.[1];
    assert.ok(job, `the job was accepted: ${output}`);
    assert.equal(result.code, 0, output);
    assert.match(result.stderr, /closed the connection while watching .*asking the gates again/);
    assert.match(result.stderr, new RegExp(`following ${job} through gate`));
    const results = readResults(out);
    assert.deepEqual(schemaErrors(results), []);
    assert.equal(results.run.status, 'completed');
    assert.equal(results.distributed?.dcs['dc1']?.status, 'completed');
    assert.equal(
      results.workflows[0]!.totals.count,
      countedByWorkers(local(), null, since),
      'every request the workers counted is in the result once',
    );
    const restarted = clusterNodes(local()).find((n) => n.role === 'gate')!;
    assert.ok(
      logLines(restarted).some(
        (l) => l.msg === 'resuming a job moved to this gate' && l.job === job,
      ),
      'the restarted gate resumed the job',
    );
    const status = await runCli(['status', job, ...local().client, '--json'], { cwd: dir });
    assert.equal(status.code, 0, status.stderr);
    const view = JSON.parse(status.stdout) as { status: string; fence: number };
    assert.equal(view.status, 'completed');
    assert.ok(view.fence > 1, `the job moved with a higher fence (${view.fence})`);
  });
});
