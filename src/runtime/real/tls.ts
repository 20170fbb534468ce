// Owns the real runtime's TLS material and certified identities: loading a node's CA,
// certificate and key from a certs directory (the layout `salvo certs` writes), and reading the
// Salvo identity (SAN URI, see protocol/identity.ts) out of a peer's X.509 certificate with
// Node's crypto. Never opens sockets and never decides who may connect (the protocol does).

import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseIdentityUri, type PeerIdentity } from '../../protocol/identity.js';

/** PEM material for mutual TLS. */
export interface TlsMaterial {
  readonly key: string | Buffer;
  readonly cert: string | Buffer;
  readonly ca: string | Buffer;
  /** Verify the peer's certificate against `ca` (default true; both directions — mutual TLS). */
  readonly rejectUnauthorized?: boolean;
}

/** File names inside a certs directory (the layout `salvo certs` writes). */
export const CA_CERT_FILE = 'ca.crt';
export const nodeCertFile = (nodeId: string): string => `node.${nodeId}.crt`;
export const nodeKeyFile = (nodeId: string): string => `node.${nodeId}.key`;
export const clientCertFile = (name: string): string => `client.${name}.crt`;
export const clientKeyFile = (name: string): string => `client.${name}.key`;

/** A certs directory is missing a file, or a key is readable by others. */
export class TlsMaterialError extends Error {
  readonly code = 'tls_material';
  constructor(message: string) {
    super(message);
    this.name = 'TlsMaterialError';
  }
}

/**
 * Reads `ca.crt`, `<cert>` and `<key>` from `dir`. Refuses a key file that group or others may
 * read (as ssh does), and a certificate that names no Salvo identity.
 */
export function loadTlsMaterial(
  dir: string,
  certFile: string,
  keyFile: string,
): TlsMaterial & { readonly identity: PeerIdentity } {
  const read = (name: string): Buffer => {
    const file = path.join(dir, name);
    try {
      return readFileSync(file);
    } catch (err) {
      throw new TlsMaterialError(
        `cannot read ${file}: ${err instanceof Error ? err.message : String(err)} (create it with \`salvo certs\`)`,
      );
    }
  };
  const ca = read(CA_CERT_FILE);
  const cert = read(certFile);
  const key = read(keyFile);
  const mode = statSync(path.join(dir, keyFile)).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new TlsMaterialError(
      `${path.join(dir, keyFile)} is readable by group or others (mode ${mode.toString(8)}); chmod 600 it`,
    );
  }
  const identity = identityOfCertificate(new X509Certificate(cert));
  if (identity === null) {
    throw new TlsMaterialError(
      `${path.join(dir, certFile)} names no Salvo identity (SAN URI salvo://<cluster>/<datacenter>/<role>/<node>)`,
    );
  }
  return { ca, cert, key, identity };
}

/**
 * The identity a certificate names: its one `salvo://` SAN URI, whose node id must also be the
 * subject's CN. Null when there is none, more than one, or they disagree.
 */
export function identityOfCertificate(cert: X509Certificate): PeerIdentity | null {
  const san = cert.subjectAltName ?? '';
  const uris = san
    .split(', ')
    .filter((entry) => entry.startsWith('URI:'))
    .map((entry) => entry.slice('URI:'.length).replace(/^"|"$/g, ''))
    .filter((uri) => uri.startsWith('salvo://'));
  if (uris.length !== 1) return null;
  const identity = parseIdentityUri(uris[0]!);
  if (identity === null) return null;
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1];
  return cn === identity.nodeId ? identity : null;
}
