// Salvo's typed errors: every error a user can meet has a stable `code`, and the CLI maps
// codes to documented exit codes. Never throw a bare Error across a module boundary.

/** Documented process exit codes of the `salvo` command (see README "Exit codes"). */
export const EXIT = {
  ok: 0,
  /** An unexpected internal error: a bug in Salvo. */
  internal: 1,
  /** Bad options or a bad workflow file (missing, syntax or type error, cycle, invalid config). */
  badInput: 2,
  /** The run completed but at least one threshold failed. */
  thresholdsFailed: 3,
  /** The run could not do its job: a hook failed or timed out, or no request succeeded. */
  runFailed: 4,
  /** Client commands: no gate of --gate answered. */
  clusterUnreachable: 5,
  /** Client commands: the gate refused the client's certificate or token. */
  unauthenticated: 6,
  /** `salvo submit`: the bundled workflow is larger than a gate accepts. */
  bundleTooLarge: 7,
  /** `salvo submit --dcs`: a named datacenter is not in the cluster. */
  unknownDatacenter: 8,
  /** `salvo submit`: a target datacenter has no workers. */
  noWorkers: 9,
  /** `salvo submit --idempotency-key`: the key was used for a different submission. */
  idempotencyConflict: 10,
  /** `salvo status|watch|cancel`: no such job (never submitted, or its record expired). */
  unknownJob: 11,
  /** Client commands: the gate's rate limit for this client; retry later. */
  rateLimited: 12,
  /** Interrupted by Ctrl-C or SIGTERM; partial results were written. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export type SalvoErrorCode =
  | 'E_USAGE'
  | 'E_OPTION'
  | 'E_WORKFLOW_FILE'
  | 'E_WORKFLOW_SYNTAX'
  | 'E_WORKFLOW_TYPE'
  | 'E_WORKFLOW_CONFIG'
  | 'E_STEP_CYCLE'
  | 'E_WORKFLOW_CYCLE'
  | 'E_THRESHOLD_SYNTAX'
  | 'E_HOOK_TIMEOUT'
  | 'E_HOOK_FAILED'
  | 'E_HTTP'
  | 'E_CLIENT'
  | 'E_PROTOCOL'
  | 'E_REPORTER_FAILED'
  | 'E_REPORTER_TIMEOUT'
  | 'E_INTERNAL'
  | ClusterErrorCode;

/** What a gate answers a client command with, each mapped to its own exit code. */
export type ClusterErrorCode =
  | 'E_UNREACHABLE'
  | 'E_UNAUTHENTICATED'
  | 'E_BUNDLE_TOO_LARGE'
  | 'E_UNKNOWN_DC'
  | 'E_NO_WORKERS'
  | 'E_IDEMPOTENCY_CONFLICT'
  | 'E_JOB_UNKNOWN'
  | 'E_RATE_LIMITED';

const CLUSTER_EXIT: Record<ClusterErrorCode, ExitCode> = {
  E_UNREACHABLE: EXIT.clusterUnreachable,
  E_UNAUTHENTICATED: EXIT.unauthenticated,
  E_BUNDLE_TOO_LARGE: EXIT.bundleTooLarge,
  E_UNKNOWN_DC: EXIT.unknownDatacenter,
  E_NO_WORKERS: EXIT.noWorkers,
  E_IDEMPOTENCY_CONFLICT: EXIT.idempotencyConflict,
  E_JOB_UNKNOWN: EXIT.unknownJob,
  E_RATE_LIMITED: EXIT.rateLimited,
};

export class SalvoError extends Error {
  readonly code: SalvoErrorCode;
  constructor(code: SalvoErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A command-line option was unknown, missing or had a value outside its accepted forms. */
export class OptionError extends SalvoError {
  constructor(message: string) {
    super('E_OPTION', message);
  }
}

/** A workflow definition is invalid (bad executor config, duplicate names, bad threshold…). */
export class WorkflowConfigError extends SalvoError {
  constructor(message: string) {
    super('E_WORKFLOW_CONFIG', message);
  }
}

/** Steps of one workflow depend on each other in a cycle. */
export class StepCycleError extends SalvoError {
  readonly cycle: readonly string[];
  constructor(workflow: string, cycle: readonly string[]) {
    super('E_STEP_CYCLE', `workflow '${workflow}': steps form a cycle: ${cycle.join(' → ')}`);
    this.cycle = cycle;
  }
}

/** Workflows of a file depend on each other in a cycle. */
export class WorkflowCycleError extends SalvoError {
  readonly cycle: readonly string[];
  constructor(cycle: readonly string[]) {
    super('E_WORKFLOW_CYCLE', `workflows form a cycle: ${cycle.join(' → ')}`);
    this.cycle = cycle;
  }
}

/** A threshold expression could not be parsed. */
export class ThresholdSyntaxError extends SalvoError {
  constructor(message: string) {
    super('E_THRESHOLD_SYNTAX', message);
  }
}

/** A broken invariant or a module used against its contract: a bug in Salvo, never bad input. */
export class InternalError extends SalvoError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_INTERNAL', message, options);
  }
}

/** Data that crossed a boundary (a statistics window, a histogram) does not have its shape. */
export class MalformedDataError extends SalvoError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_PROTOCOL', message, options);
  }
}

/** The workflow file is missing, unreadable, fails to compile or fails to load. */
export class WorkflowFileError extends SalvoError {
  constructor(
    code: 'E_WORKFLOW_FILE' | 'E_WORKFLOW_SYNTAX' | 'E_WORKFLOW_TYPE',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** A setup or teardown hook threw or ran past its timeout. */
export class HookError extends SalvoError {
  constructor(
    code: 'E_HOOK_TIMEOUT' | 'E_HOOK_FAILED',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** Maps an error to the exit code the CLI documents for it. */
export function exitCodeFor(error: unknown): ExitCode {
  if (!(error instanceof SalvoError)) return EXIT.internal;
  switch (error.code) {
    case 'E_USAGE':
    case 'E_OPTION':
    case 'E_WORKFLOW_FILE':
    case 'E_WORKFLOW_SYNTAX':
    case 'E_WORKFLOW_TYPE':
    case 'E_WORKFLOW_CONFIG':
    case 'E_STEP_CYCLE':
    case 'E_WORKFLOW_CYCLE':
    case 'E_THRESHOLD_SYNTAX':
      return EXIT.badInput;
    case 'E_HOOK_TIMEOUT':
    case 'E_HOOK_FAILED':
    case 'E_HTTP':
    case 'E_CLIENT':
      return EXIT.runFailed;
    case 'E_PROTOCOL':
    case 'E_REPORTER_FAILED':
    case 'E_REPORTER_TIMEOUT':
    case 'E_INTERNAL':
      return EXIT.internal;
    default:
      return CLUSTER_EXIT[error.code];
  }
}

/** A gate refused a client command (or none answered); the code picks the exit code. */
export class ClusterRequestError extends SalvoError {
  constructor(code: ClusterErrorCode, message: string) {
    super(code, message);
  }
}

/** A readable one-line description of any thrown value (never "[object Object]"). */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch (jsonError) {
    return `${String(error)} (unserialisable: ${String(jsonError)})`;
  }
}
