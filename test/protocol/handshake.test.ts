// Hello evaluation: role matrix (every pair), major-version mismatch names both versions,
// cluster and environment mismatches, capability intersection and minor negotiation.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  evaluateHello,
  helloFor,
  PROTOCOL_VERSION,
  ROLE_MATRIX,
  roleAllowed,
  type LocalIdentity,
} from '../../src/protocol/handshake.js';
import { ROLES, type Role } from '../../src/protocol/messages.js';

function ident(role: Role, over: Partial<LocalIdentity> = {}): LocalIdentity {
  return {
    nodeId: `${role}-1`,
    role,
    clusterId: 'c1',
    environment: 'prod',
    capabilities: ['a', 'b'],
    ...over,
  };
}

void describe('role matrix', () => {
  const allowed = new Set([
    'client>gate',
    'client>manager',
    'gate>gate',
    'gate>manager',
    'manager>gate',
    'manager>manager',
    'manager>worker',
    'worker>manager',
  ]);

  void it('allows exactly the listed initiator → acceptor pairs, enforced by the acceptor', () => {
    for (const from of ROLES) {
      for (const to of ROLES) {
        const key = `${from}>${to}`;
        assert.equal(roleAllowed(from, to), allowed.has(key), key);
        const inbound = evaluateHello(ident(to), helloFor(ident(from)), 'inbound');
        assert.equal(inbound.ok, allowed.has(key), `acceptor ${key}`);
        const outbound = evaluateHello(ident(from), helloFor(ident(to)), 'outbound');
        assert.equal(outbound.ok, allowed.has(key), `initiator ${key}`);
        if (!inbound.ok) {
          assert.equal(inbound.error.code, 'role_forbidden');
          assert.deepEqual(inbound.error.details?.from, from);
          assert.deepEqual(inbound.error.details?.to, to);
        }
      }
    }
    assert.deepEqual(Object.keys(ROLE_MATRIX).sort(), [...ROLES].sort());
  });

  void it('forbids a worker dialling a gate with a clear message', () => {
    const r = evaluateHello(ident('gate'), helloFor(ident('worker')), 'inbound');
    assert.ok(!r.ok);
    assert.equal(r.error.message, 'a worker may not connect to a gate');
  });
});

void describe('evaluateHello', () => {
  void it('rejects a different major version naming both versions', () => {
    const r = evaluateHello(
      ident('manager'),
      helloFor(ident('manager', { nodeId: 'old', protocol: { major: 2, minor: 3 } })),
      'inbound',
    );
    assert.ok(!r.ok);
    assert.equal(r.error.code, 'version');
    assert.match(
      r.error.message,
      new RegExp(
        `speaks ${PROTOCOL_VERSION.major}\\.${PROTOCOL_VERSION.minor}, peer old speaks 2\\.3`,
      ),
    );
    assert.deepEqual(r.error.details, {
      local: `${PROTOCOL_VERSION.major}.${PROTOCOL_VERSION.minor}`,
      remote: '2.3',
    });
  });

  void it('rejects cluster and environment mismatches', () => {
    const c = evaluateHello(
      ident('manager'),
      helloFor(ident('manager', { clusterId: 'c2' })),
      'inbound',
    );
    assert.ok(!c.ok && c.error.code === 'cluster_mismatch');
    assert.deepEqual(!c.ok && c.error.details, { local: 'c1', remote: 'c2' });
    const e = evaluateHello(
      ident('manager'),
      helloFor(ident('manager', { environment: 'staging' })),
      'inbound',
    );
    assert.ok(!e.ok && e.error.code === 'environment_mismatch');
  });

  void it('negotiates the common capabilities and the lower minor version', () => {
    const r = evaluateHello(
      ident('manager', {
        protocol: { major: 1, minor: 4 },
        capabilities: ['fence_tokens', 'batched_stats', 'x'],
      }),
      helloFor(
        ident('gate', {
          nodeId: 'g',
          protocol: { major: 1, minor: 2 },
          capabilities: ['x', 'batched_stats', 'zz'],
        }),
      ),
      'inbound',
    );
    assert.ok(r.ok);
    assert.deepEqual(r.session.capabilities, ['batched_stats', 'x']);
    assert.deepEqual(r.session.protocol, { major: 1, minor: 2 });
    assert.deepEqual(r.session.remoteProtocol, { major: 1, minor: 2 });
    assert.equal(r.session.remoteNodeId, 'g');
    assert.equal(r.session.remoteRole, 'gate');
    assert.equal(r.session.initiator, false);
  });

  void it('builds a hello with sorted, de-duplicated capabilities', () => {
    assert.deepEqual(helloFor(ident('client', { capabilities: ['b', 'a', 'b'] })).capabilities, [
      'a',
      'b',
    ]);
  });
});
