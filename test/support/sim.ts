// Test support for simulation tests: one node:test test per seed, SALVO_SIM_SEED to replay one
// seed, and failures that name the seed and the exact command that replays them. Never
// invents randomness of its own: the seed list is the only input.

import { test } from 'node:test';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Simulation, type SimulationOptions } from '../../src/runtime/sim/index.js';

/** The repository root (tests run compiled from dist/test/…). */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** Default per-seed wall-clock budget for one sim test. */
export const DEFAULT_SIM_TEST_TIMEOUT_MS = 120_000;
/** Log lines of the failing run quoted in the failure message. */
const FAILURE_LOG_LINES = 40;

export interface SimTestOptions {
  seeds: number | readonly number[];
  timeoutMs?: number;
  /** The compiled test file (dist/test/….test.js); derived from the caller when omitted. */
  file?: string;
  /** Options for each Simulation (the seed is filled in). */
  sim?: Omit<SimulationOptions, 'seed'>;
}

export type SimTestBody = (sim: Simulation, seed: number) => Promise<void>;

/**
 * `count` consecutive seeds from `base`; env SALVO_SIM_SEEDS=N overrides the count and
 * SALVO_SIM_SEED_BASE=B the first seed (soak runs split over processes).
 */
export function seedsFrom(count: number, base = 1): number[] {
  const override = process.env['SALVO_SIM_SEEDS'];
  const n = override !== undefined && /^\d+$/.test(override) ? Number(override) : count;
  const baseOverride = process.env['SALVO_SIM_SEED_BASE'];
  const first =
    baseOverride !== undefined && /^\d+$/.test(baseOverride) ? Number(baseOverride) : base;
  return Array.from({ length: n }, (_, i) => first + i);
}

/** The seed chosen with SALVO_SIM_SEED, if any. */
export function replaySeed(): number | undefined {
  const raw = process.env['SALVO_SIM_SEED'];
  if (raw === undefined || raw.trim() === '') {
    return undefined;
  }
  const seed = Number(raw);
  if (!Number.isFinite(seed)) {
    throw new Error(`SALVO_SIM_SEED must be a number, got ${JSON.stringify(raw)}`);
  }
  return seed;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Double-quotes `text` for a POSIX shell, escaping only what the shell would interpret. */
export function shellDoubleQuote(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '\\') {
      const next = text[i + 1];
      out += next === undefined || '$`"\\\n'.includes(next) ? '\\\\' : '\\';
    } else if (c === '$' || c === '`' || c === '"') {
      out += `\\${c}`;
    } else {
      out += c;
    }
  }
  return `${out}"`;
}

/** The command that runs exactly this seed of this test again. */
export function replayCommand(name: string, seed: number, file: string): string {
  return `SALVO_SIM_SEED=${seed} node --test --test-name-pattern=${shellDoubleQuote(escapeRegExp(name))} ${file}`;
}

/** The compiled test file that called into this module, relative to the repository root. */
/** A stack path as the compiled test file to run (source-mapped frames name the .ts source). */
function compiledPath(path: string): string {
  const rel = relative(ROOT, path);
  return rel.startsWith('test/') && rel.endsWith('.ts')
    ? `dist/${rel.slice(0, -'.ts'.length)}.js`
    : rel;
}

export function callerFile(): string {
  const stack = new Error().stack ?? '';
  const self = compiledPath(fileURLToPath(import.meta.url));
  for (const line of stack.split('\n').slice(1)) {
    const match = /(file:\/\/[^\s)]+?|\/[^\s)]+?):\d+:\d+\)?$/.exec(line.trim());
    const location = match?.[1];
    if (location === undefined) {
      continue;
    }
    const path = location.startsWith('file://') ? fileURLToPath(location) : location;
    if (compiledPath(path) !== self && !path.startsWith('node:')) {
      return compiledPath(path);
    }
  }
  return 'dist/test/<file>.test.js';
}

/** A sim test failed: the message names the seed and the replay command. */
export class SimTestFailure extends Error {
  constructor(
    readonly seed: number,
    readonly replay: string,
    message: string,
    options: { cause: unknown },
  ) {
    super(message, options);
    this.name = 'SimTestFailure';
  }
}

/** Runs `body` on a fresh Simulation for `seed`; rethrows any failure with seed and replay command. */
export async function runSimCase(
  name: string,
  seed: number,
  file: string,
  body: SimTestBody,
  simOptions?: Omit<SimulationOptions, 'seed'>,
): Promise<void> {
  const sim = new Simulation({ ...simOptions, seed });
  try {
    await body(sim, seed);
  } catch (error) {
    const replay = replayCommand(name, seed, file);
    const reason = error instanceof Error ? (error.stack ?? error.message) : String(error);
    const logs = sim.logs.slice(-FAILURE_LOG_LINES);
    const message = [
      `sim test "${name}" failed with seed=${seed} at t=${sim.nowMs.toFixed(3)}ms`,
      `replay: ${replay}`,
      reason,
      ...(logs.length > 0 ? [`last ${logs.length} log lines:`, ...logs.map((l) => `  ${l}`)] : []),
    ].join('\n');
    throw new SimTestFailure(seed, replay, message, { cause: error });
  }
}

/** Registers one test per seed, named `<name> seed=<n>`. */
export function simTest(name: string, options: SimTestOptions, body: SimTestBody): void {
  const file = options.file ?? callerFile();
  const listed = typeof options.seeds === 'number' ? [options.seeds] : [...options.seeds];
  const chosen = replaySeed();
  const seeds = chosen === undefined ? listed : [chosen];
  const timeout = options.timeoutMs ?? DEFAULT_SIM_TEST_TIMEOUT_MS;
  for (const seed of seeds) {
    test(`${name} seed=${seed}`, { timeout }, () =>
      runSimCase(name, seed, file, body, options.sim),
    );
  }
}
