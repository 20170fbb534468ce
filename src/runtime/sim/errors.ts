// Errors the simulator raises: network failures shaped like Node's (a `code` such as
// ECONNREFUSED), and the run failure that always names the seed. Never swallows a cause.

/** Connect refusals, timeouts and resets, with Node's error codes so node code can branch alike. */
export type SimNetworkErrorCode =
  'ECONNREFUSED' | 'ETIMEDOUT' | 'EHOSTUNREACH' | 'ECONNRESET' | 'EADDRINUSE' | 'ENOTCONN';

export class SimNetworkError extends Error {
  readonly code: SimNetworkErrorCode;
  constructor(code: SimNetworkErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.code = code;
    this.name = 'SimNetworkError';
  }
}

/** A simulation run failed: an invariant, a thrown handler, a boot failure or the event budget. */
export class SimulationError extends Error {
  readonly code = 'E_SIMULATION';
  readonly seed: number;
  readonly timeMs: number;
  constructor(seed: number, timeMs: number, message: string, options?: { cause?: unknown }) {
    super(`seed=${seed} t=${timeMs.toFixed(3)}ms: ${message}`, options);
    this.seed = seed;
    this.timeMs = timeMs;
    this.name = 'SimulationError';
  }
}
