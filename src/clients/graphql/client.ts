// GraphQL client one VU drives (`ctx.graphql`): queries and mutations with variables, POSTed
// as JSON over HTTP/1.1 (the VU's own HttpClient) or HTTP/2 (its own Http2Client). A response
// with GraphQL `errors` fails the step with kind `graphql` and the first error's message.
import { HttpClient, HttpResponse, type HttpTimings } from '../http1/index.js';
import { Http2Client, Http2Response } from '../http2/index.js';
import { ClientError, RESULT_STATUS, type ClientEnv, type VuClient } from '../client.js';

export interface GraphqlError {
  message: string;
  path?: (string | number)[];
  locations?: { line: number; column: number }[];
  extensions?: Record<string, unknown>;
}

export interface GraphqlRequestOptions {
  variables?: Record<string, unknown>;
  operationName?: string;
  /** Endpoint URL (relative to the workflow's base URL); default the client's (`/graphql`). */
  url?: string;
  headers?: Record<string, string>;
  /** Send over HTTP/2 (h2 by ALPN or h2c) instead of HTTP/1.1. */
  http2?: boolean;
  timeoutMs?: number;
}

/** A GraphQL response without errors. */
export class GraphqlResponse<T> {
  constructor(
    readonly data: T,
    readonly status: number,
    readonly timings: HttpTimings,
    readonly url: string,
    readonly protocol: 'http/1.1' | 'h2' | 'h2c',
    /** The response's `extensions`, when the server sent any. */
    readonly extensions: Record<string, unknown> | undefined,
  ) {}
  get method(): string {
    return 'POST';
  }
  get [RESULT_STATUS](): number {
    return this.status;
  }
}

/** The default endpoint, relative to the workflow's base URL. */
export const DEFAULT_GRAPHQL_PATH = '/graphql';

/**
 * @example
 * .step('item', ({ graphql }) =>
 *   graphql.query<{ item: { name: string } }>('query($id: Int!) { item(id: $id) { name } }', { variables: { id: 1 } }))
 */
export class GraphqlClient implements VuClient {
  private h1: HttpClient | undefined;
  private h2: Http2Client | undefined;

  constructor(
    private readonly env: Pick<ClientEnv, 'baseUrl' | 'headers' | 'timeoutMs' | 'debug'>,
  ) {}

  private http1(): HttpClient {
    this.h1 ??= new HttpClient({
      baseUrl: this.env.baseUrl,
      headers: { ...this.env.headers },
      timeoutMs: this.env.timeoutMs,
      debug: this.env.debug,
    });
    return this.h1;
  }

  private http2(): Http2Client {
    this.h2 ??= new Http2Client({
      baseUrl: this.env.baseUrl,
      headers: { ...this.env.headers },
      timeoutMs: this.env.timeoutMs,
      debug: this.env.debug,
    });
    return this.h2;
  }

  /** Sends a query (or a mutation: the operation type is in the document). */
  async query<T = Record<string, unknown>>(
    document: string,
    options: GraphqlRequestOptions = {},
  ): Promise<GraphqlResponse<T>> {
    const url = options.url ?? DEFAULT_GRAPHQL_PATH;
    const body: Record<string, unknown> = { query: document };
    if (options.variables !== undefined) body.variables = options.variables;
    if (options.operationName !== undefined) body.operationName = options.operationName;
    const request = {
      json: body,
      headers: { accept: 'application/json', ...options.headers },
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    };
    const res: HttpResponse | Http2Response = options.http2
      ? await this.http2().post(url, request)
      : await this.http1().post(url, request);
    let doc: { data?: unknown; errors?: GraphqlError[]; extensions?: Record<string, unknown> };
    try {
      doc = JSON.parse(res.text()) as typeof doc;
    } catch (error) {
      throw new ClientError(
        'graphql',
        res.status >= 400 ? `status_${res.status}` : 'bad_response',
        `the response (status ${res.status}) is not JSON`,
        res.url,
        { cause: error },
      );
    }
    const errors = Array.isArray(doc.errors) ? doc.errors : [];
    if (errors.length > 0) {
      const first = errors[0]?.message ?? 'unknown error';
      const more = errors.length > 1 ? ` (+${errors.length - 1} more)` : '';
      throw new ClientError('graphql', 'graphql', `${first}${more}`, res.url);
    }
    if (res.status < 200 || res.status >= 300) {
      throw new ClientError('graphql', `status_${res.status}`, `status ${res.status}`, res.url);
    }
    const protocol = res instanceof Http2Response ? res.protocol : 'http/1.1';
    return new GraphqlResponse(
      doc.data as T,
      res.status,
      res.timings,
      res.url,
      protocol,
      doc.extensions,
    );
  }

  /** Same as query(); reads better for mutations. */
  mutate<T = Record<string, unknown>>(
    document: string,
    options: GraphqlRequestOptions = {},
  ): Promise<GraphqlResponse<T>> {
    return this.query<T>(document, options);
  }

  close(): void {
    this.h1?.close();
    this.h2?.close();
  }
}

/** Offered to steps as `ctx.graphql`. */
export const graphqlKind = {
  name: 'graphql' as const,
  create(env: ClientEnv): GraphqlClient {
    return new GraphqlClient(env);
  },
};
