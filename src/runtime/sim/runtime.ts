// One node incarnation's Runtime in the simulator: virtual clocks, timers on the event queue,
// a forked seeded rng, the simulated transports and storage, a logger into the bounded ring.
// Every handle is inert once its incarnation has crashed; nothing here reads a real clock.

import type {
  Clock,
  LogLevel,
  Logger,
  Rng,
  Runtime,
  StreamTransport,
  DatagramTransport,
  Storage,
  TimerHandle,
  Timers,
} from '../types.js';
import { SimDatagramTransport } from './datagram.js';
import { NodeLifeBound, type Kernel, type NodeState, type SimEvent } from './kernel.js';
import type { SimRng } from './rng.js';
import { SimStorage } from './storage.js';
import { SimStreamTransport } from './stream.js';
import { InternalError } from '../../errors.js';

/** What the runtime needs beyond the transports' kernel. */
export interface RuntimeKernel extends Kernel {
  readonly epochMs: number;
  readonly fsyncLatencyMs: number;
  recordLog(
    node: NodeState,
    level: LogLevel,
    message: string,
    fields: Record<string, unknown>,
  ): void;
}

const INERT_TIMER: TimerHandle = { cancel: () => undefined };

function checkDelay(name: string, ms: number, allowZero: boolean): void {
  if (!Number.isFinite(ms) || ms < 0 || (!allowZero && ms === 0)) {
    throw new InternalError(
      `${name} must be a finite number ${allowZero ? '>=' : '>'} 0, got ${ms}`,
    );
  }
}

class SimTimers extends NodeLifeBound implements Timers {
  after(delayMs: number, fn: () => void): TimerHandle {
    checkDelay('after(delayMs)', delayMs, true);
    if (!this.alive()) {
      return INERT_TIMER;
    }
    const event = this.kernel.schedule(delayMs, this.node, this.incarnation, 'timer', '', fn);
    return {
      cancel: () => {
        event.cancelled = true;
      },
    };
  }

  every(periodMs: number, fn: () => void): TimerHandle {
    checkDelay('every(periodMs)', periodMs, false);
    if (!this.alive()) {
      return INERT_TIMER;
    }
    let cancelled = false;
    let current: SimEvent;
    const tick = (): void => {
      fn();
      if (!cancelled) {
        current = this.kernel.schedule(
          periodMs,
          this.node,
          this.incarnation,
          'timer',
          'every',
          tick,
        );
      }
    };
    current = this.kernel.schedule(periodMs, this.node, this.incarnation, 'timer', 'every', tick);
    return {
      cancel: () => {
        cancelled = true;
        current.cancelled = true;
      },
    };
  }
}

class SimLogger implements Logger {
  constructor(
    private readonly kernel: RuntimeKernel,
    private readonly node: NodeState,
    private readonly fields: Record<string, unknown>,
  ) {}

  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void {
    this.kernel.recordLog(this.node, level, message, { ...this.fields, ...fields });
  }

  child(fields: Record<string, unknown>): Logger {
    return new SimLogger(this.kernel, this.node, { ...this.fields, ...fields });
  }
}

export class SimRuntime implements Runtime {
  readonly nodeId: string;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly stream: StreamTransport;
  readonly datagram: DatagramTransport;
  readonly storage: Storage;
  readonly log: Logger;

  constructor(
    kernel: RuntimeKernel,
    node: NodeState,
    readonly incarnation: number,
    readonly rng: Rng & SimRng,
  ) {
    this.nodeId = node.id;
    this.clock = {
      monotonicMs: () => kernel.nowMs,
      wallMs: () => kernel.epochMs + kernel.nowMs + node.wallOffsetMs,
    };
    this.timers = new SimTimers(kernel, node, incarnation);
    this.stream = new SimStreamTransport(kernel, node, incarnation);
    this.datagram = new SimDatagramTransport(kernel, node, incarnation);
    const alive = (): boolean => node.up && node.incarnation === incarnation;
    this.storage = new SimStorage(node.disk, {
      alive,
      afterFsync: (what, fire) => {
        kernel.schedule(kernel.fsyncLatencyMs, node, incarnation, 'fsync', what, fire);
      },
    });
    this.log = new SimLogger(kernel, node, {});
  }
}
