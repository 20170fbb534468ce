// Owns the shape of a `salvo cluster up` cluster: which nodes exist (ids, roles, datacenters),
// the ports they listen on, and the command-line flags each node process gets. Pure: never
// spawns, binds or writes anything.

import { OptionError } from '../errors.js';
import type { Role } from '../protocol/messages.js';

/** Bounds of `salvo cluster up` (one machine runs every process). */
export const MAX_CLUSTER_DCS = 5;
export const MAX_CLUSTER_GATES = 7;
export const MAX_CLUSTER_MANAGERS_PER_DC = 5;
export const MAX_CLUSTER_WORKERS_PER_DC = 16;

export interface ClusterShape {
  readonly dcs: number;
  readonly gates: number;
  readonly managersPerDc: number;
  readonly workersPerDc: number;
  /** Cores (worker threads) each worker offers. */
  readonly workerCores: number;
}

export interface PlannedNode {
  readonly id: string;
  readonly role: Exclude<Role, 'client'>;
  readonly dc: string;
  readonly port: number;
}

export function dcName(index: number): string {
  return `dc${index + 1}`;
}

/** Every node of the cluster, gates spread round-robin over the datacenters. */
export function planCluster(shape: ClusterShape, ports: readonly number[]): PlannedNode[] {
  checkShape(shape);
  const nodes: Omit<PlannedNode, 'port'>[] = [];
  for (let g = 0; g < shape.gates; g++) {
    nodes.push({ id: `gate-${g + 1}`, role: 'gate', dc: dcName(g % shape.dcs) });
  }
  for (let d = 0; d < shape.dcs; d++) {
    const dc = dcName(d);
    for (let m = 0; m < shape.managersPerDc; m++) {
      nodes.push({ id: `manager-${dc}-${m + 1}`, role: 'manager', dc });
    }
    for (let w = 0; w < shape.workersPerDc; w++) {
      nodes.push({ id: `worker-${dc}-${w + 1}`, role: 'worker', dc });
    }
  }
  if (ports.length < nodes.length) {
    throw new OptionError(`the cluster needs ${nodes.length} ports, got ${ports.length}`);
  }
  return nodes.map((n, i) => ({ ...n, port: ports[i] ?? 0 }));
}

export function nodeCount(shape: ClusterShape): number {
  return shape.gates + shape.dcs * (shape.managersPerDc + shape.workersPerDc);
}

function checkShape(shape: ClusterShape): void {
  const bounds: [keyof ClusterShape, number, number][] = [
    ['dcs', 1, MAX_CLUSTER_DCS],
    ['gates', 1, MAX_CLUSTER_GATES],
    ['managersPerDc', 1, MAX_CLUSTER_MANAGERS_PER_DC],
    ['workersPerDc', 1, MAX_CLUSTER_WORKERS_PER_DC],
    ['workerCores', 1, 256],
  ];
  for (const [key, min, max] of bounds) {
    const v = shape[key];
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new OptionError(
        `cluster ${key} must be a whole number from ${min} to ${max}, got ${v}`,
      );
    }
  }
}

function list(nodes: readonly PlannedNode[], host: string): string {
  return nodes.map((n) => `${n.id}=${host}:${n.port}`).join(',');
}

/** Every datacenter's manager addresses, as `salvo gate --dc-managers` takes them. */
function dcManagers(nodes: readonly PlannedNode[], host: string): string {
  const byDc = new Map<string, string[]>();
  for (const n of nodes) {
    if (n.role !== 'manager') continue;
    const list = byDc.get(n.dc) ?? [];
    list.push(`${host}:${n.port}`);
    byDc.set(n.dc, list);
  }
  return [...byDc].map(([dc, addresses]) => `${dc}=${addresses.join(',')}`).join(';');
}

/** The flags of one node's process (`salvo <role> …`). */
export function nodeArgs(
  node: PlannedNode,
  all: readonly PlannedNode[],
  o: { host: string; certsDir: string | undefined; dataDir: string; workerCores: number },
): string[] {
  const security = o.certsDir === undefined ? ['--insecure'] : ['--certs-dir', o.certsDir];
  // Info level: each node's log file tells what it did (a worker logs what it counted per part).
  const common = ['--id', node.id, '--dc', node.dc, '--log-level', 'info', ...security];
  const gates = all.filter((n) => n.role === 'gate');
  const managers = all.filter((n) => n.role === 'manager' && n.dc === node.dc);
  const listen = ['--listen', `${o.host}:${node.port}`, '--data-dir', `${o.dataDir}/${node.id}`];
  switch (node.role) {
    case 'gate':
      return [
        'gate',
        ...common,
        ...listen,
        '--peers',
        list(gates, o.host),
        '--dc-managers',
        dcManagers(all, o.host),
      ];
    case 'manager':
      return [
        'manager',
        ...common,
        ...listen,
        '--peers',
        list(managers, o.host),
        '--gates',
        list(gates, o.host),
      ];
    case 'worker':
      return [
        'worker',
        ...common,
        ...listen,
        '--managers',
        list(managers, o.host),
        '--cores',
        String(o.workerCores),
      ];
  }
}
