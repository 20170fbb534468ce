// The embedded target's gRPC peer: the `shop.Catalog` service of examples/protos/shop.proto
// (GetItem unary, ListItems server-streaming) on its own port. Owns its server only; the
// proto text is embedded so the target needs no file at run time.
import * as grpc from '@grpc/grpc-js';
import * as loader from '@grpc/proto-loader';
import protobuf from 'protobufjs';

/** The text of examples/protos/shop.proto (a test checks they are the same). */
export const SHOP_PROTO = `// Test and example service for the gRPC client: one unary and one server-streaming method.
syntax = "proto3";

package shop;

service Catalog {
  rpc GetItem (ItemRequest) returns (Item);
  rpc ListItems (ListRequest) returns (stream Item);
}

message ItemRequest {
  int32 id = 1;
}

message ListRequest {
  int32 count = 1;
}

message Item {
  int32 id = 1;
  string name = 2;
  double price = 3;
}
`;

/** Largest `count` ListItems streams. */
export const MAX_LIST_ITEMS = 10_000;
/** GetItem with this id answers after SLOW_ITEM_DELAY_MS (for deadline tests and examples). */
export const SLOW_ITEM_ID = 999;
export const SLOW_ITEM_DELAY_MS = 500;

interface Item {
  id: number;
  name: string;
  price: number;
}

function item(id: number): Item {
  return { id, name: `item-${id}`, price: Math.round(id * 199) / 100 };
}

export interface GrpcTarget {
  /** `host:port` */
  address: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Starts the Catalog service. GetItem: id ≤ 0 → NOT_FOUND; `x-request-id` metadata is echoed
 * in the response metadata; id 999 answers late. ListItems: `count` items, then OK.
 */
export async function startGrpcTarget(
  options: { host?: string; port?: number } = {},
): Promise<GrpcTarget> {
  const parsed = protobuf.parse(SHOP_PROTO, { keepCase: true });
  const definition = loader.fromJSON(parsed.root.toJSON(), { keepCase: true, defaults: true });
  const catalog = definition['shop.Catalog'] as grpc.ServiceDefinition;
  const server = new grpc.Server();
  const timers = new Set<NodeJS.Timeout>();
  server.addService(catalog, {
    GetItem: (
      call: grpc.ServerUnaryCall<{ id: number }, Item>,
      callback: grpc.sendUnaryData<Item>,
    ) => {
      const id = call.request.id;
      const requestId = call.metadata.get('x-request-id')[0];
      if (requestId !== undefined) {
        const md = new grpc.Metadata();
        md.set('x-request-id', String(requestId));
        call.sendMetadata(md);
      }
      if (id <= 0) {
        callback({ code: grpc.status.NOT_FOUND, details: `no item ${id}` });
        return;
      }
      if (id === SLOW_ITEM_ID) {
        const t = setTimeout(() => {
          timers.delete(t);
          callback(null, item(id));
        }, SLOW_ITEM_DELAY_MS);
        timers.add(t);
        return;
      }
      callback(null, item(id));
    },
    ListItems: (call: grpc.ServerWritableStream<{ count: number }, Item>) => {
      const count = Math.min(Math.max(0, call.request.count), MAX_LIST_ITEMS);
      for (let i = 1; i <= count; i++) call.write(item(i));
      call.end();
    },
  });
  const host = options.host ?? '127.0.0.1';
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(
      `${host}:${options.port ?? 0}`,
      grpc.ServerCredentials.createInsecure(),
      (error, bound) => (error ? reject(error) : resolve(bound)),
    );
  });
  return {
    address: `${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.tryShutdown(() => resolve());
        // Calls still open after a moment are cut off.
        setTimeout(() => server.forceShutdown(), 200).unref();
      }),
  };
}
