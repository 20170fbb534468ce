// Owns the lifecycle of one pool job: its states and the only transitions between them.
// Pure data and predicates; never holds a job, never performs I/O.

/**
 * ```text
 * created → queued → running → completed
 *              │        │
 *              └────────┴→ cancel_requested → draining → finalizing → completed
 *                                 └→ completed   (natural completion raced the cancel)
 * ```
 * Every non-terminal state may also become `failed` when the worker session dies or is replaced.
 * `queued → completed` is legal: a fast job may finish before any `running` snapshot.
 */
export const JOB_STATES = [
  'created',
  'queued',
  'running',
  'cancel_requested',
  'draining',
  'finalizing',
  'completed',
  'failed',
] as const;

export type JobState = (typeof JOB_STATES)[number];

const TRANSITIONS: { readonly [S in JobState]: readonly JobState[] } = {
  created: ['queued', 'failed'],
  queued: ['running', 'cancel_requested', 'completed', 'failed'],
  running: ['completed', 'cancel_requested', 'failed'],
  cancel_requested: ['completed', 'draining', 'failed'],
  draining: ['finalizing', 'failed'],
  finalizing: ['completed', 'failed'],
  completed: [],
  failed: [],
};

const JOB_STATE_SET: ReadonlySet<string> = new Set(JOB_STATES);

export function isJobState(value: unknown): value is JobState {
  return typeof value === 'string' && JOB_STATE_SET.has(value);
}

/** Whether `from → to` is a legal step of the job lifecycle (staying put is not a step). */
export function canTransition(from: JobState, to: JobState): boolean {
  return TRANSITIONS[from].includes(to);
}

export function isTerminal(state: JobState): boolean {
  return state === 'completed' || state === 'failed';
}

/**
 * Whether a worker may report `state` in a `status_snapshot`: only the states it reaches on its
 * own. Terminal states travel as `job_completed`/`finalize_completed`; the cancellation phases
 * are driven by explicit control messages from the main thread.
 */
export function allowedInStatusSnapshot(state: JobState): boolean {
  return state === 'queued' || state === 'running';
}
