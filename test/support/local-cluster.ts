// Test support for process tests on a `salvo cluster up` cluster: start it (and the client
// flags it prints), read its nodes.json (roles and pids), and read what its nodes logged (the
// workers' own counts of the parts they ran).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCli, type CliProcess } from './cli.js';

export interface ClusterNode {
  readonly id: string;
  readonly role: 'gate' | 'manager' | 'worker';
  readonly pid: number | null;
  readonly log: string;
}

export interface LogLine {
  readonly msg: string;
  readonly job?: string;
  readonly term?: number;
  readonly dispatchId?: string;
  readonly tally?: { readonly requests: number };
}

/** One datacenter of 1 gate, 3 managers and 3 one-core workers; a node that dies restarts. */
export const ONE_DC_RESTARTING = [
  '--dcs',
  '1',
  '--gates',
  '1',
  '--managers',
  '3',
  '--workers',
  '3',
  '--restart',
];

export interface LocalCluster {
  readonly process: CliProcess;
  /** `--gate … --certs-dir … --client …` for client commands. */
  readonly client: string[];
  /** The cluster's files: certificates, data, logs, nodes.json. */
  readonly dir: string;
}

/**
 * Starts `salvo cluster up <shape> --dir <dir>/cluster` and waits until every node is ready.
 * `env`: more SALVO_* settings every node gets (e.g. SALVO_DASHBOARD_PORT for a one-gate cluster).
 */
export async function startLocalCluster(
  dir: string,
  shape: string[],
  env: Readonly<Record<string, string>> = {},
): Promise<LocalCluster> {
  const clusterDir = join(dir, 'cluster');
  const process = startCli(['cluster', 'up', ...shape, '--dir', clusterDir], {
    cwd: dir,
    env: { ...env, SALVO_CACHE_DIR: join(dir, 'cache') },
  });
  process.child.stdout?.resume();
  await process.waitFor(/Ctrl-C stops the cluster/, 180_000);
  const printed = /--gate (\S+) --certs-dir (\S+) --client (\S+)/.exec(process.output().stdout);
  assert.ok(printed, process.output().stdout);
  return {
    process,
    client: ['--gate', printed[1]!, '--certs-dir', printed[2]!, '--client', printed[3]!],
    dir: clusterDir,
  };
}

/** `salvo submit FILE … --target URL --watch -q -o OUT` against the cluster. */
export function submitWatchArgs(
  file: string,
  client: readonly string[],
  targetUrl: string,
  out: string,
  extra: readonly string[] = [],
): string[] {
  return ['submit', file, ...client, ...extra, '--target', targetUrl, '--watch', '-q', '-o', out];
}

export async function stopLocalCluster(c: LocalCluster | undefined): Promise<void> {
  if (c === undefined) return;
  c.process.child.kill('SIGINT');
  await c.process.done;
}

export function clusterNodes(c: LocalCluster): ClusterNode[] {
  return (JSON.parse(readFileSync(join(c.dir, 'nodes.json'), 'utf8')) as { nodes: ClusterNode[] })
    .nodes;
}

export function logLines(node: ClusterNode): LogLine[] {
  return readFileSync(node.log, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

/**
 * Requests the workers counted in the parts of `job` (of any job when null) that ran to their
 * end, from each worker's log lines after `since` (per node id). A cancelled part is left out:
 * with no cancel asked for, it is one its manager gave up, whose windows are discarded by design.
 */
export function countedByWorkers(
  c: LocalCluster,
  job: string | null,
  since: ReadonlyMap<string, number> = new Map(),
): number {
  let n = 0;
  for (const node of clusterNodes(c).filter((x) => x.role === 'worker')) {
    for (const l of logLines(node).slice(since.get(node.id) ?? 0)) {
      if ((job === null || l.job === job) && /^worker: part (completed|failed)$/.test(l.msg)) {
        n += l.tally?.requests ?? 0;
      }
    }
  }
  return n;
}
