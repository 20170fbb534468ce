// Turns the windows a cluster job's live snapshots carry (from the owner gate: untrusted input)
// into the dashboard's input: each window checked field by field, told apart by its `dc` label
// (`*`: the whole job), and each (DC, seq) taken once and in order. Pure: no I/O, no clock.
import { MAX_DC_GROUPS } from '../dc-groups.js';
import type { ReportWindow, WindowStep, WindowWorkflow } from '../types.js';

/** Workflows and steps one window may name before it is refused (a plan has far fewer). */
const MAX_WINDOW_WORKFLOWS = 256;
const MAX_WINDOW_STEPS = 1024;

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isMsOrNull = (v: unknown): v is number | null => v === null || isNum(v);
const isText = (v: unknown): v is string => typeof v === 'string' && v.length <= 1000;

function isCounts(v: unknown): v is Record<string, number> {
  return isObj(v) && Object.values(v).every(isCount);
}

function isStep(v: unknown): v is WindowStep {
  return (
    isObj(v) &&
    isText(v['name']) &&
    isCount(v['count']) &&
    isCount(v['failed']) &&
    isMsOrNull(v['p50Ms']) &&
    isMsOrNull(v['p90Ms']) &&
    isMsOrNull(v['p99Ms']) &&
    isMsOrNull(v['maxMs'])
  );
}

function isWorkflow(v: unknown): v is WindowWorkflow {
  if (!isObj(v) || !isText(v['name'])) return false;
  const total = v['total'];
  const steps = v['steps'];
  return (
    isCount(v['vus']) &&
    isCount(v['count']) &&
    isCount(v['failed']) &&
    isNum(v['rps']) &&
    isCounts(v['errors']) &&
    isObj(total) &&
    isCount(total['count']) &&
    isCount(total['ok']) &&
    isCount(total['failed']) &&
    Array.isArray(steps) &&
    steps.length <= MAX_WINDOW_STEPS &&
    steps.every(isStep) &&
    Array.isArray(v['thresholds']) &&
    v['thresholds'].every(
      (t) =>
        isObj(t) &&
        isText(t['target']) &&
        isText(t['expression']) &&
        typeof t['passed'] === 'boolean',
    )
  );
}

/** `raw` as a labelled window, or null when any field is missing or of the wrong kind. */
export function asReportWindow(raw: unknown): ReportWindow | null {
  if (!isObj(raw)) return null;
  const labels = raw['labels'];
  const workflows = raw['workflows'];
  if (
    !isObj(labels) ||
    !Object.values(labels).every(isText) ||
    !Number.isSafeInteger(raw['seq']) ||
    (raw['seq'] as number) < 1 ||
    !isNum(raw['atMs']) ||
    !isNum(raw['elapsedMs']) ||
    !isNum(raw['intervalMs']) ||
    !Array.isArray(workflows) ||
    workflows.length > MAX_WINDOW_WORKFLOWS ||
    !workflows.every(isWorkflow)
  ) {
    return null;
  }
  return raw as unknown as ReportWindow;
}

/** The DC a window belongs to: its `dc` label, `*` (or none) for the whole job. */
export function dcOf(window: ReportWindow): string {
  return window.labels['dc'] ?? '*';
}

export class JobWindowFeed {
  /** The newest seq taken per DC (`*`: the whole job); at most MAX_DC_GROUPS + 1 entries. */
  private readonly lastSeq = new Map<string, number>();
  /** Windows refused: malformed, or from a DC past MAX_DC_GROUPS. */
  refused = 0;

  /** The windows of one snapshot not taken before, in the order given. */
  take(raw: unknown): ReportWindow[] {
    if (!Array.isArray(raw)) return [];
    const out: ReportWindow[] = [];
    for (const item of raw) {
      const w = asReportWindow(item);
      if (w === null) {
        this.refused++;
        continue;
      }
      const dc = dcOf(w);
      const last = this.lastSeq.get(dc);
      if (last === undefined && this.lastSeq.size > MAX_DC_GROUPS) {
        this.refused++;
        continue;
      }
      if (last !== undefined && w.seq <= last) continue; // sent again in a later snapshot
      this.lastSeq.set(dc, w.seq);
      out.push(w);
    }
    return out;
  }
}
