// `salvo report` (results JSON → self-contained HTML) and `salvo compare` (two results files →
// per-step changes and verdicts, as a table and optionally HTML), and the `--report` parser.
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError } from 'commander';
import { EXIT, SalvoError, describeError } from '../errors.js';
import {
  KIND_NAMES,
  REPORTER_KINDS,
  parseReportOption,
  type ReporterConfig,
} from '../reporters/config.js';
import { ReporterConfigError } from '../reporters/errors.js';
import { compareResults, comparisonTable } from '../reporters/dashboard/compare.js';
import { writeReportHtml } from '../reporters/dashboard/server.js';
import { RESULTS_SCHEMA, type RunResults } from '../stats/types.js';
import type { CliIo } from './main.js';

/** Commander parser for repeatable `--report kind[:key=value,…]`. */
export function reportOption(value: string, previous: ReporterConfig[] = []): ReporterConfig[] {
  try {
    return [...previous, parseReportOption(value)];
  } catch (error) {
    if (error instanceof ReporterConfigError) throw new InvalidArgumentError(error.message);
    throw error;
  }
}

export const REPORT_KINDS_HELP = `
Reporters (--report kind[:key=value,…], repeatable):
${KIND_NAMES.map((k) => `  ${k.padEnd(13)} ${REPORTER_KINDS[k].help}\n${' '.repeat(16)}e.g. --report ${REPORTER_KINDS[k].example}`).join('\n')}`;

export async function readResults(path: string): Promise<RunResults> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new SalvoError('E_USAGE', `cannot read ${path}: ${describeError(error)}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new SalvoError('E_USAGE', `${path} is not JSON: ${describeError(error)}`);
  }
  const d = doc as Partial<RunResults> | null;
  if (
    typeof d !== 'object' ||
    d === null ||
    d.schema !== RESULTS_SCHEMA ||
    !Array.isArray(d.workflows)
  ) {
    throw new SalvoError(
      'E_USAGE',
      `${path} is not a salvo results file (expected "schema": "${RESULTS_SCHEMA}")`,
    );
  }
  return d as RunResults;
}

export async function reportCommand(
  file: string,
  opts: { out?: string },
  io: CliIo,
): Promise<number> {
  const results = await readResults(file);
  const out = opts.out ?? `${file.replace(/\.json$/i, '')}.html`;
  await writeReportHtml(out, {
    mode: 'report',
    title:
      results.distributed !== undefined
        ? `salvo job ${results.distributed.job} (${results.run.file})`
        : `salvo run ${results.run.file}`,
    results,
    series: results.series ?? [],
  });
  io.stdout.write(`report: ${out}\n`);
  return EXIT.ok;
}

export async function compareCommand(
  baseFile: string,
  nextFile: string,
  opts: { out?: string },
  io: CliIo,
): Promise<number> {
  const [base, next] = await Promise.all([readResults(baseFile), readResults(nextFile)]);
  const comparison = compareResults(base, next, { base: baseFile, next: nextFile });
  io.stdout.write(comparisonTable(comparison));
  if (opts.out) {
    await writeReportHtml(opts.out, {
      mode: 'compare',
      title: `salvo compare ${baseFile} → ${nextFile}`,
      results: next,
      series: next.series ?? [],
      comparison,
    });
    io.stdout.write(`comparison: ${opts.out}\n`);
  }
  return comparison.verdict === 'regressed' ? EXIT.thresholdsFailed : EXIT.ok;
}
