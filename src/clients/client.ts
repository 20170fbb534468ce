// The one small interface every protocol client implements to be offered to steps: what a
// client is created from (ClientEnv), what it must do at the end of a VU (close), the error
// type it rejects with (ClientError, a stable `kind` per failure), and how a result tells the
// engine its status. The engine knows only this module and the registry, never a protocol.
import { SalvoError } from '../errors.js';

/** What every client of one VU is created from (the workflow's options, resolved). */
export interface ClientEnv {
  /** The workflow's base URL (`salvo run --target` wins); relative URLs resolve against it. */
  readonly baseUrl: string | undefined;
  /** Headers sent with every request of this workflow (protocols with headers or metadata). */
  readonly headers: Readonly<Record<string, string>>;
  /** Default per-operation timeout of the workflow's clients. */
  readonly timeoutMs: number;
  /** The VU's run-wide id (1-based). */
  readonly vuId: number;
  /** Where named and tagged requests report (the VU's statistics); absent outside a run. */
  readonly observe?: RequestObserver;
  /** Print each HTTP request and response (bodies truncated) to stderr: `--http-debug`. */
  readonly debug?: boolean;
  /** The VU's custom metrics, for clients that record their own (the browser's web vitals). */
  readonly metrics?: { trend(name: string): { add(value: number): void } };
  /** The workflow's `http2` option: sessions shared by the thread's VUs. */
  readonly http2?: { readonly connections: number; readonly maxStreams?: number };
  /**
   * State the clients of one workflow on one thread share (one map per run of the workflow
   * on the thread); a client keys its entry by its kind's name.
   */
  readonly shared?: Map<string, unknown>;
}

/** A client one VU owns; created lazily on its first use in a step, closed with the VU. */
export interface VuClient {
  /** Releases every connection and timer; later calls fail with kind `closed`. Idempotent. */
  close(): void;
}

/** How a protocol client is offered to steps: `ctx[name]`, made by `create` per VU. */
export interface ClientKind<Name extends string, C extends VuClient> {
  readonly name: Name;
  create(env: ClientEnv): C;
}

/**
 * The error every non-HTTP/1.1 client rejects with (code `E_CLIENT`). `kind` is the stable
 * label the statistics count (`connect_refused`, `timeout`, `rst_refused_stream`,
 * `grpc_unavailable`, `graphql` …); `protocol` names the client.
 */
export class ClientError extends SalvoError {
  readonly kind: string;
  readonly protocol: string;
  readonly target: string;
  constructor(
    protocol: string,
    kind: string,
    message: string,
    target: string,
    options?: { cause?: unknown },
  ) {
    super('E_CLIENT', `${kind}: ${message} (${protocol} ${target})`, options);
    this.kind = kind;
    this.protocol = protocol;
    this.target = target;
  }
}

/**
 * A result that carries a protocol status the step's `expectStatus` judges (HTTP/2 responses,
 * GraphQL responses) exposes it under this key.
 */
export const RESULT_STATUS: unique symbol = Symbol.for('salvo.result.status');

export interface StatusResult {
  readonly [RESULT_STATUS]: number;
}

/** The status a step's returned value carries, or undefined when it carries none. */
export function statusOfResult(value: unknown): number | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const status = (value as Partial<StatusResult>)[RESULT_STATUS];
  return typeof status === 'number' ? status : undefined;
}

/** `text` parsed as JSON, or a ClientError of `kind` saying why not. */
export function parseJson<T>(text: string, protocol: string, kind: string, target: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new ClientError(protocol, kind, `not valid JSON: ${why}`, target, { cause: error });
  }
}

/** Maps socket-level error codes every TCP-based client shares to a stable kind. */
export function socketErrorKind(error: unknown): string {
  const code =
    typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
  switch (code) {
    case 'ECONNREFUSED':
      return 'connect_refused';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'connection_reset';
    case 'ETIMEDOUT':
      return 'timeout';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
      return 'dns';
    default:
      if (code.includes('NO_APPLICATION_PROTOCOL')) return 'alpn';
      if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || code.includes('CERT')) {
        return 'tls';
      }
      if (code === 'EPROTO') return 'tls';
      return 'network';
  }
}

/**
 * Told about every request that carries a `name` or `tags`, so its statistics are grouped
 * under `group` (`http{name:GET /item/:id}`): latency, status, or the failure's kind.
 */
export type RequestObserver = (
  group: string,
  latencyUs: number,
  status: number | undefined,
  failure: { kind: string; message: string } | undefined,
) => void;

/** The statistics group of a named or tagged request: `http{name:…,tag:value,…}`. */
export function requestGroup(
  name: string | undefined,
  tags: Readonly<Record<string, string>> | undefined,
): string {
  const parts: string[] = [];
  if (name !== undefined) parts.push(`name:${name}`);
  if (tags !== undefined) {
    for (const key of Object.keys(tags).sort()) parts.push(`${key}:${tags[key]}`);
  }
  return `http{${parts.join(',')}}`;
}
