// The registry of protocol clients offered to steps: `ctx.http2`, `ctx.ws`, `ctx.grpc` … Each
// entry is a ClientKind; a VU's clients are created lazily on first use and closed with the VU.
// Adding a client means adding it here (and its type to StepClients); the engine only calls
// openClients/closeClients.
import type { ClientEnv, ClientKind, VuClient } from './client.js';
import { http2Kind, type Http2Client } from './http2/index.js';
import { wsKind, type WsClient } from './websocket/index.js';
import { grpcKind, type GrpcClient } from './grpc/index.js';
import { graphqlKind, type GraphqlClient } from './graphql/index.js';
import { tcpKind, udpKind, type TcpClient, type UdpClient } from './socket/index.js';
import { smtpKind, type SmtpClient } from './smtp/index.js';
import { ftpKind, type FtpClient } from './ftp/index.js';
import { browserKind, type BrowserClient } from './browser/index.js';

/** The clients every step, setup and teardown context carries besides `http`. */
export interface StepClients {
  /** HTTP/2 (h2 over TLS by ALPN, h2c in clear text), streams multiplexed per origin. */
  readonly http2: Http2Client;
  /** WebSocket: connect, send, receive with timeouts, close codes. */
  readonly ws: WsClient;
  /** gRPC: unary and server-streaming calls from a `.proto`, status codes as kinds. */
  readonly grpc: GrpcClient;
  /** GraphQL over HTTP/1.1 or HTTP/2: queries, mutations, variables; `errors` fail the step. */
  readonly graphql: GraphqlClient;
  /** TCP (TLS with `tls://`): send bytes, read until a delimiter, a length or a timeout. */
  readonly tcp: TcpClient;
  /** UDP: send datagrams, receive with a timeout. */
  readonly udp: UdpClient;
  /** SMTP (STARTTLS, smtps://, AUTH): send messages, server refusals as `smtp_<code>`. */
  readonly smtp: SmtpClient;
  /** FTP (FTPS): upload, download, list and remove files, refusals as `ftp_<code>`. */
  readonly ftp: FtpClient;
  /** Headless Chromium (playwright-core): pages, actions, web vitals as `browser_*` trends. */
  readonly browser: BrowserClient;
}

type AnyKind = ClientKind<keyof StepClients, VuClient>;

/** Every registered client kind, in the order they are closed. */
export const CLIENT_KINDS: readonly AnyKind[] = [
  http2Kind,
  wsKind,
  grpcKind,
  graphqlKind,
  tcpKind,
  udpKind,
  smtpKind,
  ftpKind,
  browserKind,
];

const ENV: unique symbol = Symbol('salvo.clients.env');
const SLOTS: unique symbol = Symbol('salvo.clients.slots');

interface ClientSetState {
  [ENV]: ClientEnv;
  [SLOTS]: (VuClient | undefined)[];
}

/** A VU's clients: an object whose `http2`, `ws` … getters create the client on first read. */
export type ClientSet = StepClients & ClientSetState;

/** One prototype for every set: a getter per kind that creates the client on first read. */
const PROTOTYPE: object = (() => {
  const proto: Record<string, unknown> = {};
  CLIENT_KINDS.forEach((kind, i) => {
    Object.defineProperty(proto, kind.name, {
      enumerable: true,
      get(this: ClientSetState): VuClient {
        const slots = this[SLOTS];
        let client = slots[i];
        if (client === undefined) {
          client = kind.create(this[ENV]);
          slots[i] = client;
        }
        return client;
      },
    });
  });
  return proto;
})();

/** A VU's (or a hook's) set of clients; none is created until a step reads it. */
export function openClients(env: ClientEnv): ClientSet {
  const set = Object.create(PROTOTYPE) as ClientSet;
  set[ENV] = env;
  set[SLOTS] = [];
  return set;
}

/**
 * An object that inherits the set's lazy getters and carries `fields` as its own properties:
 * a step context in one allocation, without creating any client.
 */
export function withClients<T extends object>(set: ClientSet, fields: T): T & StepClients {
  return Object.assign(Object.create(set) as object, fields) as T & StepClients;
}

/** Closes every client the set created; later reads create fresh ones. */
export function closeClients(set: ClientSet): void {
  const slots = set[SLOTS];
  for (let i = 0; i < slots.length; i++) {
    const client = slots[i];
    slots[i] = undefined;
    client?.close();
  }
}

/** Names of the clients the set has created so far (none until a step reads one). */
export function openedClients(set: ClientSet): string[] {
  const slots = set[SLOTS];
  return CLIENT_KINDS.filter((_, i) => slots[i] !== undefined).map((k) => k.name);
}
