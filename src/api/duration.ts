// Human durations ("30s", "1m30s", "500ms", "1.5h") to milliseconds, with errors that say
// which forms are accepted. Shared by the authoring API and the CLI.

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d+)?)(us|ms|s|m|h)/y;

export const DURATION_FORMS = 'a number with a unit: us, ms, s, m or h, e.g. 500ms, 30s, 1m30s, 2h';

/** A duration as the user may write it: a string like "30s", or a number of milliseconds. */
export type Duration = string | number;

/** Parses a duration; returns the reason it is invalid instead of throwing. */
export function tryParseDuration(
  input: Duration,
): { ok: true; ms: number } | { ok: false; reason: string } {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) {
      return { ok: false, reason: `${input} is not a non-negative number of milliseconds` };
    }
    return { ok: true, ms: input };
  }
  if (typeof input !== 'string')
    return { ok: false, reason: `expected a string, got ${typeof input}` };
  const text = input.trim();
  if (text === '') return { ok: false, reason: 'it is empty' };
  if (/^\d+(\.\d+)?$/.test(text)) {
    return { ok: false, reason: `'${text}' has no unit` };
  }
  let total = 0;
  let pos = 0;
  while (pos < text.length) {
    PART.lastIndex = pos;
    const match = PART.exec(text);
    if (!match) return { ok: false, reason: `'${text}' is not understood at '${text.slice(pos)}'` };
    const [, amount, unit] = match;
    total += Number(amount) * (UNIT_MS[unit ?? 'ms'] ?? 1);
    pos = PART.lastIndex;
  }
  return { ok: true, ms: total };
}

/** Parses a duration or throws `makeError(message)` with a message naming `what`. */
export function parseDuration(
  input: Duration,
  what: string,
  makeError: (message: string) => Error,
): number {
  const parsed = tryParseDuration(input);
  if (parsed.ok) return parsed.ms;
  return throwWith(
    makeError(
      `${what}: invalid duration ${JSON.stringify(input)} (${parsed.reason}); use ${DURATION_FORMS}`,
    ),
  );
}

function throwWith(error: Error): never {
  throw error;
}

/** Formats milliseconds compactly for messages: 1500 → "1.5s", 90000 → "1m30s". */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(2))}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return seconds === 0 ? `${minutes}m` : `${minutes}m${seconds}s`;
}
