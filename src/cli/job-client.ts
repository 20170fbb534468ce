// Owns how a client command asks a gate about jobs: the connection flags (each also a SALVO_*
// variable), one request with its answer checked, a refusal turned into the ClusterRequestError
// whose code picks the exit code, rate limits obeyed (retry-after, bounded), and a request for a
// job another gate owns sent on to that owner.

import type { Command } from 'commander';
import { ClusterRequestError, OptionError, SalvoError, type ClusterErrorCode } from '../errors.js';
import type { AnyMessage } from '../protocol/messages.js';
import type { OutgoingMessage } from '../protocol/index.js';
import { CLIENT_MESSAGES } from '../nodes/jobs/client-wire.js';
import {
  openGateSession,
  type GateConnectionOptions,
  type GateSession,
} from './gate-connection.js';

/** Times a rate-limited request is retried after the gate's retry-after before giving up. */
export const MAX_RATE_LIMIT_RETRIES = 5;
/** Longest retry-after a client waits for at once. */
export const MAX_RETRY_AFTER_MS = 30_000;
/** Owner redirects one request follows (a job's owner can move while a client asks). */
export const MAX_OWNER_REDIRECTS = 3;

export interface ClientFlags {
  gate?: string;
  certsDir?: string;
  client?: string;
  insecure?: boolean;
  cluster?: string;
  token?: string;
}

/** Adds the connection flags every client command takes. */
export function addClientOptions(command: Command): Command {
  return command
    .option('--gate <host:port,…>', 'gate address(es), first that answers is used (SALVO_GATE)')
    .option(
      '--certs-dir <dir>',
      'directory with ca.crt and client.<name>.crt/.key (SALVO_CERTS_DIR)',
    )
    .option('--client <name>', 'which client certificate of --certs-dir to use (SALVO_CLIENT)')
    .option('--insecure', 'plain TCP, for a cluster started with --insecure (SALVO_INSECURE=1)')
    .option('--cluster <id>', 'cluster id with --insecure (default: salvo)')
    .option('--token <token>', 'an access token the gates accept (SALVO_TOKEN)');
}

/** The connection settings: a flag, else its SALVO_* variable. */
export function connectionOptions(
  flags: ClientFlags,
  env: NodeJS.ProcessEnv = process.env,
): GateConnectionOptions & { token: string | undefined } {
  const gate = flags.gate ?? env['SALVO_GATE'];
  if (gate === undefined || gate.trim() === '') {
    throw new OptionError(
      'no gate: pass --gate HOST:PORT (or set SALVO_GATE); `salvo cluster up` prints it',
    );
  }
  const insecure =
    flags.insecure === true || env['SALVO_INSECURE'] === '1' || env['SALVO_INSECURE'] === 'true';
  const certsDir = flags.certsDir ?? env['SALVO_CERTS_DIR'];
  const client = flags.client ?? env['SALVO_CLIENT'];
  return {
    gate,
    insecure,
    ...(certsDir !== undefined ? { certsDir } : {}),
    ...(client !== undefined ? { client } : {}),
    ...(flags.cluster !== undefined ? { cluster: flags.cluster } : {}),
    token: flags.token ?? env['SALVO_TOKEN'],
  };
}

const CLUSTER_CODES: ReadonlySet<string> = new Set<ClusterErrorCode>([
  'E_UNREACHABLE',
  'E_UNAUTHENTICATED',
  'E_BUNDLE_TOO_LARGE',
  'E_UNKNOWN_DC',
  'E_NO_WORKERS',
  'E_IDEMPOTENCY_CONFLICT',
  'E_JOB_UNKNOWN',
  'E_RATE_LIMITED',
]);

/** The owner's address from an E_NOT_OWNER answer (`owner: {nodeId, address}` or `ownerAddress`). */
function ownerOf(details: Record<string, unknown> | undefined): string | undefined {
  const owner = details?.['owner'] as { address?: unknown } | undefined;
  const address = details?.['ownerAddress'] ?? owner?.address;
  if (typeof address !== 'object' || address === null) return undefined;
  const { host, port } = address as { host?: unknown; port?: unknown };
  return typeof host === 'string' && typeof port === 'number' ? `${host}:${port}` : undefined;
}

/** A client's link to the gates: one session at a time, moved to a job's owner when told. */
export class JobClient {
  private constructor(
    private session: GateSession,
    private readonly options: GateConnectionOptions,
    private readonly sleep: (ms: number) => Promise<void>,
  ) {}

  static async open(
    options: GateConnectionOptions,
    sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ): Promise<JobClient> {
    return new JobClient(await openGateSession(options, CLIENT_MESSAGES), options, sleep);
  }

  get connection(): GateSession['connection'] {
    return this.session.connection;
  }

  get gateAddress(): string {
    return `${this.session.gate.host}:${this.session.gate.port}`;
  }

  /** Sends `message`; resolves to the reply of type `expect` or throws the refusal. */
  async request(
    message: OutgoingMessage,
    expect: string | readonly string[],
    timeoutMs?: number,
  ): Promise<AnyMessage> {
    const expected = typeof expect === 'string' ? [expect] : expect;
    let redirects = 0;
    for (let attempt = 0; ; attempt++) {
      const reply = await this.session.connection.request(
        message,
        timeoutMs === undefined ? {} : { timeoutMs },
      );
      if (reply.ok) {
        if (!expected.includes(reply.message.t)) {
          throw new SalvoError(
            'E_PROTOCOL',
            `gate ${this.gateAddress} answered ${message.t} with ${reply.message.t}, not ${expected.join(' or ')}`,
          );
        }
        return reply.message;
      }
      const { code, message: text, details } = reply.error;
      if (code === 'E_RATE_LIMITED' || code === 'E_UNAVAILABLE' || code === 'E_OVERLOADED') {
        const after = Number(details?.['retryAfterMs'] ?? 1000);
        if (attempt < MAX_RATE_LIMIT_RETRIES) {
          await this.sleep(Math.min(MAX_RETRY_AFTER_MS, Number.isFinite(after) ? after : 1000));
          continue;
        }
      }
      const owner = code === 'E_NOT_OWNER' ? ownerOf(details) : undefined;
      if (owner !== undefined && redirects < MAX_OWNER_REDIRECTS) {
        redirects++;
        await this.moveTo(owner);
        continue;
      }
      if (CLUSTER_CODES.has(code)) throw new ClusterRequestError(code as ClusterErrorCode, text);
      throw new SalvoError(
        'E_PROTOCOL',
        `gate ${this.gateAddress} refused ${message.t}: ${code}: ${text}`,
      );
    }
  }

  /** A new session with the first of the configured gates that answers (after one was lost). */
  async reconnect(): Promise<void> {
    const next = await openGateSession(this.options, CLIENT_MESSAGES);
    const previous = this.session;
    this.session = next;
    await previous.close();
  }

  /** Reconnects to another gate (a job's owner). */
  async moveTo(gate: string): Promise<void> {
    const next = await openGateSession({ ...this.options, gate }, CLIENT_MESSAGES);
    const previous = this.session;
    this.session = next;
    await previous.close();
  }

  close(): Promise<void> {
    return this.session.close();
  }
}
