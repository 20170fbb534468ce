// Owns the Runtime on Node: performance.now/Date.now clocks, real timers, a seeded PRNG, TCP/TLS
// framed streams, UDP datagrams, fs storage under dataDir and a JSON-lines logger. The only place
// outside tests where node shells touch the real world. Never contains protocol or cluster logic.

import { randomInt } from 'node:crypto';
import type {
  Clock,
  Logger,
  LogLevel,
  NodeAddress,
  Runtime,
  TimerHandle,
  Timers,
} from '../types.js';
import { DEFAULT_MAX_DATAGRAM_BYTES, RealDatagramTransport } from './datagram.js';
import { JsonLineLogger, type LogSink } from './logger.js';
import { SeededRng } from './rng.js';
import { RealStorage } from './storage.js';
import { RealStreamTransport, type TlsMaterial } from './stream.js';

export {
  DEFAULT_MAX_DATAGRAM_BYTES,
  RealDatagramTransport,
  type DatagramStats,
} from './datagram.js';
export { JsonLineLogger, LOG_LEVEL_ORDER, type LogSink } from './logger.js';
export { SeededRng } from './rng.js';
export {
  InvalidFileNameError,
  MAX_FILE_NAME_LENGTH,
  RealStorage,
  validateFileName,
} from './storage.js';
export {
  CA_CERT_FILE,
  clientCertFile,
  clientKeyFile,
  identityOfCertificate,
  loadTlsMaterial,
  nodeCertFile,
  nodeKeyFile,
  TlsMaterialError,
} from './tls.js';
export {
  CLOSE_LINGER_MS,
  DEFAULT_MAX_SOCKETS_PER_SOURCE,
  DEFAULT_MAX_WRITE_QUEUE_BYTES,
  MAX_UNCLAIMED_EVENTS,
  RealStreamConnection,
  RealStreamTransport,
  type StreamStats,
  type TlsMaterial,
} from './stream.js';

export interface RealRuntimeOptions {
  readonly nodeId: string;
  /** TCP listen address (port 0 = any free port; the listener reports the bound one). */
  readonly streamAddress: NodeAddress;
  /** UDP bind address; defaults to the stream address (same host and port number). */
  readonly datagramAddress?: NodeAddress;
  readonly dataDir: string;
  /** PEM material: when set, streams use mutual TLS verified against `ca`. */
  readonly tls?: TlsMaterial;
  /** PRNG seed (uint32); a random one when absent (then logged, so a run can be replayed). */
  readonly seed?: number;
  /** Largest frame body accepted on streams (default MAX_FRAME_BYTES = 1 MiB). */
  readonly maxFrameBytes?: number;
  readonly maxWriteQueueBytes?: number;
  /** One budget for all stream write queues and partial frames (default 64 MiB). */
  readonly memoryBudgetBytes?: number;
  readonly maxSocketsPerSource?: number;
  readonly maxDatagramBytes?: number;
  /** A ready logger, or the level/sink for the default JSON-lines logger on stderr. */
  readonly logger?: Logger;
  readonly logLevel?: LogLevel;
  readonly logSink?: LogSink;
  /** unref() timers so they alone do not keep the process alive (default true). */
  readonly unrefTimers?: boolean;
}

/** The real Runtime plus what only a real process needs: stats and an orderly shutdown. */
export interface RealRuntime extends Runtime {
  readonly seed: number;
  readonly stream: RealStreamTransport;
  readonly datagram: RealDatagramTransport;
  readonly storage: RealStorage;
  /** Timer callbacks that threw (logged, not rethrown). */
  readonly timerFailures: () => number;
  /** Cancels timers, closes listeners, connections and the datagram socket. */
  close(): Promise<void>;
}

export const realClock: Clock = {
  monotonicMs: () => performance.now(),
  wallMs: () => Date.now(),
};

class RealTimers implements Timers {
  failures = 0;
  private readonly live = new Set<NodeJS.Timeout>();

  constructor(
    private readonly log: Logger,
    private readonly unref: boolean,
  ) {}

  after(delayMs: number, fn: () => void): TimerHandle {
    const t = setTimeout(() => {
      this.live.delete(t);
      this.run(fn);
    }, clampDelay(delayMs));
    if (this.unref) t.unref();
    this.live.add(t);
    return {
      cancel: () => {
        clearTimeout(t);
        this.live.delete(t);
      },
    };
  }

  every(periodMs: number, fn: () => void): TimerHandle {
    const t = setInterval(() => this.run(fn), Math.max(1, clampDelay(periodMs)));
    if (this.unref) t.unref();
    this.live.add(t);
    return {
      cancel: () => {
        clearInterval(t);
        this.live.delete(t);
      },
    };
  }

  cancelAll(): void {
    for (const t of this.live) clearTimeout(t);
    this.live.clear();
  }

  private run(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.failures++;
      this.log.log('error', 'timer callback failed', { error: err });
    }
  }
}

/** Node's timers take a 32-bit signed delay; larger values fire immediately, so clamp. */
const MAX_TIMER_DELAY_MS = 0x7fff_ffff;
function clampDelay(ms: number): number {
  if (!Number.isFinite(ms) || ms < 0) return 0;
  return Math.min(ms, MAX_TIMER_DELAY_MS);
}

export function createRealRuntime(options: RealRuntimeOptions): RealRuntime {
  const log =
    options.logger?.child({ node: options.nodeId }) ??
    new JsonLineLogger(options.logLevel ?? 'info', { node: options.nodeId }, options.logSink);
  const seed = options.seed !== undefined ? options.seed >>> 0 : randomInt(0, 0xffff_ffff);
  if (options.seed === undefined) log.log('debug', 'runtime seeded randomly', { seed });
  const timers = new RealTimers(log, options.unrefTimers ?? true);
  const stream = new RealStreamTransport({
    address: options.streamAddress,
    log: log.child({ component: 'stream' }),
    ...(options.tls !== undefined ? { tls: options.tls } : {}),
    ...(options.maxFrameBytes !== undefined ? { maxFrameBytes: options.maxFrameBytes } : {}),
    ...(options.maxWriteQueueBytes !== undefined
      ? { maxWriteQueueBytes: options.maxWriteQueueBytes }
      : {}),
    ...(options.memoryBudgetBytes !== undefined
      ? { memoryBudgetBytes: options.memoryBudgetBytes }
      : {}),
    ...(options.maxSocketsPerSource !== undefined
      ? { maxSocketsPerSource: options.maxSocketsPerSource }
      : {}),
  });
  const datagram = new RealDatagramTransport(
    options.datagramAddress ?? options.streamAddress,
    log.child({ component: 'datagram' }),
    options.maxDatagramBytes ?? DEFAULT_MAX_DATAGRAM_BYTES,
  );
  const storage = new RealStorage(options.dataDir, log.child({ component: 'storage' }));
  return {
    nodeId: options.nodeId,
    seed,
    clock: realClock,
    timers,
    rng: new SeededRng(seed),
    stream,
    datagram,
    storage,
    log,
    timerFailures: () => timers.failures,
    close: async () => {
      timers.cancelAll();
      await Promise.all([stream.close(), datagram.close()]);
    },
  };
}
