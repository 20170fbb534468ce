// `env`: the variables given with `salvo run -e KEY=VALUE`, `--env-file` or a config file's
// `env` (and the process environment), read typed. A missing or malformed variable is a
// WorkflowConfigError that names it and how to set it.
import { WorkflowConfigError } from '../errors.js';

function raw(name: string): string | undefined {
  return process.env[name];
}

function missing(name: string, type: string): WorkflowConfigError {
  return new WorkflowConfigError(
    `environment variable ${name} (${type}) is not set; pass it with: salvo run -e ${name}=… (or --env-file)`,
  );
}

/**
 * @example
 * const host = env.string('HOST', 'http://127.0.0.1:8080');
 * const vus = env.number('VUS', 10);
 * const verbose = env.bool('VERBOSE', false);
 */
export const env = {
  /** True when the variable is set (even to ''). */
  has(name: string): boolean {
    return raw(name) !== undefined;
  },
  /** The value; `fallback` when unset; throws when unset without a fallback. */
  string(name: string, fallback?: string): string {
    const v = raw(name);
    if (v !== undefined) return v;
    if (fallback !== undefined) return fallback;
    throw missing(name, 'a string');
  },
  /** The value as a finite number (`1e3`, `-2.5` …). */
  number(name: string, fallback?: number): number {
    const v = raw(name);
    if (v === undefined || v.trim() === '') {
      if (fallback !== undefined) return fallback;
      throw missing(name, 'a number');
    }
    const n = Number(v);
    if (!Number.isFinite(n)) {
      throw new WorkflowConfigError(
        `environment variable ${name} must be a number, got ${JSON.stringify(v)}`,
      );
    }
    return n;
  },
  /** `true/1/yes/on` or `false/0/no/off` (any case). */
  bool(name: string, fallback?: boolean): boolean {
    const v = raw(name);
    if (v === undefined || v.trim() === '') {
      if (fallback !== undefined) return fallback;
      throw missing(name, 'a boolean');
    }
    const lower = v.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(lower)) return true;
    if (['false', '0', 'no', 'off'].includes(lower)) return false;
    throw new WorkflowConfigError(
      `environment variable ${name} must be true/false (1/0, yes/no, on/off), got ${JSON.stringify(v)}`,
    );
  },
};
