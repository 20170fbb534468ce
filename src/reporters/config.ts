// Reporter configuration: the typed form a workflow file uses (`reporters: [...]`), the
// `--report kind[:key=value,…]` form of the command line, and one validator for both that names
// the allowed kinds, options and values. Owns no I/O; registry.ts builds reporters from it.
import type { Reporter } from './types.js';
import { ReporterConfigError } from './errors.js';

interface Common {
  /** Critical reporters keep their buffer when the shared buffer budget runs out. */
  critical?: boolean;
}

export type ReporterConfig = Common &
  (
    | { kind: 'json'; path: string }
    | { kind: 'csv'; path: string }
    | { kind: 'jsonl'; path: string }
    | { kind: 'junit'; path: string; suite?: string }
    | { kind: 'prometheus'; port?: number; host?: string; prefix?: string }
    | { kind: 'pushgateway'; url: string; job?: string; prefix?: string }
    | { kind: 'remote-write'; url: string; prefix?: string }
    | {
        kind: 'statsd';
        host?: string;
        port?: number;
        prefix?: string;
        flavor?: 'statsd' | 'dogstatsd' | 'telegraf';
      }
    | {
        kind: 'influx';
        url: string;
        version?: 1 | 2;
        db?: string;
        bucket?: string;
        org?: string;
        token?: string;
        measurement?: string;
      }
    | { kind: 'otlp'; url: string; service?: string }
    | { kind: 'postgres'; url: string; table?: string }
    | { kind: 'mysql'; url: string; table?: string }
    | { kind: 'sqlite'; path: string; table?: string }
    | { kind: 'redis'; url: string; prefix?: string }
    | { kind: 'graphite'; host?: string; port?: number; prefix?: string }
  );

export type ReporterKind = ReporterConfig['kind'];

/** One kind's options without `kind` (what its reporter factory takes). */
export type OptionsOf<K extends ReporterKind> = Omit<Extract<ReporterConfig, { kind: K }>, 'kind'>;

/** What a workflow's `reporters` option accepts: a built-in sink's config or a custom object. */
export type ReporterSpec = ReporterConfig | Reporter;

type OptionType =
  'string' | 'ident' | 'port' | 'url' | 'bool' | { values: readonly (string | number)[] };

interface OptionSpec {
  type: OptionType;
  required?: boolean;
  help: string;
}

const COMMON: Record<string, OptionSpec> = {
  critical: { type: 'bool', help: 'keep this buffer when the shared budget runs out' },
};
const path = (help: string): Record<string, OptionSpec> => ({
  path: { type: 'string', required: true, help },
});
const prefix: OptionSpec = { type: 'string', help: 'metric name prefix' };

/** Every kind with its options: the single source of help text and validation. */
export const REPORTER_KINDS: Record<
  ReporterKind,
  { help: string; example: string; options: Record<string, OptionSpec> }
> = {
  json: {
    help: 'results JSON file',
    example: 'json:path=out/results.json',
    options: path('file to write'),
  },
  csv: {
    help: 'per-step CSV file',
    example: 'csv:path=out/steps.csv',
    options: path('file to write'),
  },
  jsonl: {
    help: 'JSON lines, one window per line while running, then the summary',
    example: 'jsonl:path=out/windows.jsonl',
    options: path('file to append to'),
  },
  junit: {
    help: 'JUnit XML, one test case per threshold',
    example: 'junit:path=out/junit.xml',
    options: { ...path('file to write'), suite: { type: 'string', help: 'test suite name' } },
  },
  prometheus: {
    help: 'exposition endpoint (/metrics) served during the run',
    example: 'prometheus:port=9464',
    options: {
      port: { type: 'port', help: 'port to listen on (default 9464; 0 picks one)' },
      host: { type: 'string', help: 'address to bind (default 127.0.0.1)' },
      prefix,
    },
  },
  pushgateway: {
    help: 'push to a Prometheus Pushgateway every window and at the end',
    example: 'pushgateway:url=http://127.0.0.1:9091',
    options: {
      url: { type: 'url', required: true, help: 'Pushgateway base URL' },
      job: { type: 'string', help: 'job label (default salvo)' },
      prefix,
    },
  },
  'remote-write': {
    help: 'Prometheus remote-write (protobuf + snappy)',
    example: 'remote-write:url=http://127.0.0.1:9090/api/v1/write',
    options: { url: { type: 'url', required: true, help: 'remote-write endpoint' }, prefix },
  },
  statsd: {
    help: 'StatsD / DogStatsD / Telegraf over UDP',
    example: 'statsd:host=127.0.0.1,port=8125,flavor=dogstatsd',
    options: {
      host: { type: 'string', help: 'default 127.0.0.1' },
      port: { type: 'port', help: 'default 8125' },
      prefix,
      flavor: { type: { values: ['statsd', 'dogstatsd', 'telegraf'] }, help: 'tag syntax' },
    },
  },
  influx: {
    help: 'InfluxDB line protocol over the 1.x (/write) or 2.x (/api/v2/write) API',
    example: 'influx:url=http://127.0.0.1:8086,db=salvo',
    options: {
      url: { type: 'url', required: true, help: 'server base URL' },
      version: { type: { values: [1, 2] }, help: 'API version (default 1)' },
      db: { type: 'string', help: '1.x database (default salvo)' },
      bucket: { type: 'string', help: '2.x bucket (default salvo)' },
      org: { type: 'string', help: '2.x organisation' },
      token: { type: 'string', help: '2.x API token' },
      measurement: { type: 'string', help: 'measurement prefix (default salvo)' },
    },
  },
  otlp: {
    help: 'OpenTelemetry metrics over OTLP/HTTP (JSON)',
    example: 'otlp:url=http://127.0.0.1:4318/v1/metrics',
    options: {
      url: { type: 'url', required: true, help: 'OTLP metrics endpoint' },
      service: { type: 'string', help: 'service.name (default salvo)' },
    },
  },
  postgres: {
    help: 'PostgreSQL rows (TimescaleDB-compatible: a time column, hypertable if available)',
    example: 'postgres:url=postgres://user@127.0.0.1:5432/db',
    options: {
      url: { type: 'url', required: true, help: 'connection URL' },
      table: { type: 'ident', help: 'table name prefix (default salvo)' },
    },
  },
  mysql: {
    help: 'MySQL / MariaDB rows',
    example: 'mysql:url=mysql://root@127.0.0.1:3306/db',
    options: {
      url: { type: 'url', required: true, help: 'connection URL' },
      table: { type: 'ident', help: 'table name prefix (default salvo)' },
    },
  },
  sqlite: {
    help: 'SQLite database file',
    example: 'sqlite:path=out/results.db',
    options: { ...path('database file'), table: { type: 'ident', help: 'table name prefix' } },
  },
  redis: {
    help: 'Redis: a stream of windows and a hash per step',
    example: 'redis:url=redis://127.0.0.1:6379',
    options: { url: { type: 'url', required: true, help: 'redis:// URL' }, prefix },
  },
  graphite: {
    help: 'Graphite plaintext protocol over TCP',
    example: 'graphite:host=127.0.0.1,port=2003',
    options: {
      host: { type: 'string', help: 'default 127.0.0.1' },
      port: { type: 'port', help: 'default 2003' },
      prefix,
    },
  },
};

export const KIND_NAMES = Object.keys(REPORTER_KINDS) as ReporterKind[];

function checkValue(kind: string, key: string, spec: OptionSpec, value: unknown): unknown {
  const bad = (expected: string): never => {
    throw new ReporterConfigError(
      `reporter '${kind}': option '${key}' must be ${expected}, got ${JSON.stringify(value)}`,
    );
  };
  const t = spec.type;
  if (t === 'string')
    return typeof value === 'string' && value !== '' ? value : bad('a non-empty string');
  if (t === 'ident') {
    return typeof value === 'string' && /^[A-Za-z_][A-Za-z0-9_]{0,40}$/.test(value)
      ? value
      : bad("letters, digits and '_' (at most 41, not starting with a digit)");
  }
  if (t === 'bool') {
    if (typeof value === 'boolean') return value;
    if (value === 'true' || value === 'false') return value === 'true';
    return bad('true or false');
  }
  if (t === 'port') {
    const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
    return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 65535
      ? n
      : bad('a port number from 0 to 65535');
  }
  if (t === 'url') {
    if (typeof value === 'string' && URL.canParse(value)) return value;
    return bad('an absolute URL');
  }
  for (const allowed of t.values) {
    if (value === allowed || String(allowed) === value) return allowed;
  }
  return bad(`one of ${t.values.join(', ')}`);
}

/** Checks a config object (from a workflow file or the command line); returns it normalised. */
export function validateReporterConfig(input: unknown): ReporterConfig {
  if (typeof input !== 'object' || input === null) {
    throw new ReporterConfigError(
      `a reporter must be an object with a 'kind' (${KIND_NAMES.join(', ')}) or a custom reporter with a 'name'`,
    );
  }
  const raw = input as Record<string, unknown>;
  const kind = raw['kind'];
  if (typeof kind !== 'string' || !(kind in REPORTER_KINDS)) {
    throw new ReporterConfigError(
      `unknown reporter kind ${JSON.stringify(kind)}; allowed kinds: ${KIND_NAMES.join(', ')}`,
    );
  }
  const options = { ...REPORTER_KINDS[kind as ReporterKind].options, ...COMMON };
  const out: Record<string, unknown> = { kind };
  for (const [key, value] of Object.entries(raw)) {
    if (key === 'kind' || value === undefined) continue;
    const spec = options[key];
    if (!spec) {
      throw new ReporterConfigError(
        `reporter '${kind}': unknown option '${key}'; allowed options: ${Object.keys(options).join(', ')}`,
      );
    }
    out[key] = checkValue(kind, key, spec, value);
  }
  for (const [key, spec] of Object.entries(options)) {
    if (spec.required && out[key] === undefined) {
      throw new ReporterConfigError(
        `reporter '${kind}' needs option '${key}' (${spec.help}), e.g. --report ${REPORTER_KINDS[kind as ReporterKind].example}`,
      );
    }
  }
  return out as unknown as ReporterConfig;
}

/**
 * Parses `kind[:key=value,key=value…]`. A value may contain '=' and ':' (URLs); a ',' inside a
 * value is written '\,'.
 */
export function parseReportOption(text: string): ReporterConfig {
  const colon = text.indexOf(':');
  const kind = (colon < 0 ? text : text.slice(0, colon)).trim();
  const rest = colon < 0 ? '' : text.slice(colon + 1);
  const config: Record<string, unknown> = { kind };
  if (!(kind in REPORTER_KINDS)) {
    throw new ReporterConfigError(
      `--report: unknown kind '${kind}'; allowed kinds: ${KIND_NAMES.join(', ')}`,
    );
  }
  if (rest.trim() !== '') {
    for (const part of rest.split(/(?<!\\),/)) {
      const eq = part.indexOf('=');
      if (eq <= 0) {
        throw new ReporterConfigError(
          `--report ${kind}: expected key=value, got '${part}'; e.g. --report ${REPORTER_KINDS[kind as ReporterKind].example}`,
        );
      }
      config[part.slice(0, eq).trim()] = part.slice(eq + 1).replaceAll('\\,', ',');
    }
  }
  return validateReporterConfig(config);
}

export function isCustomReporter(spec: unknown): spec is Reporter {
  return (
    typeof spec === 'object' &&
    spec !== null &&
    !('kind' in spec) &&
    typeof (spec as { name?: unknown }).name === 'string'
  );
}
