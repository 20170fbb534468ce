// The GraphQL client against the embedded target's /graphql (graphql-js) over HTTP/1.1 and over
// HTTP/2 (the target's h2c peer): queries, mutations, variables, and `errors` as step failures.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphqlClient } from '../../../src/clients/graphql/index.js';
import { ClientError, statusOfResult } from '../../../src/clients/client.js';
import type { TargetServer } from '../../../src/target/server.js';
import type { ProtocolPeers } from '../../../src/target/peers.js';
import { startTargetWithPeers } from '../../support/peers.js';

let target: TargetServer;
let peers: ProtocolPeers;

let stop: () => Promise<void>;

before(async () => {
  ({ target, peers, close: stop } = await startTargetWithPeers());
});
after(() => stop());

const ITEM = 'query Item($id: Int!) { item(id: $id) { id name price } }';

describe('GraphqlClient', () => {
  for (const transport of ['http1', 'http2'] as const) {
    test(`${transport}: query with variables, mutation, then the added item is readable`, async () => {
      const base = transport === 'http1' ? target.url : peers.h2cUrl;
      const client = new GraphqlClient({ baseUrl: base, headers: {}, timeoutMs: 5000 });
      const http2 = transport === 'http2';
      try {
        const res = await client.query<{ item: { name: string } }>(ITEM, {
          variables: { id: 2 },
          http2,
        });
        assert.deepEqual(res.data, { item: { id: 2, name: 'beta', price: 19.5 } });
        assert.equal(res.protocol, http2 ? 'h2c' : 'http/1.1');
        assert.equal(statusOfResult(res), 200);
        const added = await client.mutate<{ addItem: { id: number } }>(
          'mutation Add($n: String!, $p: Float!) { addItem(name: $n, price: $p) { id } }',
          { variables: { n: `via-${transport}`, p: 1.25 }, http2 },
        );
        const id = added.data.addItem.id;
        const back = await client.query<{ item: { name: string } }>(ITEM, {
          variables: { id },
          http2,
        });
        assert.equal(back.data.item.name, `via-${transport}`);
      } finally {
        client.close();
      }
    });
  }

  test('GraphQL errors reject with kind graphql and the first message; invalid documents too', async () => {
    const client = new GraphqlClient({ baseUrl: target.url, headers: {}, timeoutMs: 5000 });
    try {
      await assert.rejects(client.query(ITEM, { variables: { id: 404 } }), (e: unknown) => {
        assert.ok(e instanceof ClientError);
        assert.equal(e.kind, 'graphql');
        assert.match(e.message, /no item 404/);
        return true;
      });
      await assert.rejects(client.query('{ nope }'), /Cannot query field "nope"/);
      await assert.rejects(
        client.query(ITEM),
        /Variable "\$id" of required type "Int!" was not provided/,
      );
      await assert.rejects(client.query('{ items { id } }', { url: '/json' }), (e: unknown) => {
        assert.ok(e instanceof ClientError);
        assert.equal(e.kind, 'status_405');
        return true;
      });
    } finally {
      client.close();
    }
  });
});
