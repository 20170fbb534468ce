// `salvo run` options beyond the run's shape: `-e KEY=VALUE` and `--env-file` (read by the
// workflow through `env` from 'salvo'), a config file (`--config`, else salvo.config.json /
// .ts / .js beside the workflow or in the working directory), `--iterations N` and
// `--http-debug`. Flags given on the command line win over the config file.
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InvalidArgumentError, type Command } from 'commander';
import { tryParseDuration } from '../api/duration.js';
import { sharedIterations } from '../api/executors.js';
import type { AnyWorkflow } from '../api/workflow.js';
import { HTTP_DEBUG_ENV } from '../engine/request-groups.js';
import { OptionError } from '../errors.js';

export const CONFIG_FILE_NAMES = ['salvo.config.ts', 'salvo.config.js', 'salvo.config.json'];
/** Keys a config file may set (the `salvo run` options of the same names). */
export const CONFIG_KEYS = [
  'vus',
  'duration',
  'rate',
  'workers',
  'target',
  'out',
  'csv',
  'iterations',
  'env',
  'envFile',
  'httpDebug',
  'quiet',
] as const;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function envOption(
  value: string,
  previous: Record<string, string> = {},
): Record<string, string> {
  const eq = value.indexOf('=');
  const key = eq === -1 ? '' : value.slice(0, eq);
  if (!ENV_NAME.test(key)) {
    throw new InvalidArgumentError(
      "expected KEY=VALUE with KEY made of letters, digits and '_', e.g. -e HOST=example.com.",
    );
  }
  return { ...previous, [key]: value.slice(eq + 1) };
}

/** Adds the options this module owns to the `run` command. */
export function addRunFeatureOptions(cmd: Command): Command {
  return cmd
    .option(
      '-e, --env <KEY=VALUE>',
      'a variable the workflow reads with env (repeatable)',
      envOption,
      undefined,
    )
    .option('--env-file <file>', 'read KEY=VALUE lines (dotenv format) as variables')
    .option(
      '--config <file>',
      'options file (JSON, or .ts/.js exporting them); default salvo.config.*',
    )
    .option(
      '--iterations <n>',
      'run exactly n iterations per workflow, shared by its VUs',
      positiveInt,
    )
    .option('--http-debug', 'print every HTTP request and response (bodies truncated) to stderr');
}

function positiveInt(value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1) {
    throw new InvalidArgumentError('expected a whole number greater than zero.');
  }
  return Number(value);
}

/** Parses dotenv text: KEY=VALUE lines, `#` comments, optional quotes, `export ` prefix. */
export function parseEnvFile(text: string, file: string): Record<string, string> {
  const out: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const body = line.startsWith('export ') ? line.slice(7).trim() : line;
    const eq = body.indexOf('=');
    const key = eq === -1 ? '' : body.slice(0, eq).trim();
    if (!ENV_NAME.test(key)) {
      throw new OptionError(
        `--env-file ${file}:${i + 1}: expected KEY=VALUE, got ${JSON.stringify(raw)}`,
      );
    }
    let value = body.slice(eq + 1).trim();
    const q = value[0];
    if ((q === '"' || q === "'") && value.endsWith(q) && value.length >= 2) {
      value = value.slice(1, -1);
      if (q === '"') value = value.replace(/\\n/g, '\n').replace(/\\"/g, '"');
    } else {
      const hash = value.indexOf(' #');
      if (hash !== -1) value = value.slice(0, hash).trim();
    }
    out[key] = value;
  });
  return out;
}

function findConfig(workflowFile: string, explicit: string | undefined): string | undefined {
  if (explicit !== undefined) {
    if (!existsSync(explicit)) throw new OptionError(`--config ${explicit}: no such file`);
    return resolve(explicit);
  }
  for (const dir of [dirname(resolve(workflowFile)), process.cwd()]) {
    for (const name of CONFIG_FILE_NAMES) {
      const path = join(dir, name);
      if (existsSync(path)) return path;
    }
  }
  return undefined;
}

async function loadConfig(path: string): Promise<Record<string, unknown>> {
  let value: unknown;
  if (path.endsWith('.json')) {
    try {
      value = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      throw new OptionError(
        `config ${path}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  } else {
    const esbuild = await import('esbuild');
    const built = await esbuild.build({
      entryPoints: [path],
      bundle: true,
      format: 'esm',
      platform: 'node',
      write: false,
      logLevel: 'silent',
    });
    const dir = await mkdtemp(join(tmpdir(), 'salvo-config-'));
    try {
      const out = join(dir, 'config.mjs');
      await writeFile(out, built.outputFiles[0]?.text ?? '');
      const mod = (await import(pathToFileURL(out).href)) as { default?: unknown };
      value = mod.default;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new OptionError(
      `config ${path}: expected an object of options (${CONFIG_KEYS.join(', ')})`,
    );
  }
  const config = value as Record<string, unknown>;
  for (const key of Object.keys(config)) {
    if (!(CONFIG_KEYS as readonly string[]).includes(key)) {
      throw new OptionError(
        `config ${path}: unknown option '${key}'; allowed: ${CONFIG_KEYS.join(', ')}`,
      );
    }
  }
  if (typeof config.duration === 'string') {
    const parsed = tryParseDuration(config.duration);
    if (!parsed.ok) throw new OptionError(`config ${path}: duration: ${parsed.reason}`);
    config.duration = parsed.ms;
  }
  for (const key of ['vus', 'rate', 'workers', 'iterations', 'duration'] as const) {
    const v = config[key];
    if (v !== undefined && (typeof v !== 'number' || !(v > 0))) {
      throw new OptionError(`config ${path}: ${key} must be a number greater than zero`);
    }
  }
  return config;
}

/**
 * Merges the config file under the command-line options, puts -e/--env-file variables and
 * --http-debug into this process's environment (worker threads inherit it), and returns the
 * options the run uses.
 */
export async function prepareRunOptions(
  file: string,
  raw: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const configPath = findConfig(file, raw['config'] as string | undefined);
  const config = configPath === undefined ? {} : await loadConfig(configPath);
  const opts: Record<string, unknown> = { ...config };
  for (const [key, value] of Object.entries(raw)) if (value !== undefined) opts[key] = value;
  const vars: Record<string, string> = {};
  const envFile = opts['envFile'];
  if (typeof envFile === 'string') {
    if (!existsSync(envFile)) throw new OptionError(`--env-file ${envFile}: no such file`);
    Object.assign(vars, parseEnvFile(readFileSync(envFile, 'utf8'), envFile));
  }
  const configEnv = config['env'];
  if (configEnv !== undefined) {
    if (typeof configEnv !== 'object' || configEnv === null) {
      throw new OptionError(`config ${configPath ?? ''}: env must be an object of strings`);
    }
    for (const [k, v] of Object.entries(configEnv)) vars[k] = String(v);
  }
  Object.assign(vars, raw['env'] as Record<string, string> | undefined);
  for (const [k, v] of Object.entries(vars)) process.env[k] = v;
  if (opts['httpDebug'] === true) process.env[HTTP_DEBUG_ENV] = '1';
  return opts;
}

/** `--iterations N`: every workflow runs N iterations shared by its VUs (at most N VUs). */
export function applyIterations(
  workflows: readonly AnyWorkflow[],
  opts: Record<string, unknown>,
): void {
  const n = opts['iterations'];
  if (typeof n !== 'number') return;
  for (const w of workflows) {
    const current = w.definition.executor as {
      vus?: number;
      maxVus?: number;
      preAllocatedVus?: number;
    };
    const vus = (opts['vus'] as number | undefined) ?? current.vus ?? current.preAllocatedVus ?? 1;
    w.definition.executor = sharedIterations({ iterations: n, vus: Math.min(vus, n) });
  }
}
