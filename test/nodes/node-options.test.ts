// How a node process reads peer lists and where its identity comes from without certificates.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nodeSecurity, parsePeerList } from '../../src/nodes/node-options.js';

test('peer lists parse, and bad or repeated entries are refused naming the flag', () => {
  const peers = parsePeerList('a=127.0.0.1:1,b=h:2', '--peers');
  assert.deepEqual([...peers.keys()], ['a', 'b']);
  assert.deepEqual(peers.get('b'), { host: 'h', port: 2 });
  assert.throws(() => parsePeerList('a=h:1,a=h:2', '--peers'), /"a" is named twice/);
  assert.throws(() => parsePeerList('h:1', '--peers'), /--peers: bad entry "h:1"/);
  assert.throws(() => parsePeerList('a=h:99999', '--peers'), /bad address/);
});

test('a node without certificates runs only with --insecure, in the first role it may hold', () => {
  const settings = {
    id: 'n1',
    cluster: 'c',
    datacenter: 'east',
    certsDir: undefined,
    insecure: false,
    roles: ['manager', 'gate'] as const,
  };
  assert.throws(() => nodeSecurity(settings, ['raft']), /no certificates: pass --certs-dir/);
  const { tls, identity } = nodeSecurity({ ...settings, insecure: true }, ['raft']);
  assert.equal(tls, undefined);
  assert.equal(identity.role, 'manager');
  assert.equal(identity.datacenter, 'east');
  assert.deepEqual(identity.capabilities, ['raft']);
});
