// Parsers for command-line option values: each rejects a bad value with a message naming the
// accepted forms (commander prefixes it with the option's name).
import { InvalidArgumentError } from 'commander';
import { DURATION_FORMS, formatMs, tryParseDuration } from '../api/duration.js';
import { MAX_JOB_TIMEOUT_MS, MIN_JOB_TIMEOUT_MS } from '../cluster/jobs/job-timeouts.js';

export function durationOption(value: string): number {
  const parsed = tryParseDuration(value);
  if (!parsed.ok) throw new InvalidArgumentError(`${parsed.reason}; use ${DURATION_FORMS}.`);
  if (parsed.ms <= 0) throw new InvalidArgumentError('must be longer than zero.');
  return parsed.ms;
}

/** A job's timeout (`salvo submit --timeout`): a duration from 1s to 24h, whole milliseconds. */
export function jobTimeoutOption(value: string): number {
  const forms = `use ${DURATION_FORMS}, from ${formatMs(MIN_JOB_TIMEOUT_MS)} to ${MAX_JOB_TIMEOUT_MS / 3_600_000}h`;
  const parsed = tryParseDuration(value);
  if (!parsed.ok) throw new InvalidArgumentError(`${parsed.reason}; ${forms}.`);
  const ms = Math.round(parsed.ms);
  if (ms < MIN_JOB_TIMEOUT_MS || ms > MAX_JOB_TIMEOUT_MS) {
    throw new InvalidArgumentError(`'${value.trim()}' is out of range; ${forms}.`);
  }
  return ms;
}

/** A duration, or a plain number of milliseconds (as the option's default is shown). */
export function msDurationOption(value: string): number {
  if (/^\d+(\.\d+)?$/.test(value.trim())) {
    const ms = Number(value);
    if (ms <= 0) throw new InvalidArgumentError('must be longer than zero.');
    return ms;
  }
  try {
    return durationOption(value);
  } catch (error) {
    if (!(error instanceof InvalidArgumentError)) throw error;
    throw new InvalidArgumentError(
      `${error.message.replace(/\.$/, '')}, or a number of milliseconds.`,
    );
  }
}

export function positiveIntOption(max: number): (value: string) => number {
  return (value: string) => {
    if (!/^\d+$/.test(value.trim())) {
      throw new InvalidArgumentError(`expected a whole number from 1 to ${max}.`);
    }
    const n = Number(value);
    if (n < 1 || n > max)
      throw new InvalidArgumentError(`expected a whole number from 1 to ${max}.`);
    return n;
  };
}

export function positiveNumberOption(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new InvalidArgumentError('expected a number greater than zero, e.g. 100 or 12.5.');
  }
  return n;
}

export function portOption(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n > 65535)
    throw new InvalidArgumentError('expected a port number from 0 to 65535 (0 picks a free port).');
  return n;
}

export function urlOption(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch (error) {
    throw new InvalidArgumentError(
      `expected an absolute http:// or https:// URL, e.g. http://127.0.0.1:8080 (${(error as Error).message}).`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError(
      `the scheme must be http or https, not ${url.protocol.replace(':', '')}.`,
    );
  }
  return value;
}

/** A URL for `salvo ping`: without a scheme (`host:port/path`), http:// is assumed. */
export function headerOption(
  value: string,
  previous: Record<string, string> = {},
): Record<string, string> {
  const colon = value.indexOf(':');
  if (colon <= 0)
    throw new InvalidArgumentError("expected 'Name: value', e.g. 'Authorization: Bearer x'.");
  return { ...previous, [value.slice(0, colon).trim()]: value.slice(colon + 1).trim() };
}
