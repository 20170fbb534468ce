// Typed errors of the reporters: a bad reporter configuration (exit 2) and a reporter that
// failed or timed out (recorded in the summary, never thrown out of the run).
import { SalvoError } from '../errors.js';

export class ReporterError extends SalvoError {
  constructor(code: 'E_REPORTER_FAILED' | 'E_REPORTER_TIMEOUT', message: string) {
    super(code, message);
  }
}

/** A `--report` value or a workflow's `reporters` entry is invalid. */
export class ReporterConfigError extends SalvoError {
  constructor(message: string) {
    super('E_OPTION', message);
  }
}
