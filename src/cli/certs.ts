// Owns `salvo certs`: a cluster certificate authority and the node and client certificates it
// signs, written as PEM files in a certs directory (the layout nodes load: ca.crt,
// node.<id>.crt/.key, client.<name>.crt/.key). Each certificate names its holder's identity in a
// SAN URI salvo://<cluster>/<datacenter>/<role>/<id> (protocol/identity.ts) with the id also as
// its CN; nodes take a peer's identity from there, never from what it declares.
//
// Keys: RSA-2048 made by Node's crypto (native, fast). Certificates: built and signed with
// node-forge (pure JavaScript, no native add-on, widely used) because Node's crypto can read
// X.509 but not issue it, and the `openssl` binary may be absent where Salvo runs. Keys are
// written with mode 0600 and nothing is overwritten without --overwrite.

import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import forge from 'node-forge';
import { SalvoError } from '../errors.js';
import {
  DEFAULT_DATACENTER,
  identityPartProblem,
  identityUri,
  type PeerIdentity,
} from '../protocol/identity.js';
import { ROLES, type Role } from '../protocol/messages.js';
import {
  CA_CERT_FILE,
  clientCertFile,
  clientKeyFile,
  identityOfCertificate,
  nodeCertFile,
  nodeKeyFile,
} from '../runtime/real/tls.js';
import {
  GOSSIP_KEY_FILE,
  loadGossipKeyring,
  newGossipKey,
  writeGossipKeyFile,
} from '../runtime/real/gossip-key.js';
import { GossipKeyError, MAX_GOSSIP_KEYS } from '../nodes/membership/seal.js';
import type { CliIo } from './main.js';
import { positiveIntOption } from './options.js';

/** Default validity of the CA certificate. */
export const CA_LIFETIME_DAYS = 3650;
/** Default validity of node and client certificates. */
export const CERT_LIFETIME_DAYS = 365;
export const RSA_KEY_BITS = 2048;
export const DEFAULT_CLUSTER = 'salvo';
const KEY_FILE_MODE = 0o600;
const CERT_FILE_MODE = 0o644;
const DAY_MS = 86_400_000;
/** Certificates start this long before "now", so small clock skew between hosts is tolerated. */
const BACKDATE_MS = 3_600_000;

/** A file `salvo certs` would write already exists, a CA is missing, or a name is invalid. */
export class CertsError extends SalvoError {
  constructor(message: string) {
    super('E_USAGE', message);
  }
}

export interface CaOptions {
  readonly certsDir: string;
  /** Where the CA's private key goes (keep it off the nodes: they need only ca.crt). */
  readonly caKey: string;
  readonly cluster?: string;
  readonly lifetimeDays?: number;
  readonly overwrite?: boolean;
}

export interface LeafOptions {
  readonly certsDir: string;
  readonly caKey: string;
  /** Node id (create-node) or client name (create-client). */
  readonly id: string;
  readonly role: Role;
  readonly datacenter?: string;
  /** Host names and IP addresses put in the SAN too (for tools that check host names). */
  readonly hosts?: readonly string[];
  readonly lifetimeDays?: number;
  readonly overwrite?: boolean;
}

/** Creates ca.crt in certsDir and the CA key at caKey. Returns the files written. */
export function createCa(o: CaOptions): string[] {
  const cluster = o.cluster ?? DEFAULT_CLUSTER;
  checkPart('cluster', cluster);
  const certPath = path.join(o.certsDir, CA_CERT_FILE);
  const gossipPath = path.join(o.certsDir, GOSSIP_KEY_FILE);
  refuseExisting([certPath, o.caKey, gossipPath], o.overwrite);
  const keys = rsaKeys();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.forgePublic;
  cert.serialNumber = serialNumber();
  setValidity(cert, o.lifetimeDays ?? CA_LIFETIME_DAYS);
  const subject = [
    { name: 'commonName', value: `Salvo cluster CA (${cluster})` },
    { name: 'organizationName', value: cluster },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.forgePrivate, forge.md.sha256.create());
  writeKey(o.caKey, keys.privatePem);
  writeCert(certPath, forge.pki.certificateToPem(cert));
  writeGossipKeyFile(o.certsDir, [newGossipKey()]);
  return [certPath, o.caKey, gossipPath];
}

export interface GossipKeyOptions {
  readonly certsDir: string;
  readonly overwrite?: boolean;
  /** Put a new primary key in front of the existing ones (the oldest beyond the limit drop). */
  readonly rotate?: boolean;
}

/** Writes gossip.key (a new key, or a rotated keyring). Returns the files written. */
export function createGossipKey(o: GossipKeyOptions): string[] {
  const file = path.join(o.certsDir, GOSSIP_KEY_FILE);
  try {
    if (o.rotate === true) {
      const old = loadGossipKeyring(o.certsDir).keys.slice(0, MAX_GOSSIP_KEYS - 1);
      return [writeGossipKeyFile(o.certsDir, [newGossipKey(), ...old])];
    }
    refuseExisting([file], o.overwrite);
    return [writeGossipKeyFile(o.certsDir, [newGossipKey()])];
  } catch (err) {
    if (err instanceof GossipKeyError) throw new CertsError(err.message);
    throw err;
  }
}

/** Signs a node (or client) certificate with the CA. Returns the files written. */
export function createLeaf(o: LeafOptions): string[] {
  checkPart(o.role === 'client' ? 'client name' : 'node id', o.id);
  const datacenter = o.datacenter ?? DEFAULT_DATACENTER;
  checkPart('datacenter', datacenter);
  const ca = loadCa(o.certsDir, o.caKey);
  const identity: PeerIdentity = { nodeId: o.id, role: o.role, clusterId: ca.cluster, datacenter };
  const [certName, keyName] =
    o.role === 'client'
      ? [clientCertFile(o.id), clientKeyFile(o.id)]
      : [nodeCertFile(o.id), nodeKeyFile(o.id)];
  const certPath = path.join(o.certsDir, certName);
  const keyPath = path.join(o.certsDir, keyName);
  refuseExisting([certPath, keyPath], o.overwrite);
  const keys = rsaKeys();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.forgePublic;
  cert.serialNumber = serialNumber();
  setValidity(cert, o.lifetimeDays ?? CERT_LIFETIME_DAYS);
  cert.setSubject([
    { name: 'commonName', value: o.id },
    { name: 'organizationalUnitName', value: o.role },
    { name: 'organizationName', value: ca.cluster },
  ]);
  cert.setIssuer(ca.cert.subject.attributes);
  const altNames: { type: number; value?: string; ip?: string }[] = [
    { type: 6, value: identityUri(identity) },
  ];
  for (const host of o.hosts ?? []) {
    altNames.push(isIp(host) ? { type: 7, ip: host } : { type: 2, value: host });
  }
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    // Every member both accepts and dials connections, so node certificates serve both ends.
    { name: 'extKeyUsage', serverAuth: o.role !== 'client', clientAuth: true },
    { name: 'subjectAltName', altNames },
    { name: 'subjectKeyIdentifier' },
    {
      name: 'authorityKeyIdentifier',
      keyIdentifier: ca.cert.generateSubjectKeyIdentifier().getBytes(),
    },
  ]);
  cert.sign(ca.key, forge.md.sha256.create());
  writeKey(keyPath, keys.privatePem);
  writeCert(certPath, forge.pki.certificateToPem(cert));
  return [certPath, keyPath];
}

/** One line per certificate in certsDir: file, identity, expiry. */
export function listCerts(certsDir: string): string[] {
  if (!existsSync(certsDir)) throw new CertsError(`${certsDir} does not exist`);
  const out: string[] = [];
  for (const name of readdirCrt(certsDir)) {
    const x = new X509Certificate(readFileSync(path.join(certsDir, name)));
    const id = identityOfCertificate(x);
    const who =
      name === CA_CERT_FILE
        ? `CA ${x.subject.replace(/\n/g, ', ')}`
        : id === null
          ? 'no Salvo identity'
          : identityUri(id);
    out.push(`${name}\t${who}\tvalid until ${new Date(x.validTo).toISOString()}`);
  }
  return out;
}

/** The certificate files in `dir`, sorted so the listing is stable. */
function readdirCrt(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((n) => n.endsWith('.crt'))
      .sort();
  } catch (err) {
    throw new CertsError(`cannot list ${dir}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

// ─── helpers ────────────────────────────────────────────────────────────────────────────────

interface Keys {
  forgePublic: forge.pki.rsa.PublicKey;
  forgePrivate: forge.pki.rsa.PrivateKey;
  privatePem: string;
}

function rsaKeys(): Keys {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: RSA_KEY_BITS,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  return {
    forgePublic: forge.pki.publicKeyFromPem(publicKey),
    forgePrivate: forge.pki.privateKeyFromPem(privateKey),
    privatePem: privateKey,
  };
}

function loadCa(
  certsDir: string,
  caKeyPath: string,
): { cert: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey; cluster: string } {
  const certPath = path.join(certsDir, CA_CERT_FILE);
  if (!existsSync(certPath))
    throw new CertsError(`no CA certificate at ${certPath}; run \`salvo certs create-ca\` first`);
  if (!existsSync(caKeyPath))
    throw new CertsError(`no CA key at ${caKeyPath} (pass the --ca-key used with create-ca)`);
  const cert = forge.pki.certificateFromPem(readFileSync(certPath, 'utf8'));
  const key = forge.pki.privateKeyFromPem(readFileSync(caKeyPath, 'utf8'));
  const matches =
    forge.pki.publicKeyToPem(cert.publicKey) ===
    forge.pki.publicKeyToPem(forge.pki.setRsaPublicKey(key.n, key.e));
  if (!matches) throw new CertsError(`${caKeyPath} is not the key of ${certPath}`);
  const cluster = cert.subject.getField('O')?.value;
  if (typeof cluster !== 'string' || identityPartProblem(cluster) !== null) {
    throw new CertsError(`${certPath} is not a Salvo cluster CA (no cluster name in its O field)`);
  }
  return { cert, key, cluster };
}

function checkPart(what: string, value: string): void {
  const problem = identityPartProblem(value);
  if (problem !== null) throw new CertsError(`${what} "${value}" ${problem}`);
}

function refuseExisting(files: readonly string[], overwrite = false): void {
  if (overwrite) return;
  const present = files.filter((f) => existsSync(f));
  if (present.length > 0) {
    throw new CertsError(
      `refusing to overwrite ${present.join(', ')}; pass --overwrite to replace ${present.length === 1 ? 'it' : 'them'}`,
    );
  }
}

function writeKey(file: string, pem: string): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, pem, { mode: KEY_FILE_MODE });
  chmodSync(file, KEY_FILE_MODE); // an overwritten file keeps its old mode otherwise
}

function writeCert(file: string, pem: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, pem, { mode: CERT_FILE_MODE });
}

function serialNumber(): string {
  // Positive (high bit clear) 128-bit serial, as RFC 5280 asks.
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString('hex');
}

function setValidity(cert: forge.pki.Certificate, days: number): void {
  const now = Date.now();
  cert.validity.notBefore = new Date(now - BACKDATE_MS);
  cert.validity.notAfter = new Date(now + days * DAY_MS);
}

function isIp(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':');
}

// ─── command ────────────────────────────────────────────────────────────────────────────────

const CERTS_HELP = `
Files (the layout nodes load with --certs-dir):
  ca.crt                      the cluster CA certificate (every node and client needs it)
  node.<id>.crt / .key        a node's certificate and key (key mode 0600)
  client.<name>.crt / .key    a client's certificate and key (key mode 0600)
  gossip.key                  the keys sealing membership datagrams (mode 0600; first seals,
                              all open; create-ca writes one, create-gossip-key --rotate adds)
  the CA key                  where --ca-key says; keep it off the nodes

Identity: each certificate names its holder in a SAN URI
  salvo://<cluster>/<datacenter>/<role>/<id>   (CN = <id>, OU = <role>, O = <cluster>)
Nodes take a peer's node id, role, cluster and datacenter from there, never from its hello.

Example (a three-node cluster on one machine):
  salvo certs create-ca     --certs-dir certs --ca-key safe/ca.key
  salvo certs create-node   --certs-dir certs --ca-key safe/ca.key --id n1 --host 127.0.0.1
  salvo certs create-node   --certs-dir certs --ca-key safe/ca.key --id n2 --host 127.0.0.1
  salvo certs create-node   --certs-dir certs --ca-key safe/ca.key --id n3 --host 127.0.0.1
  salvo certs create-client --certs-dir certs --ca-key safe/ca.key --name alice
  salvo certs list          --certs-dir certs`;

const LEAF_ROLES = ROLES.filter((r) => r !== 'client');

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Adds `salvo certs …` to the program. */
export function registerCertsCommand(
  program: Command,
  io: CliIo,
  setExit: (code: number) => void,
): void {
  const certs = program
    .command('certs')
    .description('Create a cluster CA and sign node and client certificates for mutual TLS.')
    .addHelpText('after', CERTS_HELP);
  const done = (files: string[]): void => {
    for (const f of files) io.stdout.write(`wrote ${f}\n`);
    setExit(0);
  };
  certs
    .command('create-ca')
    .description('Create the cluster CA: ca.crt in --certs-dir and its key at --ca-key.')
    .requiredOption('--certs-dir <dir>', 'directory for ca.crt (created if missing)')
    .requiredOption('--ca-key <file>', 'where to write the CA private key (keep it off the nodes)')
    .option('--cluster <name>', 'the cluster this CA certifies members of', DEFAULT_CLUSTER)
    .option('--lifetime <days>', 'validity in days', positiveIntOption(36_500), CA_LIFETIME_DAYS)
    .option('--overwrite', 'replace existing files')
    .action(
      (opts: {
        certsDir: string;
        caKey: string;
        cluster: string;
        lifetime: number;
        overwrite?: boolean;
      }) => {
        done(
          createCa({
            certsDir: opts.certsDir,
            caKey: opts.caKey,
            cluster: opts.cluster,
            lifetimeDays: opts.lifetime,
            overwrite: opts.overwrite === true,
          }),
        );
      },
    );
  certs
    .command('create-node')
    .description('Sign a node certificate: node.<id>.crt and node.<id>.key in --certs-dir.')
    .requiredOption('--certs-dir <dir>', 'directory holding ca.crt')
    .requiredOption('--ca-key <file>', 'the CA private key')
    .requiredOption('--id <id>', 'the node id (as given to the node with --id)')
    .option('--role <role>', `the node's role: ${LEAF_ROLES.join(', ')}`, 'manager')
    .option('--datacenter <dc>', 'the datacenter the node runs in', DEFAULT_DATACENTER)
    .option(
      '--host <host>',
      'a host name or IP address to add to the SAN (repeatable)',
      collect,
      [],
    )
    .option('--lifetime <days>', 'validity in days', positiveIntOption(36_500), CERT_LIFETIME_DAYS)
    .option('--overwrite', 'replace existing files')
    .action((opts: LeafCli & { id: string; role: string }) => {
      if (!(LEAF_ROLES as readonly string[]).includes(opts.role)) {
        throw new CertsError(`--role must be one of ${LEAF_ROLES.join(', ')}; got "${opts.role}"`);
      }
      done(createLeaf(leafOptions(opts, opts.id, opts.role as Role)));
    });
  certs
    .command('create-client')
    .description(
      'Sign a client certificate: client.<name>.crt and client.<name>.key in --certs-dir.',
    )
    .requiredOption('--certs-dir <dir>', 'directory holding ca.crt')
    .requiredOption('--ca-key <file>', 'the CA private key')
    .requiredOption('--name <name>', 'the client name (its identity on every node)')
    .option('--datacenter <dc>', 'the datacenter the client belongs to', DEFAULT_DATACENTER)
    .option('--lifetime <days>', 'validity in days', positiveIntOption(36_500), CERT_LIFETIME_DAYS)
    .option('--overwrite', 'replace existing files')
    .action((opts: LeafCli & { name: string }) => {
      done(createLeaf(leafOptions(opts, opts.name, 'client')));
    });
  certs
    .command('create-gossip-key')
    .description('Write gossip.key: the cluster key that seals membership datagrams (AES-256-GCM).')
    .requiredOption('--certs-dir <dir>', 'the certs directory')
    .option('--rotate', `add a new primary key, keep up to ${MAX_GOSSIP_KEYS - 1} old ones`)
    .option('--overwrite', 'replace an existing key file')
    .action((opts: { certsDir: string; rotate?: boolean; overwrite?: boolean }) => {
      done(
        createGossipKey({
          certsDir: opts.certsDir,
          rotate: opts.rotate === true,
          overwrite: opts.overwrite === true,
        }),
      );
    });
  certs
    .command('list')
    .description('Show each certificate in --certs-dir with the identity it names.')
    .requiredOption('--certs-dir <dir>', 'the certs directory')
    .action((opts: { certsDir: string }) => {
      for (const line of listCerts(opts.certsDir)) io.stdout.write(`${line}\n`);
      setExit(0);
    });
}

interface LeafCli {
  certsDir: string;
  caKey: string;
  datacenter: string;
  host?: string[];
  lifetime: number;
  overwrite?: boolean;
}

function leafOptions(opts: LeafCli, id: string, role: Role): LeafOptions {
  return {
    certsDir: opts.certsDir,
    caKey: opts.caKey,
    id,
    role,
    datacenter: opts.datacenter,
    hosts: opts.host ?? [],
    lifetimeDays: opts.lifetime,
    overwrite: opts.overwrite === true,
  };
}
