// Owns the certified identity of a peer (node id, role, cluster, datacenter) and its one textual
// form, the certificate's SAN URI `salvo://<cluster>/<datacenter>/<role>/<node id>`. Pure: the
// certificate generator (cli/certs.ts) writes this URI and the TLS layer (runtime/real/tls.ts)
// reads it back; never touches certificates or sockets itself.

import { ROLES, type Role } from './messages.js';
import { InternalError } from '../errors.js';

/** Who a peer is, as its certificate (signed by the cluster CA) says — never as it declares. */
export interface PeerIdentity {
  readonly nodeId: string;
  readonly role: Role;
  readonly clusterId: string;
  readonly datacenter: string;
}

/** URI scheme of the identity SAN. */
export const IDENTITY_URI_SCHEME = 'salvo';
/** Datacenter of an identity that does not name one. */
export const DEFAULT_DATACENTER = 'default';
/** Longest name part (node id, cluster, datacenter) an identity may carry. */
export const MAX_IDENTITY_PART_LENGTH = 128;
/** Characters allowed in each part: they stay readable in a URI, a file name and a log line. */
const PART = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Why `part` cannot be an identity part, or null when it can. */
export function identityPartProblem(part: string): string | null {
  if (part.length === 0) return 'must not be empty';
  if (part.length > MAX_IDENTITY_PART_LENGTH)
    return `must be at most ${MAX_IDENTITY_PART_LENGTH} characters`;
  if (!PART.test(part))
    return 'may hold only letters, digits, ".", "_" and "-", and must start with a letter or digit';
  return null;
}

/** The SAN URI naming `identity`. Throws RangeError on a part that cannot be written (local bug). */
export function identityUri(identity: PeerIdentity): string {
  for (const [name, part] of [
    ['node id', identity.nodeId],
    ['cluster', identity.clusterId],
    ['datacenter', identity.datacenter],
  ] as const) {
    const problem = identityPartProblem(part);
    if (problem !== null) throw new InternalError(`identity ${name} "${part}" ${problem}`);
  }
  return `${IDENTITY_URI_SCHEME}://${identity.clusterId}/${identity.datacenter}/${identity.role}/${identity.nodeId}`;
}

/** The identity a SAN URI names, or null when `uri` is not a well-formed identity URI. */
export function parseIdentityUri(uri: string): PeerIdentity | null {
  const prefix = `${IDENTITY_URI_SCHEME}://`;
  if (!uri.startsWith(prefix)) return null;
  const parts = uri.slice(prefix.length).split('/');
  if (parts.length !== 4) return null;
  const [clusterId, datacenter, role, nodeId] = parts as [string, string, string, string];
  if (!(ROLES as readonly string[]).includes(role)) return null;
  for (const p of [clusterId, datacenter, nodeId]) if (identityPartProblem(p) !== null) return null;
  return { nodeId, role: role as Role, clusterId, datacenter };
}
