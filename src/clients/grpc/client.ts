// gRPC client one VU drives (`ctx.grpc`): unary and server-streaming calls described by a
// `.proto` file, metadata in and out, status codes as named kinds (`grpc_not_found`,
// `grpc_unavailable`, `grpc_deadline_exceeded` …). Built on @grpc/grpc-js and
// @grpc/proto-loader, loaded on first use so workflows without gRPC never pay for them; parsed
// `.proto` files are cached per process (bounded).
// Imported: the global `performance` is a lazy accessor in Node 20 (a getter call per use).
import { performance } from 'node:perf_hooks';
import { resolve as resolvePath } from 'node:path';
import type * as GrpcJs from '@grpc/grpc-js';
import type * as ProtoLoader from '@grpc/proto-loader';
import { ClientError, type ClientEnv, type VuClient } from '../client.js';

/** Parsed `.proto` files kept per process; the oldest is forgotten beyond it. */
export const MAX_CACHED_PROTOS = 32;
/** Messages kept from one server stream; more fail the call with kind `too_many_messages`. */
export const MAX_STREAM_MESSAGES = 100_000;
/** Channels (address × service) per VU. */
export const MAX_GRPC_SERVICES = 32;

type Grpc = typeof GrpcJs;
type Loader = typeof ProtoLoader;
let modules: Promise<{ grpc: Grpc; loader: Loader }> | undefined;
function loadModules(): Promise<{ grpc: Grpc; loader: Loader }> {
  modules ??= Promise.all([import('@grpc/grpc-js'), import('@grpc/proto-loader')]).then(
    ([grpc, loader]) => ({ grpc, loader }),
  );
  return modules;
}

const protoCache = new Map<string, ProtoLoader.PackageDefinition>();

function loadProto(loader: Loader, file: string): ProtoLoader.PackageDefinition {
  const path = resolvePath(file);
  let def = protoCache.get(path);
  if (def === undefined) {
    def = loader.loadSync(path, {
      keepCase: true,
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
    });
    if (protoCache.size >= MAX_CACHED_PROTOS) {
      const oldest = protoCache.keys().next().value;
      if (oldest !== undefined) protoCache.delete(oldest);
    }
    protoCache.set(path, def);
  }
  return def;
}

export interface GrpcConnectOptions {
  /** Path of the `.proto` file (relative to the working directory). */
  proto: string;
  /** Fully qualified service name, e.g. `shop.Catalog`. */
  service: string;
  /** `host:port`; default: the host and port of the workflow's base URL. */
  address?: string;
  /** TLS: true for the system CAs, or a CA to trust; default plaintext. */
  tls?: boolean | { ca: string | Buffer };
  /** Sent with every call of this service (merged under each call's own). */
  metadata?: Record<string, string>;
  /** Default deadline of this service's calls (default: the workflow's request timeout). */
  timeoutMs?: number;
}

export interface GrpcCallOptions {
  metadata?: Record<string, string>;
  timeoutMs?: number;
}

/** A completed call: the message(s), the server's metadata and trailers, the time taken. */
export interface GrpcResult<T> {
  /** 'OK' (failed calls reject with ClientError). */
  readonly status: 'OK';
  readonly message: T;
  readonly metadata: Record<string, string>;
  readonly trailers: Record<string, string>;
  readonly latencyMs: number;
}

export interface GrpcStreamResult<T> {
  readonly status: 'OK';
  readonly messages: T[];
  readonly metadata: Record<string, string>;
  readonly trailers: Record<string, string>;
  /** Call start to the first message (0 when none came). */
  readonly firstMessageMs: number;
  readonly latencyMs: number;
}

function metadataRecord(md: GrpcJs.Metadata | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (md === undefined) return out;
  for (const [key, values] of Object.entries(md.getMap())) {
    out[key] = Buffer.isBuffer(values) ? values.toString('base64') : String(values);
  }
  return out;
}

/** The kind of a failed call: `grpc_<status name>`, e.g. `grpc_unavailable`. */
export function kindForGrpcStatus(grpc: Grpc, code: number): string {
  const name = (grpc.status as unknown as Record<number, string | undefined>)[code];
  return `grpc_${(name ?? `status_${code}`).toLowerCase()}`;
}

/** One service on one channel, with the methods the `.proto` declares. */
export class GrpcService {
  /** @internal made by GrpcClient.connect. */
  constructor(
    private readonly grpc: Grpc,
    private readonly client: GrpcJs.Client,
    private readonly methods: ProtoLoader.ServiceDefinition,
    private readonly name: string,
    private readonly defaults: { metadata: Record<string, string>; timeoutMs: number },
  ) {}

  private method(name: string, streaming: boolean): ProtoLoader.MethodDefinition<object, object> {
    const m = this.methods[name];
    if (m === undefined) {
      throw new ClientError(
        'grpc',
        'bad_request',
        `service ${this.name} has no method '${name}' (it has ${Object.keys(this.methods).join(', ')})`,
        this.name,
      );
    }
    if (m.requestStream || m.responseStream !== streaming) {
      throw new ClientError(
        'grpc',
        'bad_request',
        `${this.name}/${name} is not a ${streaming ? 'server-streaming' : 'unary'} method`,
        this.name,
      );
    }
    return m;
  }

  private callSetup(options: GrpcCallOptions | undefined): {
    metadata: GrpcJs.Metadata;
    deadline: Date;
  } {
    const metadata = new this.grpc.Metadata();
    const all = { ...this.defaults.metadata, ...options?.metadata };
    for (const [k, v] of Object.entries(all)) metadata.set(k, v);
    const ms = options?.timeoutMs ?? this.defaults.timeoutMs;
    return { metadata, deadline: new Date(Date.now() + ms) };
  }

  private failure(method: string, error: unknown): ClientError {
    const e = error as Partial<GrpcJs.ServiceError>;
    const code = typeof e.code === 'number' ? e.code : this.grpc.status.UNKNOWN;
    return new ClientError(
      'grpc',
      kindForGrpcStatus(this.grpc, code),
      e.details ?? (error instanceof Error ? error.message : String(error)),
      `${this.name}/${method}`,
      { cause: error },
    );
  }

  /** A unary call: one request, one response. */
  async unary<T = Record<string, unknown>>(
    method: string,
    request: object,
    options?: GrpcCallOptions,
  ): Promise<GrpcResult<T>> {
    const def = this.method(method, false);
    const { metadata, deadline } = this.callSetup(options);
    const start = performance.now();
    return new Promise((resolve, reject) => {
      let headers: Record<string, string> = {};
      let trailers: Record<string, string> = {};
      const call = this.client.makeUnaryRequest(
        def.path,
        def.requestSerialize,
        def.responseDeserialize,
        request,
        metadata,
        { deadline },
        (error, value) => {
          if (error) return reject(this.failure(method, error));
          resolve({
            status: 'OK',
            message: value as T,
            metadata: headers,
            trailers,
            latencyMs: performance.now() - start,
          });
        },
      );
      call.on('metadata', (md: GrpcJs.Metadata) => (headers = metadataRecord(md)));
      call.on('status', (s: GrpcJs.StatusObject) => (trailers = metadataRecord(s.metadata)));
    });
  }

  /** A server-streaming call: one request, every message until the server ends the stream. */
  async serverStream<T = Record<string, unknown>>(
    method: string,
    request: object,
    options?: GrpcCallOptions,
  ): Promise<GrpcStreamResult<T>> {
    const def = this.method(method, true);
    const { metadata, deadline } = this.callSetup(options);
    const start = performance.now();
    return new Promise((resolve, reject) => {
      const messages: T[] = [];
      let headers: Record<string, string> = {};
      let firstMessageMs = 0;
      let failed = false;
      const call = this.client.makeServerStreamRequest(
        def.path,
        def.requestSerialize,
        def.responseDeserialize,
        request,
        metadata,
        { deadline },
      );
      call.on('metadata', (md: GrpcJs.Metadata) => (headers = metadataRecord(md)));
      call.on('data', (m: T) => {
        if (messages.length === 0) firstMessageMs = performance.now() - start;
        if (messages.length >= MAX_STREAM_MESSAGES) {
          failed = true;
          call.cancel();
          reject(
            new ClientError(
              'grpc',
              'too_many_messages',
              `more than ${MAX_STREAM_MESSAGES} messages`,
              `${this.name}/${method}`,
            ),
          );
          return;
        }
        messages.push(m);
      });
      call.on('error', (error: Error) => {
        if (failed) return;
        failed = true;
        reject(this.failure(method, error));
      });
      call.on('status', (s: GrpcJs.StatusObject) => {
        if (failed || s.code !== this.grpc.status.OK) return;
        resolve({
          status: 'OK',
          messages,
          metadata: headers,
          trailers: metadataRecord(s.metadata),
          firstMessageMs,
          latencyMs: performance.now() - start,
        });
      });
    });
  }
}

/**
 * The gRPC client of one VU (`ctx.grpc`): `connect` returns a service whose channel is kept
 * for the VU's life (same proto, service and address → same channel).
 *
 * @example
 * .step('hello', async ({ grpc }) => {
 *   const greeter = await grpc.connect({ proto: 'greeter.proto', service: 'hello.Greeter', address: 'localhost:50051' });
 *   return (await greeter.unary('SayHello', { name: 'salvo' })).message;
 * })
 */
export class GrpcClient implements VuClient {
  private readonly services = new Map<string, GrpcService>();
  private readonly channels: GrpcJs.Client[] = [];
  private closed = false;

  constructor(private readonly env: Pick<ClientEnv, 'baseUrl' | 'headers' | 'timeoutMs'>) {}

  async connect(options: GrpcConnectOptions): Promise<GrpcService> {
    const address = options.address ?? this.defaultAddress();
    const key = JSON.stringify([options.proto, options.service, address, Boolean(options.tls)]);
    const known = this.services.get(key);
    if (known !== undefined) return known;
    const { grpc, loader } = await loadModules();
    if (this.closed) throw new ClientError('grpc', 'closed', 'the client was closed', address);
    let def: ProtoLoader.PackageDefinition;
    try {
      def = loadProto(loader, options.proto);
    } catch (error) {
      throw new ClientError(
        'grpc',
        'bad_proto',
        `cannot load ${options.proto}: ${error instanceof Error ? error.message : String(error)}`,
        address,
        { cause: error },
      );
    }
    const service = def[options.service];
    // Message and enum types carry a `format`; services are plain method maps.
    if (service === undefined || 'format' in service) {
      const names = Object.keys(def).filter((k) => !('format' in (def[k] ?? {})));
      throw new ClientError(
        'grpc',
        'bad_request',
        `${options.proto} has no service '${options.service}' (services: ${names.join(', ')})`,
        address,
      );
    }
    if (this.services.size >= MAX_GRPC_SERVICES) {
      throw new ClientError(
        'grpc',
        'too_many_services',
        `more than ${MAX_GRPC_SERVICES} services in one VU`,
        address,
      );
    }
    const credentials =
      options.tls === undefined || options.tls === false
        ? grpc.credentials.createInsecure()
        : grpc.credentials.createSsl(options.tls === true ? null : Buffer.from(options.tls.ca));
    const channel = new grpc.Client(address, credentials);
    this.channels.push(channel);
    const svc = new GrpcService(grpc, channel, service, options.service, {
      metadata: { ...options.metadata },
      timeoutMs: options.timeoutMs ?? this.env.timeoutMs,
    });
    this.services.set(key, svc);
    return svc;
  }

  private defaultAddress(): string {
    if (this.env.baseUrl === undefined) {
      throw new ClientError('grpc', 'bad_request', 'no address and no base URL', '-');
    }
    const u = new URL(this.env.baseUrl);
    return `${u.hostname}:${u.port || (u.protocol === 'https:' ? '443' : '80')}`;
  }

  close(): void {
    this.closed = true;
    for (const channel of this.channels.splice(0)) channel.close();
    this.services.clear();
  }
}

/** Offered to steps as `ctx.grpc`. */
export const grpcKind = {
  name: 'grpc' as const,
  create(env: ClientEnv): GrpcClient {
    return new GrpcClient(env);
  },
};
