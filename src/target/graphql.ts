// The embedded target's GraphQL endpoint (`/graphql`, over HTTP/1.1 and HTTP/2): a small shop
// schema executed by graphql-js, the reference implementation. Owns an in-memory item list
// (bounded); never does other I/O than answering the request it is given.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { GraphQLError, buildSchema, graphql, type GraphQLSchema } from 'graphql';
import { describeError } from '../errors.js';

export const SHOP_GRAPHQL_SCHEMA = `
type Item { id: Int!, name: String!, price: Float! }
type Query {
  item(id: Int!): Item
  items(first: Int = 3): [Item!]!
}
type Mutation {
  addItem(name: String!, price: Float!): Item!
}
`;
/** Items added by mutations are kept up to this many (oldest dropped). */
export const MAX_GRAPHQL_ITEMS = 1000;
/** Largest GraphQL request body read. */
export const MAX_GRAPHQL_BODY_BYTES = 64 * 1024;

interface Item {
  id: number;
  name: string;
  price: number;
}

let schema: GraphQLSchema | undefined;
const items: Item[] = [
  { id: 1, name: 'alpha', price: 9.99 },
  { id: 2, name: 'beta', price: 19.5 },
  { id: 3, name: 'gamma', price: 0 },
];
let nextId = 4;

const root = {
  item: ({ id }: { id: number }): Item => {
    const found = items.find((i) => i.id === id);
    if (found === undefined) throw new GraphQLError(`no item ${id}`);
    return found;
  },
  items: ({ first }: { first: number }): Item[] => items.slice(0, Math.max(0, first)),
  addItem: ({ name, price }: { name: string; price: number }): Item => {
    const item = { id: nextId++, name, price };
    items.push(item);
    if (items.length > MAX_GRAPHQL_ITEMS) items.splice(3, 1);
    return item;
  },
};

type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;

function reply(res: Res, status: number, doc: unknown): void {
  const body = Buffer.from(JSON.stringify(doc));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
}

/** Answers a GraphQL request (POST JSON body, or GET ?query=&variables=). */
export function handleGraphql(req: Req, res: Res): void {
  schema ??= buildSchema(SHOP_GRAPHQL_SCHEMA);
  const s = schema;
  const run = (doc: { query?: unknown; variables?: unknown; operationName?: unknown }): void => {
    if (typeof doc.query !== 'string') {
      reply(res, 400, { errors: [{ message: 'the request has no "query" string' }] });
      return;
    }
    void graphql({
      schema: s,
      source: doc.query,
      rootValue: root,
      variableValues: (doc.variables ?? undefined) as Record<string, unknown> | undefined,
      operationName: typeof doc.operationName === 'string' ? doc.operationName : undefined,
    }).then(
      (result) => reply(res, 200, result),
      (error: unknown) =>
        reply(res, 500, {
          errors: [{ message: error instanceof Error ? error.message : String(error) }],
        }),
    );
  };
  if (req.method === 'GET') {
    const url = new URL(req.url ?? '/', 'http://target');
    let variables: unknown;
    try {
      variables = JSON.parse(url.searchParams.get('variables') ?? 'null');
    } catch (error) {
      reply(res, 400, {
        errors: [{ message: `"variables" is not JSON (${describeError(error)})` }],
      });
      return;
    }
    run({ query: url.searchParams.get('query') ?? undefined, variables });
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size <= MAX_GRAPHQL_BODY_BYTES) chunks.push(chunk);
  });
  req.on('end', () => {
    if (size > MAX_GRAPHQL_BODY_BYTES) {
      reply(res, 413, { errors: [{ message: `body above ${MAX_GRAPHQL_BODY_BYTES} bytes` }] });
      return;
    }
    let doc: unknown;
    try {
      doc = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch (error) {
      reply(res, 400, {
        errors: [{ message: `body is not JSON: ${error instanceof Error ? error.message : ''}` }],
      });
      return;
    }
    run(typeof doc === 'object' && doc !== null ? doc : {});
  });
}
