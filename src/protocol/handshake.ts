// Owns connection-start negotiation: the `hello` each side sends, version and capability
// negotiation (AD-25: majors must match, features = intersection, unknown fields ignored),
// cluster/environment checks and the role matrix. Pure decisions over two hellos — never
// sends, closes or times anything (rpc.ts does).

import { errorMessage, type ErrorMessage } from './errors.js';
import type { HelloMessage, Role } from './messages.js';

export interface ProtocolVersion {
  readonly major: number;
  readonly minor: number;
}

/** Salvo's wire protocol version. Bump minor for additive changes, major for breaking ones. */
export const PROTOCOL_VERSION: ProtocolVersion = { major: 1, minor: 0 };

/** How long a connection may take to complete the hello exchange before it is closed. */
export const HANDSHAKE_TIMEOUT_MS = 5_000;

/**
 * Who may open a connection to whom: ROLE_MATRIX[initiator] lists the acceptor roles it may
 * reach. The acceptor enforces it (the initiator checks too, so a misrouted dial fails fast).
 * client→gate, client→manager, gate↔gate, gate↔manager, manager↔manager, manager↔worker.
 * Nothing connects to a client; a worker talks only to managers.
 */
export const ROLE_MATRIX: Readonly<Record<Role, readonly Role[]>> = {
  client: ['gate', 'manager'],
  gate: ['gate', 'manager'],
  manager: ['gate', 'manager', 'worker'],
  worker: ['manager'],
};

export function roleAllowed(initiator: Role, acceptor: Role): boolean {
  return ROLE_MATRIX[initiator].includes(acceptor);
}

/** What this node says about itself at connection start. */
export interface LocalIdentity {
  readonly nodeId: string;
  readonly role: Role;
  readonly clusterId: string;
  readonly environment: string;
  /** Features this node supports (e.g. 'batched_stats', 'fence_tokens'); order irrelevant. */
  readonly capabilities: readonly string[];
  /** Defaults to PROTOCOL_VERSION; tests override it to exercise version mismatches. */
  readonly protocol?: ProtocolVersion;
}

export function helloFor(local: LocalIdentity): HelloMessage {
  return {
    t: 'hello',
    protocol: { ...(local.protocol ?? PROTOCOL_VERSION) },
    capabilities: [...new Set(local.capabilities)].sort(),
    clusterId: local.clusterId,
    environment: local.environment,
    role: local.role,
    nodeId: local.nodeId,
  };
}

/** What both sides agreed on. */
export interface Session {
  readonly remoteNodeId: string;
  readonly remoteRole: Role;
  /** Same major; minor = the lower of the two (the common feature level). */
  readonly protocol: ProtocolVersion;
  readonly remoteProtocol: ProtocolVersion;
  /** Capabilities both sides advertised, sorted. */
  readonly capabilities: readonly string[];
  /** Whether this side opened the connection. */
  readonly initiator: boolean;
}

export type HelloVerdict =
  | { readonly ok: true; readonly session: Session }
  | { readonly ok: false; readonly error: ErrorMessage };

/**
 * Judges the peer's hello. `direction` is 'inbound' when this node accepted the connection (the
 * peer is the initiator) and 'outbound' when this node dialled. Checks, in order: major version,
 * cluster id, environment, role matrix.
 */
export function evaluateHello(
  local: LocalIdentity,
  remote: HelloMessage,
  direction: 'inbound' | 'outbound',
): HelloVerdict {
  const mine = local.protocol ?? PROTOCOL_VERSION;
  const theirs = remote.protocol;
  if (mine.major !== theirs.major) {
    return {
      ok: false,
      error: errorMessage(
        'version',
        `protocol major version mismatch: this node (${local.nodeId}) speaks ${mine.major}.${mine.minor}, ` +
          `peer ${remote.nodeId} speaks ${theirs.major}.${theirs.minor}`,
        { local: `${mine.major}.${mine.minor}`, remote: `${theirs.major}.${theirs.minor}` },
      ),
    };
  }
  if (remote.clusterId !== local.clusterId) {
    return {
      ok: false,
      error: errorMessage(
        'cluster_mismatch',
        `cluster id mismatch: this node is in "${local.clusterId}", peer ${remote.nodeId} in "${remote.clusterId}"`,
        { local: local.clusterId, remote: remote.clusterId },
      ),
    };
  }
  if (remote.environment !== local.environment) {
    return {
      ok: false,
      error: errorMessage(
        'environment_mismatch',
        `environment mismatch: this node is in "${local.environment}", peer ${remote.nodeId} in "${remote.environment}"`,
        { local: local.environment, remote: remote.environment },
      ),
    };
  }
  const [from, to] =
    direction === 'inbound' ? [remote.role, local.role] : [local.role, remote.role];
  if (!roleAllowed(from, to)) {
    return {
      ok: false,
      error: errorMessage('role_forbidden', `a ${from} may not connect to a ${to}`, {
        from,
        to,
        allowed: [...ROLE_MATRIX[from]],
      }),
    };
  }
  const theirCaps = new Set(remote.capabilities);
  const common = [...new Set(local.capabilities)].filter((c) => theirCaps.has(c)).sort();
  return {
    ok: true,
    session: {
      remoteNodeId: remote.nodeId,
      remoteRole: remote.role,
      protocol: { major: mine.major, minor: Math.min(mine.minor, theirs.minor) },
      remoteProtocol: { major: theirs.major, minor: theirs.minor },
      capabilities: common,
      initiator: direction === 'outbound',
    },
  };
}
