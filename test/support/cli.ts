// Test support: run the real `salvo` command in a child process, find fixtures, make temp dirs.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { RunResults } from '../../src/stats/types.js';

/** The repository root (tests run compiled from dist/test/…). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const BIN = join(ROOT, 'bin', 'salvo.js');
/** One bundle/type-check cache for the whole test run, outside the user's home. */
export const CACHE_DIR = join(tmpdir(), 'salvo-test-cache');

export function fixture(name: string): string {
  return join(ROOT, 'test', 'fixtures', 'workflows', name);
}

export function tempDir(prefix = 'salvo-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliProcess {
  child: ChildProcess;
  /** Resolves when some stderr/stdout output matches `pattern`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  done: Promise<CliResult>;
  /** What the process printed so far. */
  output(): { stdout: string; stderr: string };
}

export function startCli(
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): CliProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, SALVO_CACHE_DIR: CACHE_DIR, NO_COLOR: '1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const watchers: { pattern: RegExp; resolve: () => void }[] = [];
  const check = (): void => {
    for (const w of [...watchers]) {
      if (w.pattern.test(stdout) || w.pattern.test(stderr)) {
        watchers.splice(watchers.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
    check();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    check();
  });
  const done = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return {
    child,
    done,
    output: () => ({ stdout, stderr }),
    waitFor: (pattern, timeoutMs = 30_000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `timed out waiting for ${pattern}; stderr so far:\n${stderr}\nstdout:\n${stdout}`,
              ),
            ),
          timeoutMs,
        );
        watchers.push({
          pattern,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
        check();
      }),
  };
}

/** Runs `salvo …` to completion (bounded by `timeoutMs`, then killed). */
export async function runCli(
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliResult> {
  const proc = startCli(args, options);
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
  try {
    return await proc.done;
  } finally {
    clearTimeout(timer);
  }
}

export function readResults(path: string): RunResults {
  return JSON.parse(readFileSync(path, 'utf8')) as RunResults;
}

let validator: (((data: unknown) => boolean) & { errors?: unknown }) | undefined;

/** Validates a results document against schema/salvo.results.v1.json; returns the errors. */
export function schemaErrors(document: unknown): unknown[] {
  if (!validator) {
    const schema = JSON.parse(
      readFileSync(join(ROOT, 'schema', 'salvo.results.v1.json'), 'utf8'),
    ) as object;
    validator = new Ajv2020({ allErrors: true, strict: false }).compile(schema);
  }
  return validator(document) ? [] : ((validator.errors as unknown[] | undefined) ?? ['invalid']);
}

/**
 * `salvo run <fixture> --target <url> --workers <n> [-q] --out <tmp>/<name>.json [...extra]`:
 * the shape most end-to-end tests share.
 */
export async function runFixture(
  name: string,
  options: { target?: string; workers?: number; quiet?: boolean; extra?: string[] } = {},
): Promise<{ cli: CliResult; out: string }> {
  const out = join(tempDir(), `${name.replace(/\.ts$/, '')}.json`);
  const args = ['run', fixture(name), '--workers', String(options.workers ?? 1), '--out', out];
  if (options.target) args.push('--target', options.target);
  if (options.quiet ?? true) args.push('-q');
  args.push(...(options.extra ?? []));
  return { cli: await runCli(args), out };
}
