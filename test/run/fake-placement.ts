// Test support for test/run: a placement that runs nothing (each unit's windows and report are
// scripted), records every call, and delivers windows in an order the test chooses; a manual
// clock; and windows built by the real recorder.
import type { PublishedValue } from '../../src/engine/job.js';
import type { RunClock } from '../../src/run/clock.js';
import type {
  HookCall,
  PlacedWorkflow,
  Placement,
  PlacementPart,
  RunningHookCall,
  WorkflowCall,
} from '../../src/run/placement.js';
import { WorkflowRecorder } from '../../src/stats/recorder.js';
import type { StatsWindow } from '../../src/stats/types.js';

export const T0 = 1_700_000_000_000;

/** A window of `workflow`'s step `step`: `ok` successes at 1000+i µs and `failed` timeouts. */
export function windowOf(
  workflow: string,
  step: string,
  seq: number,
  ok: number,
  failed = 0,
): StatsWindow {
  const rec = new WorkflowRecorder(workflow, T0);
  const s = rec.step(step);
  for (let i = 0; i < ok; i++) s.ok(1000 + i * 7 + seq, 200);
  for (let i = 0; i < failed; i++) s.fail(9000, 'timeout', 'took too long');
  for (let i = 0; i < ok + failed; i++) {
    rec.iterationStarted();
    rec.iterationCompleted(i < ok);
  }
  rec.setVus(1, 1);
  const startMs = T0 + (seq - 1) * 1000;
  return { ...rec.takeWindow(startMs + 1000), seq, startMs, endMs: startMs + 1000 };
}

/** A clock that moves only when told, firing its periodic callbacks on the way. */
export class ManualClock implements RunClock {
  nowMs = T0;
  private readonly tickers = new Set<{ periodMs: number; next: number; fn: () => void }>();

  now(): number {
    return this.nowMs;
  }

  every(periodMs: number, fn: () => void): { cancel(): void } {
    const ticker = { periodMs, next: this.nowMs + periodMs, fn };
    this.tickers.add(ticker);
    return { cancel: () => this.tickers.delete(ticker) };
  }

  get activeTickers(): number {
    return this.tickers.size;
  }

  /** Moves time forward by `ms`, firing every ticker due on the way in time order. */
  advance(ms: number): void {
    const end = this.nowMs + ms;
    for (;;) {
      let due: { periodMs: number; next: number; fn: () => void } | undefined;
      for (const t of this.tickers) if (t.next <= end && (!due || t.next < due.next)) due = t;
      if (!due) break;
      this.nowMs = due.next;
      due.next += due.periodMs;
      due.fn();
    }
    this.nowMs = end;
  }
}

/** What one unit does with a workflow call. */
export interface UnitScript {
  source: string;
  windows: StatsWindow[];
  failure?: string;
  published?: Record<string, PublishedValue>;
  network?: { requests: number; bytesSent: number; bytesReceived: number };
  notes?: string[];
  /** The part does not end by itself: only a cancel (or terminateStalled) ends it. */
  untilCancelled?: boolean;
}

export interface WorkflowScript {
  units: UnitScript[];
  /**
   * The order windows are delivered in, as [unit, window index] pairs (repeats deliver a
   * window again); all of them in unit order by default.
   */
  order?: [number, number][];
  /** runWorkflow throws this instead of placing anything. */
  throws?: Error;
}

export interface HookScript {
  value?: unknown;
  error?: Error;
  /** The hook never ends by itself: only stop() ends it. */
  hangs?: boolean;
}

export class FakePlacement implements Placement {
  readonly size: number;
  readonly hookCalls: HookCall[] = [];
  readonly workflowCalls: WorkflowCall[] = [];
  readonly stopped: string[] = [];
  /** Cancel reasons each unit received, by workflow then source. */
  readonly cancels = new Map<string, Map<string, string>>();
  readonly terminations: { workflow: string; quietMs: number; why: string }[] = [];
  private readonly workflows: Map<string, WorkflowScript>;
  private readonly hooks: Map<string, HookScript>;

  constructor(
    size: number,
    workflows: Record<string, WorkflowScript>,
    hooks: Record<string, HookScript> = {},
  ) {
    this.size = size;
    this.workflows = new Map(Object.entries(workflows));
    this.hooks = new Map(Object.entries(hooks));
  }

  runHook(call: HookCall): RunningHookCall {
    this.hookCalls.push(structuredClone(call));
    const script = this.hooks.get(`${call.workflow}.${call.hook}`) ?? {};
    let stop: (reason: string) => void = () => undefined;
    const result = new Promise<unknown>((resolve, reject) => {
      stop = (reason) => {
        this.stopped.push(`${call.workflow}.${call.hook}: ${reason}`);
        reject(new Error(`${call.hook} was stopped: ${reason}`));
      };
      if (script.hangs) return;
      setImmediate(() => (script.error ? reject(script.error) : resolve(script.value)));
    });
    return { result, stop: (reason) => stop(reason), droppedOutput: { writes: 1, bytes: 10 } };
  }

  runWorkflow(
    call: WorkflowCall,
    onWindow: (source: string, window: StatsWindow) => void,
  ): PlacedWorkflow {
    // What a placement sends must survive the wire: JSON in, JSON out.
    this.workflowCalls.push(JSON.parse(JSON.stringify(call)) as WorkflowCall);
    const script = this.workflows.get(call.workflow);
    if (!script) throw new Error(`no script for '${call.workflow}'`);
    if (script.throws) throw script.throws;
    const cancels = new Map<string, string>();
    this.cancels.set(call.workflow, cancels);
    const enders: ((part: Partial<PlacementPart>) => void)[] = [];
    const parts = script.units.map(
      (unit) =>
        new Promise<PlacementPart>((resolve) => {
          let ended = false;
          const end = (extra: Partial<PlacementPart>): void => {
            if (ended) return;
            ended = true;
            resolve({
              unit: `unit ${unit.source}`,
              cancelled: false,
              published: unit.published ?? {},
              interrupted: 0,
              notes: unit.notes ?? [],
              ...(unit.network ? { network: unit.network } : {}),
              ...(unit.failure !== undefined ? { failure: unit.failure } : {}),
              ...extra,
            });
          };
          enders.push(end);
          if (!unit.untilCancelled) setImmediate(() => setImmediate(() => end({})));
        }),
    );
    const order =
      script.order ??
      script.units.flatMap((u, i) => u.windows.map((_, j): [number, number] => [i, j]));
    setImmediate(() => {
      for (const [i, j] of order) {
        const unit = script.units[i];
        const window = unit?.windows[j];
        if (unit && window) onWindow(unit.source, structuredClone(window));
      }
    });
    return {
      done: Promise.all(parts).then((p) => ({ parts: p })),
      cancel: (reason) => {
        script.units.forEach((unit, i) => {
          if (!cancels.has(unit.source)) cancels.set(unit.source, reason);
          enders[i]?.({ cancelled: true });
        });
      },
      terminateStalled: (quietMs, why) => {
        this.terminations.push({ workflow: call.workflow, quietMs, why });
        if (quietMs > 0) return 0;
        enders.forEach((end, i) => end({ failure: `${script.units[i]?.source} ${why}` }));
        return enders.length;
      },
    };
  }
}
