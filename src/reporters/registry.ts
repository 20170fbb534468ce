// Builds reporters from their configuration (the `kind` table in config.ts) and gathers a
// run's reporters from the workflow file and the command line. Heavy client libraries are
// loaded by each reporter when it starts, not here.
import type { AnyWorkflow } from '../api/workflow.js';
import { csvReporter, jsonlReporter, jsonReporter, junitReporter } from './files.js';
import { graphiteReporter, influxReporter } from './lines.js';
import { otlpReporter } from './otlp.js';
import { prometheusReporter, pushgatewayReporter, remoteWriteReporter } from './prometheus.js';
import { redisReporter } from './redis.js';
import type { ReporterEntry } from './runner.js';
import { mysqlDialect, postgresDialect, sqlReporter, sqliteDialect } from './sql.js';
import { statsdReporter } from './statsd.js';
import type { Reporter } from './types.js';
import {
  isCustomReporter,
  validateReporterConfig,
  type ReporterConfig,
  type ReporterSpec,
} from './config.js';
import { ReporterConfigError } from './errors.js';

export function createReporter(config: ReporterConfig): Reporter {
  switch (config.kind) {
    case 'json':
      return jsonReporter(config.path);
    case 'csv':
      return csvReporter(config.path);
    case 'jsonl':
      return jsonlReporter(config.path);
    case 'junit':
      return junitReporter(config.path, config.suite);
    case 'prometheus':
      return prometheusReporter(config);
    case 'pushgateway':
      return pushgatewayReporter(config);
    case 'remote-write':
      return remoteWriteReporter(config);
    case 'statsd':
      return statsdReporter(config);
    case 'influx':
      return influxReporter(config);
    case 'otlp':
      return otlpReporter(config);
    case 'postgres':
      return sqlReporter('postgres', () => postgresDialect(config.url), config.table);
    case 'mysql':
      return sqlReporter('mysql', () => mysqlDialect(config.url), config.table);
    case 'sqlite':
      return sqlReporter('sqlite', () => sqliteDialect(config.path), config.table);
    case 'redis':
      return redisReporter(config);
    case 'graphite':
      return graphiteReporter(config);
  }
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
