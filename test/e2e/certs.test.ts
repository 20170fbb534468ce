// `salvo certs` as a user types it: a CA, node and client certificates that verify against the
// CA and name their identity, keys written 0600, no overwrite without --overwrite, clear errors
// for a missing CA or a bad name, and help that documents the layout.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { chmodSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { identityOfCertificate } from '../../src/runtime/real/tls.js';
import { loadGossipKeyring } from '../../src/runtime/real/gossip-key.js';
import { openDatagram, sealDatagram } from '../../src/nodes/membership/seal.js';
import { runCli, tempDir } from '../support/cli.js';

const root = tempDir('salvo-certs-e2e-');
after(() => rmSync(root, { recursive: true, force: true }));
const certs = join(root, 'certs');
const caKey = join(root, 'safe', 'ca.key');
/** `salvo certs <sub> --certs-dir <certs> --ca-key <caKey> …rest`. */
const certsCli = (sub: string, ...rest: string[]) =>
  runCli(['certs', sub, '--certs-dir', certs, '--ca-key', caKey, ...rest]);

void describe('salvo certs', () => {
  void it('creates a CA, a node and a client certificate; keys are 0600 and identities are certified', async () => {
    const ca = await certsCli('create-ca', '--cluster', 'prod');
    assert.equal(ca.code, 0, ca.stderr);
    const node = await certsCli(
      'create-node',
      '--id',
      'm1',
      '--datacenter',
      'dc-a',
      '--host',
      '127.0.0.1',
      '--host',
      'm1.local',
    );
    assert.equal(node.code, 0, node.stderr);
    assert.match(node.stdout, /wrote .*node\.m1\.crt\nwrote .*node\.m1\.key/);
    const client = await certsCli('create-client', '--name', 'alice');
    assert.equal(client.code, 0, client.stderr);

    for (const key of [caKey, join(certs, 'node.m1.key'), join(certs, 'client.alice.key')]) {
      assert.equal(statSync(key).mode & 0o777, 0o600, key);
    }
    const caCert = new X509Certificate(readFileSync(join(certs, 'ca.crt')));
    assert.ok(caCert.ca);
    const m1 = new X509Certificate(readFileSync(join(certs, 'node.m1.crt')));
    assert.ok(m1.verify(caCert.publicKey), 'signed by the cluster CA');
    assert.deepEqual(identityOfCertificate(m1), {
      nodeId: 'm1',
      role: 'manager',
      clusterId: 'prod',
      datacenter: 'dc-a',
    });
    assert.match(m1.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
    assert.match(m1.subjectAltName ?? '', /DNS:m1\.local/);
    const alice = new X509Certificate(readFileSync(join(certs, 'client.alice.crt')));
    assert.equal(identityOfCertificate(alice)?.role, 'client');

    const list = await runCli(['certs', 'list', '--certs-dir', certs]);
    assert.match(list.stdout, /node\.m1\.crt\tsalvo:\/\/prod\/dc-a\/manager\/m1/);
  });

  void it('create-ca writes a 32-byte gossip key 0600; create-gossip-key refuses to overwrite it and rotates it', async () => {
    const file = join(certs, 'gossip.key');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const first = loadGossipKeyring(certs);
    assert.equal(first.keys.length, 1);
    assert.equal(first.primary.length, 32);

    const again = await runCli(['certs', 'create-gossip-key', '--certs-dir', certs]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /refusing to overwrite .*gossip\.key.*pass --overwrite/);
    assert.ok(loadGossipKeyring(certs).primary.equals(first.primary), 'key kept');

    const rotate = await runCli(['certs', 'create-gossip-key', '--certs-dir', certs, '--rotate']);
    assert.equal(rotate.code, 0, rotate.stderr);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const rotated = loadGossipKeyring(certs);
    assert.equal(rotated.keys.length, 2);
    assert.ok(rotated.keys[1]!.equals(first.primary), 'the old key still opens');
    assert.ok(!rotated.primary.equals(first.primary), 'a new primary seals');
    const sealedBefore = sealDatagram(first, 'm1', new Uint8Array([0x90]), new Uint8Array(12));
    assert.equal(openDatagram(rotated, sealedBefore).ok, true);

    chmodSync(file, 0o644);
    assert.throws(() => loadGossipKeyring(certs), /readable by group or others .*chmod 600/);
    chmodSync(file, 0o600);
  });

  void it('refuses to overwrite existing files unless --overwrite', async () => {
    const before = readFileSync(join(certs, 'node.m1.crt'), 'utf8');
    const again = await certsCli('create-node', '--id', 'm1');
    assert.equal(again.code, 2);
    assert.match(again.stderr, /refusing to overwrite .*node\.m1\.crt.*pass --overwrite/);
    assert.equal(readFileSync(join(certs, 'node.m1.crt'), 'utf8'), before);
    const forced = await certsCli('create-node', '--id', 'm1', '--overwrite');
    assert.equal(forced.code, 0, forced.stderr);
    assert.notEqual(readFileSync(join(certs, 'node.m1.crt'), 'utf8'), before);
    assert.equal(statSync(join(certs, 'node.m1.key')).mode & 0o777, 0o600);
  });

  void it('names the problem: no CA yet, a bad id, a bad role', async () => {
    const empty = join(root, 'empty');
    const noCa = await runCli([
      'certs',
      'create-node',
      '--certs-dir',
      empty,
      '--ca-key',
      caKey,
      '--id',
      'x',
    ]);
    assert.equal(noCa.code, 2);
    assert.match(noCa.stderr, /no CA certificate at .*; run `salvo certs create-ca` first/);
    const badId = await certsCli('create-node', '--id', 'a/b');
    assert.equal(badId.code, 2);
    assert.match(badId.stderr, /node id "a\/b" may hold only letters/);
    const badRole = await certsCli('create-node', '--id', 'y', '--role', 'boss');
    assert.equal(badRole.code, 2);
    assert.match(badRole.stderr, /--role must be one of gate, manager, worker; got "boss"/);
  });

  void it('--help documents the file layout, the identity URI and an example', async () => {
    const help = await runCli(['certs', '--help']);
    assert.equal(help.code, 0);
    for (const text of [
      'create-ca',
      'create-node',
      'create-client',
      'create-gossip-key',
      'gossip.key',
      'node.<id>.crt',
      'salvo://<cluster>/<datacenter>/<role>/<id>',
    ]) {
      assert.ok(help.stdout.includes(text), text);
    }
  });
});
