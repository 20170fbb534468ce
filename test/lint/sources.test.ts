// Architecture guard: src/cluster and src/nodes reach the world only through the Runtime, so
// they must not use the real clock, real timers, Math.random or Node's socket/file modules.
// Scans the TypeScript sources (comments stripped) and names file:line for every hit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCANNED_FOLDERS = ['src/cluster', 'src/nodes'] as const;

const FORBIDDEN_MODULES = 'net|dgram|fs|tls|timers|child_process|worker_threads';

/** Each rule: a name for the report and a pattern run over comment-free source. */
export const RULES: ReadonlyArray<{ name: string; pattern: RegExp }> = [
  {
    name: "import of Node's I/O, timer or thread module",
    pattern: new RegExp(
      String.raw`(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)['"](?:node:)?(?:${FORBIDDEN_MODULES})(?:/[\w/]*)?['"]`,
      'g',
    ),
  },
  { name: 'Date.now()', pattern: /\bDate\s*\.\s*now\s*\(/g },
  { name: 'new Date() without arguments', pattern: /\bnew\s+Date\s*\(\s*\)/g },
  { name: 'setTimeout()', pattern: /\bsetTimeout\s*\(/g },
  { name: 'setInterval()', pattern: /\bsetInterval\s*\(/g },
  { name: 'setImmediate()', pattern: /\bsetImmediate\s*\(/g },
  { name: 'Math.random()', pattern: /\bMath\s*\.\s*random\s*\(/g },
  { name: 'performance.now()', pattern: /\bperformance\s*\.\s*now\s*\(/g },
  { name: 'process.hrtime', pattern: /\bprocess\s*\.\s*hrtime\b/g },
];

/**
 * Blanks out comments (keeping newlines, so line numbers stay right) while leaving string
 * and template literals intact (import specifiers live in strings).
 */
export function stripComments(source: string): string {
  let out = '';
  let i = 0;
  const n = source.length;
  while (i < n) {
    const c = source[i];
    const next = source[i + 1];
    if (c === '/' && next === '/') {
      while (i < n && source[i] !== '\n') {
        out += ' ';
        i++;
      }
    } else if (c === '/' && next === '*') {
      out += '  ';
      i += 2;
      while (i < n && !(source[i] === '*' && source[i + 1] === '/')) {
        out += source[i] === '\n' ? '\n' : ' ';
        i++;
      }
      out += i < n ? '  ' : '';
      i += 2;
    } else if (c === '"' || c === "'" || c === '`') {
      const quote = c;
      out += c;
      i++;
      while (i < n && source[i] !== quote) {
        if (source[i] === '\\' && i + 1 < n) {
          out += source.slice(i, i + 2);
          i += 2;
          continue;
        }
        if (quote !== '`' && source[i] === '\n') {
          break;
        }
        out += source[i];
        i++;
      }
      if (i < n) {
        out += source[i];
        i++;
      }
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

export interface Violation {
  readonly file: string;
  readonly line: number;
  readonly rule: string;
  readonly text: string;
}

/** Every forbidden use in `source`, with 1-based line numbers. */
export function scanSource(file: string, source: string): Violation[] {
  const code = stripComments(source);
  const lines = source.split('\n');
  const found: Violation[] = [];
  for (const rule of RULES) {
    rule.pattern.lastIndex = 0;
    for (const match of code.matchAll(rule.pattern)) {
      const line = code.slice(0, match.index).split('\n').length;
      found.push({ file, line, rule: rule.name, text: (lines[line - 1] ?? '').trim() });
    }
  }
  return found.sort((a, b) => a.line - b.line || a.rule.localeCompare(b.rule));
}

function typeScriptFiles(dir: string): string[] {
  if (!existsSync(dir)) {
    return [];
  }
  const files: string[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) {
      files.push(...typeScriptFiles(path));
    } else if (/\.(?:ts|mts|cts)$/.test(entry)) {
      files.push(path);
    }
  }
  return files;
}

test('src/cluster and src/nodes use neither the real clock, timers, randomness nor Node I/O', () => {
  const violations: Violation[] = [];
  for (const folder of SCANNED_FOLDERS) {
    for (const path of typeScriptFiles(join(ROOT, folder))) {
      violations.push(...scanSource(relative(ROOT, path), readFileSync(path, 'utf8')));
    }
  }
  assert.deepEqual(
    violations.map((v) => `${v.file}:${v.line}: ${v.rule}: ${v.text}`),
    [],
    'use the Runtime (clock, timers, rng, transports, storage) instead',
  );
});

test('the scanner catches every forbidden pattern and names its line', () => {
  const cases: Array<[string, string]> = [
    ["import { createSocket } from 'node:dgram';", "import of Node's I/O, timer or thread module"],
    ['import net from "net";', "import of Node's I/O, timer or thread module"],
    [
      "import { readFile } from 'node:fs/promises';",
      "import of Node's I/O, timer or thread module",
    ],
    ["import * as tls from 'tls';", "import of Node's I/O, timer or thread module"],
    [
      "import { setTimeout } from 'node:timers/promises';",
      "import of Node's I/O, timer or thread module",
    ],
    ["const cp = await import('child_process');", "import of Node's I/O, timer or thread module"],
    [
      "export { Worker } from 'node:worker_threads';",
      "import of Node's I/O, timer or thread module",
    ],
    ["const fs = require('fs');", "import of Node's I/O, timer or thread module"],
    ["import 'node:net';", "import of Node's I/O, timer or thread module"],
    ['const t = Date.now();', 'Date.now()'],
    ['const d = new Date();', 'new Date() without arguments'],
    ['setTimeout(() => tick(), 10);', 'setTimeout()'],
    ['const h = setInterval(tick, 10);', 'setInterval()'],
    ['setImmediate(tick);', 'setImmediate()'],
    ['const r = Math.random();', 'Math.random()'],
    ['const p = performance.now();', 'performance.now()'],
    ['const [s, ns] = process.hrtime();', 'process.hrtime'],
    ['const b = process.hrtime.bigint();', 'process.hrtime'],
  ];
  for (const [line, rule] of cases) {
    const source = `// header\nconst ok = 1;\n${line}\n`;
    const found = scanSource('synthetic.ts', source);
    assert.deepEqual(
      found.map((v) => [v.line, v.rule]),
      [[3, rule]],
      `expected "${line}" to be caught as ${rule}`,
    );
  }
});

test('the scanner ignores comments and allowed look-alikes', () => {
  const allowed = [
    '// never call Date.now() or setTimeout( here',
    '/* Math.random() is banned;\n   so is process.hrtime */',
    "import type { Runtime } from '../../runtime/types.js';",
    "import { netmask } from './netmask.js';",
    "import os from 'node:os';",
    'const d = new Date(wallMs);',
    'rt.timers.after(10, tick);',
    'const x = myDate.nowish();',
  ];
  for (const source of allowed) {
    assert.deepEqual(scanSource('synthetic.ts', source), [], source);
  }
  const multi = '/* a\n b */\nconst x = 1;\n\nconst t = Date.now();\n';
  assert.deepEqual(
    scanSource('m.ts', multi).map((v) => v.line),
    [5],
  );
});
