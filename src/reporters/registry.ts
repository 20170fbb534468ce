// Builds reporters from their configuration (the `kind` table in config.ts) and gathers a
// run's reporters from the workflow file and the command line. Heavy client libraries are
// loaded by each reporter when it starts, not here.
import type { AnyWorkflow } from '../api/workflow.js';
import type { ReporterEntry } from './runner.js';
import type { Reporter } from './types.js';
import {
  isCustomReporter,
  validateReporterConfig,
  type ReporterConfig,
  type ReporterSpec,
} from './config.js';
import { ReporterConfigError } from './errors.js';

/** The sink behind a config; its module (and client library) is loaded only here. */
async function load(config: ReporterConfig): Promise<Reporter> {
  switch (config.kind) {
    case 'json':
      return (await import('./files.js')).jsonReporter(config.path);
    case 'csv':
      return (await import('./files.js')).csvReporter(config.path);
    case 'jsonl':
      return (await import('./files.js')).jsonlReporter(config.path);
    case 'junit':
      return (await import('./files.js')).junitReporter(config.path, config.suite);
    case 'prometheus':
      return (await import('./prometheus.js')).prometheusReporter(config);
    case 'pushgateway':
      return (await import('./prometheus.js')).pushgatewayReporter(config);
    case 'remote-write':
      return (await import('./prometheus.js')).remoteWriteReporter(config);
    case 'statsd':
      return (await import('./statsd.js')).statsdReporter(config);
    case 'influx':
      return (await import('./lines.js')).influxReporter(config);
    case 'otlp':
      return (await import('./otlp.js')).otlpReporter(config);
    case 'postgres': {
      const sql = await import('./sql.js');
      return sql.sqlReporter('postgres', () => sql.postgresDialect(config.url), config.table);
    }
    case 'mysql': {
      const sql = await import('./sql.js');
      return sql.sqlReporter('mysql', () => sql.mysqlDialect(config.url), config.table);
    }
    case 'sqlite': {
      const sql = await import('./sql.js');
      return sql.sqlReporter('sqlite', () => sql.sqliteDialect(config.path), config.table);
    }
    case 'redis':
      return (await import('./redis.js')).redisReporter(config);
    case 'graphite':
      return (await import('./lines.js')).graphiteReporter(config);
  }
}

/** The name a config's reporter goes by in the summary. */
export function reporterName(config: ReporterConfig): string {
  if (config.kind === 'statsd' && config.flavor && config.flavor !== 'statsd')
    return `statsd-${config.flavor}`;
  if (config.kind === 'influx') return `influx${config.version ?? 1}`;
  return config.kind;
}

/**
 * A built-in reporter, loaded on its first call: `salvo run` does not pay for client libraries
 * it does not use, and a sink that fails to load fails like any other reporter call.
 */
export function createReporter(config: ReporterConfig): Reporter {
  let real: Promise<Reporter> | undefined;
  const get = (): Promise<Reporter> => (real ??= load(config));
  return {
    name: reporterName(config),
    start: async (start) => void (await (await get()).start?.(start)),
    windows: async (batch) => void (await (await get()).windows?.(batch)),
    final: async (report) => void (await (await get()).final?.(report)),
    close: async () => {
      if (real) await (await real).close?.();
    },
  };
}

/** One entry from a config object or a custom reporter object (checked for its shape). */
export function entryFor(spec: ReporterSpec, where: string): ReporterEntry {
  if (isCustomReporter(spec)) {
    for (const method of ['start', 'windows', 'final', 'close'] as const) {
      const m = (spec as unknown as Record<string, unknown>)[method];
      if (m !== undefined && typeof m !== 'function') {
        throw new ReporterConfigError(
          `${where}: custom reporter '${spec.name}': '${method}' must be a function`,
        );
      }
    }
    return { reporter: spec };
  }
  let config: ReporterConfig;
  try {
    config = validateReporterConfig(spec);
  } catch (error) {
    if (error instanceof ReporterConfigError)
      throw new ReporterConfigError(`${where}: ${error.message}`);
    throw error;
  }
  return { reporter: createReporter(config), critical: config.critical === true };
}

/** The run's reporters: each workflow's `reporters` option, then the `--report` values. */
export function gatherReporters(
  workflows: readonly AnyWorkflow[],
  fromCli: readonly ReporterConfig[],
): ReporterEntry[] {
  const entries: ReporterEntry[] = [];
  const seen = new Set<unknown>();
  for (const wf of workflows) {
    for (const spec of wf.definition.reporters) {
      if (seen.has(spec)) continue; // the same object shared by several workflows runs once
      seen.add(spec);
      entries.push(entryFor(spec, `workflow '${wf.name}'`));
    }
  }
  for (const config of fromCli) entries.push(entryFor(config, '--report'));
  return entries;
}
