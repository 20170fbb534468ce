// The gRPC client against a real grpc-js server built from examples/protos/shop.proto: unary
// and server-streaming calls, metadata both ways, status codes and deadlines as named kinds.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GrpcClient } from '../../../src/clients/grpc/index.js';
import { ClientError } from '../../../src/clients/client.js';
import { SHOP_PROTO, startGrpcTarget, type GrpcTarget } from '../../../src/target/grpc.js';
import { ROOT } from '../../support/cli.js';
import { freePort } from '../../support/peers.js';

const PROTO = join(ROOT, 'examples', 'protos', 'shop.proto');
let target: GrpcTarget;

before(async () => {
  target = await startGrpcTarget();
});
after(async () => {
  await target.close();
});

function client(): GrpcClient {
  return new GrpcClient({ baseUrl: undefined, headers: {}, timeoutMs: 5000 });
}

describe('GrpcClient against the shop.Catalog server', () => {
  test('the embedded target serves exactly examples/protos/shop.proto', () => {
    assert.equal(readFileSync(PROTO, 'utf8'), SHOP_PROTO);
  });

  test('unary call: message, response metadata, latency; the service is reused per VU', async () => {
    const c = client();
    try {
      const catalog = await c.connect({
        proto: PROTO,
        service: 'shop.Catalog',
        address: target.address,
      });
      const res = await catalog.unary<{ id: number; name: string }>(
        'GetItem',
        { id: 7 },
        { metadata: { 'x-request-id': 'r-1' } },
      );
      assert.equal(res.status, 'OK');
      assert.deepEqual(res.message, { id: 7, name: 'item-7', price: 13.93 });
      assert.equal(res.metadata['x-request-id'], 'r-1');
      assert.ok(res.latencyMs > 0);
      const again = await c.connect({
        proto: PROTO,
        service: 'shop.Catalog',
        address: target.address,
      });
      assert.equal(again, catalog);
    } finally {
      c.close();
    }
  });

  test('server-streaming call collects every message in order', async () => {
    const c = client();
    try {
      const catalog = await c.connect({
        proto: PROTO,
        service: 'shop.Catalog',
        address: target.address,
      });
      const res = await catalog.serverStream<{ id: number }>('ListItems', { count: 25 });
      assert.deepEqual(
        res.messages.map((m) => m.id),
        Array.from({ length: 25 }, (_, i) => i + 1),
      );
      assert.ok(res.firstMessageMs > 0 && res.firstMessageMs <= res.latencyMs);
    } finally {
      c.close();
    }
  });

  test('status codes and deadlines are named kinds; wrong methods and services say what exists', async () => {
    const c = client();
    try {
      const catalog = await c.connect({
        proto: PROTO,
        service: 'shop.Catalog',
        address: target.address,
      });
      await assert.rejects(catalog.unary('GetItem', { id: 0 }), (e: unknown) => {
        assert.ok(e instanceof ClientError);
        assert.equal(e.kind, 'grpc_not_found');
        assert.match(e.message, /no item 0/);
        return true;
      });
      await assert.rejects(catalog.unary('GetItem', { id: 999 }, { timeoutMs: 50 }), {
        kind: 'grpc_deadline_exceeded',
      });
      await assert.rejects(
        catalog.unary('Nope', {}),
        /has no method 'Nope' \(it has GetItem, ListItems\)/,
      );
      await assert.rejects(catalog.unary('ListItems', {}), /not a unary method/);
      await assert.rejects(
        c.connect({ proto: PROTO, service: 'shop.Item', address: target.address }),
        {
          kind: 'bad_request',
        },
      );
      await assert.rejects(
        c.connect({ proto: '/nonexistent.proto', service: 'x.Y', address: target.address }),
        {
          kind: 'bad_proto',
        },
      );
      const port = await freePort();
      const down = await c.connect({
        proto: PROTO,
        service: 'shop.Catalog',
        address: `127.0.0.1:${port}`,
      });
      await assert.rejects(down.unary('GetItem', { id: 1 }, { timeoutMs: 2000 }), {
        kind: 'grpc_unavailable',
      });
    } finally {
      c.close();
    }
  });
});
