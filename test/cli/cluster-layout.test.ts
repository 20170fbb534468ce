// The shape `salvo cluster up` gives a cluster (ids, DCs, ports, each node's flags) and where a
// node's settings come from (flag, then SALVO_ variable, then config file).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nodeArgs, nodeCount, planCluster } from '../../src/cli/cluster-layout.js';
import { SettingSource, envName, parsePeerList } from '../../src/nodes/node-options.js';
import { OptionError } from '../../src/errors.js';

const shape = { dcs: 2, gates: 3, managersPerDc: 2, workersPerDc: 2, workerCores: 1 };

describe('cluster layout', () => {
  it('plans gates across datacenters and managers/workers per datacenter', () => {
    const ports = Array.from({ length: nodeCount(shape) }, (_, i) => 7000 + i);
    const nodes = planCluster(shape, ports);
    assert.equal(nodes.length, 11);
    assert.deepEqual(
      nodes.filter((n) => n.role === 'gate').map((n) => n.dc),
      ['dc1', 'dc2', 'dc1'],
    );
    assert.equal(nodes.filter((n) => n.role === 'manager' && n.dc === 'dc2').length, 2);
    assert.equal(new Set(nodes.map((n) => n.port)).size, 11);
    assert.equal(new Set(nodes.map((n) => n.id)).size, 11);
  });

  it('gives each node the peers of its kind: gates all gates, managers their DC and the gates, workers their DC managers', () => {
    const nodes = planCluster(
      shape,
      Array.from({ length: 11 }, (_, i) => 7000 + i),
    );
    const o = { host: '127.0.0.1', certsDir: '/c', dataDir: '/d', workerCores: 1 };
    const manager = nodes.find((n) => n.id === 'manager-dc2-1')!;
    const args = nodeArgs(manager, nodes, o);
    const peers = args[args.indexOf('--peers') + 1]!;
    assert.deepEqual(
      peers.split(',').map((p) => p.split('=')[0]),
      ['manager-dc2-1', 'manager-dc2-2'],
    );
    assert.equal(args[args.indexOf('--gates') + 1]!.split(',').length, 3);
    const worker = nodes.find((n) => n.id === 'worker-dc1-2')!;
    const wargs = nodeArgs(worker, nodes, { ...o, certsDir: undefined });
    assert.ok(wargs.includes('--insecure'));
    assert.match(
      wargs[wargs.indexOf('--managers') + 1] ?? '',
      /^manager-dc1-1=127\.0\.0\.1:\d+,manager-dc1-2=/,
    );
    assert.equal(wargs[wargs.indexOf('--data-dir') + 1], '/d/worker-dc1-2');
    const gate = nodes.find((n) => n.id === 'gate-2')!;
    const gargs = nodeArgs(gate, nodes, o);
    assert.match(
      gargs[gargs.indexOf('--dc-managers') + 1] ?? '',
      /^dc1=127\.0\.0\.1:\d+,127\.0\.0\.1:\d+;dc2=127\.0\.0\.1:\d+,127\.0\.0\.1:\d+$/,
    );
  });

  it('refuses a shape out of bounds, naming the setting', () => {
    assert.throws(
      () => planCluster({ ...shape, gates: 0 }, []),
      /gates must be a whole number from 1/,
    );
    assert.throws(() => planCluster({ ...shape, dcs: 9 }, []), OptionError);
  });
});

describe('node settings', () => {
  it('takes a flag before a SALVO_ variable before the config file', () => {
    const env = { SALVO_CERTS_DIR: '/env', SALVO_DC: 'east' };
    const file = { certsDir: '/file', dc: 'west', listen: '127.0.0.1:1' };
    const both = new SettingSource({ certsDir: '/flag' }, env, file);
    assert.equal(both.string('certsDir'), '/flag');
    const noFlag = new SettingSource({}, env, file);
    assert.equal(noFlag.string('certsDir'), '/env');
    assert.equal(noFlag.string('dc'), 'east');
    assert.equal(noFlag.string('listen'), '127.0.0.1:1');
    assert.equal(envName('maxConnectionsPerSource'), 'SALVO_MAX_CONNECTIONS_PER_SOURCE');
  });

  it('names a missing setting by flag, variable and config key', () => {
    assert.throws(
      () => new SettingSource({}, {}, {}).need('id'),
      /missing --id \(or SALVO_ID, or "id" in the --config file\)/,
    );
    assert.throws(
      () => new SettingSource({ cores: 'x' }, {}, {}).count('cores', 1),
      /--cores must be a whole number/,
    );
  });

  it('parses peer lists and refuses bad or repeated entries', () => {
    const peers = parsePeerList('a=127.0.0.1:1,b=h:2', '--peers');
    assert.deepEqual([...peers.keys()], ['a', 'b']);
    assert.deepEqual(peers.get('b'), { host: 'h', port: 2 });
    assert.throws(() => parsePeerList('a=h:1,a=h:2', '--peers'), /"a" is named twice/);
    assert.throws(() => parsePeerList('h:1', '--peers'), /want id=host:port/);
    assert.throws(() => parsePeerList('a=h:99999', '--peers'), /bad address/);
  });
});
