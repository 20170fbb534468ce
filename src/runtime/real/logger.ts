// Owns the real runtime's logger: one JSON object per line (ts, level, msg, fields) to stderr or
// a given sink, filtered by level. Never throws: unserialisable fields are replaced, not fatal.

import type { Logger, LogLevel } from '../types.js';

export const LOG_LEVEL_ORDER: Readonly<Record<LogLevel, number>> = {
  debug: 10,
  info: 20,
  warn: 30,
  error: 40,
};

export type LogSink = (line: string) => void;

const stderrSink: LogSink = (line) => {
  process.stderr.write(line + '\n');
};

export class JsonLineLogger implements Logger {
  constructor(
    private readonly level: LogLevel = 'info',
    private readonly fields: Readonly<Record<string, unknown>> = {},
    private readonly sink: LogSink = stderrSink,
  ) {}

  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void {
    if (LOG_LEVEL_ORDER[level] < LOG_LEVEL_ORDER[this.level]) return;
    const record: Record<string, unknown> = {
      ts: new Date().toISOString(),
      level,
      msg: message,
      ...this.fields,
      ...fields,
    };
    this.sink(serialize(record));
  }

  child(fields: Record<string, unknown>): Logger {
    return new JsonLineLogger(this.level, { ...this.fields, ...fields }, this.sink);
  }
}

function serialize(record: Record<string, unknown>): string {
  try {
    return JSON.stringify(record, replacer);
  } catch (err) {
    // Circular structure or a throwing toJSON: keep the line, say what was lost.
    return JSON.stringify({
      ts: record.ts,
      level: record.level,
      msg: record.msg,
      logError: `fields not serialisable: ${err instanceof Error ? err.message : String(err)}`,
    });
  }
}

function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Error)
    return { name: value.name, message: value.message, stack: value.stack };
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return `<${value.length} bytes>`;
  return value;
}
