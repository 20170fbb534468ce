// Owns how the client commands (`salvo submit|jobs|status|watch|cancel`) reach a gate: a client
// certificate from `salvo certs create-client` (mutual TLS, the default) or --insecure with an
// optional token, the real Runtime of a process that never listens, and one RPC connection to
// the first gate of --gate that answers. Never interprets job messages.

import { tmpdir } from 'node:os';
import { ClusterRequestError, OptionError } from '../errors.js';
import {
  connectPeer,
  DEFAULT_DATACENTER,
  MessageRegistry,
  type LocalIdentity,
  type MessageDef,
  type RpcConnection,
} from '../protocol/index.js';
import {
  clientCertFile,
  clientKeyFile,
  createRealRuntime,
  loadTlsMaterial,
  type RealRuntime,
} from '../runtime/real/index.js';
import { parseAddress } from '../nodes/node-options.js';
import type { NodeAddress } from '../runtime/types.js';

/** How long one gate has to accept the connection and the hello. */
export const GATE_CONNECT_TIMEOUT_MS = 5_000;
/** Client name used with --insecure when none is given. */
export const DEFAULT_CLIENT_NAME = 'cli';

export interface GateConnectionOptions {
  /** One or more gate addresses, comma-separated (`host:port,host:port`). */
  readonly gate: string;
  readonly certsDir?: string;
  /** The client certificate's name (client.<name>.crt). */
  readonly client?: string;
  readonly insecure?: boolean;
  readonly cluster?: string;
}

export interface GateSession {
  readonly runtime: RealRuntime;
  readonly connection: RpcConnection;
  readonly gate: NodeAddress;
  readonly identity: LocalIdentity;
  close(): Promise<void>;
}

export function gateAddresses(text: string): NodeAddress[] {
  const list = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => parseAddress(s, '--gate'));
  if (list.length === 0) throw new OptionError('--gate: name at least one gate as host:port');
  return list;
}

/** Connects to the first gate that answers; the caller closes the session. */
export async function openGateSession(
  o: GateConnectionOptions,
  messages: readonly MessageDef[],
): Promise<GateSession> {
  const gates = gateAddresses(o.gate);
  let identity: LocalIdentity;
  let tls: ReturnType<typeof loadTlsMaterial> | undefined;
  const base = { environment: 'default', capabilities: ['jobs'] };
  if (o.certsDir !== undefined) {
    const name = o.client ?? process.env.SALVO_CLIENT;
    if (name === undefined) {
      throw new OptionError(
        '--client NAME is needed with --certs-dir (the client.NAME.crt made by `salvo certs create-client NAME`)',
      );
    }
    tls = loadTlsMaterial(o.certsDir, clientCertFile(name), clientKeyFile(name));
    if (tls.identity.role !== 'client') {
      throw new OptionError(
        `client.${name}.crt is a ${tls.identity.role} certificate, not a client one`,
      );
    }
    identity = {
      ...base,
      nodeId: tls.identity.nodeId,
      role: 'client',
      clusterId: tls.identity.clusterId,
      datacenter: tls.identity.datacenter,
    };
  } else if (o.insecure === true) {
    identity = {
      ...base,
      nodeId: o.client ?? DEFAULT_CLIENT_NAME,
      role: 'client',
      clusterId: o.cluster ?? 'salvo',
      datacenter: DEFAULT_DATACENTER,
    };
  } else {
    throw new OptionError(
      'no client certificate: pass --certs-dir DIR --client NAME (made by `salvo certs create-client NAME`), ' +
        'or --insecure for a cluster that runs without TLS',
    );
  }
  const runtime = createRealRuntime({
    nodeId: identity.nodeId,
    streamAddress: { host: '127.0.0.1', port: 0 },
    dataDir: tmpdir(),
    logLevel: 'error',
    ...(tls !== undefined ? { tls } : {}),
  });
  const registry = new MessageRegistry().register(...messages);
  const failures: string[] = [];
  for (const gate of gates) {
    try {
      const connection = await connectPeer(runtime.stream, gate, {
        registry,
        identity,
        timers: runtime.timers,
        log: runtime.log,
        connectTimeoutMs: GATE_CONNECT_TIMEOUT_MS,
        requireAuthentication: tls !== undefined,
      });
      return {
        runtime,
        connection,
        gate,
        identity,
        close: async () => {
          connection.close();
          await runtime.close();
        },
      };
    } catch (error) {
      failures.push(`${gate.host}:${gate.port}: ${(error as Error).message}`);
    }
  }
  await runtime.close();
  throw new ClusterRequestError('E_UNREACHABLE', `no gate answered (${failures.join('; ')})`);
}
