// Owns the results document (`salvo.results/v1`): assembling it from workflow results and writing
// it as JSON or CSV, atomically (temp file + rename). Never computes statistics itself.

import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  RESULTS_SCHEMA,
  type GeneratorResult,
  type RunResults,
  type WorkflowResult,
} from './types.js';

/** Longest workflow-name part of a default results file name. */
const MAX_FILE_NAME_PART_CHARS = 100;

export type RunMeta = RunResults['run'];

/**
 * The results document: `meta`, the workflows, threshold totals counted from them, and the
 * generator's own figures when given.
 */
export function buildRunResults(
  meta: RunMeta,
  workflowResults: readonly WorkflowResult[],
  generator?: GeneratorResult,
): RunResults {
  let total = 0;
  let passed = 0;
  for (const workflow of workflowResults) {
    for (const threshold of workflow.thresholds) {
      total++;
      if (threshold.passed) passed++;
    }
  }
  const results: RunResults = {
    schema: RESULTS_SCHEMA,
    run: meta,
    thresholds: { total, passed, failed: total - passed },
    workflows: [...workflowResults],
  };
  if (generator !== undefined) results.generator = generator;
  return results;
}

let tempCounter = 0;

/** Writes `content` to `path` via a temp file in the same directory and a rename. */
async function writeAtomically(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.${++tempCounter}.tmp`;
  try {
    await writeFile(temp, content, 'utf8');
    await rename(temp, path);
  } catch (error) {
    // Remove the partial temp file, then report the original failure.
    await rm(temp, { force: true });
    throw error;
  }
}

/** Pretty JSON, atomically, creating parent directories. */
export async function writeResultsJson(path: string, results: RunResults): Promise<void> {
  await writeAtomically(path, `${JSON.stringify(results, null, 2)}\n`);
}

/** RFC 4180 quoting: fields with comma, quote, CR or LF are quoted, quotes doubled. */
export function csvField(value: string | number): string {
  const text = typeof value === 'number' ? String(value) : value;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export const CSV_COLUMNS = [
  'workflow',
  'step',
  'count',
  'ok',
  'failed',
  'rps',
  'min_ms',
  'mean_ms',
  'p50_ms',
  'p75_ms',
  'p90_ms',
  'p95_ms',
  'p99_ms',
  'p999_ms',
  'max_ms',
  'stdev_ms',
  'errors',
] as const;

/** One row per step (header first), CRLF line ends as RFC 4180 asks. */
export function resultsToCsv(results: RunResults): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const workflow of results.workflows) {
    for (const step of workflow.steps) {
      const l = step.latencyMs;
      const errors = Object.entries(step.errors)
        .map(([kind, n]) => `${kind}=${n}`)
        .join(';');
      const row: (string | number)[] = [
        workflow.name,
        step.name,
        step.count,
        step.ok,
        step.failed,
        step.rps,
        l.min,
        l.mean,
        l.p50,
        l.p75,
        l.p90,
        l.p95,
        l.p99,
        l.p999,
        l.max,
        l.stdev,
        errors,
      ];
      lines.push(row.map(csvField).join(','));
    }
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** The CSV summary, atomically, creating parent directories. */
export async function writeResultsCsv(path: string, results: RunResults): Promise<void> {
  await writeAtomically(path, resultsToCsv(results));
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** A workflow name made safe as a file name part: [A-Za-z0-9._-], no leading dot, bounded. */
export function sanitizeFileNamePart(name: string): string {
  const safe = name
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[._]+/, '')
    .slice(0, MAX_FILE_NAME_PART_CHARS);
  return safe === '' ? 'workflow' : safe;
}

/** `<dir>/<workflow>-<YYYYMMDD-HHMMSS>.json`, in local time. */
export function defaultResultsPath(dir: string, workflowName: string, date: Date): string {
  const stamp =
    `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}-` +
    `${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}`;
  return join(dir, `${sanitizeFileNamePart(workflowName)}-${stamp}.json`);
}
