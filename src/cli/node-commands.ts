// Owns the cluster node commands: `salvo gate`, `salvo manager`, `salvo worker` (each one node
// in this process, through the node process runner) and `salvo cluster up` (a whole cluster on
// loopback). Parses each role's own settings; the nodes themselves live in src/nodes.

import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { OptionError } from '../errors.js';
import { GateNode } from '../nodes/gate/gate-node.js';
import { ManagerNode } from '../nodes/manager/manager-node.js';
import { parseAddress, parsePeerList, type SettingSource } from '../nodes/node-options.js';
import { startGateDashboard, type GateDashboard } from '../reporters/dashboard/gate-dashboard.js';
import { WorkerNode } from '../nodes/worker/worker-node.js';
import type { NodeAddress } from '../runtime/types.js';
import {
  MAX_CLUSTER_DCS,
  MAX_CLUSTER_GATES,
  MAX_CLUSTER_MANAGERS_PER_DC,
  MAX_CLUSTER_WORKERS_PER_DC,
} from './cluster-layout.js';
import { clusterUp } from './cluster-up.js';
import type { CliIo } from './main.js';
import { COMMON_NODE_OPTIONS, runNodeProcess, type NodeProcessSpec } from './node-process.js';
import { positiveIntOption } from './options.js';
import { startWorkerExecutor } from './worker-executor.js';

/** Datacenters one gate may know. */
export const MAX_GATE_DCS = 64;

/**
 * `dc1=host:port,host:port;dc2=host:port`: every datacenter's manager addresses (repeated
 * --dc-managers flags are joined with `;`).
 */
export function parseDcManagers(text: string): Record<string, NodeAddress[]> {
  const dcs: Record<string, NodeAddress[]> = {};
  for (const entry of text.split(';').map((e) => e.trim())) {
    if (entry.length === 0) continue;
    const eq = entry.indexOf('=');
    if (eq <= 0) {
      throw new OptionError(
        `--dc-managers: bad entry "${entry}" (want dc=host:port,host:port; e.g. dc1=10.0.0.5:7100)`,
      );
    }
    const dc = entry.slice(0, eq).trim();
    if (dcs[dc] !== undefined) throw new OptionError(`--dc-managers: "${dc}" is named twice`);
    const addresses = entry
      .slice(eq + 1)
      .split(',')
      .map((a) => a.trim())
      .filter((a) => a.length > 0)
      .map((a) => parseAddress(a, '--dc-managers'));
    if (addresses.length === 0) throw new OptionError(`--dc-managers: "${dc}" names no manager`);
    dcs[dc] = addresses;
  }
  const names = Object.keys(dcs);
  if (names.length === 0) throw new OptionError('--dc-managers: name at least one datacenter');
  if (names.length > MAX_GATE_DCS)
    throw new OptionError(`--dc-managers: more than ${MAX_GATE_DCS} datacenters`);
  return dcs;
}

/** `name=token,…` from --tokens: the access tokens a gate accepts, by client name. */
export function parseTokens(text: string | undefined): Map<string, string> {
  const tokens = new Map<string, string>();
  for (const entry of (text ?? '').split(',').map((e) => e.trim())) {
    if (entry.length === 0) continue;
    const eq = entry.indexOf('=');
    const name = entry.slice(0, eq);
    const token = entry.slice(eq + 1);
    if (eq <= 0 || token.length < 16) {
      throw new OptionError(
        `--tokens: bad entry "${name || entry}" (want client=token, the token at least 16 characters)`,
      );
    }
    tokens.set(token, name);
  }
  return tokens;
}

/**
 * The gate's dashboard when --dashboard-port is set (off by default): on --dashboard-host,
 * 127.0.0.1 unless told otherwise, since the page shows every job this gate owns.
 */
async function gateDashboard(
  gate: string,
  source: SettingSource,
): Promise<GateDashboard | undefined> {
  const port = source.string('dashboardPort');
  if (port === undefined) return undefined;
  const host = source.string('dashboardHost') ?? '127.0.0.1';
  if (host.trim() === '')
    throw new OptionError('--dashboard-host: name an address, e.g. 127.0.0.1');
  return startGateDashboard({
    gate,
    port: source.count('dashboardPort', 0, 65_535),
    host,
  });
}

const GATE: NodeProcessSpec = {
  role: 'gate',
  defaultListen: '127.0.0.1:7000',
  capabilities: ['jobs', 'raft'],
  async start({ runtime, identity, settings, source }) {
    const gates = parsePeerList(source.need('peers'), '--peers');
    if (!gates.has(settings.id)) gates.set(settings.id, settings.listen);
    const dashboard = await gateDashboard(settings.id, source);
    const observers =
      dashboard === undefined
        ? {}
        : { observers: (job: string, file: string) => [dashboard.reporterFor(job, file)] };
    let node: GateNode;
    try {
      node = await GateNode.start(runtime, {
        datacenter: settings.datacenter,
        id: settings.id,
        gates,
        dcs: parseDcManagers(source.need('dcManagers')),
        identity,
        tokens: parseTokens(source.string('tokens')),
        // Without TLS there is no client certificate to check: a cluster run --insecure takes
        // anyone who can reach it, as its startup warning says.
        allowUnauthenticated: settings.insecure && source.string('tokens') === undefined,
        // The reporters of the jobs this gate owns write files under <data dir>/reports/<job>/.
        reporting: { reportsDir: join(settings.dataDir, 'reports'), ...observers },
      });
    } catch (error) {
      await dashboard?.close();
      throw error;
    }
    return {
      address: settings.listen,
      ready: { gates: gates.size, ...(dashboard ? { dashboard: dashboard.url } : {}) },
      // A ledger leader hands the ledger to a peer before it goes (no election timeout).
      stop: async () => {
        await node.stop({ transfer: true });
        await dashboard?.close();
      },
    };
  },
};

const MANAGER: NodeProcessSpec = {
  role: 'manager',
  defaultListen: '127.0.0.1:7100',
  capabilities: ['jobs', 'raft'],
  async start({ runtime, identity, settings, source, failStop }) {
    const peers = parsePeerList(source.need('peers'), '--peers');
    if (!peers.has(settings.id)) peers.set(settings.id, settings.listen);
    const gates = parsePeerList(source.string('gates'), '--gates');
    const node = await ManagerNode.start(runtime, {
      dc: settings.datacenter,
      id: settings.id,
      peers,
      gates,
      identity: { clusterId: identity.clusterId },
      onFatal: failStop,
    });
    return { address: settings.listen, ready: { peers: peers.size }, stop: () => node.stop() };
  },
};

const WORKER: NodeProcessSpec = {
  role: 'worker',
  defaultListen: '127.0.0.1:0',
  capabilities: ['jobs'],
  async start({ runtime, identity, settings, source }) {
    const managers = parsePeerList(source.need('managers'), '--managers');
    if (managers.size === 0) throw new OptionError('--managers: name at least one manager');
    const cores = source.count('cores', availableParallelism(), 1024);
    if (cores < 1) throw new OptionError('--cores must be at least 1');
    const executor = await startWorkerExecutor(cores, managers, runtime, identity);
    try {
      const node = await WorkerNode.start(runtime, {
        dc: settings.datacenter,
        id: settings.id,
        managers,
        cores,
        executor,
        identity: { clusterId: identity.clusterId },
      });
      return {
        address: settings.listen,
        ready: { cores },
        stop: async () => {
          await node.stop();
          await executor.close();
        },
      };
    } catch (error) {
      await executor.close();
      throw error;
    }
  },
};

function nodeCommand(
  program: Command,
  spec: NodeProcessSpec,
  description: string,
  extra: readonly (readonly [string, string])[],
  io: CliIo,
  setExit: (code: number) => void,
): void {
  const command = program.command(spec.role).description(description);
  for (const [flags, help] of [...COMMON_NODE_OPTIONS, ...extra]) command.option(flags, help);
  command.action(async (flags: Record<string, string | boolean | undefined>) => {
    setExit(await runNodeProcess(spec, flags, io));
  });
}

/** Registers `salvo gate|manager|worker` and `salvo cluster up`. */
export function registerNodeCommands(
  program: Command,
  io: CliIo,
  setExit: (code: number) => void,
): void {
  nodeCommand(
    program,
    GATE,
    'Run a gate: the client-facing node that keeps the job ledger and owns jobs.',
    [
      ['--peers <id=host:port,…>', 'every gate of the cluster (this one may be included)'],
      ['--dc-managers <dc=host:port,…;…>', 'each datacenter and its managers’ addresses'],
      ['--tokens <client=token,…>', 'access tokens accepted from clients without a certificate'],
      [
        '--dashboard-port <port>',
        'serve a live dashboard of the jobs this gate owns on this port (off by default; 0 picks a free one)',
      ],
      ['--dashboard-host <host>', 'address the dashboard listens on (default: 127.0.0.1)'],
    ],
    io,
    setExit,
  );
  nodeCommand(
    program,
    MANAGER,
    'Run a manager: one of the Raft group that runs its datacenter’s share of each job.',
    [
      ['--peers <id=host:port,…>', 'every manager of this datacenter'],
      ['--gates <id=host:port,…>', 'the gates (each dispatch also names its owner gate)'],
    ],
    io,
    setExit,
  );
  nodeCommand(
    program,
    WORKER,
    'Run a worker: registers with its datacenter’s managers and runs what they dispatch.',
    [
      ['--managers <id=host:port,…>', 'the managers of this worker’s datacenter'],
      ['--cores <n>', 'worker threads to offer (default: every core)'],
    ],
    io,
    setExit,
  );
  program
    .command('cluster')
    .description('Try a cluster on this machine.')
    .command('up')
    .description(
      'Start a whole cluster (gates, managers, workers in N datacenters) as processes on loopback; Ctrl-C stops it.',
    )
    .option('--dcs <n>', 'datacenters', positiveIntOption(MAX_CLUSTER_DCS), 1)
    .option(
      '--gates <n>',
      'gates (spread over the datacenters)',
      positiveIntOption(MAX_CLUSTER_GATES),
      3,
    )
    .option(
      '--managers <n>',
      'managers per datacenter',
      positiveIntOption(MAX_CLUSTER_MANAGERS_PER_DC),
      3,
    )
    .option(
      '--workers <n>',
      'workers per datacenter',
      positiveIntOption(MAX_CLUSTER_WORKERS_PER_DC),
      2,
    )
    .option('--cores <n>', 'worker threads per worker', positiveIntOption(256), 1)
    .option('--dir <dir>', 'certificates, node data and logs', '.salvo-cluster')
    .option('--insecure', 'no TLS (plain TCP on loopback)')
    .option(
      '--restart',
      'start a node again 1 s after it dies (to watch the cluster survive a kill; pids in <dir>/nodes.json)',
    )
    .action(
      async (o: {
        restart?: boolean;
        dcs: number;
        gates: number;
        managers: number;
        workers: number;
        cores: number;
        dir: string;
        insecure?: boolean;
      }) => {
        setExit(
          await clusterUp(
            {
              dcs: o.dcs,
              gates: o.gates,
              managersPerDc: o.managers,
              workersPerDc: o.workers,
              workerCores: o.cores,
              dir: o.dir,
              insecure: o.insecure === true,
              restart: o.restart === true,
            },
            io,
          ),
        );
      },
    );
}
