// Owns running one cluster node in this process (`salvo gate|manager|worker`): settings from
// flags, SALVO_* variables and --config, TLS material (mutual TLS unless --insecure, which is
// loudly logged), the real Runtime, one JSON line `{"event":"ready",…}` on stdout once the node
// serves, and an orderly stop on SIGINT/SIGTERM. A node's fail-stop exits with code 1.

import { EXIT, describeError, type ExitCode } from '../errors.js';
import { recordHandled } from '../handled-errors.js';
import type { LocalIdentity } from '../protocol/index.js';
import type { Role } from '../protocol/messages.js';
import { createRealRuntime, type RealRuntime } from '../runtime/real/index.js';
import type { NodeAddress } from '../runtime/types.js';
import {
  INSECURE_WARNING,
  SettingSource,
  nodeSecurity,
  nodeSettings,
  type NodeSettings,
  type RawSettings,
} from '../nodes/node-options.js';
import type { CliIo } from './main.js';
import { readConfigFile } from './node-config.js';

/** What a started node hands back to its process. */
export interface RunningNode {
  readonly address: NodeAddress;
  /** Extra fields for the ready line (e.g. the DC, the raft members). */
  readonly ready?: Record<string, unknown>;
  stop(): Promise<void>;
}

export interface NodeStartContext {
  readonly runtime: RealRuntime;
  readonly identity: LocalIdentity;
  readonly settings: NodeSettings;
  readonly source: SettingSource;
  /** Called by the node when it must stop at once (a broken invariant): the process exits 1. */
  readonly failStop: (error: unknown) => void;
}

export interface NodeProcessSpec {
  readonly role: Exclude<Role, 'client'>;
  readonly defaultListen: string;
  readonly capabilities: readonly string[];
  start(context: NodeStartContext): Promise<RunningNode>;
}

function emit(io: CliIo, event: string, fields: Record<string, unknown>): void {
  io.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
}

/** Runs the node until SIGINT/SIGTERM; returns the process's exit code. */
export async function runNodeProcess(
  spec: NodeProcessSpec,
  flags: RawSettings,
  io: CliIo,
): Promise<ExitCode> {
  const configFile = typeof flags.config === 'string' ? flags.config : process.env.SALVO_CONFIG;
  const source = new SettingSource(
    flags,
    process.env,
    configFile === undefined ? {} : readConfigFile(configFile),
  );
  const settings = nodeSettings(source, spec.role, { listen: spec.defaultListen });
  const { tls, identity } = nodeSecurity({ ...settings, roles: [spec.role] }, spec.capabilities);
  const runtime = createRealRuntime({
    nodeId: settings.id,
    streamAddress: settings.listen,
    dataDir: settings.dataDir,
    logLevel: settings.logLevel,
    ...(tls !== undefined ? { tls } : {}),
    ...(settings.seed !== undefined ? { seed: settings.seed } : {}),
  });
  if (tls === undefined) {
    io.stderr.write(`\n*** ${INSECURE_WARNING} ***\n\n`);
    runtime.log.log('warn', INSECURE_WARNING, { insecure: true });
  }
  let stopping: Promise<void> | null = null;
  let node: RunningNode | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      try {
        await node?.stop();
      } finally {
        await runtime.close();
      }
    })();
    return stopping;
  };
  const failStop = (error: unknown): void => {
    emit(io, 'error', { error: describeError(error), fatal: true });
    process.exit(EXIT.internal);
  };
  try {
    node = await spec.start({ runtime, identity, settings, source, failStop });
  } catch (error) {
    await runtime.close();
    throw error;
  }
  emit(io, 'ready', {
    id: settings.id,
    role: spec.role,
    dc: identity.datacenter,
    address: `${node.address.host}:${node.address.port}`,
    ...node.ready,
  });
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  try {
    await stop();
  } catch (error) {
    recordHandled('node-process.stop', error);
    io.stderr.write(`salvo ${spec.role}: stopping failed: ${describeError(error)}\n`);
    return EXIT.internal;
  }
  emit(io, 'stopped', { id: settings.id });
  return EXIT.ok;
}

/** The flags every node command takes (commander option specs and help). */
export const COMMON_NODE_OPTIONS: readonly (readonly [string, string])[] = [
  ['--id <id>', 'this node’s id (its certificate must name it)'],
  ['--dc <name>', 'the datacenter this node is in (default: "default"; a certificate names it)'],
  ['--listen <host:port>', 'address to serve on'],
  ['--certs-dir <dir>', 'ca.crt and node.<id>.crt/.key made by `salvo certs` (mutual TLS)'],
  ['--insecure', 'plain TCP without authentication (only on a trusted network)'],
  ['--cluster <id>', 'cluster id when --insecure (a certificate names it otherwise)'],
  ['--data-dir <dir>', 'where the node keeps its state (default: salvo-data/<id>)'],
  ['--log-level <level>', 'debug, info, warn or error (default: warn)'],
  ['--config <file>', 'a JSON file of settings (camelCase keys, e.g. "certsDir")'],
];
