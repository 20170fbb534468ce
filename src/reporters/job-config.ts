// The reporters a cluster job carries (`job.submit` `reports`): how many, each checked by the
// same validator as `salvo run --report`, and file paths confined to the job's report directory
// on its owner gate. Pure: path arithmetic only, no file is touched here.
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { validateReporterConfig, type ReporterConfig } from './config.js';
import { ReporterConfigError } from './errors.js';

/** Reporters one job may carry (its workflows' configs and `--report` together). */
export const MAX_JOB_REPORTERS = 16;

/** The option holding a file path, for the kinds that write a file. */
export function reporterPath(config: ReporterConfig): string | undefined {
  switch (config.kind) {
    case 'json':
    case 'csv':
    case 'jsonl':
    case 'junit':
    case 'sqlite':
      return config.path;
    default:
      return undefined;
  }
}

/**
 * `path` resolved inside `dir`; throws when it is absolute or climbs out of it (`..`), so a job
 * cannot write anywhere else on its gate.
 */
export function confinedPath(dir: string, path: string, what: string): string {
  const base = resolve(dir);
  const full = resolve(base, path);
  const rel = relative(base, full);
  if (
    isAbsolute(path) ||
    rel === '' ||
    rel === '..' ||
    rel.startsWith(`..${sep}`) ||
    isAbsolute(rel)
  ) {
    throw new ReporterConfigError(
      `${what}: path '${path}' is outside the job's report directory; give a relative file name such as 'results.json' (it is written under <gate data dir>/reports/<job>/)`,
    );
  }
  return full;
}

/** The config with its file path (if any) resolved inside `dir`. */
export function confineReporter(config: ReporterConfig, dir: string, what: string): ReporterConfig {
  const path = reporterPath(config);
  if (path === undefined) return config;
  return { ...config, path: confinedPath(dir, path, what) } as ReporterConfig;
}

/**
 * Checks a job's reporter list as it arrives (from a client or the wire): at most
 * MAX_JOB_REPORTERS, each a valid config of a built-in kind, file paths relative and inside the
 * report directory. Returns the normalised configs; throws ReporterConfigError naming the entry.
 */
export function validateJobReporters(input: unknown): ReporterConfig[] {
  if (input === undefined || input === null) return [];
  if (!Array.isArray(input)) {
    throw new ReporterConfigError('reports must be a list of reporter configs');
  }
  if (input.length > MAX_JOB_REPORTERS) {
    throw new ReporterConfigError(
      `a job carries at most ${MAX_JOB_REPORTERS} reporters, got ${input.length}`,
    );
  }
  return input.map((raw: unknown, i) => {
    const what = `reports[${i}]`;
    let config: ReporterConfig;
    try {
      config = validateReporterConfig(raw);
    } catch (error) {
      if (error instanceof ReporterConfigError)
        throw new ReporterConfigError(`${what}: ${error.message}`);
      throw error;
    }
    // Checked against a stand-in directory: only the shape of the path matters here.
    const path = reporterPath(config);
    if (path !== undefined) confinedPath(resolve('/job-reports'), path, `${what} (${config.kind})`);
    return config;
  });
}
