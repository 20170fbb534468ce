// Architecture guard (principle 5, "no silent failure"; and typed errors across modules): every
// `catch` under src/ binds its error and uses it (rethrows or wraps it, logs or counts it, or
// puts its message in the value it returns); no `void err` swallow; no promise handler that
// drops its rejection; and no bare Error/RangeError/TypeError thrown (a SalvoError subclass
// with a stable `code` instead). Names file:line for every hit.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * Blanks comments and the text of string literals (keeping newlines and the `${…}` code inside
 * template literals), so braces and words in strings never count as code.
 */
export function codeOnly(source: string): string {
  let out = '';
  let i = 0;
  const n = source.length;
  const blank = (c: string): string => (c === '\n' ? '\n' : ' ');
  const template = (): void => {
    out += '`';
    i++;
    while (i < n && source[i] !== '`') {
      if (source[i] === '\\') {
        out += '  ';
        i += 2;
      } else if (source[i] === '$' && source[i + 1] === '{') {
        out += '${';
        i += 2;
        let depth = 1;
        while (i < n && depth > 0) {
          const c = source[i]!;
          if (c === '`') {
            template();
            continue;
          }
          if (c === '{') depth++;
          else if (c === '}') depth--;
          out += c;
          i++;
        }
      } else {
        out += blank(source[i]!);
        i++;
      }
    }
    if (i < n) {
      out += '`';
      i++;
    }
  };
  while (i < n) {
    const c = source[i]!;
    const next = source[i + 1];
    if (c === '/' && next === '/') {
      while (i < n && source[i] !== '\n') {
        out += ' ';
        i++;
      }
    } else if (c === '/' && next === '*') {
      out += '  ';
      i += 2;
      while (i < n && !(source[i] === '*' && source[i + 1] === '/')) out += blank(source[i++]!);
      out += '  ';
      i += 2;
    } else if (c === '`') {
      template();
    } else if (c === '"' || c === "'") {
      out += c;
      i++;
      while (i < n && source[i] !== c && source[i] !== '\n') {
        if (source[i] === '\\') {
          out += '  ';
          i += 2;
          continue;
        }
        out += ' ';
        i++;
      }
      if (i < n) out += source[i++];
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

export interface Finding {
  readonly line: number;
  readonly rule: string;
}

const CATCH = /\bcatch\s*(?:\(\s*([A-Za-z_$][\w$]*)\s*(?::[^)]*)?\))?\s*\{/g;
const PATTERNS: readonly { rule: string; pattern: RegExp }[] = [
  { rule: '`void` of an error', pattern: /\bvoid\s+(?:e|_e|err|_err|error|_error|\w+Error)\b/g },
  {
    rule: 'promise rejection dropped',
    pattern:
      /\.catch\(\s*(?:async\s*)?(?:\(\s*(?:_\w*)?\s*\)|_\w*)\s*=>|\.catch\(\s*function\s*\(\s*\)/g,
  },
  { rule: 'bare Error thrown', pattern: /\bthrow\s+new\s+(?:Error|RangeError|TypeError)\s*\(/g },
];

/** Every silent catch, error swallow and bare Error throw in `source`. */
export function scanErrors(source: string): Finding[] {
  const code = codeOnly(source);
  const lineOf = (index: number): number => code.slice(0, index).split('\n').length;
  const found: Finding[] = [];
  for (const m of code.matchAll(CATCH)) {
    const name = m[1];
    let depth = 1;
    let j = m.index + m[0].length;
    const start = j;
    while (j < code.length && depth > 0) {
      if (code[j] === '{') depth++;
      else if (code[j] === '}') depth--;
      j++;
    }
    const body = code.slice(start, j - 1);
    if (name === undefined) {
      found.push({ line: lineOf(m.index), rule: 'catch without a binding' });
    } else if (!new RegExp(`(?<!\\bvoid\\s+)\\b${name.replace('$', '\\$')}\\b`).test(body)) {
      found.push({ line: lineOf(m.index), rule: 'caught error not used' });
    }
  }
  for (const { rule, pattern } of PATTERNS) {
    for (const m of code.matchAll(pattern)) found.push({ line: lineOf(m.index), rule });
  }
  return found.sort((a, b) => a.line - b.line);
}

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (/\.(?:ts|mts|cts)$/.test(entry) && !entry.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

test('src/ has no silent catch, no `void err`, no dropped rejection and no bare Error thrown', () => {
  const hits: string[] = [];
  for (const path of sources(join(ROOT, 'src'))) {
    const source = readFileSync(path, 'utf8');
    const lines = source.split('\n');
    for (const f of scanErrors(source)) {
      hits.push(`${relative(ROOT, path)}:${f.line}: ${f.rule}: ${lines[f.line - 1]?.trim()}`);
    }
  }
  assert.deepEqual(
    hits,
    [],
    'log or count a caught error (or return/wrap its message), and throw a SalvoError subclass',
  );
});

test('the error scanner catches each form and names its line', () => {
  const cases: [string, string][] = [
    ['try { f(); } catch (error) {\n  void error;\n}', 'caught error not used'],
    ['try { f(); } catch (e) {}', 'caught error not used'],
    ['try { f(); } catch (err) { return null; }', 'caught error not used'],
    ['try { f(); } catch { return null; }', 'catch without a binding'],
    ['try { f(); } catch (e) { log(`failed: e`); }', 'caught error not used'],
    ['p.catch(() => undefined);', 'promise rejection dropped'],
    ['p.catch((_e) => {});', 'promise rejection dropped'],
    ['p.catch(_ => 0);', 'promise rejection dropped'],
    ["throw new Error('x');", 'bare Error thrown'],
    ['throw new RangeError(`bad ${n}`);', 'bare Error thrown'],
    ['const x = 1; void error;', '`void` of an error'],
  ];
  for (const [source, rule] of cases) {
    const found = scanErrors(`// header\n${source}\n`);
    assert.ok(
      found.some((f) => f.rule === rule && f.line === 2),
      `"${source}" should be caught as ${rule}: ${JSON.stringify(found)}`,
    );
  }
});

test('the error scanner accepts errors that are used, and ignores comments and strings', () => {
  const allowed = [
    'try { f(); } catch (error) { log.log("error", "failed", { error }); }',
    'try { f(); } catch (err) { throw new WrapError("x", { cause: err }); }',
    'try { f(); } catch (e) { return { ok: false, reason: `bad: ${(e as Error).message}` }; }',
    'try { f(); } catch (error) { if (isNotFound(error)) return null; throw error; }',
    "// catch (e) {} and throw new Error('x') in a comment",
    "const s = 'catch (e) { } throw new Error(';",
    'p.catch((error) => log(error));',
    'class MyError extends SalvoError {}',
    'const t = `${a ? `${b}` : "}"}`; try { f(); } catch (e) { g(e); }',
  ];
  for (const source of allowed) assert.deepEqual(scanErrors(source), [], source);
});
