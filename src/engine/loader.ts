// Loads a user's workflow file: bundles it with esbuild (the user needs no tsconfig), type-
// checks it with TypeScript, stores the bundle in a content-addressed cache, and imports it.
// Every failure becomes a WorkflowFileError that names the file, line and column.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
// Type-only here: worker threads import bundles through this module and never bundle, so the
// esbuild API is loaded on first use (bundleWorkflow), not with the module.
import type * as esbuild from 'esbuild';
import { SalvoError, WorkflowFileError, describeError } from '../errors.js';
import type { AnyWorkflow } from '../api/workflow.js';
import { collectWorkflows } from './plan.js';
import { recordHandled } from '../handled-errors.js';
import { SALVO_VERSION } from '../version.js';

export interface Bundle {
  /** Absolute path of the bundled module in the cache. */
  path: string;
  /** sha256 of the bundle's bytes: the cache key, and what the pool ships to workers. */
  hash: string;
  /** The workflow file as the user named it, absolute. */
  source: string;
  /** Source files that went into the bundle (absolute). */
  inputs: string[];
}

const API_ENTRY = fileURLToPath(new URL('../api/index.js', import.meta.url));
const API_TYPES = fileURLToPath(new URL('../api/index.d.ts', import.meta.url));
const MAX_TYPE_ERRORS_SHOWN = 10;
const WORKFLOW_EXTENSIONS = /\.(?:[cm]?ts|[cm]?js)$/i;

/** Where bundles and type-check marks live: $SALVO_CACHE_DIR, else ~/.cache/salvo, else the temp dir. */
export function cacheDir(): string {
  const explicit = process.env['SALVO_CACHE_DIR'];
  if (explicit) return resolve(explicit);
  const xdg = process.env['XDG_CACHE_HOME'];
  if (xdg) return join(xdg, 'salvo');
  const home = homedir();
  return home ? join(home, '.cache', 'salvo') : join(tmpdir(), 'salvo-cache');
}

/** `file` relative to the working directory when it is inside it, else as given. */
export function display(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') ? file : rel;
}

const salvoResolver: esbuild.Plugin = {
  name: 'salvo',
  setup(build) {
    // Workflows import the very module instance the engine uses, by absolute URL, never a copy.
    build.onResolve({ filter: /^salvo$/ }, () => ({
      path: pathToFileURL(API_ENTRY).href,
      external: true,
    }));
  },
};

const META_URL = '__salvo_import_meta_url';
const LOADERS: Record<string, esbuild.Loader> = {
  ts: 'ts',
  mts: 'ts',
  cts: 'ts',
  tsx: 'tsx',
  js: 'js',
  mjs: 'js',
  cjs: 'js',
  jsx: 'jsx',
};

/**
 * `import.meta.url` in the user's own files is their own location, not the bundle cache's, so
 * data files beside a workflow are found: each file gets a constant with its URL (on its first
 * line, so line numbers stay), and `define` points `import.meta.url` at it.
 */
const metaUrlPlugin: esbuild.Plugin = {
  name: 'salvo-import-meta-url',
  setup(build) {
    build.onLoad({ filter: /\.[cm]?[jt]sx?$/ }, async (args) => {
      if (args.path.includes('/node_modules/')) return undefined;
      const loader = LOADERS[args.path.split('.').pop() ?? ''];
      if (!loader) return undefined;
      const code = await readFile(args.path, 'utf8');
      const url = JSON.stringify(pathToFileURL(args.path).href);
      const prefix = `const ${META_URL} = ${url};`;
      // A shebang must stay first: the constant then starts the second line.
      const at = code.startsWith('#!') ? code.indexOf('\n') + 1 : 0;
      const contents = at > 0 ? code.slice(0, at) + prefix + code.slice(at) : prefix + code;
      return { contents, loader };
    });
  },
};

async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

/**
 * What a cached bundle was built from: `bundles/<sha256 of the entry's absolute path>.json`.
 * When the salvo version, the API entry and every input's size and mtime still match, the
 * bundle is reused without running esbuild.
 */
interface BundleManifest {
  salvo: string;
  api: string;
  hash: string;
  inputs: { path: string; size: number; mtimeMs: number }[];
}

const MAX_MANIFEST_BYTES = 1 << 20;

function manifestPath(source: string): string {
  const key = createHash('sha256').update(source).digest('hex');
  return join(cacheDir(), 'bundles', `${key}.json`);
}

/** Bumped when bundles are built differently, so cached ones from before are rebuilt. */
const BUNDLE_FORMAT = 2;

async function salvoVersion(): Promise<string> {
  return `${SALVO_VERSION}+bundle${BUNDLE_FORMAT}`;
}

/** The cached bundle of `source` when nothing it was built from changed; else null. */
async function cachedBundle(source: string, version: string): Promise<Bundle | null> {
  let manifest: BundleManifest;
  try {
    const path = manifestPath(source);
    const info = await stat(path);
    if (info.size > MAX_MANIFEST_BYTES) return null;
    manifest = JSON.parse(await readFile(path, 'utf8')) as BundleManifest;
  } catch (error) {
    // No manifest is the ordinary first run; an unreadable one is recorded. Either way the
    // file is bundled afresh.
    if (!isNotFound(error)) recordHandled('loader: bundle cache manifest unreadable', error);
    return null;
  }
  if (
    manifest.salvo !== version ||
    manifest.api !== API_ENTRY ||
    typeof manifest.hash !== 'string' ||
    !/^[0-9a-f]{64}$/.test(manifest.hash) ||
    !Array.isArray(manifest.inputs) ||
    !manifest.inputs.some((i) => i.path === source)
  ) {
    return null;
  }
  const path = join(cacheDir(), 'bundles', `${manifest.hash}.mjs`);
  if (!existsSync(path)) return null;
  for (const input of manifest.inputs) {
    try {
      const info = await stat(input.path);
      if (info.size !== input.size || info.mtimeMs !== input.mtimeMs) return null;
    } catch (error) {
      // An input is gone: bundle afresh (esbuild reports what is missing).
      if (!isNotFound(error)) recordHandled('loader: bundle input unreadable', error);
      return null;
    }
  }
  return { path, hash: manifest.hash, source, inputs: manifest.inputs.map((i) => i.path) };
}

async function writeManifest(bundle: Bundle, version: string): Promise<void> {
  const inputs: BundleManifest['inputs'] = [];
  for (const path of bundle.inputs) {
    const info = await stat(path);
    inputs.push({ path, size: info.size, mtimeMs: info.mtimeMs });
  }
  const manifest: BundleManifest = { salvo: version, api: API_ENTRY, hash: bundle.hash, inputs };
  await writeAtomic(manifestPath(bundle.source), JSON.stringify(manifest));
}

/**
 * Bundles `file` into the cache (or reuses the cached bundle when none of its inputs changed);
 * throws WorkflowFileError for a missing file or a syntax error.
 */
export async function bundleWorkflow(file: string): Promise<Bundle> {
  const source = resolve(file);
  if (!WORKFLOW_EXTENSIONS.test(source)) {
    throw new WorkflowFileError(
      'E_WORKFLOW_FILE',
      `${display(source)} is not a workflow file: expected TypeScript or JavaScript (.ts, .mts, .cts, .js, .mjs, .cjs)`,
    );
  }
  try {
    const info = await stat(source);
    if (!info.isFile())
      throw new WorkflowFileError('E_WORKFLOW_FILE', `${display(source)} is not a file`);
  } catch (error) {
    if (error instanceof SalvoError) throw error;
    throw new WorkflowFileError('E_WORKFLOW_FILE', `workflow file not found: ${file}`, {
      cause: error,
    });
  }
  const version = await salvoVersion();
  const cached = await cachedBundle(source, version);
  if (cached !== null) return cached;
  let result: esbuild.BuildResult & {
    metafile: esbuild.Metafile;
    outputFiles: esbuild.OutputFile[];
  };
  const { build } = await import('esbuild');
  try {
    result = await build({
      entryPoints: [source],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      write: false,
      sourcemap: 'inline',
      sourcesContent: false,
      // Stack traces then name the user's own files, not paths inside the bundle cache.
      sourceRoot: `${pathToFileURL(dirname(source)).href}/`,
      metafile: true,
      logLevel: 'silent',
      absWorkingDir: dirname(source),
      banner: {
        js: "import { createRequire as __salvoRequire } from 'node:module'; const require = __salvoRequire(import.meta.url);",
      },
      define: { 'import.meta.url': META_URL },
      plugins: [salvoResolver, metaUrlPlugin],
    });
  } catch (error) {
    const failure = error as esbuild.BuildFailure;
    const first = failure.errors?.[0];
    if (!first)
      throw new WorkflowFileError(
        'E_WORKFLOW_SYNTAX',
        `${display(source)}: ${describeError(error)}`,
      );
    const where = first.location
      ? `${display(resolve(dirname(source), first.location.file))}:${first.location.line}:${first.location.column + 1}`
      : display(source);
    const excerpt = first.location
      ? `\n  ${first.location.lineText}\n  ${' '.repeat(first.location.column)}^`
      : '';
    const more =
      failure.errors.length > 1 ? `\n(and ${failure.errors.length - 1} more errors)` : '';
    throw new WorkflowFileError('E_WORKFLOW_SYNTAX', `${where}: ${first.text}${excerpt}${more}`, {
      cause: error,
    });
  }
  const output = result.outputFiles[0];
  if (!output)
    throw new WorkflowFileError(
      'E_WORKFLOW_SYNTAX',
      `${display(source)}: esbuild produced no output`,
    );
  const hash = createHash('sha256').update(output.contents).digest('hex');
  const path = join(cacheDir(), 'bundles', `${hash}.mjs`);
  if (!existsSync(path)) await writeAtomic(path, output.contents);
  const inputs = Object.keys(result.metafile.inputs)
    .filter((p) => !p.startsWith('file:'))
    .map((p) => resolve(dirname(source), p));
  const bundle = { path, hash, source, inputs };
  try {
    await writeManifest(bundle, version);
  } catch (error) {
    // The manifest only saves the next run a bundle: without it, esbuild runs again.
    recordHandled('loader: bundle cache manifest not written', error);
  }
  return bundle;
}

/**
 * Type-checks the workflow file (and the local files it imports) against Salvo's own types.
 * Results are cached by the content of every input, so an unchanged file is not checked twice.
 */
export async function typecheckWorkflow(bundle: Bundle): Promise<void> {
  const key = createHash('sha256');
  key.update(API_TYPES);
  for (const input of [...bundle.inputs].sort()) {
    key.update(input);
    key.update(await readFile(input));
  }
  const mark = join(cacheDir(), 'typecheck', `${key.digest('hex')}.ok`);
  if (existsSync(mark)) return;

  const { default: ts } = await import('typescript');
  const require = createRequire(import.meta.url);
  let typeRoots: string[] | undefined;
  try {
    typeRoots = [dirname(dirname(require.resolve('@types/node/package.json')))];
  } catch (error) {
    // Node's types are optional: without them a workflow may not use `process`.
    typeRoots = undefined;
    recordHandled('loader: @types/node not found', error);
  }
  const options: import('typescript').CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    allowImportingTsExtensions: true,
    resolveJsonModule: true,
    esModuleInterop: true,
    // A .js workflow is accepted and its imports resolved; only TypeScript files are checked.
    allowJs: true,
    checkJs: false,
    skipLibCheck: true,
    lib: ['lib.es2023.d.ts'],
    types: typeRoots ? ['node'] : [],
    ...(typeRoots ? { typeRoots } : {}),
    paths: { salvo: [API_TYPES] },
  };
  const program = ts.createProgram([bundle.source], options);
  const diagnostics = ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.category === ts.DiagnosticCategory.Error)
    .filter(
      (d) =>
        !d.file ||
        (!d.file.fileName.includes('/node_modules/') && !d.file.fileName.includes('/dist/src/')),
    );
  if (diagnostics.length === 0) {
    await writeAtomic(mark, '');
    return;
  }
  const lines = diagnostics.slice(0, MAX_TYPE_ERRORS_SHOWN).map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n  ');
    if (!d.file || d.start === undefined) return `error TS${d.code}: ${text}`;
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
    return `${display(d.file.fileName)}:${line + 1}:${character + 1}: error TS${d.code}: ${text}`;
  });
  if (diagnostics.length > MAX_TYPE_ERRORS_SHOWN)
    lines.push(`(and ${diagnostics.length - MAX_TYPE_ERRORS_SHOWN} more)`);
  throw new WorkflowFileError(
    'E_WORKFLOW_TYPE',
    `${lines.join('\n')}\n(type errors in the workflow; run with --no-check to skip type checking)`,
  );
}

const SALVO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FRAME = /(?:\(|at )(?:file:\/\/)?(\/[^()]+?):(\d+):(\d+)\)?$/;

/**
 * The user's own frame (file:line:col) in an error's stack: the workflow file itself if it
 * appears, else the first frame outside Salvo, node_modules and Node's internals.
 */
export function userLocation(error: unknown, source: string): string | undefined {
  const stack = error instanceof Error ? (error.stack ?? '') : '';
  const frames: { path: string; where: string }[] = [];
  for (const line of stack.split('\n')) {
    const match = FRAME.exec(line.trim());
    if (!match?.[1]) continue;
    frames.push({ path: match[1], where: `${display(match[1])}:${match[2]}:${match[3]}` });
  }
  const own = (path: string): boolean =>
    path.startsWith(join(SALVO_ROOT, 'src')) ||
    path.startsWith(join(SALVO_ROOT, 'dist')) ||
    path.includes('/node_modules/');
  return (frames.find((f) => f.path === source) ?? frames.find((f) => !own(f.path)))?.where;
}

/** Imports a bundle and returns the workflows it defines (exports and their dependencies). */
export async function importWorkflows(
  bundle: Pick<Bundle, 'path' | 'source'>,
): Promise<AnyWorkflow[]> {
  let exports: Record<string, unknown>;
  try {
    exports = (await import(pathToFileURL(bundle.path).href)) as Record<string, unknown>;
  } catch (error) {
    const where = userLocation(error, bundle.source) ?? display(bundle.source);
    if (error instanceof SalvoError) {
      throw new WorkflowFileError('E_WORKFLOW_FILE', `${where}: ${error.message}`, {
        cause: error,
      });
    }
    throw new WorkflowFileError(
      'E_WORKFLOW_FILE',
      `${where}: the workflow file threw while loading: ${describeError(error)}`,
      {
        cause: error,
      },
    );
  }
  return collectWorkflows(exports);
}

function isNotFound(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'ENOENT';
}
