// File reporters: results JSON and CSV (thin adapters over the writers in stats/results.ts),
// JSON lines streamed during the run, and JUnit XML with one test case per threshold.
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeResultsCsv, writeResultsJson } from '../stats/results.js';
import type { RunResults } from '../stats/types.js';
import type { Reporter } from './types.js';

export function jsonReporter(path: string): Reporter {
  return { name: 'json', final: (r) => writeResultsJson(path, r.results) };
}

export function csvReporter(path: string): Reporter {
  return { name: 'csv', final: (r) => writeResultsCsv(path, r.results) };
}

/**
 * One JSON object a line: `{"type":"start",…}`, then `{"type":"window",…}` per window as it
 * comes, then `{"type":"summary","results":…}`. The file is truncated at start.
 */
export function jsonlReporter(path: string): Reporter {
  const line = (value: unknown): string => `${JSON.stringify(value)}\n`;
  return {
    name: 'jsonl',
    async start(start) {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, line({ type: 'start', ...start }));
    },
    windows: (batch) => appendFile(path, batch.map((w) => line({ type: 'window', ...w })).join('')),
    final: (r) => appendFile(path, line({ type: 'summary', results: r.results })),
  };
}

function xml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&apos;');
}

/** JUnit XML: a suite per workflow, a test case per threshold (failed ones carry a <failure>). */
export function junitXml(results: RunResults, suiteName = 'salvo'): string {
  const suites: string[] = [];
  let tests = 0;
  let failures = 0;
  for (const wf of results.workflows) {
    const cases = wf.thresholds.map((t) => {
      const name = `${t.target}: ${t.expression}`;
      const actual = t.actual === null ? 'no data' : `${t.actual}${t.unit}`;
      const body = t.passed
        ? ''
        : `\n      <failure message="${xml(t.message ?? `actual ${actual}`)}" type="threshold">${xml(`${name} — actual ${actual}`)}</failure>\n    `;
      return `    <testcase classname="${xml(`${suiteName}.${wf.name}`)}" name="${xml(name)}" time="${(wf.durationMs / 1000).toFixed(3)}">${body}</testcase>`;
    });
    const failed = wf.thresholds.filter((t) => !t.passed).length;
    tests += cases.length;
    failures += failed;
    suites.push(
      `  <testsuite name="${xml(`${suiteName}.${wf.name}`)}" tests="${cases.length}" failures="${failed}" errors="0" time="${(wf.durationMs / 1000).toFixed(3)}" timestamp="${xml(wf.startedAt ?? results.run.startedAt)}">\n${cases.join('\n')}\n  </testsuite>`,
    );
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="${xml(suiteName)}" tests="${tests}" failures="${failures}" time="${(results.run.durationMs / 1000).toFixed(3)}">\n${suites.join('\n')}\n</testsuites>\n`;
}

export function junitReporter(path: string, suite?: string): Reporter {
  return {
    name: 'junit',
    async final(r) {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, junitXml(r.results, suite));
    },
  };
}
