// Owns the settings every cluster node process shares (identity, listen address, peers, TLS
// material, data directory, logging) and where they come from: a flag, else a SALVO_* variable,
// else the --config JSON file, else the documented default. Bad values are OptionErrors naming
// the setting and what is accepted. Never starts anything and never reads files itself.

import path from 'node:path';
import { OptionError } from '../errors.js';
import { DEFAULT_DATACENTER, type LocalIdentity } from '../protocol/index.js';
import type { Role } from '../protocol/messages.js';
import {
  loadTlsMaterial,
  nodeCertFile,
  nodeKeyFile,
  type TlsMaterial,
} from '../runtime/real/index.js';
import type { LogLevel, NodeAddress } from '../runtime/types.js';

/** Peers one list may name. */
export const MAX_PEERS = 256;
export const DEFAULT_CLUSTER_ID = 'salvo';
const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** Raw settings as strings or booleans, from flags (commander's camelCase keys). */
export type RawSettings = Readonly<Record<string, string | boolean | undefined>>;

/** Where one node's settings are looked up, in order. */
export class SettingSource {
  private readonly file: Record<string, unknown>;

  constructor(
    private readonly flags: RawSettings,
    private readonly env: NodeJS.ProcessEnv,
    /** The settings of the --config file, already read (src/cli/node-config.ts). */
    file: Record<string, unknown> = {},
  ) {
    this.file = file;
  }

  /** The setting `name` (camelCase), as a string, or undefined when nowhere set. */
  string(name: string): string | undefined {
    const flag = this.flags[name];
    if (typeof flag === 'string') return flag;
    const env = this.env[envName(name)];
    if (env !== undefined && env !== '') return env;
    const value = this.file[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'string' || typeof value === 'number') return String(value);
    if (Array.isArray(value)) return value.map(String).join(',');
    throw new OptionError(`config file: "${name}" must be a string or a number`);
  }

  flag(name: string): boolean {
    if (this.flags[name] === true) return true;
    const env = this.env[envName(name)];
    if (env !== undefined) return env === '1' || env.toLowerCase() === 'true';
    return this.file[name] === true;
  }

  need(name: string): string {
    const value = this.string(name);
    if (value === undefined) {
      throw new OptionError(
        `missing --${kebab(name)} (or ${envName(name)}, or "${name}" in the --config file)`,
      );
    }
    return value;
  }

  count(name: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
    const value = this.string(name);
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || n > max) {
      throw new OptionError(
        `--${kebab(name)} must be a whole number from 0 to ${max}, got "${value}"`,
      );
    }
    return n;
  }
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** `certsDir` → `SALVO_CERTS_DIR`. */
export function envName(name: string): string {
  return `SALVO_${kebab(name).replace(/-/g, '_').toUpperCase()}`;
}

export function parseAddress(text: string, what: string): NodeAddress {
  const i = text.lastIndexOf(':');
  const port = Number(text.slice(i + 1));
  if (i <= 0 || !/^\d+$/.test(text.slice(i + 1)) || port > 65535) {
    throw new OptionError(`${what}: bad address "${text}" (want host:port, port 0-65535)`);
  }
  return { host: text.slice(0, i), port };
}

/** `id=host:port,id=host:port` → a map (ids unique, at most MAX_PEERS). */
export function parsePeerList(text: string | undefined, what: string): Map<string, NodeAddress> {
  const peers = new Map<string, NodeAddress>();
  for (const part of (text ?? '').split(',').map((p) => p.trim())) {
    if (part.length === 0) continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new OptionError(`${what}: bad entry "${part}" (want id=host:port)`);
    const id = part.slice(0, eq);
    if (peers.has(id)) throw new OptionError(`${what}: "${id}" is named twice`);
    peers.set(id, parseAddress(part.slice(eq + 1), what));
    if (peers.size > MAX_PEERS) throw new OptionError(`${what}: more than ${MAX_PEERS} entries`);
  }
  return peers;
}

/** Settings every node process has. */
export interface NodeSettings {
  readonly id: string;
  readonly role: Role;
  readonly datacenter: string;
  readonly cluster: string;
  readonly listen: NodeAddress;
  readonly dataDir: string;
  readonly logLevel: LogLevel;
  readonly certsDir: string | undefined;
  readonly insecure: boolean;
  readonly seed: number | undefined;
}

export function nodeSettings(
  source: SettingSource,
  role: Role,
  defaults: { listen: string },
): NodeSettings {
  const id = source.need('id');
  const logLevel = (source.string('logLevel') ?? 'warn') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new OptionError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }
  const seed = source.string('seed');
  if (seed !== undefined && !/^\d+$/.test(seed)) {
    throw new OptionError(`--seed must be a whole number, got "${seed}"`);
  }
  return {
    id,
    role,
    datacenter: source.string('dc') ?? DEFAULT_DATACENTER,
    cluster: source.string('cluster') ?? DEFAULT_CLUSTER_ID,
    listen: parseAddress(source.string('listen') ?? defaults.listen, '--listen'),
    dataDir: source.string('dataDir') ?? path.join('salvo-data', id),
    logLevel,
    certsDir: source.string('certsDir'),
    insecure: source.flag('insecure'),
    seed: seed === undefined ? undefined : Number(seed),
  };
}

/** Who a node says it is before its certificate is read. */
export interface NodeSecuritySettings {
  readonly id: string;
  readonly cluster: string;
  readonly datacenter: string;
  readonly certsDir: string | undefined;
  readonly insecure: boolean;
  /** Roles this process may hold; an --insecure node takes the first. */
  readonly roles: readonly Role[];
}

/**
 * TLS material and this node's identity: from its certificate (which must name the node's id
 * and one of its roles), or, with --insecure and no certificates, as the settings declare.
 */
export function nodeSecurity(
  settings: NodeSecuritySettings,
  capabilities: readonly string[],
): { tls: TlsMaterial | undefined; identity: LocalIdentity } {
  const base = { environment: 'default', capabilities: [...capabilities] };
  const role = settings.roles[0];
  if (role === undefined) throw new OptionError('a node must be allowed at least one role');
  if (settings.certsDir === undefined) {
    if (!settings.insecure) {
      throw new OptionError(
        `no certificates: pass --certs-dir DIR (ca.crt, node.${settings.id}.crt, node.${settings.id}.key, made by \`salvo certs\`), ` +
          'or --insecure to run without TLS (anyone who can reach the port can then join the cluster)',
      );
    }
    return {
      tls: undefined,
      identity: {
        ...base,
        nodeId: settings.id,
        role,
        clusterId: settings.cluster,
        datacenter: settings.datacenter,
      },
    };
  }
  const material = loadTlsMaterial(
    settings.certsDir,
    nodeCertFile(settings.id),
    nodeKeyFile(settings.id),
  );
  const cert = material.identity;
  if (cert.nodeId !== settings.id) {
    throw new OptionError(`the certificate names node "${cert.nodeId}", not --id ${settings.id}`);
  }
  if (!settings.roles.includes(cert.role)) {
    throw new OptionError(
      `the certificate's role is "${cert.role}"; this node must be a ${settings.roles.join(' or ')}`,
    );
  }
  return {
    tls: material,
    identity: {
      ...base,
      nodeId: cert.nodeId,
      role: cert.role,
      clusterId: cert.clusterId,
      datacenter: cert.datacenter,
    },
  };
}

/** The loud line an --insecure node prints. */
export const INSECURE_WARNING =
  'INSECURE: --insecure given: connections are plain TCP, unauthenticated and unencrypted; ' +
  'anyone who can reach this port can act as a cluster member or submit code for workers to run';
