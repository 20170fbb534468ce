// Owns connection-start negotiation: the `hello` each side sends, version and capability
// negotiation (AD-25: majors must match, features = intersection, unknown fields ignored),
// cluster/environment checks, the role matrix, and the binding of a hello to the certificate
// the link was authenticated with (on a secure link the certificate names the peer; a hello
// claiming anything else is refused). Pure decisions over two hellos — never sends, closes or
// times anything (rpc.ts does).

import { errorMessage, type ErrorMessage } from './errors.js';
import { DEFAULT_DATACENTER, type PeerIdentity } from './identity.js';
import type { HelloMessage, Role } from './messages.js';

export interface ProtocolVersion {
  readonly major: number;
  readonly minor: number;
}

/** Salvo's wire protocol version. Bump minor for additive changes, major for breaking ones. */
export const PROTOCOL_VERSION: ProtocolVersion = { major: 1, minor: 1 };

/** How long a connection (TLS handshake included) may take to complete the hello exchange. */
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
  /** Datacenter this node runs in (default DEFAULT_DATACENTER). */
  readonly datacenter?: string;
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
    datacenter: local.datacenter ?? DEFAULT_DATACENTER,
  };
}

/** What both sides agreed on. */
export interface Session {
  /** From the peer's certificate on a secure link, else as the hello declared it. */
  readonly remoteNodeId: string;
  readonly remoteRole: Role;
  readonly remoteDatacenter: string;
  /** True when the remote identity was taken from a certificate the cluster CA signed. */
  readonly authenticated: boolean;
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

/** What the link itself says about the peer (see StreamConnection.secure / peerIdentity). */
export interface LinkAuthentication {
  /** The link is mutually authenticated TLS: the peer must carry a certified identity. */
  readonly secure: boolean;
  /** The identity its certificate names (null: a CA-signed certificate without one). */
  readonly certified: PeerIdentity | null;
  /** Refuse links that are not secure (a node that was not started with --insecure). */
  readonly required?: boolean;
  /** When dialling a known member: the node id the peer must prove it is. */
  readonly expectNodeId?: string;
}

const PLAIN_LINK: LinkAuthentication = { secure: false, certified: null };

/**
 * Judges the peer's hello. `direction` is 'inbound' when this node accepted the connection (the
 * peer is the initiator) and 'outbound' when this node dialled. Checks, in order: the link's
 * authentication and the hello's agreement with the certificate, major version, cluster id,
 * environment, role matrix, and (dialling) that the peer is the member expected.
 */
export function evaluateHello(
  local: LocalIdentity,
  declared: HelloMessage,
  direction: 'inbound' | 'outbound',
  link: LinkAuthentication = PLAIN_LINK,
): HelloVerdict {
  const bound = bindIdentity(declared, link);
  if (!bound.ok) return bound;
  const remote = bound.hello;
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
  if (link.expectNodeId !== undefined && link.expectNodeId !== remote.nodeId) {
    return {
      ok: false,
      error: errorMessage(
        'identity_mismatch',
        `dialled member ${link.expectNodeId} but the peer is ${remote.nodeId}`,
        { field: 'nodeId', expected: link.expectNodeId, certified: remote.nodeId },
      ),
    };
  }
  const theirCaps = new Set(remote.capabilities);
  const common = [...new Set(local.capabilities)].filter((c) => theirCaps.has(c)).sort();
  return {
    ok: true,
    session: {
      remoteNodeId: remote.nodeId,
      remoteRole: remote.role,
      remoteDatacenter: remote.datacenter ?? DEFAULT_DATACENTER,
      authenticated: link.secure,
      protocol: { major: mine.major, minor: Math.min(mine.minor, theirs.minor) },
      remoteProtocol: { major: theirs.major, minor: theirs.minor },
      capabilities: common,
      initiator: direction === 'outbound',
    },
  };
}

type Bound = { readonly ok: true; readonly hello: HelloMessage } | HelloVerdictFailure;
type HelloVerdictFailure = { readonly ok: false; readonly error: ErrorMessage };

/**
 * On a secure link: the hello with its identity fields checked against the certificate (every
 * declared field must equal the certified one). On a plain link: the hello as declared, unless
 * authentication is required.
 */
function bindIdentity(hello: HelloMessage, link: LinkAuthentication): Bound {
  if (!link.secure) {
    if (link.required === true) {
      return {
        ok: false,
        error: errorMessage(
          'unauthenticated',
          'this node accepts only mutually authenticated TLS connections',
        ),
      };
    }
    return { ok: true, hello };
  }
  const cert = link.certified;
  if (cert === null) {
    return {
      ok: false,
      error: errorMessage(
        'unauthenticated',
        'the peer certificate names no Salvo identity (a SAN URI salvo://<cluster>/<datacenter>/<role>/<node>; make certificates with `salvo certs`)',
      ),
    };
  }
  const checks: [string, string | undefined, string][] = [
    ['nodeId', hello.nodeId, cert.nodeId],
    ['role', hello.role, cert.role],
    ['clusterId', hello.clusterId, cert.clusterId],
    ['datacenter', hello.datacenter, cert.datacenter],
  ];
  for (const [field, declared, certified] of checks) {
    if (declared !== undefined && declared !== certified) {
      return {
        ok: false,
        error: errorMessage(
          'identity_mismatch',
          `the hello declares ${field} "${declared}" but the peer certificate says "${certified}"`,
          { field, declared, certified },
        ),
      };
    }
  }
  return { ok: true, hello: { ...hello, datacenter: cert.datacenter } };
}
