// Test support: a cluster CA and node/client certificates made by `salvo certs`' own code
// (src/cli/certs.ts) in a temp dir, generated once per test process and shared, since RSA key
// generation costs ~0.1–1 s per certificate.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createCa, createLeaf } from '../../src/cli/certs.js';
import type { Role } from '../../src/protocol/messages.js';
import type { TlsMaterial } from '../../src/runtime/real/index.js';

export interface TestCerts {
  /** The certs dir nodes load with --certs-dir. */
  readonly dir: string;
  readonly caKey: string;
  /** Mutual-TLS material of node `id` (node.<id>.crt/.key) or client `name` (client.<name>…). */
  node(id: string): TlsMaterial;
  client(name: string): TlsMaterial;
  /** Makes another certificate in the same dir (same CA). */
  add(id: string, role: Role, datacenter?: string): void;
  cleanup(): void;
}

export function makeCerts(
  nodes: readonly string[],
  clients: readonly string[] = [],
  cluster = 'salvo',
): TestCerts {
  const root = mkdtempSync(path.join(tmpdir(), 'salvo-certs-'));
  const dir = path.join(root, 'certs');
  const caKey = path.join(root, 'ca-key', 'ca.key');
  createCa({ certsDir: dir, caKey, cluster });
  const add = (id: string, role: Role, datacenter?: string): void => {
    createLeaf({
      certsDir: dir,
      caKey,
      id,
      role,
      hosts: ['127.0.0.1'],
      ...(datacenter !== undefined ? { datacenter } : {}),
    });
  };
  for (const id of nodes) add(id, 'manager');
  for (const name of clients) add(name, 'client');
  const material = (prefix: string, id: string): TlsMaterial => ({
    ca: readFileSync(path.join(dir, 'ca.crt')),
    cert: readFileSync(path.join(dir, `${prefix}.${id}.crt`)),
    key: readFileSync(path.join(dir, `${prefix}.${id}.key`)),
  });
  return {
    dir,
    caKey,
    node: (id) => material('node', id),
    client: (name) => material('client', name),
    add,
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}
