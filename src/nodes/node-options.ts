// Owns how a cluster node process reads its addresses and peer lists, and where its TLS
// material and identity come from (mutual TLS by default, --insecure only when asked). Bad
// values are OptionErrors naming the flag and what is accepted. Never starts anything.

import { OptionError } from '../errors.js';
import type { LocalIdentity } from '../protocol/index.js';
import type { Role } from '../protocol/messages.js';
import {
  loadTlsMaterial,
  nodeCertFile,
  nodeKeyFile,
  type TlsMaterial,
} from '../runtime/real/index.js';
import type { NodeAddress } from '../runtime/types.js';

/** Peers one list may name. */
export const MAX_PEERS = 256;

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
